"""The bot's async ``Database`` seen through the seed's sync method names.

The cache's storage requests are performed on a worker thread (see
``bindings/python/src/staged.rs``); there, :class:`AsyncDatabaseBridge` turns each
seed-protocol call into the bot's repository coroutine, runs it on the event loop
of the coroutine the request was made for, and waits for it. The loop itself
never waits: only the worker thread does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
from typing import Any

#: The event loop a request is performed for (set by the coroutine that made it;
#: the copied context carries it to the I/O thread).
REQUEST_LOOP: contextvars.ContextVar[asyncio.AbstractEventLoop | None] = contextvars.ContextVar(
    "gromozeka_cache_request_loop", default=None
)

#: How often a thread waiting for the database checks that the loop still runs.
LOOP_CHECK_SECONDS = 0.5

#: The ``userId`` of a running ``setChatSetting``: the bot's ``updatedBy``.
UPDATED_BY: contextvars.ContextVar[int] = contextvars.ContextVar("gromozeka_cache_updated_by", default=0)

#: The repositories and methods the cache calls on the bot's async database.
REPOSITORY_METHODS: dict[str, tuple[str, ...]] = {
    "cache": ("getCacheStorage", "setCacheStorage", "unsetCacheStorage"),
    "chatSettings": ("getChatSettings", "setChatSetting", "unsetChatSetting", "clearChatSettings"),
    "chatInfo": ("getChatInfo", "updateChatInfo", "getChatTopics", "updateChatTopicInfo"),
    "userData": ("getUserData", "addUserData", "deleteUserData", "clearUserData"),
}


def is_async_database(database: Any) -> bool:
    """Whether ``database`` has the bot's repository shape (``database.cache.getCacheStorage``)."""
    return hasattr(getattr(database, "cache", None), "getCacheStorage")


def missing_methods(database: Any) -> list[str]:
    """The ``repository.method`` names of :data:`REPOSITORY_METHODS` that ``database`` lacks."""
    return [
        f"{repository}.{method}"
        for repository, methods in REPOSITORY_METHODS.items()
        for method in methods
        if not callable(getattr(getattr(database, repository, None), method, None))
    ]


def repository_method(database: Any, repository: str, method: str) -> Any:
    """``database.<repository>.<method>``, or an ``AttributeError`` naming what is missing."""
    repo = getattr(database, repository, None)
    if repo is None:
        raise AttributeError(f"the database object ({type(database).__name__}) has no repository {repository!r}")
    fn = getattr(repo, method, None)
    if fn is None:
        raise AttributeError(
            f"the database object's {repository!r} repository ({type(repo).__name__}) has no method {method}()"
        )
    return fn


class AsyncDatabaseBridge:
    """Seed-protocol methods over the bot's async repositories; called only from
    worker threads, each call waits for one coroutine on the request's loop."""

    def __init__(self, database: Any) -> None:
        self._db = database

    def _run(self, repository: str, method: str, *args: Any, **kwargs: Any) -> Any:
        loop = REQUEST_LOOP.get()
        if loop is None:
            raise RuntimeError("a cache storage request was performed outside a coroutine of the cache")
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            # Waiting here would stop the loop that has to run the coroutine.
            raise RuntimeError("the async database was called on its own event loop's thread")
        coroutine = repository_method(self._db, repository, method)(*args, **kwargs)
        future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        while True:
            try:
                return future.result(timeout=LOOP_CHECK_SECONDS)
            except concurrent.futures.TimeoutError:
                # A loop that stopped will never finish the coroutine: give up instead
                # of holding this thread (and the interpreter's exit) forever.
                if loop.is_closed() or not loop.is_running():
                    future.cancel()
                    raise RuntimeError("the event loop stopped while the cache waited for the database") from None

    def _write(self, repository: str, method: str, *args: Any, **kwargs: Any) -> None:
        # The bot's repositories catch their own exceptions and return False: that is
        # a failed write, never an acknowledged one.
        if self._run(repository, method, *args, **kwargs) is False:
            raise RuntimeError(f"{repository}.{method}() returned False (the database did not take the write)")

    # rows: the cache_storage table
    def getCacheStorage(self) -> Any:
        return self._run("cache", "getCacheStorage")

    def setCacheStorage(self, namespace: str, key: str, value: str) -> None:
        self._write("cache", "setCacheStorage", namespace=namespace, key=key, value=value)

    def unsetCacheStorage(self, namespace: str, key: str) -> None:
        self._write("cache", "unsetCacheStorage", namespace, key)

    # the bot's chat settings: {key: (value, updatedBy)}
    def getChatSettings(self, chatId: int) -> dict[str, Any]:
        stored = self._run("chatSettings", "getChatSettings", chatId) or {}
        return {key: (value[0] if isinstance(value, tuple) else value) for key, value in stored.items()}

    def setChatSetting(self, chatId: int, key: str, value: str) -> None:
        self._write("chatSettings", "setChatSetting", chatId, key, value, updatedBy=UPDATED_BY.get())

    def unsetChatSetting(self, chatId: int, key: str) -> None:
        self._write("chatSettings", "unsetChatSetting", chatId, key)

    def clearChatSettings(self, chatId: int) -> None:
        self._write("chatSettings", "clearChatSettings", chatId)

    # the bot's user data: {key: JSON text}
    def getUserData(self, userId: int, chatId: int) -> dict[str, str]:
        return self._run("userData", "getUserData", userId=userId, chatId=chatId) or {}

    def addUserData(self, userId: int, chatId: int, key: str, data: str) -> None:
        self._write("userData", "addUserData", userId=userId, chatId=chatId, key=key, data=data)
