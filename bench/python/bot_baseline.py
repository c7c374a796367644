"""The bot's cache algorithm as of June 2026, re-implemented for the benchmark
baseline: one ``OrderedDict`` LRU per namespace behind a ``threading.RLock``,
chat settings and user data read from the bot's async database on first use
(``async def`` methods), user state kept in memory with a dirty set.

Written for async_bench.py; it keeps the bot's semantics (e.g. getChatSettings
returns the same cached dict object on every hit), not its code.
"""

from __future__ import annotations

import json
from typing import Any

# The bot's LRU is the seed's (an OrderedDict in recency order under an RLock).
from seed_cache_service import LRUCache as LRU


class BotBaselineCache:
    """The bot's CacheService calls used by the benchmark, over ``database`` (the
    bot's async Database: ``chatSettings`` and ``userData`` repositories)."""

    def __init__(self, database: Any = None, maxSize: int = 1000) -> None:
        self.chats = LRU(maxSize)
        self.chatUsers = LRU(maxSize)
        self.users = LRU(maxSize)
        self.chatPersistent = LRU(maxSize)
        self.database = database
        self.dirty: set[Any] = set()

    async def getChatSettings(self, chatId: int) -> dict[str, Any]:
        """The chat's settings ``{key: value}``, read from the database on first use."""
        chatCache = self.chats.get(chatId, {})
        if "settings" not in chatCache and self.database is not None:
            stored = await self.database.chatSettings.getChatSettings(chatId)
            chatCache["settings"] = {k: v for k, (v, _by) in stored.items()}
            self.chats.set(chatId, chatCache)
        return chatCache.get("settings", {})

    async def getChatUserData(self, chatId: int, userId: int) -> dict[str, Any]:
        """The user's data in the chat (JSON-decoded), read from the database on first use."""
        key = f"{chatId}:{userId}"
        userCache = self.chatUsers.get(key, {})
        if "data" not in userCache and self.database is not None:
            stored = await self.database.userData.getUserData(userId=userId, chatId=chatId)
            userCache["data"] = {k: json.loads(v) for k, v in stored.items()}
            self.chatUsers.set(key, userCache)
        return userCache.get("data", {})

    def getUserState(self, userId: int, stateKey: str, default: Any = None) -> Any:
        """One item of the user's state, or ``default``."""
        return self.users.get(userId, {}).get(stateKey, default)

    def setUserState(self, userId: int, stateKey: str, value: Any) -> None:
        """Sets one item of the user's state and marks the user dirty."""
        userState = self.users.get(userId, {})
        userState[stateKey] = value
        self.users.set(userId, userState)
        self.dirty.add(userId)
