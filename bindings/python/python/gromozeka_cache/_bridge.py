"""The bot's async ``Database`` seen through the seed's method names.

A storage request of the cache is mapped onto the seed's method names by the
Rust host (``bindings/python/src/object_storage.rs``, on a worker thread); each
call it makes is handed to the coroutine that made the request, which awaits the
matching method of :class:`AsyncDatabaseBridge`: the bot's repository coroutine,
on the coroutine's own event loop (``bindings/python/src/relay.rs``).
"""

from __future__ import annotations

import contextvars
from typing import Any

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
    """The seed's method names over the bot's async repositories, each a
    coroutine: what a storage request's database calls are mapped onto
    (``bindings/python/src/object_storage.rs``), awaited by the coroutine that
    made the request (``_aio_support.drive``)."""

    def __init__(self, database: Any) -> None:
        self._db = database

    def _method(self, repository: str, method: str) -> Any:
        return repository_method(self._db, repository, method)

    async def _write(self, repository: str, method: str, *args: Any, **kwargs: Any) -> None:
        # The bot's repositories catch their own exceptions and return False: that is
        # a failed write, never an acknowledged one.
        if await self._method(repository, method)(*args, **kwargs) is False:
            raise RuntimeError(f"{repository}.{method}() returned False (the database did not take the write)")

    # rows: the cache_storage table
    async def getCacheStorage(self) -> Any:
        return await self._method("cache", "getCacheStorage")()

    async def setCacheStorage(self, namespace: str, key: str, value: str) -> None:
        await self._write("cache", "setCacheStorage", namespace=namespace, key=key, value=value)

    async def unsetCacheStorage(self, namespace: str, key: str) -> None:
        await self._write("cache", "unsetCacheStorage", namespace, key)

    # the bot's chat settings: {key: (value, updatedBy)}
    async def getChatSettings(self, chatId: int) -> dict[str, Any]:
        stored = await self._method("chatSettings", "getChatSettings")(chatId) or {}
        return {key: (value[0] if isinstance(value, tuple) else value) for key, value in stored.items()}

    async def setChatSetting(self, chatId: int, key: str, value: str) -> None:
        await self._write("chatSettings", "setChatSetting", chatId, key, value, updatedBy=UPDATED_BY.get())

    async def unsetChatSetting(self, chatId: int, key: str) -> None:
        await self._write("chatSettings", "unsetChatSetting", chatId, key)

    async def clearChatSettings(self, chatId: int) -> None:
        await self._write("chatSettings", "clearChatSettings", chatId)

    # the bot's user data: {key: JSON text}
    async def getUserData(self, userId: int, chatId: int) -> dict[str, str]:
        data: dict[str, str] = await self._method("userData", "getUserData")(userId=userId, chatId=chatId) or {}
        return data

    async def addUserData(self, userId: int, chatId: int, key: str, data: str) -> None:
        await self._write("userData", "addUserData", userId=userId, chatId=chatId, key=key, data=data)
