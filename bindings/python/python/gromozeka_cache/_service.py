"""``CacheService``: the bot's cache, one per process (the seed's singleton).

The methods themselves are implemented in Rust (``_native.NativeCache``): the
component runs in the Rust host's wasmtime sandbox, values cross as JSON text
and are converted to Python objects in Rust. This module adds what is Python's:
the singleton, ``injectDatabase``, the dict-like views, the bot's aliases and
the shutdown hooks.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any, ClassVar

from . import _paths, _shutdown
from ._native import NativeCache
from ._views import NamespaceView

log = logging.getLogger("gromozeka_cache")

#: The methods the bot's database object is expected to have (the seed's names).
DATABASE_METHODS = (
    "getCacheStorage",
    "setCacheStorage",
    "getChatSettings",
    "setChatSetting",
    "getUserData",
    "addUserData",
)


class CacheService(NativeCache):
    """The bot's cache: namespaces ``chats`` (persisted on shutdown), ``chatUsers``
    (persisted on change) and ``users`` (memory only), 1000 entries each, LRU.

    ``CacheService.getInstance()`` and ``CacheService()`` return the same instance.
    Until :meth:`injectDatabase` is called nothing is durable. Thread-safe: every
    call releases the GIL while it runs.
    """

    _instance: ClassVar[CacheService | None] = None
    _instanceLock: ClassVar[threading.RLock] = threading.RLock()

    chats: NamespaceView
    chatUsers: NamespaceView
    users: NamespaceView

    def __new__(cls) -> CacheService:
        with CacheService._instanceLock:
            instance = CacheService._instance
            if instance is None:
                wasm, artifact_cache = _paths.prepared_component()
                instance = super().__new__(cls, str(wasm), artifact_cache=artifact_cache)
                instance.chats = NamespaceView(instance, "chats")
                instance.chatUsers = NamespaceView(instance, "chatUsers")
                instance.users = NamespaceView(instance, "users")
                CacheService._instance = instance
            return instance

    def __init__(self) -> None:
        # Everything is set up once, in __new__; CacheService() may be called often.
        pass

    @classmethod
    def getInstance(cls) -> CacheService:
        """The process-wide cache, created on first use."""
        return cls()

    @classmethod
    def resetInstance(cls) -> None:
        """Closes the process-wide cache (persisting it) and forgets it: the next
        :meth:`getInstance` starts a new one. For tests and re-configuration."""
        with CacheService._instanceLock:
            instance = CacheService._instance
            CacheService._instance = None
        if instance is not None:
            instance.close()

    def injectDatabase(self, database: Any) -> dict[str, Any]:
        """Makes ``database`` the cache's storage and loads its persisted entries.

        ``database`` is a path (``str`` or ``os.PathLike``) of a SQLite file, created
        and migrated if needed (the bot's own database file works too); a
        ``postgresql://`` or ``postgres://`` URL of a PostgreSQL database (its
        tables created and migrated if needed, shared by several processes); or the
        bot's database object with the seed's methods (see ``DATABASE_METHODS``).
        Returns the load report ``{"loaded": n, "skipped": [...]}``; skipped rows
        are also logged. Installs the SIGTERM/SIGHUP handlers that persist pending
        changes (see ``gromozeka_cache._shutdown``).
        """
        if isinstance(database, (str, bytes, os.PathLike)):
            path = os.fsdecode(database)
            if path.startswith(("postgresql://", "postgres://")):
                report = self._attach_postgres(path)
            else:
                report = self._attach_sqlite(path)
        elif any(hasattr(database, name) for name in DATABASE_METHODS):
            report = self._attach_object(database)
        else:
            raise TypeError(
                "injectDatabase takes a SQLite path or the bot's database object "
                f"(with {', '.join(DATABASE_METHODS)}), not {type(database).__name__}"
            )
        for row in report["skipped"]:
            log.warning("cache: skipped stored row %s/%s: %s", row["namespace"], row["key"], row["reason"])
        _shutdown.register(self)
        return report

    def close(self) -> None:
        """Persists pending changes and closes the database. Every later call raises
        ``CacheClosedError``; a second ``close()`` does nothing."""
        if not self.closed:
            self._close_native()

    # The bot's names for the per-chat user data.
    getChatUserData = NativeCache.getUserData
    setChatUserData = NativeCache.setUserData
