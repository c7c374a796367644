"""The bot's asyncio ``CacheService``: its names, its async and sync methods, over
the same sandboxed component as :mod:`gromozeka_cache`.

Switching the bot is one import::

    from gromozeka_cache.aio import CacheService   # was: internal.services.cache.service

``await cache.injectDatabase(db)`` takes the bot's async ``Database`` (repositories
``cache``, ``chatSettings``, ``chatInfo``, ``userData`` whose methods are
coroutines), a SQLite path, a ``postgresql://`` URL or a sync object with the
seed's names. With the async database, a call that needs storage fails inside
the component with a ``pending`` request, changing nothing; the calling coroutine
awaits the repositories' coroutines that carry it out and calls again
(``bindings/python/src/staged.rs``, ``relay.rs``): a hit completes on the
caller's thread at once, and no coroutine's database round-trip holds the cache.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any, Awaitable, Callable, ClassVar, Generic, TypeVar

from . import _paths, _shutdown
from ._bridge import (
    UPDATED_BY,
    AsyncDatabaseBridge,
    is_async_database,
    missing_methods,
    repository_method,
)
from ._aio_views import ChatsView, DirtyKeys
from ._aio_support import (
    KeyLocks,
    SettingsObjects,
    drive,
    jsonable,
    key_to_str,
    staged_call,
    value_to_str,
)
from ._native import NativeCache
from ._service import DATABASE_METHODS
from ._views import NamespaceView, entry_key
from .errors import StorageError

log = logging.getLogger("gromozeka_cache")

K = TypeVar("K")
V = TypeVar("V")
R = TypeVar("R")

#: The bot's namespace table: ``chats`` and ``chatUsers`` memory-only (settings,
#: chat info and user data live in their own repositories), ``users`` and
#: ``chatPersistent`` persisted on shutdown, 1000 entries each; and for the bot's
#: TTL methods, ``chatAdmins`` and ``cachedChatSettings``, memory-only entries
#: that expire (:data:`TTL_NAMESPACE_EXPIRY`).
BOT_NAMESPACES: tuple[tuple[str, int, str], ...] = (
    ("chats", 1000, "memory-only"),
    ("chatUsers", 1000, "memory-only"),
    ("users", 1000, "on-shutdown"),
    ("chatPersistent", 1000, "on-shutdown"),
    ("chatAdmins", 1000, "memory-only"),
    ("cachedChatSettings", 1000, "memory-only"),
)

#: Seconds after which entries of the TTL namespaces expire (evicted before the
#: least recent ones when full): a read with ``ttl=None`` accepts any younger.
TTL_NAMESPACE_EXPIRY = 86400.0

#: The bot's names of the persistence levels, for :meth:`CacheService.getStats`.
PERSISTENCE_LEVELS = {"memory-only": "memory", "on-change": "on_change", "on-shutdown": "on_shutdown"}

#: Seconds between writes of queued on-shutdown rows to the async database.
FLUSH_INTERVAL = 1.0


class _ShutdownHooks:
    """What ``_shutdown`` calls at SIGTERM, SIGHUP and exit, for a cache over a
    SQLite path, a PostgreSQL URL or a sync object. (With the async database the
    application awaits ``persistAll()``, as the bot's exit handler does: a signal
    handler cannot wait for the event loop.)"""

    def __init__(self, native: NativeCache) -> None:
        self._native = native

    @property
    def closed(self) -> bool:
        return self._native.closed

    def persistAll(self) -> None:
        self._native.persistAll()

    def close(self) -> None:
        if not self._native.closed:
            self._native._close_native()

    def _defer_signal(self, signum: int) -> None:
        self._native._defer_signal(signum)


class CacheService(Generic[K, V]):
    """The bot's cache with its asyncio API (one instance per process).

    Async: ``injectDatabase``, ``loadFromDatabase``, ``persistAll``,
    ``getChatSettings``, ``setChatSetting``, ``unsetChatSetting``, ``getChatInfo``,
    ``setChatInfo``, ``getChatTopicsInfo``, ``getChatTopicInfo``,
    ``setChatTopicInfo``, ``getChatUserData``, ``setChatUserData``,
    ``unsetChatUserData``, ``clearChatUserData``, ``aclose``. Everything else is
    sync and never waits for the database. Settings keys and values are the bot's
    own types through :meth:`useSettingsTypes`.
    """

    _instance: ClassVar[CacheService[Any, Any] | None] = None
    _instanceLock: ClassVar[threading.RLock] = threading.RLock()

    def __new__(cls) -> CacheService[Any, Any]:
        # `cls._instance`, so that a subclass (or a test resetting
        # `CacheService._instance = None`, as the bot's tests do) gets its own.
        with CacheService._instanceLock:
            instance = cls._instance
            if instance is None:
                instance = super().__new__(cls)
                instance._setup()
                # Set first, so that `onCreate` may call `getInstance()`.
                cls._instance = instance
                try:
                    instance.onCreate()
                except BaseException:
                    cls._instance = None
                    instance._native._close_native()
                    raise
            return instance

    def _setup(self) -> None:
        wasm, artifact_cache = _paths.prepared_component()
        self._native = NativeCache(str(wasm), artifact_cache=artifact_cache)
        self._native.configure(list(BOT_NAMESPACES))
        for namespace in ("chatAdmins", "cachedChatSettings"):
            self._native.expireAfterWrite(namespace, TTL_NAMESPACE_EXPIRY)
        self._database: Any = None
        self._async: Any = None  # the AsyncStorage handle while an async database is attached
        self._flusher: asyncio.Task[None] | None = None
        self._locks = KeyLocks()
        self._settings: SettingsObjects[Any, Any] = SettingsObjects(str, str)
        self.chats = ChatsView(self._native, lambda: self._settings)
        self.chatUsers = NamespaceView(self._native, "chatUsers")
        self.users = NamespaceView(self._native, "users")
        self.chatPersistent = NamespaceView(self._native, "chatPersistent")
        #: Per namespace, the keys whose changes ``persistAll`` will write (the
        #: component's pending changes; see :class:`PendingKeys`).
        self.dirtyKeys = DirtyKeys(self._native)
        self._hooks = _ShutdownHooks(self._native)
        # The hot sync read goes straight to the native method, one Python call
        # fewer per hit, unless a subclass overrides it.
        if type(self).getUserState is CacheService.getUserState:
            setattr(self, "getUserState", self._native.getUserState)

    def onCreate(self) -> None:
        """Called once, when the process-wide instance is created (it is already
        what ``getInstance()`` returns). Does nothing here; a subclass in the
        bot's own ``service.py`` sets its settings types and registers its exit
        handler in it (README: "The bot's switch"). If it raises, no instance is
        kept and the next ``getInstance()`` tries again."""

    @classmethod
    def getInstance(cls) -> CacheService[Any, Any]:
        """The process-wide cache, created on first use."""
        return cls()

    def useSettingsTypes(self, key: Callable[[str], K], value: Callable[[str], V]) -> None:
        """Chat settings come out as ``{key(k): value(v)}`` (e.g. the bot's
        ``ChatSettingsKey`` and ``ChatSettingsValue``); values go in through their
        ``toStr()`` (or ``str()``). The default is plain ``str``."""
        self._settings = SettingsObjects(key, value, shared=self._settings.shared)

    def shareValues(self, namespace: str, on: bool = True) -> None:
        """Whether hits in ``namespace`` return the cache's own object rather than
        a new one (off by default): ``chats`` for ``getChatSettings`` (its dict of
        settings objects) and ``getChatInfo``, ``chatUsers`` for
        ``getChatUserData``, ``users`` for ``getUserState``. On, a hit returns the
        same object each time while the entry is unchanged, as the bot's own cache
        returns its dict, and costs the same for every size of value. The object
        must then be treated as read-only: mutating it changes what later hits of
        the unchanged entry return in this process, never what the cache or the
        database holds."""
        self._native.shareValues(namespace, on)
        if namespace == "chats":
            self._settings.shared = on

    # ----- the database -----

    @property
    def database(self) -> Any:
        """The injected database (``None`` before ``injectDatabase``). Setting it to
        ``None`` detaches it: later changes are kept in memory only."""
        return self._database

    @database.setter
    def database(self, value: Any) -> None:
        if value is not None:
            raise TypeError("attach a database with `await cache.injectDatabase(db)`")
        if self._async is not None and self._async.queued:
            log.error(
                "cache: %d row writes queued for the detached async database are dropped "
                "(await persistAll() before detaching it)",
                self._async.queued,
            )
        self._stop_flusher()
        self._native._detach_storage()
        self._database = None
        self._async = None

    async def injectDatabase(self, database: Any) -> None:
        """Makes ``database`` the cache's storage and loads its persisted entries.

        ``database`` is the bot's async ``Database`` (see the module doc), a SQLite
        path, a ``postgresql://`` URL, or a sync object with the seed's names
        (``DATABASE_METHODS``). Anything else is a ``TypeError`` naming what is missing.
        """
        if is_async_database(database):
            missing = missing_methods(database)
            if missing:
                raise TypeError(f"the async database ({type(database).__name__}) lacks {', '.join(missing)}")
        # Row writes queued for the previous async database go to it, not the next one.
        await self._flush()
        self._stop_flusher()
        self._async = None
        if is_async_database(database):
            self._async = self._native._attach_async(AsyncDatabaseBridge(database))
            self._database = database
            self._flusher = asyncio.get_running_loop().create_task(self._flush_forever())
            await self.loadFromDatabase()
            return
        if isinstance(database, (str, bytes, os.PathLike)):
            path = os.fsdecode(database)
            attach = self._native._attach_postgres if path.startswith(("postgresql://", "postgres://")) else self._native._attach_sqlite
            report = await asyncio.to_thread(attach, path)
        elif any(hasattr(database, name) for name in DATABASE_METHODS):
            report = await asyncio.to_thread(self._native._attach_object, database)
        else:
            raise TypeError(
                "injectDatabase takes the bot's async Database (database.cache.getCacheStorage, "
                f"...), a SQLite path, a PostgreSQL URL or a sync object with {', '.join(DATABASE_METHODS)}; "
                f"{type(database).__name__} has none of them"
            )
        self._database = database
        for row in report["skipped"]:
            log.warning("cache: skipped stored row %s/%s: %s", row["namespace"], row["key"], row["reason"])
        # A sync database can be written from a signal handler or at exit: pending
        # on-shutdown changes are persisted then, as in the sync package.
        _shutdown.register(self._hooks)

    async def _call(self, lock_key: Any, fn: Callable[..., R], *args: Any) -> R:
        return await staged_call(self._async, self._locks, lock_key, fn, *args)

    async def _flush(self) -> None:
        handle = self._async
        if handle is not None:
            await drive(handle.start_flush(), handle.bridge)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                await self._flush()
            except StorageError as e:
                log.error("cache: writing queued on-shutdown rows failed (kept, retried): %s", e)

    def _stop_flusher(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            self._flusher = None

    async def loadFromDatabase(self) -> dict[str, Any]:
        """Loads the persisted namespaces' newest rows into free capacity; returns
        ``{"loaded": n, "skipped": [...]}`` (skipped rows are logged, never raised)."""
        report: dict[str, Any] = await self._call(("rows",), self._native.loadFromDatabase)
        for row in report["skipped"]:
            log.warning("cache: skipped stored row %s/%s: %s", row["namespace"], row["key"], row["reason"])
        return report

    async def persistAll(self) -> None:
        """Writes every pending on-shutdown change (and every queued row write) to
        the database. Without a database it does nothing."""
        if self._database is None:
            log.error("cache: persistAll without a database; nothing is written")
            return
        await self._call(("rows",), self._native.persistAll)
        await self._flush()

    async def aclose(self) -> None:
        """Persists everything and closes the cache; later calls raise ``CacheClosedError``."""
        if self._database is not None:
            await self.persistAll()
        self._stop_flusher()
        self._native._close_native()
        # Whatever closing wrote went to the queue of the async database (if any).
        await self._flush()

    # ----- chat settings -----

    async def getChatSettings(self, chatId: int) -> dict[K, V]:
        """The chat's settings, read from the database on first use."""
        # A hit from the host's copy needs no storage scope and no lock.
        stored = self._native._peekChatSettings(chatId)
        if stored is None:
            stored = await self._call(("chat", chatId), self._native.getChatSettings, chatId)
        # The chat id is the slot: an int hashes faster than a tuple, on every hit.
        return self._settings.out(chatId, stored)

    async def setChatSetting(self, chatId: int, key: K, value: V, *, userId: int) -> None:
        """Writes one setting (``updatedBy=userId``) to the database, then the cached copy."""
        self.clearCachedChatSettings(chatId)
        # Read first, as the bot does: the settings are then cached with the new one.
        await self.getChatSettings(chatId)
        text_key, text_value = key_to_str(key), value_to_str(value)
        token = UPDATED_BY.set(userId)
        try:
            await self._call(("chat", chatId), self._native.setChatSettings, chatId, {text_key: text_value})
        finally:
            UPDATED_BY.reset(token)
        self._settings.remember(chatId, text_key, text_value, key, value)

    async def unsetChatSetting(self, chatId: int, key: K) -> None:
        """Deletes one setting from the database and the cached copy."""
        self.clearCachedChatSettings(chatId)
        await self._call(("chat", chatId), self._native.unsetChatSetting, chatId, key_to_str(key))

    def setDefaultChatSettings(self, key: str | None, value: dict[K, V]) -> None:
        """Keeps ``value`` as the default settings named ``key`` (memory only)."""
        entry = self._native.get("chats", f"defaults:{key}", None) or {}
        entry["defaults"] = {key_to_str(k): value_to_str(v) for k, v in value.items()}
        self._native.set("chats", f"defaults:{key}", entry)

    def getDefaultChatSettings(self, key: str | None) -> dict[K, V]:
        """The default settings named ``key`` (empty if none were set)."""
        entry = self._native.get("chats", f"defaults:{key}", None) or {}
        return self._settings.out(("defaults", key), entry.get("defaults", {}))

    def cacheChatSettings(self, chatId: int, settings: dict[K, V]) -> None:
        """Keeps ``settings`` as the chat's computed settings, written now (see
        :meth:`getCachedChatSettings`)."""
        self._native.set(
            "cachedChatSettings",
            entry_key(chatId),
            {key_to_str(k): value_to_str(v) for k, v in settings.items()},
        )

    def getCachedChatSettings(self, chatId: int, ttl: int | None = 600) -> dict[K, V] | None:
        """The settings kept by :meth:`cacheChatSettings` if kept less than ``ttl``
        seconds ago (``None``: any age up to the namespace's expiry); else ``None``.
        The age is the component's (``getFresh``)."""
        stored = self._fresh("cachedChatSettings", chatId, ttl)
        return None if stored is None else self._settings.out(("cached", chatId), stored)

    def clearCachedChatSettings(self, chatId: int) -> None:
        """Forgets the settings kept by :meth:`cacheChatSettings`."""
        self._native.delete("cachedChatSettings", entry_key(chatId))

    def _update_chat(self, chatId: int, **fields: Any) -> None:
        key = entry_key(chatId)
        entry = self._native.get("chats", key, None) or {}
        entry.pop("settings", None)  # the mirrored copy is the component's to keep
        entry.update(fields)
        self._native.set("chats", key, entry)

    # ----- chat admins -----

    def setChatAdmins(self, chatId: int, admins: dict[int, tuple[str, str]]) -> None:
        """Keeps the chat's admins, written now."""
        self._native.set("chatAdmins", entry_key(chatId), {str(k): list(v) for k, v in admins.items()})

    def getChatAdmins(self, chatId: int, ttl: int | None = 300) -> dict[int, tuple[str, str]] | None:
        """The chat's admins if kept less than ``ttl`` seconds ago (``None``: any age
        up to the namespace's expiry); else ``None``."""
        admins = self._fresh("chatAdmins", chatId, ttl)
        return None if admins is None else {int(k): (v[0], v[1]) for k, v in admins.items()}

    def _fresh(self, namespace: str, chatId: int, ttl: float | None) -> Any:
        """The chat's entry in a TTL namespace if written less than ``ttl`` seconds
        ago (``None``: any age up to the namespace's expiry)."""
        if ttl is None:
            return self._native.get(namespace, entry_key(chatId), None)
        if ttl < 0:
            return None  # older than "now" already, as in the bot
        return self._native.getFresh(namespace, entry_key(chatId), float(ttl), None)

    # ----- chat info and topics (the bot's chatInfo repository) -----

    async def _db(self, repository: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Awaits ``database.<repository>.<method>(...)``; what it raises becomes a
        ``StorageError`` (the cache is not changed)."""
        try:
            result = await repository_method(self._database, repository, method)(*args, **kwargs)
        except Exception as e:  # the database's own exception types are unknown here
            raise StorageError(f"{repository}.{method}() failed: {type(e).__name__}: {e}") from e
        if result is False and method.startswith(("update", "delete", "clear")):
            raise StorageError(f"{repository}.{method}() returned False (the database did not take the write)")
        return result

    def _has_repositories(self) -> bool:
        return self._database is not None and self._async is not None

    async def getChatInfo(self, chatId: int) -> dict[str, Any] | None:
        """The chat's info, read from the database's ``chatInfo`` on first use."""
        info = self._native.getChatInfo(chatId)
        if info is None and self._has_repositories():
            info = await self._db("chatInfo", "getChatInfo", chatId)
            if info:
                self._native.setChatInfo(chatId, jsonable(info))
                info = self._native.getChatInfo(chatId)
        return info

    async def setChatInfo(self, chatId: int, info: dict[str, Any]) -> None:
        """Writes the chat's info to the database's ``chatInfo``, then caches it."""
        cached = jsonable(info)
        if self._has_repositories():
            await asyncio.shield(
                self._db(
                    "chatInfo",
                    "updateChatInfo",
                    chatId=chatId,
                    type=info["type"],
                    title=info.get("title"),
                    username=info.get("username"),
                    isForum=info.get("is_forum"),
                )
            )
        self._native.setChatInfo(chatId, cached)

    async def getChatTopicsInfo(self, chatId: int) -> dict[int, dict[str, Any]]:
        """Every known topic of the chat by id, read from the database on first use."""
        entry = self._native.get("chats", entry_key(chatId), None) or {}
        topics = entry.get("topicInfo")
        if topics is None:
            topics = {}
            if self._has_repositories():
                for topic in await self._db("chatInfo", "getChatTopics", chatId):
                    topics[str(topic["topic_id"])] = jsonable(topic)
                self._update_chat(chatId, topicInfo=topics)
        return {int(k): v for k, v in topics.items()}

    async def getChatTopicInfo(self, chatId: int, topicId: int) -> dict[str, Any] | None:
        """One topic of the chat, or ``None``."""
        return (await self.getChatTopicsInfo(chatId)).get(topicId)

    async def setChatTopicInfo(self, chatId: int, topicId: int, info: dict[str, Any]) -> None:
        """Writes the topic to the database's ``chatInfo``, then caches it."""
        await self.getChatTopicsInfo(chatId)
        if self._has_repositories():
            await asyncio.shield(
                self._db(
                    "chatInfo",
                    "updateChatTopicInfo",
                    chatId=chatId,
                    topicId=topicId,
                    iconColor=info.get("icon_color"),
                    customEmojiId=info.get("icon_custom_emoji_id"),
                    topicName=info.get("name"),
                )
            )
        self._native.setChatTopic(chatId, topicId, jsonable(info))

    # ----- user data in a chat (the bot's userData repository) -----

    async def getChatUserData(self, chatId: int, userId: int) -> dict[str, Any]:
        """The user's data in the chat, read from the database on first use."""
        data = self._native._peekUserData(chatId, userId)
        if data is None:
            data = await self._call(("user", chatId, userId), self._native.getUserData, chatId, userId)
        return data

    async def setChatUserData(self, chatId: int, userId: int, key: str, value: Any) -> None:
        """Writes one item to the database, then the cached copy."""
        # Read first, as the bot does: the data is then cached with the new item.
        await self.getChatUserData(chatId, userId)
        await self._call(("user", chatId, userId), self._native.setUserData, chatId, userId, key, value)

    async def unsetChatUserData(self, chatId: int, userId: int, key: str) -> None:
        """Deletes one item from the database; the cached copy is dropped (the next
        read gets the database's)."""
        await self._drop_user_data(chatId, userId, "deleteUserData", key=key)

    async def clearChatUserData(self, chatId: int, userId: int) -> None:
        """Deletes all the user's data in the chat from the database and the cache."""
        await self._drop_user_data(chatId, userId, "clearUserData")

    async def _drop_user_data(self, chatId: int, userId: int, method: str, **extra: Any) -> None:
        async def body() -> None:
            if self._has_repositories():
                await self._db("userData", method, userId=userId, chatId=chatId, **extra)
            self._native._wit_call("bot.forget-user-data", [chatId, userId])

        task = asyncio.ensure_future(self._locks.run(("user", chatId, userId), body))
        await asyncio.shield(task)

    # ----- user state (memory; users is persisted on shutdown) -----

    def getUserState(self, userId: int, stateKey: Any, default: Any = None) -> Any:
        """One item of the user's state, or ``default``."""
        return self._native.getUserState(userId, stateKey, default)

    def setUserState(self, userId: int, stateKey: Any, value: Any) -> None:
        """Sets one item of the user's state."""
        self._native.setUserState(userId, stateKey, value)

    def clearUserState(self, userId: int, stateKey: Any = None) -> None:
        """Removes one item of the user's state, or with ``None`` all of it."""
        self._native.clearUserState(userId, stateKey)

    # ----- spam warnings (chatPersistent, persisted on shutdown) -----

    def getSpamWarningMessageInfo(self, chatId: int, messageId: int) -> dict[str, Any] | None:
        """The spam warning recorded for the message, or ``None``."""
        entry = self.chatPersistent.get(chatId, None) or {}
        found: dict[str, Any] | None = entry.get("spamWarningMessages", {}).get(str(messageId))
        return found

    def addSpamWarningMessage(self, chatId: int, messageId: int, data: dict[str, Any]) -> None:
        """Records a spam warning for the message."""
        entry = self.chatPersistent.get(chatId, None) or {}
        entry.setdefault("spamWarningMessages", {})[str(messageId)] = data
        self.chatPersistent.set(chatId, entry)

    def removeSpamWarningMessageInfo(self, chatId: int, messageId: int) -> None:
        """Forgets the spam warning recorded for the message."""
        entry = self.chatPersistent.get(chatId, None)
        if not entry or str(messageId) not in entry.get("spamWarningMessages", {}):
            return
        del entry["spamWarningMessages"][str(messageId)]
        self.chatPersistent.set(chatId, entry)

    # ----- namespaces -----

    def clearNamespace(self, namespace: Any) -> None:
        """Removes every entry of the namespace (a name or the bot's ``CacheNamespace``)."""
        self._native.clearNamespace(str(getattr(namespace, "value", namespace)))

    def getStats(self) -> dict[str, dict[str, Any]]:
        """Per namespace: ``size``, ``maxSize``, ``dirty``, ``persistenceLevel`` (the
        bot's names) and ``persistence``, ``hits``, ``misses``, ``evictions``."""
        stats: dict[str, dict[str, Any]] = self._native.getStats()
        for ns in stats.values():
            ns["persistenceLevel"] = PERSISTENCE_LEVELS.get(ns["persistence"], ns["persistence"])
        return stats

