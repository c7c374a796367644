"""The bot's API: the seed's names and the bot's grown ones, on the real component
over a real SQLite file."""

from __future__ import annotations

import enum
import sqlite3
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import gromozeka_cache
from gromozeka_cache import (
    CacheClosedError,
    CacheError,
    CacheService,
    InvalidJsonError,
    StorageError,
    TooLargeError,
    UnknownNamespaceError,
)

SEED_METHODS = [
    "getInstance",
    "injectDatabase",
    "getChatSettings",
    "setChatSettings",
    "getChatInfo",
    "setChatInfo",
    "getUserData",
    "setUserData",
    "getUserState",
    "setUserState",
    "clearUserState",
    "persistAll",
    "loadFromDatabase",
    "getStats",
]
BOT_METHODS = [
    "getChatUserData",
    "setChatUserData",
    "unsetChatSetting",
    "clearNamespace",
    "close",
    "setWriteBack",
    "getWriteBack",
]


class Step(enum.Enum):
    NAME = "await_name"


class Mode(enum.StrEnum):
    MENU = "menu"


def test_every_name_of_the_seed_and_the_bot_exists(cache: CacheService) -> None:
    for name in SEED_METHODS + BOT_METHODS:
        assert callable(getattr(cache, name)), name
    for view in ("chats", "chatUsers", "users"):
        assert isinstance(getattr(cache, view), gromozeka_cache.NamespaceView)


def test_singleton(cache: CacheService) -> None:
    assert CacheService() is cache
    assert CacheService.getInstance() is cache
    CacheService.resetInstance()
    fresh = CacheService.getInstance()
    assert fresh is not cache and CacheService() is fresh
    with pytest.raises(CacheClosedError):
        cache.getUserState(1, "a")


def test_values_round_trip_as_python_objects(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    value = {"s": "текст", "i": -5, "big": 2**63 - 1, "f": 1.5, "t": True, "n": None, "l": [1, [2, {"x": "y"}]]}
    cache.setUserState(7, "v", value)
    assert cache.getUserState(7, "v") == value
    assert cache.getUserState(7, "absent") is None
    assert cache.getUserState(7, "absent", default="d") == "d"
    # What does not round-trip, as the docs say: tuples become lists, int keys str.
    cache.setUserState(7, "t", {1: (1, 2)})
    assert cache.getUserState(7, "t") == {"1": [1, 2]}


def test_state_keys_may_be_enums(cache: CacheService) -> None:
    cache.setUserState(1, Step.NAME, "x")
    cache.setUserState(1, Mode.MENU, "y")
    assert cache.getUserState(1, "await_name") == "x"
    assert cache.getUserState(1, Step.NAME) == "x"
    assert cache.getUserState(1, "menu") == "y"
    cache.clearUserState(1, Step.NAME)
    assert cache.getUserState(1, Step.NAME) is None
    assert cache.getUserState(1, Mode.MENU) == "y"
    cache.clearUserState(1)
    assert cache.getUserState(1, Mode.MENU) is None


def test_chat_settings_merge_by_default_and_rewrite_on_request(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    cache.setChatSettings(-100, {"lang": "en", "model": "a"})
    cache.setChatSettings(-100, {"model": "b"})
    assert cache.getChatSettings(-100) == {"lang": "en", "model": "b"}
    cache.setChatSettings(-100, {"tone": "dry"}, rewrite=True)
    assert cache.getChatSettings(-100) == {"tone": "dry"}
    cache.unsetChatSetting(-100, "tone")
    assert cache.getChatSettings(-100) == {}
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM chat_settings WHERE chat_id = -100").fetchone() == (0,)


def test_a_setting_must_be_a_string(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    with pytest.raises(InvalidJsonError):
        cache.setChatSettings(1, {"n": 5})
    assert cache.getChatSettings(1) == {}


def test_user_data_is_written_through_and_has_the_bots_names(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    cache.setUserData(-100, 42, "lang", "ru")
    cache.setChatUserData(-100, 42, "karma", {"n": 3})
    assert cache.getUserData(-100, 42) == {"lang": "ru", "karma": {"n": 3}}
    assert cache.getChatUserData(-100, 42) == cache.getUserData(-100, 42)
    with sqlite3.connect(db_path) as conn:
        rows = dict(conn.execute("SELECT key, data FROM user_data WHERE chat_id = -100 AND user_id = 42"))
    assert rows == {"lang": '"ru"', "karma": '{"n":3}'}


def test_chat_info_and_stats(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    assert cache.getChatInfo(5) is None
    cache.setChatInfo(5, {"title": "t"})
    assert cache.getChatInfo(5) == {"title": "t"}
    stats = cache.getStats()
    assert set(stats) == {"chats", "chatUsers", "users"}
    assert stats["chats"]["dirty"] == 1
    assert stats["chats"]["persistence"] == "on-shutdown"
    for field in ("size", "maxSize", "dirty", "hits", "misses", "evictions"):
        assert isinstance(stats["users"][field], int)
    assert cache.persistAll() == {"written": 1, "deleted": 0}
    assert cache.getStats()["chats"]["dirty"] == 0


def test_persisted_entries_come_back_after_close(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    cache.setChatInfo(9, {"title": "kept"})
    cache.chatUsers["9:1"] = {"x": 1}
    CacheService.resetInstance()  # closes: persists the on-shutdown chats entry
    again = CacheService.getInstance()
    report = again.injectDatabase(db_path)
    assert report["loaded"] >= 1
    assert again.getChatInfo(9) == {"title": "kept"}
    assert again.chatUsers["9:1"] == {"x": 1}


def test_views_are_dict_like(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    users = cache.users
    users[1] = {"a": 1}
    users.set("x", [1])
    assert users[1] == {"a": 1} and users.get("1") == {"a": 1}
    assert 1 in users and "x" in users and 2 not in users
    assert users.get(2, "d") == "d"
    with pytest.raises(KeyError):
        users[2]
    assert len(users) == 2
    del users[1]
    assert 1 not in users
    assert users.delete("x") is True and users.delete("x") is False
    users[3] = 1
    users.clear()
    assert len(users) == 0
    with pytest.raises(TypeError):
        iter(users)
    with pytest.raises(TypeError):
        users[1.5] = 1
    with pytest.raises(OverflowError):
        users[2**63] = 1


def test_on_change_view_writes_at_once(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    cache.chatUsers["1:2"] = {"k": "v"}
    with sqlite3.connect(db_path) as conn:
        value = conn.execute(
            "SELECT value FROM cache_storage WHERE namespace = 'chatUsers' AND key = '1:2'"
        ).fetchone()
    assert value == ('{"k":"v"}',)


def test_ids_outside_s64_and_wrong_types_fail_before_the_call(cache: CacheService) -> None:
    for bad in (2**63, -(2**63) - 1):
        with pytest.raises(OverflowError):
            cache.setUserState(bad, "k", 1)
        with pytest.raises(OverflowError):
            cache.getChatSettings(bad)
        with pytest.raises(OverflowError):
            cache.setUserData(bad, 1, "k", 1)
    with pytest.raises(TypeError):
        cache.getUserState("7", "k")
    with pytest.raises(TypeError):
        cache.getUserState(1.0, "k")
    with pytest.raises(TypeError):
        cache.setUserState(1, 5, "v")
    with pytest.raises(TypeError):
        cache.setUserState(1, "k", object())
    with pytest.raises(ValueError):
        cache.setUserState(1, "k", float("nan"))
    with pytest.raises(OverflowError):
        cache.setUserState(1, "k", 2**64)
    # The extremes of s64 are valid ids, distinct from each other.
    cache.setUserState(2**63 - 1, "k", "max")
    cache.setUserState(-(2**63), "k", "min")
    assert cache.getUserState(2**63 - 1, "k") == "max"
    assert cache.getUserState(-(2**63), "k") == "min"
    assert cache.getStats()["users"]["size"] == 2


def test_errors_are_typed(cache: CacheService) -> None:
    with pytest.raises(UnknownNamespaceError) as e:
        cache.get("nope", "k")
    assert isinstance(e.value, CacheError) and isinstance(e.value, KeyError)
    with pytest.raises(InvalidJsonError):
        cache.set("users", "k", None)
    with pytest.raises(TooLargeError):
        cache.set("users", "k" * 1025, 1)
    with pytest.raises(TooLargeError):
        cache.set("users", "k", "x" * (1 << 20))
    with pytest.raises(ValueError):
        cache.configure([("users", 10, "sometimes")])


def test_storage_errors_carry_their_kind(cache: CacheService, tmp_path: Path) -> None:
    with pytest.raises(StorageError) as e:
        cache.injectDatabase(tmp_path / "missing-dir" / "x.db")
    assert e.value.kind is not None
    not_a_db = tmp_path / "garbage.db"
    not_a_db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StorageError) as e:
        cache.injectDatabase(not_a_db)
    assert e.value.kind == "corrupt"


def test_inject_database_refuses_what_it_cannot_use(cache: CacheService) -> None:
    with pytest.raises(TypeError):
        cache.injectDatabase(42)
    # A PostgreSQL URL is taken as one (not as a file name): with no server there,
    # it is a storage error (test_postgres.py runs it against a real server).
    with pytest.raises(StorageError):
        cache.injectDatabase("postgresql://postgres@127.0.0.1:1/bot")
    assert not Path("postgresql:").exists()


def test_calls_after_close_raise(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    cache.setChatInfo(1, {"a": 1})
    cache.close()
    cache.close()  # a second close does nothing
    assert cache.closed
    for call in (
        lambda: cache.setUserState(1, "k", 1),
        lambda: cache.getUserState(1, "k"),
        lambda: cache.setChatInfo(1, {"a": 2}),
        lambda: cache.users.set(1, 1),
        lambda: cache.persistAll(),
        lambda: cache.getStats(),
    ):
        with pytest.raises(CacheClosedError):
            call()
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT value FROM cache_storage WHERE namespace = 'chats'").fetchone() == (
            '{"info":{"a":1}}',
        )


def test_json_helpers_match_the_cache(cache: CacheService) -> None:
    assert gromozeka_cache.dumps({"a": [1, 2.5, "x", None, True]}) == '{"a":[1,2.5,"x",null,true]}'
    assert gromozeka_cache.loads('{"a":[1,2.5,"x",null,true]}') == {"a": [1, 2.5, "x", None, True]}


def test_results_are_fresh_objects_the_caller_may_mutate(cache: CacheService) -> None:
    # Results of a text seen before come from the memo (bindings/python/src/memo.rs):
    # each must still be a new object all the way down, so mutating one result
    # changes neither the cache nor the next result.
    state = {"step": "a", "draft": {"tags": ["x", {"deep": [1]}]}, "n": 1}
    cache.setUserState(7, "s", state)
    first = cache.getUserState(7, "s")
    second = cache.getUserState(7, "s")
    assert first == second == state
    assert first is not second
    assert first["draft"] is not second["draft"]
    assert first["draft"]["tags"] is not second["draft"]["tags"]
    assert first["draft"]["tags"][1] is not second["draft"]["tags"][1]
    first["step"] = "mutated"
    first["draft"]["tags"].append("y")
    first["draft"]["tags"][1]["deep"].append(2)
    assert cache.getUserState(7, "s") == state
    assert second == state
    # The same text under another key is the same value, and as independent.
    cache.users.set(8, state)
    other = cache.users.get(8)
    other["draft"]["tags"].clear()
    assert cache.users.get(8) == state
    assert cache.getChatSettings(5) == {}
    cache.setChatSettings(5, {"a": "1"})
    settings = cache.getChatSettings(5)
    settings["a"] = "2"
    assert cache.getChatSettings(5) == {"a": "1"}


def test_a_copied_hit_leaks_neither_containers_nor_references(cache: CacheService) -> None:
    # Each hit copies the memo's containers through the C API (memo.rs, copy_raw):
    # every new reference must be released again, the shared leaves' too.
    state = {"step": "leaf text one", "draft": {"tags": ["leaf text two", {"deep": [1.5]}]}}
    cache.setUserState(7, "s", state)
    leaf = cache.getUserState(7, "s")["draft"]["tags"][0]
    for _ in range(100):
        cache.getUserState(7, "s")
    references = sys.getrefcount(leaf)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(20_000):
            cache.getUserState(7, "s")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert sys.getrefcount(leaf) == references
    # 20,000 leaked copies of four containers would be megabytes.
    assert grown < 200_000, grown


def test_values_nest_at_most_100_levels_on_every_way_in(cache: CacheService, db_path: Path) -> None:
    def nested(levels: int) -> Any:
        value: Any = 1
        for _ in range(levels):
            value = [value]
        return value

    cache.set("users", "ok", nested(100))
    assert cache.get("users", "ok") == nested(100)
    for deep in (nested(101), nested(5000), {"a": nested(100)}):
        with pytest.raises(InvalidJsonError, match="nested deeper than 100"):
            cache.set("users", "deep", deep)
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(InvalidJsonError):
        cache.set("users", "loop", loop)
    assert cache.get("users", "deep") is None and cache.get("users", "loop") is None
    # A row another program stored too deep is skipped at load and named, not served.
    cache.injectDatabase(db_path)
    cache.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES ('chats', '9', ?, 1)",
            ("[" * 200 + "]" * 200,),
        )
    CacheService.resetInstance()
    again = CacheService.getInstance()
    report = again.injectDatabase(db_path)
    assert [(r["namespace"], r["key"]) for r in report["skipped"]] == [("chats", "9")]
    assert "nested deeper" in report["skipped"][0]["reason"]


SEED_DATABASE = Path(__file__).resolve().parents[3] / "schema" / "sqlite" / "fixtures" / "seed_database.sql"


def test_a_seed_design_file_keeps_its_user_data_and_settings(cache: CacheService, db_path: Path) -> None:
    # The seed kept them inside its cache_storage rows; adopting the file moves them
    # into the bot's tables, where getChatUserData and getChatSettings read them.
    with sqlite3.connect(db_path) as db:
        db.executescript(SEED_DATABASE.read_text())
    db.close()
    cache.injectDatabase(db_path)
    assert cache.getUserData(-100, 5)["k"] == "v"
    assert cache.getChatSettings(-100)["lang"] == "ru"
    cache.setUserData(-100, 5, "x", 1)  # the next write keeps the rest
    CacheService.resetInstance()
    again = CacheService.getInstance()
    again.injectDatabase(db_path)
    assert again.getUserData(-100, 5) == {"k": "v", "n": 2, "list": [1, "two"], "a b": {"c": None}, "x": 1}


def test_a_key_holding_nul_is_invalid_key_in_every_method(cache: CacheService) -> None:
    # No storage could hold it (PostgreSQL's text cannot), so every host refuses it.
    from gromozeka_cache import InvalidKeyError

    with pytest.raises(InvalidKeyError):
        cache.chatUsers.set("a\0b", {"x": 1})
    with pytest.raises(ValueError):
        cache.setUserState(1, "st\0ate", 1)
    assert cache.getUserState(1, "state") is None
    cache.chatUsers.set("a\x01b", {"x": 1})  # other control characters are ordinary
    assert cache.chatUsers.get("a\x01b") == {"x": 1}
