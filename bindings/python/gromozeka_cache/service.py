"""The seed's ``CacheService`` API (camelCase), backed by the cache component.

Values are Python objects; they cross into the component as JSON text. Every failed
call raises a :class:`~gromozeka_cache.errors.CacheError` subclass and leaves the cache
unchanged. One lock serialises all calls, so the service is thread-safe.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from .component import CacheComponent, LoadReport, NamespaceConfig, PersistReport
from .storage import MemoryStorage, SqliteStorage, Storage

log = logging.getLogger(__name__)

_ALL_SERVICES: weakref.WeakSet[CacheService] = weakref.WeakSet()


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class CacheService:
    """The bot's cache: ``chats`` (on-shutdown), ``chatUsers`` (on-change) and
    ``users`` (memory-only) namespaces of the component, 1000 entries each.

    Use :meth:`getInstance` for the process-wide singleton. Until
    :meth:`injectDatabase` is called, storage is a volatile :class:`MemoryStorage`.
    """

    _instance: ClassVar[CacheService | None] = None
    _instanceLock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, wasmPath: str | os.PathLike[str] | None = None, storage: Storage | None = None) -> None:
        """A new, independent service (prefer :meth:`getInstance` in the bot)."""
        self._lock = threading.RLock()
        self._component = CacheComponent(storage if storage is not None else MemoryStorage(), wasmPath)
        self._database: SqliteStorage | None = None
        _ALL_SERVICES.add(self)

    @classmethod
    def getInstance(cls) -> CacheService:
        """The process-wide service, created on first use; persisted at interpreter exit."""
        with cls._instanceLock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    @property
    def component(self) -> CacheComponent:
        """The underlying component host (JSON-text API)."""
        return self._component

    @property
    def storage(self) -> Storage:
        """The storage currently behind the component."""
        return self._component.storage

    # ------------------------------------------------------------------ lifecycle
    def injectDatabase(self, path: str | os.PathLike[str]) -> LoadReport:
        """Open (and migrate) the SQLite database at ``path``, use it as storage from now
        on, and load its persisted entries (:meth:`loadFromDatabase`). Returns that report.
        """
        database = SqliteStorage(path)
        with self._lock:
            previous = self._database
            self._component.set_storage(database)
            self._database = database
            if previous is not None:
                previous.close()
            return self.loadFromDatabase()

    def loadFromDatabase(self) -> LoadReport:
        """Load the newest stored rows of every persisted namespace into free capacity.

        Rows that are not JSON, empty or ``null`` are skipped and listed in the report
        (and logged), never raised.
        """
        with self._lock:
            report = self._component.load_from_storage()
        for row in report.skipped:
            log.warning("cache: skipped stored row %s/%s: %s", row.namespace, row.key, row.reason)
        return report

    def persistAll(self) -> PersistReport:
        """Write every pending change of the on-shutdown namespaces (``chats``) in one
        transaction; on error raise :class:`StorageError` and keep them pending."""
        with self._lock:
            return self._component.persist_all()

    def close(self) -> None:
        """Persist pending changes and close the database (if one was injected)."""
        with self._lock:
            try:
                if self._database is not None:
                    self.persistAll()
            finally:
                if self._database is not None:
                    self._database.close()
                    self._database = None
                    self._component.set_storage(MemoryStorage())

    # ------------------------------------------------------------------ bot API
    def getChatSettings(self, chatId: int) -> dict[str, Any]:
        """The chat's settings (loaded from the database's chat_settings on first use)."""
        with self._lock:
            return json.loads(self._component.get_chat_settings(chatId))

    def setChatSettings(self, chatId: int, settings: Mapping[str, Any]) -> None:
        """Replace the chat's settings; each key is written to chat_settings first
        (strings as plain text, other values as JSON text)."""
        with self._lock:
            self._component.set_chat_settings(chatId, _dumps(dict(settings)))

    def getChatInfo(self, chatId: int) -> dict[str, Any] | None:
        """The chat's info, or ``None`` if none was set."""
        with self._lock:
            return _loads(self._component.get_chat_info(chatId))

    def setChatInfo(self, chatId: int, info: Mapping[str, Any]) -> None:
        """Replace the chat's info (persisted by :meth:`persistAll`)."""
        with self._lock:
            self._component.set_chat_info(chatId, _dumps(dict(info)))

    def getUserData(self, chatId: int, userId: int) -> dict[str, Any]:
        """The user's data in the chat (loaded from user_data on first use)."""
        with self._lock:
            return json.loads(self._component.get_user_data(chatId, userId))

    def setUserData(self, chatId: int, userId: int, key: str, value: Any) -> None:
        """Set one data item; written to user_data and to the cache table before returning."""
        with self._lock:
            self._component.set_user_data(chatId, userId, key, _dumps(value))

    def getUserState(self, userId: int, stateKey: str, default: Any = None) -> Any:
        """One item of the user's (memory-only) state, or ``default``."""
        with self._lock:
            text = self._component.get_user_state(userId, stateKey)
        return default if text is None else json.loads(text)

    def setUserState(self, userId: int, stateKey: str, value: Any) -> None:
        """Set one item of the user's state (never persisted)."""
        with self._lock:
            self._component.set_user_state(userId, stateKey, _dumps(value))

    def clearUserState(self, userId: int, stateKey: str | None = None) -> None:
        """Remove one item of the user's state, or all of it when ``stateKey`` is ``None``."""
        with self._lock:
            self._component.clear_user_state(userId, stateKey)

    def getStats(self) -> dict[str, dict[str, Any]]:
        """Per namespace: size, maxSize, dirty, persistence, hits, misses, evictions."""
        with self._lock:
            stats = self._component.stats()
        return {
            s.name: {
                "size": s.size,
                "maxSize": s.max_entries,
                "dirty": s.dirty,
                "persistence": s.persistence,
                "hits": s.hits,
                "misses": s.misses,
                "evictions": s.evictions,
            }
            for s in stats
        }

    # ------------------------------------------------------------------ generic namespaces
    def configure(self, namespaces: Iterable[tuple[str, int, str] | NamespaceConfig]) -> None:
        """Replace the namespace table: (name, maxEntries, persistence) items where
        persistence is ``"memory-only"``, ``"on-change"`` or ``"on-shutdown"``."""
        table = [n if isinstance(n, NamespaceConfig) else NamespaceConfig(*n) for n in namespaces]
        with self._lock:
            self._component.configure(table)

    def get(self, namespace: str, key: str, default: Any = None) -> Any:
        """The value under ``key`` (read through storage on a miss), or ``default``."""
        with self._lock:
            text = self._component.get(namespace, key)
        return default if text is None else json.loads(text)

    def set(self, namespace: str, key: str, value: Any) -> None:
        """Store ``value`` (JSON-serialisable, not ``None``) under ``key``."""
        with self._lock:
            self._component.set(namespace, key, _dumps(value))

    def delete(self, namespace: str, key: str) -> bool:
        """Remove ``key``; ``True`` if it was held in memory."""
        with self._lock:
            return self._component.delete(namespace, key)

    def getMany(self, namespace: str, keys: Sequence[str]) -> list[Any]:
        """The values of ``keys`` in order (``None`` for missing ones)."""
        with self._lock:
            texts = self._component.get_many(namespace, keys)
        return [_loads(t) for t in texts]

    def setMany(self, namespace: str, entries: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        """Store every entry, or none if one is invalid or the write fails."""
        items = entries.items() if isinstance(entries, Mapping) else entries
        encoded = [(k, _dumps(v)) for k, v in items]
        with self._lock:
            self._component.set_many(namespace, encoded)

    def clearNamespace(self, namespace: str) -> None:
        """Remove every entry of ``namespace`` (and, per its policy, from storage)."""
        with self._lock:
            self._component.clear_namespace(namespace)


def _persist_at_exit() -> None:
    for service in list(_ALL_SERVICES):
        if service._database is None:
            continue
        try:
            service.close()
        except Exception:
            log.exception("cache: persisting at interpreter exit failed; pending changes are lost")


atexit.register(_persist_at_exit)
