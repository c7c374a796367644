"""Storage backends for the component's `storage` import.

:class:`SqliteStorage` uses the standard library's ``sqlite3`` with exactly the schema
of the Rust host (``cache-host``), so one database file works with both hosts.
:class:`MemoryStorage` is the same semantics in memory; it is what the cache uses
before a database is injected, and the reference for the conformance suite's mock.

A backend reports failure by raising; the component adapter turns any exception into
the ``err`` string of the storage call, which the component returns as
``cache-error.storage``.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from typing import NamedTuple, Protocol


class Row(NamedTuple):
    """One stored entry: namespace, key and its JSON text value."""

    namespace: str
    key: str
    value: str


@dataclass
class Batch:
    """Changes applied atomically, in the order clear, delete, upsert."""

    clear: list[str] = field(default_factory=list)
    delete: list[tuple[str, str]] = field(default_factory=list)
    upsert: list[Row] = field(default_factory=list)


class Storage(Protocol):
    """What the component needs from its host (the WIT `storage` interface, snake_case)."""

    def load(self, namespace: str, limit: int) -> list[Row]:
        """The newest ``limit`` rows of ``namespace`` by last update, oldest first."""
        ...

    def get(self, namespace: str, key: str) -> str | None:
        """The stored value of one key, or ``None``."""
        ...

    def write(self, batch: Batch) -> None:
        """Apply ``batch`` atomically (clear, then delete, then upsert) or raise and apply nothing."""
        ...

    def get_chat_settings(self, chat_id: int) -> list[tuple[str, str]]:
        """Every stored setting of a chat as (key, plain text) pairs."""
        ...

    def set_chat_settings(self, chat_id: int, settings: list[tuple[str, str]]) -> None:
        """Insert or replace the given settings of a chat; keep the others."""
        ...

    def get_user_data(self, chat_id: int, user_id: int) -> list[tuple[str, str]]:
        """Every stored data item of a user in a chat as (key, JSON text) pairs."""
        ...

    def add_user_data(self, chat_id: int, user_id: int, key: str, value: str) -> None:
        """Insert or replace one data item of a user in a chat."""
        ...


# The DDL below must stay byte-for-byte identical to the Rust host's (host/).
SCHEMA_VERSION = 1
SCHEMA_DDL = (
    "CREATE TABLE IF NOT EXISTS cache_storage (namespace TEXT NOT NULL, key TEXT NOT NULL, "
    "value TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, key));",
    "CREATE INDEX IF NOT EXISTS idx_cache_storage_recency ON cache_storage (namespace, updated_at);",
    "CREATE TABLE IF NOT EXISTS chat_settings (chat_id INTEGER NOT NULL, key TEXT NOT NULL, "
    "value TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (chat_id, key));",
    "CREATE TABLE IF NOT EXISTS user_data (chat_id INTEGER NOT NULL, user_id INTEGER NOT NULL, "
    "key TEXT NOT NULL, data TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (chat_id, user_id, key));",
)

_UPSERT_ROW = (
    "INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(namespace, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at"
)
_UPSERT_SETTING = (
    "INSERT INTO chat_settings (chat_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT(chat_id, key) DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at"
)
_UPSERT_USER_DATA = (
    "INSERT INTO user_data (chat_id, user_id, key, data, updated_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT(chat_id, user_id, key) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at"
)


class SchemaVersionError(RuntimeError):
    """The database was written by a newer schema than this host understands."""


class SqliteStorage:
    """`storage` over one SQLite file, shared with the Rust host.

    Opening migrates the file to ``PRAGMA user_version = 1`` (idempotent, in one
    transaction), sets WAL mode, ``synchronous=NORMAL`` and a busy timeout. Every write
    is one transaction. ``updated_at`` is a strictly increasing write sequence in unix
    microseconds. Safe to call from several threads (an internal lock serialises use).
    """

    def __init__(self, path: str | PathLike[str], *, busy_timeout_ms: int = 5000) -> None:
        """Open (creating if needed) and migrate the database at ``path``."""
        self.path = str(path)
        self._lock = threading.RLock()
        self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = NORMAL")
            self._migrate()
            (last,) = self._conn.execute("SELECT max(updated_at) FROM cache_storage").fetchone()
            self._last_written = int(last or 0)
        except BaseException:
            self._conn.close()
            raise

    def _migrate(self) -> None:
        with self._transaction():
            (version,) = self._conn.execute("PRAGMA user_version").fetchone()
            if version > SCHEMA_VERSION:
                raise SchemaVersionError(
                    f"{self.path}: schema version {version} is newer than this host's {SCHEMA_VERSION}"
                )
            if version < SCHEMA_VERSION:
                for statement in SCHEMA_DDL:
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    class _Tx:
        def __init__(self, outer: SqliteStorage) -> None:
            self.outer = outer

        def __enter__(self) -> sqlite3.Connection:
            self.outer._lock.acquire()
            try:
                self.outer._conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.outer._lock.release()
                raise
            return self.outer._conn

        def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
            try:
                if exc_type is None:
                    self.outer._conn.execute("COMMIT")
                else:
                    self.outer._conn.execute("ROLLBACK")
            finally:
                self.outer._lock.release()

    def _transaction(self) -> SqliteStorage._Tx:
        return SqliteStorage._Tx(self)

    def _next_updated_at(self) -> int:
        now_us = time.time_ns() // 1000
        self._last_written = max(now_us, self._last_written + 1)
        return self._last_written

    def load(self, namespace: str, limit: int) -> list[Row]:
        """The newest ``limit`` rows of ``namespace`` by ``updated_at``, returned oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT key, value FROM cache_storage WHERE namespace = ? ORDER BY updated_at DESC LIMIT ?",
                (namespace, limit),
            ).fetchall()
        return [Row(namespace, k, v) for k, v in reversed(rows)]

    def get(self, namespace: str, key: str) -> str | None:
        """The stored value of ``(namespace, key)`` or ``None``."""
        with self._lock:
            row = self._conn.execute(
                "SELECT value FROM cache_storage WHERE namespace = ? AND key = ?", (namespace, key)
            ).fetchone()
        return None if row is None else row[0]

    def write(self, batch: Batch) -> None:
        """Apply ``batch`` in one transaction: clears, then deletes, then upserts; all or nothing."""
        saved = self._last_written
        try:
            with self._transaction() as conn:
                for namespace in batch.clear:
                    conn.execute("DELETE FROM cache_storage WHERE namespace = ?", (namespace,))
                for namespace, key in batch.delete:
                    conn.execute("DELETE FROM cache_storage WHERE namespace = ? AND key = ?", (namespace, key))
                for row in batch.upsert:
                    conn.execute(_UPSERT_ROW, (row.namespace, row.key, row.value, self._next_updated_at()))
        except BaseException:
            self._last_written = saved
            raise

    def get_chat_settings(self, chat_id: int) -> list[tuple[str, str]]:
        """Every setting of ``chat_id`` as (key, text), sorted by key."""
        with self._lock:
            return [
                (k, v)
                for k, v in self._conn.execute(
                    "SELECT key, value FROM chat_settings WHERE chat_id = ? ORDER BY key", (chat_id,)
                )
            ]

    def set_chat_settings(self, chat_id: int, settings: list[tuple[str, str]]) -> None:
        """Insert or replace each (key, text) of ``chat_id`` in one transaction."""
        with self._transaction() as conn:
            for key, value in settings:
                conn.execute(_UPSERT_SETTING, (chat_id, key, value, self._next_updated_at()))

    def get_user_data(self, chat_id: int, user_id: int) -> list[tuple[str, str]]:
        """Every data item of the user in the chat as (key, JSON text), sorted by key."""
        with self._lock:
            return [
                (k, v)
                for k, v in self._conn.execute(
                    "SELECT key, data FROM user_data WHERE chat_id = ? AND user_id = ? ORDER BY key",
                    (chat_id, user_id),
                )
            ]

    def add_user_data(self, chat_id: int, user_id: int, key: str, value: str) -> None:
        """Insert or replace one data item of the user in the chat."""
        with self._transaction() as conn:
            conn.execute(_UPSERT_USER_DATA, (chat_id, user_id, key, value, self._next_updated_at()))

    def rows(self) -> list[Row]:
        """Every ``cache_storage`` row, oldest write first (for inspection and tests)."""
        with self._lock:
            return [
                Row(*r)
                for r in self._conn.execute(
                    "SELECT namespace, key, value FROM cache_storage ORDER BY updated_at, namespace, key"
                )
            ]

    def close(self) -> None:
        """Close the connection; the object must not be used afterwards."""
        with self._lock:
            self._conn.close()


class MemoryStorage:
    """`storage` in memory, with the same semantics as :class:`SqliteStorage`.

    Rows keep a write sequence number, so ``load`` returns the newest rows by write
    order, oldest first. Nothing is validated; values are kept verbatim.
    """

    def __init__(self) -> None:
        """An empty store."""
        self._rows: dict[tuple[str, str], tuple[str, int]] = {}
        self._seq = 0
        self._settings: dict[tuple[int, str], str] = {}
        self._user_data: dict[tuple[int, int, str], str] = {}

    def put_rows(self, rows: Iterable[Row]) -> None:
        """Upsert ``rows`` in order, each newer than the previous (test set-up)."""
        for row in rows:
            self._seq += 1
            self._rows[(row.namespace, row.key)] = (row.value, self._seq)

    def load(self, namespace: str, limit: int) -> list[Row]:
        """The newest ``limit`` rows of ``namespace`` by write order, oldest first."""
        mine = sorted(
            ((seq, key, value) for (ns, key), (value, seq) in self._rows.items() if ns == namespace),
            reverse=True,
        )[:limit]
        return [Row(namespace, key, value) for _seq, key, value in reversed(mine)]

    def get(self, namespace: str, key: str) -> str | None:
        """The stored value or ``None``."""
        found = self._rows.get((namespace, key))
        return None if found is None else found[0]

    def write(self, batch: Batch) -> None:
        """Apply clears, deletes, then upserts (cannot fail part-way)."""
        for namespace in batch.clear:
            for k in [k for k in self._rows if k[0] == namespace]:
                del self._rows[k]
        for namespace, key in batch.delete:
            self._rows.pop((namespace, key), None)
        self.put_rows(batch.upsert)

    def get_chat_settings(self, chat_id: int) -> list[tuple[str, str]]:
        """Settings of ``chat_id`` sorted by key."""
        return sorted((k, v) for (c, k), v in self._settings.items() if c == chat_id)

    def set_chat_settings(self, chat_id: int, settings: list[tuple[str, str]]) -> None:
        """Insert or replace each setting."""
        for key, value in settings:
            self._settings[(chat_id, key)] = value

    def get_user_data(self, chat_id: int, user_id: int) -> list[tuple[str, str]]:
        """Data items of the user in the chat, sorted by key."""
        return sorted((k, v) for (c, u, k), v in self._user_data.items() if (c, u) == (chat_id, user_id))

    def add_user_data(self, chat_id: int, user_id: int, key: str, value: str) -> None:
        """Insert or replace one data item."""
        self._user_data[(chat_id, user_id, key)] = value

    def rows(self) -> list[Row]:
        """Every row, oldest write first."""
        ordered = sorted(self._rows.items(), key=lambda item: item[1][1])
        return [Row(ns, key, value) for (ns, key), (value, _seq) in ordered]

    def chat_settings(self) -> list[tuple[int, str, str]]:
        """Every (chat_id, key, value) setting."""
        return sorted((c, k, v) for (c, k), v in self._settings.items())

    def user_data(self) -> list[tuple[int, int, str, str]]:
        """Every (chat_id, user_id, key, data) item."""
        return sorted((c, u, k, v) for (c, u, k), v in self._user_data.items())
