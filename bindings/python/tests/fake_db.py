"""A database object with the seed's (and the bot's later) method names, in memory,
recording every call and able to fail on demand: what `injectDatabase` accepts
besides a path."""

from __future__ import annotations

import itertools
from typing import Any


class KitFailure(Exception):
    """A failure of a kind the storage kit asked for (see ``_kit_provoke``)."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"provoked {kind}")
        self.kind = kind


class FakeDatabase:
    """The bot's database wrapper, duck-typed: cache_storage rows, chat settings and
    user data in dicts. ``fail_on`` names methods that raise ``RuntimeError``."""

    def __init__(self) -> None:
        self.cache_storage: dict[tuple[str, str], tuple[int, str]] = {}
        self.chat_settings: dict[tuple[int, str], str] = {}
        self.user_data: dict[tuple[int, int, str], str] = {}
        self.calls: list[str] = []
        self.fail_on: set[str] = set()
        self._clock = itertools.count(1)
        self._provoked: tuple[str, str] | None = None

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        if name in self.fail_on:
            raise RuntimeError(f"{name} failed on purpose")

    # The seed's methods.
    def getCacheStorage(self) -> list[dict[str, Any]]:
        self._enter("getCacheStorage")
        return [
            {"namespace": ns, "key": key, "value": value, "updated_at": f"2025-06-01 12:00:{t:02d}"}
            for (ns, key), (t, value) in self.cache_storage.items()
        ]

    def setCacheStorage(self, namespace: str, key: str, value: str) -> None:
        self._enter("setCacheStorage")
        if self._provoked is not None and self._provoked[1] == key:
            raise KitFailure(self._provoked[0])
        self.cache_storage[(namespace, key)] = (next(self._clock), value)

    def getChatSettings(self, chatId: int) -> dict[str, str]:
        self._enter("getChatSettings")
        return {k: v for (c, k), v in self.chat_settings.items() if c == chatId}

    def setChatSetting(self, chatId: int, key: str, value: str) -> None:
        self._enter("setChatSetting")
        self.chat_settings[(chatId, key)] = value

    def getUserData(self, userId: int, chatId: int) -> dict[str, str]:
        self._enter("getUserData")
        return {k: v for (c, u, k), v in self.user_data.items() if c == chatId and u == userId}

    def addUserData(self, userId: int, chatId: int, key: str, data: str) -> None:
        self._enter("addUserData")
        self.user_data[(chatId, userId, key)] = data

    # The bot's later methods.
    def unsetCacheStorage(self, namespace: str, key: str) -> None:
        self._enter("unsetCacheStorage")
        self.cache_storage.pop((namespace, key), None)

    def clearChatSettings(self, chatId: int) -> None:
        self._enter("clearChatSettings")
        for key in [k for k in self.chat_settings if k[0] == chatId]:
            del self.chat_settings[key]

    def unsetChatSetting(self, chatId: int, key: str) -> None:
        self._enter("unsetChatSetting")
        self.chat_settings.pop((chatId, key), None)


    # The storage kit's hooks (bindings/python/src/kit.rs).
    def _kit_put_bad_cell(self, namespace: str, key: str, cell: str) -> bool:
        value: Any = {"blob": b"\x00\xff", "invalid-utf8": "\ud800", "null": None}[cell]
        self.cache_storage[(namespace, key)] = (next(self._clock), value)
        return True

    def _kit_provoke(self, kind: str, key: str) -> bool:
        self._provoked = (kind, key)
        return True

    def _kit_heal(self) -> bool:
        self._provoked = None
        return True


class SeedOnlyDatabase:
    """Only the seed's six methods (no unset/clear methods)."""

    def __init__(self) -> None:
        self._db = FakeDatabase()

    def __getattr__(self, name: str) -> Any:
        if name in {"unsetCacheStorage", "clearChatSettings", "unsetChatSetting"}:
            raise AttributeError(name)
        return getattr(self._db, name)
