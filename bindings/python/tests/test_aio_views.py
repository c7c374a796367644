"""What the bot's code does with the asyncio ``CacheService``'s views: caching
settings with ``chats.set(chatId, {"settings": ...})``, reading and marking
``dirtyKeys``, and entries that are empty records."""

from __future__ import annotations

import asyncio
import enum
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from async_fake_db import AsyncBotDatabase
from bot_types import Key, Value

from gromozeka_cache import InvalidJsonError, StorageError
from gromozeka_cache.aio import CacheService


class Namespace(enum.StrEnum):
    """The bot's ``CacheNamespace``."""

    CHATS = "chats"
    USERS = "users"


def test_chats_set_caches_settings_as_the_objects_given(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    db.chatSettings.settings[(5, "lang")] = ("de", 1)
    en, on = Value("en"), Value("true")

    async def main() -> None:
        await aio.injectDatabase(db)
        aio.chats.set(5, {"settings": {Key.LANG: en, Key.BAYES: on}, "info": {"type": "group"}})
        settings = await aio.getChatSettings(5)
        assert settings == {Key.LANG: en, Key.BAYES: on}
        assert settings[Key.LANG] is en and settings[Key.BAYES] is on
        assert "chatSettings.getChatSettings" not in db.rec.names(), "served from the primed copy"
        assert db.chatSettings.settings == {(5, "lang"): ("de", 1)}, "the database is not written"
        entry = aio.chats.get(5)
        assert entry["settings"][Key.LANG] is en and entry["info"] == {"type": "group"}
        assert aio.chats[5]["settings"][Key.BAYES] is on
        # Replacing the entry without settings drops the copy: the next read asks the database.
        aio.chats.set(5, {"info": {"type": "group"}})
        assert {k: v.toStr() for k, v in (await aio.getChatSettings(5)).items()} == {Key.LANG: "de"}
        with pytest.raises(InvalidJsonError, match="settings"):
            aio.chats.set(6, {"settings": ["not", "an", "object"]})
        assert aio.chats.get(6) is None

    asyncio.run(main())


def test_chat_users_set_caches_user_data(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()

    async def main() -> None:
        await aio.injectDatabase(db)
        aio.chatUsers.set("5:7", {"data": {"k": ["a", 1]}})
        assert await aio.getChatUserData(5, 7) == {"k": ["a", 1]}
        assert "userData.getUserData" not in db.rec.names()

    asyncio.run(main())


def test_dirty_keys_are_the_pending_changes_of_the_component(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()

    async def main() -> None:
        await aio.injectDatabase(db)
        users = aio.dirtyKeys[Namespace.USERS]
        assert len(users) == 0 and list(aio.dirtyKeys) == list(aio.getStats())
        aio.setUserState(1, "step", {"page": 2})
        assert 1 in users and "1" in users and 2 not in users
        assert list(users) == ["1"] and repr(users) == "{'1'}"
        assert aio.getStats()["users"]["dirty"] == len(users) == 1
        await aio.persistAll()
        assert len(users) == 0
        writes = db.rec.names().count("cache.setCacheStorage")
        # add(): the entry is written again by the next persistAll, as the bot's code expects.
        users.add(1)
        assert 1 in users
        await aio.persistAll()
        assert db.rec.names().count("cache.setCacheStorage") == writes + 1
        # add() of a key the cache does not hold deletes the stored row.
        db.cache.rows[("users", "2")] = json.dumps({"old": 1})
        users.update([2])
        await aio.persistAll()
        assert ("cache.unsetCacheStorage", ("users", "2"), {}) in db.rec.calls
        assert ("users", "2") not in db.cache.rows
        # Memory-only namespaces never owe the database anything.
        aio.chats.set(3, {"info": {}})
        aio.dirtyKeys[Namespace.CHATS].add(3)
        assert len(aio.dirtyKeys["chats"]) == 0
        aio.clearNamespace(Namespace.USERS)
        assert users.cleared and len(users) == 0
        with pytest.raises(KeyError):
            aio.dirtyKeys["nope"]

    asyncio.run(main())


def test_an_empty_record_is_deleted_and_never_loaded(
    aio: CacheService[Key, Value], caplog: pytest.LogCaptureFixture
) -> None:
    db = AsyncBotDatabase()
    for key, value in [("3", "{}"), ("4", json.dumps({"s": 1}))]:
        db.cache.rows[("users", key)] = value
        db.cache._stamps[("users", key)] = int(key)

    async def main() -> None:
        with caplog.at_level(logging.WARNING, logger="gromozeka_cache"):
            await aio.injectDatabase(db)
        assert not caplog.records, "an empty record is no fault"
        assert len(aio.users) == 1 and aio.users.get(3) is None
        aio.users.set(4, {})
        assert aio.users.get(4) == {}, "held in memory as set"
        await aio.persistAll()
        assert ("cache.unsetCacheStorage", ("users", "4"), {}) in db.rec.calls
        assert not [c for c in db.rec.calls if c[0] == "cache.setCacheStorage"]
        assert ("users", "4") not in db.cache.rows

    asyncio.run(main())


def test_async_hits_are_served_from_the_host_copy_and_see_every_change(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    db.chatSettings.settings[(5, "lang")] = ("de", 1)
    db.userData.data[(7, 5, "k")] = json.dumps(1)

    async def main() -> None:
        await aio.injectDatabase(db)
        first = await aio.getChatSettings(5)
        data = await aio.getChatUserData(5, 7)
        served = aio._native.getReadPathStats()["served"]
        for _ in range(10):
            again = await aio.getChatSettings(5)
            assert again == first and again is not first, "a new dict, the same objects"
            assert again[Key.LANG] is first[Key.LANG]
            assert await aio.getChatUserData(5, 7) == data == {"k": 1}
        # Only the first hit of each may enter the component (to learn of changes first).
        assert aio._native.getReadPathStats()["served"] >= served + 18
        again["x"] = Value("mutated")  # the caller's dict, not the cache's
        assert Key.LANG in await aio.getChatSettings(5) and "x" not in await aio.getChatSettings(5)
        await aio.setChatSetting(5, Key.LANG, Value("en"), userId=3)
        assert {k: v.toStr() for k, v in (await aio.getChatSettings(5)).items()} == {Key.LANG: "en"}
        await aio.setChatUserData(5, 7, "k", 2)
        assert await aio.getChatUserData(5, 7) == {"k": 2}
        await aio.unsetChatUserData(5, 7, "k")
        assert await aio.getChatUserData(5, 7) == {}

    asyncio.run(main())


async def _kept(read: Callable[[], Awaitable[Any]]) -> Any:
    """The objects kept with the copy of `read`'s answer, in a namespace that
    shares them. The first read from the database keeps no copy, and keeping
    them is refused while another thread holds the cache (the write-back thread
    wakes at the first pending change), so the next read keeps them then; read
    until two reads agree."""
    for _ in range(100):
        kept = await read()
        if await read() is kept:
            return kept
    raise AssertionError("the objects were never kept with the copy")


def test_shared_async_hits_return_one_object_until_the_entry_changes(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    db.chatSettings.settings[(5, "lang")] = ("de", 1)
    db.userData.data[(7, 5, "k")] = json.dumps([1])

    async def main() -> None:
        await aio.injectDatabase(db)
        aio.shareValues("chats")
        aio.shareValues("chatUsers")
        first = await _kept(lambda: aio.getChatSettings(5))
        assert await aio.getChatSettings(5) is first, "the bot's semantics: its own dict"
        data = await _kept(lambda: aio.getChatUserData(5, 7))
        assert await aio.getChatUserData(5, 7) is data and data == {"k": [1]}
        aio.useSettingsTypes(Key, Value)  # the sharing outlives new settings types
        typed = await _kept(lambda: aio.getChatSettings(5))
        assert await aio.getChatSettings(5) is typed and typed[Key.LANG] == Value("de")
        await aio.setChatSetting(5, Key.LANG, Value("en"), userId=3)
        changed = await aio.getChatSettings(5)
        assert changed is not typed and changed[Key.LANG] == Value("en")
        await aio.setChatUserData(5, 7, "k", 2)
        assert (await aio.getChatUserData(5, 7)) == {"k": 2} and data == {"k": [1]}
        aio.shareValues("chats", False)
        aio.shareValues("chatUsers", False)
        assert await aio.getChatSettings(5) is not await aio.getChatSettings(5)
        assert await aio.getChatUserData(5, 7) is not await aio.getChatUserData(5, 7)

    asyncio.run(main())


def test_a_subclass_override_of_get_user_state_is_kept() -> None:
    class Service(CacheService[Key, Value]):
        def getUserState(self, userId: int, stateKey: Any, default: Any = None) -> Any:
            return ("overridden", super().getUserState(userId, stateKey, default))

    Service._instance = None
    try:
        cache = Service.getInstance()
        cache.setUserState(1, "s", 2)
        assert cache.getUserState(1, "s") == ("overridden", 2)
    finally:
        Service._instance = None
    CacheService._instance = None
    plain = CacheService.getInstance()
    plain.setUserState(1, "s", 3)
    assert plain.getUserState(1, "s") == 3 and plain.getUserState(2, "s", "d") == "d"
    CacheService._instance = None


def test_on_create_runs_once_on_the_instance_and_a_failure_keeps_none() -> None:
    calls: list[Any] = []

    class Bot(CacheService[Key, Value]):
        fail = True

        def onCreate(self) -> None:
            calls.append(Bot.getInstance())
            if Bot.fail:
                raise RuntimeError("registration failed")
            self.useSettingsTypes(Key, Value)

    Bot._instance = None
    try:
        with pytest.raises(RuntimeError):
            Bot.getInstance()
        assert Bot._instance is None
        Bot.fail = False
        bot = Bot.getInstance()
        assert Bot.getInstance() is bot and calls[-1] is bot
        assert len(calls) == 2, "once per instance created"
    finally:
        Bot._instance = None


def test_the_asyncio_api_over_the_seed_s_sync_database_object(aio: CacheService[Key, Value]) -> None:
    from fake_db import FakeDatabase

    db = FakeDatabase()
    db.chat_settings[(5, "lang")] = "de"
    db.cache_storage[("users", "9")] = (1, json.dumps({"step": "menu"}))

    async def main() -> None:
        await aio.injectDatabase(db)
        assert aio.database is db
        assert aio.getUserState(9, "step") == "menu", "loaded by injectDatabase"
        assert {k: v.toStr() for k, v in (await aio.getChatSettings(5)).items()} == {Key.LANG: "de"}
        await aio.setChatSetting(5, Key.MODEL, Value("gpt"), userId=1)
        assert db.chat_settings[(5, "model")] == "gpt"
        await aio.setChatUserData(5, 7, "k", [1, 2])
        assert json.loads(db.user_data[(5, 7, "k")]) == [1, 2]
        assert await aio.getChatUserData(5, 7) == {"k": [1, 2]}
        aio.setUserState(9, "step", "done")
        assert 9 in aio.dirtyKeys["users"]
        await aio.persistAll()
        assert json.loads(db.cache_storage[("users", "9")][1]) == {"step": "done"}
        db.fail_on.add("setCacheStorage")
        aio.setUserState(9, "step", "again")
        with pytest.raises(StorageError):
            await aio.persistAll()
        assert 9 in aio.dirtyKeys["users"], "a failed persist keeps the change pending"
        db.fail_on.clear()
        await aio.aclose()
        assert json.loads(db.cache_storage[("users", "9")][1]) == {"step": "again"}

    asyncio.run(main())
