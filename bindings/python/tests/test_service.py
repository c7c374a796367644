"""CacheService (the seed's API) over SQLite, on the real component."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from gromozeka_cache import (
    CacheError,
    CacheService,
    InvalidJsonError,
    SqliteStorage,
    StorageError,
    UnknownNamespaceError,
)
from gromozeka_cache.storage import SCHEMA_DDL


@pytest.fixture
def service(wasm_path: Path) -> CacheService:
    return CacheService(wasmPath=wasm_path)


def test_get_instance_is_a_singleton() -> None:
    assert CacheService.getInstance() is CacheService.getInstance()


def test_seed_api_round_trip_through_sqlite(service: CacheService, tmp_path: Path, wasm_path: Path) -> None:
    db = tmp_path / "bot.db"
    report = service.injectDatabase(db)
    assert report.loaded == 0 and report.skipped == []
    service.setChatSettings(-100, {"lang": "ru", "limit": 5})
    service.setChatInfo(-100, {"title": "Group"})
    service.setUserData(-100, 7, "name", {"first": "Ann"})
    service.setUserState(7, "step", "ask")
    assert service.getChatSettings(-100) == {"lang": "ru", "limit": 5}
    assert service.getChatInfo(-100) == {"title": "Group"}
    assert service.getUserData(-100, 7) == {"name": {"first": "Ann"}}
    assert service.getUserState(7, "step") == "ask"
    assert service.getUserState(7, "other", default=1) == 1
    service.clearUserState(7)
    assert service.getUserState(7, "step") is None
    stats = service.getStats()
    assert stats["chats"]["dirty"] == 1 and stats["chats"]["maxSize"] == 1000
    assert service.persistAll().written == 1
    service.close()

    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (1,)
        assert dict(conn.execute("SELECT key, value FROM chat_settings WHERE chat_id = -100")) == {
            "lang": "ru", "limit": "5"}
        assert conn.execute("SELECT data FROM user_data").fetchall() == [('{"first":"Ann"}',)]
        namespaces = {ns for (ns,) in conn.execute("SELECT namespace FROM cache_storage")}
        assert namespaces == {"chats", "chatUsers"}

    again = CacheService(wasmPath=wasm_path)
    assert again.injectDatabase(db).loaded == 2
    assert again.getChatInfo(-100) == {"title": "Group"}
    assert again.getUserData(-100, 7) == {"name": {"first": "Ann"}}
    again.close()


def test_errors_are_typed(service: CacheService) -> None:
    with pytest.raises(UnknownNamespaceError) as info:
        service.set("nope", "k", 1)
    assert isinstance(info.value, CacheError) and info.value.case == "unknown-namespace"
    assert "nope" in info.value.detail
    with pytest.raises(InvalidJsonError):
        service.set("users", "k", None)  # JSON null is not a value


def test_storage_failure_is_a_storage_error(service: CacheService) -> None:
    class Broken(SqliteStorage):
        def write(self, batch):  # type: ignore[override]
            raise OSError("disk on fire")

    service.component.set_storage(Broken(":memory:"))
    with pytest.raises(StorageError, match="disk on fire"):
        service.set("chatUsers", "k", {"a": 1})
    assert service.get("chatUsers", "k") is None


def test_generic_namespace_operations(service: CacheService) -> None:
    service.configure([("sessions", 2, "memory-only"), ("chats", 10, "on-shutdown")])
    service.setMany("sessions", {"a": 1, "b": [2]})
    assert service.getMany("sessions", ["a", "b", "c"]) == [1, [2], None]
    service.set("sessions", "c", True)  # evicts "a"
    assert service.get("sessions", "a", default="gone") == "gone"
    assert service.delete("sessions", "b") is True
    service.clearNamespace("sessions")
    assert service.getStats()["sessions"]["size"] == 0


def test_concurrent_use_is_serialised(service: CacheService) -> None:
    def work(n: int) -> None:
        for i in range(100):
            service.setUserState(n, f"k{i}", i)
            assert service.getUserState(n, f"k{i}") == i

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert service.getStats()["users"]["size"] == 8
    assert all(service.getUserState(n, "k99") == 99 for n in range(8))


def test_pending_changes_are_persisted_at_interpreter_exit(tmp_path: Path, wasm_path: Path) -> None:
    db = tmp_path / "exit.db"
    script = textwrap.dedent(f"""
        from gromozeka_cache import CacheService
        cache = CacheService(wasmPath={str(wasm_path)!r})
        cache.injectDatabase({str(db)!r})
        cache.setChatInfo(5, {{"title": "unsaved until exit"}})
        assert cache.getStats()["chats"]["dirty"] == 1
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, value FROM cache_storage WHERE namespace = 'chats'").fetchall()
    assert rows == [("5", '{"info":{"title":"unsaved until exit"}}')] or (
        len(rows) == 1 and rows[0][0] == "5" and "unsaved until exit" in rows[0][1])


def test_schema_is_the_shared_ddl(tmp_path: Path) -> None:
    db = tmp_path / "schema.db"
    SqliteStorage(db).close()
    SqliteStorage(db).close()  # idempotent
    with sqlite3.connect(db) as conn:
        sql = {name: text for name, text in conn.execute("SELECT name, sql FROM sqlite_master")}
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    for statement in SCHEMA_DDL:
        name = statement.split(" IF NOT EXISTS ")[1].split(" ")[0]
        expected = statement.removesuffix(";").replace(" IF NOT EXISTS", "")
        assert sql[name] == expected


def test_sqlite_storage_load_is_newest_first_reversed(tmp_path: Path) -> None:
    from gromozeka_cache import Batch, Row

    s = SqliteStorage(tmp_path / "order.db")
    s.write(Batch(upsert=[Row("n", str(i), str(i)) for i in range(5)]))
    s.write(Batch(upsert=[Row("n", "1", "11")]))
    assert [r.key for r in s.load("n", 3)] == ["3", "4", "1"]
    s.write(Batch(clear=["n"], delete=[("n", "x")], upsert=[Row("n", "z", "1")]))
    assert s.rows() == [Row("n", "z", "1")]
    s.close()
