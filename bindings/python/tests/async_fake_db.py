"""The bot's async ``Database`` (June 2026 shape), in memory: repositories
``cache``, ``chatSettings``, ``chatInfo`` and ``userData`` whose methods are
coroutines. Every call is recorded with its arguments as passed; a method can be
made to fail or to take time, and the event loop each call ran on is kept."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any


class Recorder:
    """What every repository shares: the call log, failures and delays."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.fail_on: set[str] = set()
        self.delay = 0.0
        self.in_flight = 0

    async def enter(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.calls.append((name, args, kwargs))
        self.loops.append(asyncio.get_running_loop())
        self.in_flight += 1
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        if name in self.fail_on:
            raise RuntimeError(f"{name} failed on purpose")

    def names(self) -> list[str]:
        return [name for name, _, _ in self.calls]


class CacheRepository:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.rows: dict[tuple[str, str], str] = {}
        self._clock = itertools.count(1)
        self._stamps: dict[tuple[str, str], int] = {}

    async def getCacheStorage(self) -> list[dict[str, Any]]:
        await self.rec.enter("cache.getCacheStorage", (), {})
        return [
            {"namespace": ns, "key": key, "value": value, "updated_at": f"2026-06-01 12:{self._stamps[(ns, key)]:05d}"}
            for (ns, key), value in self.rows.items()
        ]

    async def setCacheStorage(self, namespace: str, key: str, value: str) -> bool:
        await self.rec.enter("cache.setCacheStorage", (), {"namespace": namespace, "key": key, "value": value})
        self.rows[(namespace, key)] = value
        self._stamps[(namespace, key)] = next(self._clock)
        return True

    async def unsetCacheStorage(self, namespace: str, key: str) -> bool:
        await self.rec.enter("cache.unsetCacheStorage", (namespace, key), {})
        self.rows.pop((namespace, key), None)
        return True


class ChatSettingsRepository:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.settings: dict[tuple[int, str], tuple[str, int]] = {}

    async def getChatSettings(self, chatId: int) -> dict[str, tuple[str, int]]:
        await self.rec.enter("chatSettings.getChatSettings", (chatId,), {})
        return {k: v for (c, k), v in self.settings.items() if c == chatId}

    async def setChatSetting(self, chatId: int, key: str, value: str, *, updatedBy: int) -> bool:
        await self.rec.enter("chatSettings.setChatSetting", (chatId, key, value), {"updatedBy": updatedBy})
        self.settings[(chatId, str(key))] = (value, updatedBy)
        return True

    async def unsetChatSetting(self, chatId: int, key: str) -> bool:
        await self.rec.enter("chatSettings.unsetChatSetting", (chatId, key), {})
        self.settings.pop((chatId, str(key)), None)
        return True

    async def clearChatSettings(self, chatId: int) -> bool:
        await self.rec.enter("chatSettings.clearChatSettings", (chatId,), {})
        for k in [k for k in self.settings if k[0] == chatId]:
            del self.settings[k]
        return True


class ChatInfoRepository:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.info: dict[int, dict[str, Any]] = {}
        self.topics: dict[tuple[int, int], dict[str, Any]] = {}

    async def getChatInfo(self, chatId: int) -> dict[str, Any] | None:
        await self.rec.enter("chatInfo.getChatInfo", (chatId,), {})
        return self.info.get(chatId)

    async def updateChatInfo(self, chatId: int, type: str, title: str | None, username: str | None, isForum: bool | None) -> bool:
        await self.rec.enter(
            "chatInfo.updateChatInfo", (), {"chatId": chatId, "type": type, "title": title, "username": username, "isForum": isForum}
        )
        self.info[chatId] = {"chat_id": chatId, "type": type, "title": title, "username": username, "is_forum": isForum}
        return True

    async def getChatTopics(self, chatId: int) -> list[dict[str, Any]]:
        await self.rec.enter("chatInfo.getChatTopics", (chatId,), {})
        return [t for (c, _), t in self.topics.items() if c == chatId]

    async def updateChatTopicInfo(self, chatId: int, topicId: int, iconColor: int | None, customEmojiId: str | None, topicName: str | None) -> bool:
        await self.rec.enter("chatInfo.updateChatTopicInfo", (), {"chatId": chatId, "topicId": topicId, "topicName": topicName})
        self.topics[(chatId, topicId)] = {
            "chat_id": chatId, "topic_id": topicId, "icon_color": iconColor, "icon_custom_emoji_id": customEmojiId, "name": topicName,
        }
        return True


class UserDataRepository:
    def __init__(self, rec: Recorder) -> None:
        self.rec = rec
        self.data: dict[tuple[int, int, str], str] = {}

    async def getUserData(self, userId: int, chatId: int) -> dict[str, str]:
        await self.rec.enter("userData.getUserData", (), {"userId": userId, "chatId": chatId})
        return {k: v for (u, c, k), v in self.data.items() if u == userId and c == chatId}

    async def addUserData(self, userId: int, chatId: int, key: str, data: str) -> bool:
        await self.rec.enter("userData.addUserData", (), {"userId": userId, "chatId": chatId, "key": key, "data": data})
        self.data[(userId, chatId, key)] = data
        return True

    async def deleteUserData(self, userId: int, chatId: int, key: str) -> bool:
        await self.rec.enter("userData.deleteUserData", (), {"userId": userId, "chatId": chatId, "key": key})
        self.data.pop((userId, chatId, key), None)
        return True

    async def clearUserData(self, userId: int, chatId: int) -> bool:
        await self.rec.enter("userData.clearUserData", (), {"userId": userId, "chatId": chatId})
        for k in [k for k in self.data if k[0] == userId and k[1] == chatId]:
            del self.data[k]
        return True


class AsyncBotDatabase:
    """``db.cache``, ``db.chatSettings``, ``db.chatInfo``, ``db.userData``; ``db.rec`` records."""

    def __init__(self) -> None:
        self.rec = Recorder()
        self.cache = CacheRepository(self.rec)
        self.chatSettings = ChatSettingsRepository(self.rec)
        self.chatInfo = ChatInfoRepository(self.rec)
        self.userData = UserDataRepository(self.rec)
