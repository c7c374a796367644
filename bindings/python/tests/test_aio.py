"""The asyncio ``CacheService`` (``gromozeka_cache.aio``) over the bot's async
database: every method, argument order, failures, cancellation, slow databases
with concurrent hits, two event loops in turn, and calls after ``aclose()``."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from async_fake_db import AsyncBotDatabase
from bot_types import Key, Value

from gromozeka_cache import CacheClosedError, StorageError
from gromozeka_cache.aio import CacheService


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_the_bot_async_and_sync_surface(aio: CacheService[Key, Value]) -> None:
    async_names = [
        "injectDatabase", "getChatSettings", "setChatSetting", "unsetChatSetting", "getChatInfo", "setChatInfo",
        "getChatTopicsInfo", "getChatTopicInfo", "setChatTopicInfo", "getChatUserData", "setChatUserData",
        "unsetChatUserData", "clearChatUserData", "persistAll", "loadFromDatabase",
    ]
    sync_names = [
        "getInstance", "getDefaultChatSettings", "setDefaultChatSettings", "getCachedChatSettings",
        "cacheChatSettings", "clearCachedChatSettings", "getChatAdmins", "setChatAdmins", "getUserState",
        "setUserState", "clearUserState", "getSpamWarningMessageInfo", "addSpamWarningMessage",
        "removeSpamWarningMessageInfo", "clearNamespace", "getStats",
    ]
    for name in async_names:
        assert asyncio.iscoroutinefunction(getattr(aio, name)), name
    for name in sync_names:
        assert not asyncio.iscoroutinefunction(getattr(aio, name)), name
    assert CacheService() is aio and CacheService.getInstance() is aio
    assert aio.database is None
    assert {ns: s["persistenceLevel"] for ns, s in aio.getStats().items()} == {
        "chats": "memory", "chatUsers": "memory", "users": "on_shutdown", "chatPersistent": "on_shutdown",
        "chatAdmins": "memory", "cachedChatSettings": "memory",
    }


def test_settings_read_once_written_with_updated_by_and_converted(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    db.chatSettings.settings[(5, "lang")] = ("en", 7)

    async def main() -> None:
        await aio.injectDatabase(db)
        assert aio.database is db
        assert await aio.getChatSettings(5) == {Key.LANG: Value("en")}
        assert await aio.getChatSettings(5) == {Key.LANG: Value("en")}
        assert db.rec.names().count("chatSettings.getChatSettings") == 1
        await aio.setChatSetting(5, Key.MODEL, Value("gpt"), userId=42)
        assert ("chatSettings.setChatSetting", (5, "model", "gpt"), {"updatedBy": 42}) in db.rec.calls
        assert await aio.getChatSettings(5) == {Key.LANG: Value("en"), Key.MODEL: Value("gpt")}
        await aio.unsetChatSetting(5, Key.LANG)
        assert ("chatSettings.unsetChatSetting", (5, "lang"), {}) in db.rec.calls
        assert await aio.getChatSettings(5) == {Key.MODEL: Value("gpt")}
        assert db.chatSettings.settings == {(5, "model"): ("gpt", 42)}
        assert db.rec.names().count("chatSettings.getChatSettings") == 1

    run(main())


def test_user_data_argument_order_and_json(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    db.userData.data[(456, 123, "key2")] = '["item1", "item2"]'

    async def main() -> None:
        await aio.injectDatabase(db)
        assert await aio.getChatUserData(123, 456) == {"key2": ["item1", "item2"]}
        assert ("userData.getUserData", (), {"userId": 456, "chatId": 123}) in db.rec.calls
        await aio.setChatUserData(123, 456, "complex", {"nested": {"k": "v"}, "list": [1, 2]})
        assert json.loads(db.userData.data[(456, 123, "complex")]) == {"nested": {"k": "v"}, "list": [1, 2]}
        assert (await aio.getChatUserData(123, 456))["complex"] == {"nested": {"k": "v"}, "list": [1, 2]}
        await aio.unsetChatUserData(123, 456, "key2")
        assert (456, 123, "key2") not in db.userData.data
        assert "key2" not in await aio.getChatUserData(123, 456)
        await aio.clearChatUserData(123, 456)
        assert db.userData.data == {}
        assert await aio.getChatUserData(123, 456) == {}

    run(main())


def test_chat_info_and_topics_go_to_chat_info(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()

    async def main() -> None:
        await aio.injectDatabase(db)
        assert await aio.getChatInfo(999) is None
        info = {"title": "Test Chat", "type": "group", "username": None, "is_forum": False}
        await aio.setChatInfo(123, info)
        assert db.chatInfo.info[123]["title"] == "Test Chat"
        assert await aio.getChatInfo(123) == info
        assert await aio.getChatTopicsInfo(123) == {}
        topic = {"topic_id": 7, "icon_color": 1, "icon_custom_emoji_id": None, "name": "News"}
        await aio.setChatTopicInfo(123, 7, topic)
        assert db.chatInfo.topics[(123, 7)]["name"] == "News"
        assert await aio.getChatTopicInfo(123, 7) == topic
        assert await aio.getChatTopicInfo(123, 8) is None

    run(main())


def test_on_shutdown_rows_persist_and_load_through_the_cache_repository(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    db.cache.rows[("users", "9")] = json.dumps({"step": "menu"})
    db.cache._stamps[("users", "9")] = 0

    async def main() -> None:
        await aio.injectDatabase(db)
        assert aio.getUserState(9, "step") == "menu"
        aio.setUserState(10, "step", {"draft": "Bob"})
        aio.addSpamWarningMessage(-100, 77, {"userId": 1, "username": "u", "ts": 1.5})
        assert aio.getSpamWarningMessageInfo(-100, 77) == {"userId": 1, "username": "u", "ts": 1.5}
        assert ("users", "10") not in db.cache.rows
        await aio.persistAll()
        assert json.loads(db.cache.rows[("users", "10")]) == {"step": {"draft": "Bob"}}
        assert "77" in json.loads(db.cache.rows[("chatPersistent", "-100")])["spamWarningMessages"]
        aio.clearUserState(10)
        await aio.persistAll()
        assert ("users", "10") not in db.cache.rows

    run(main())


def test_a_raising_database_is_a_storage_error_and_changes_nothing(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()

    async def main() -> None:
        await aio.injectDatabase(db)
        db.rec.fail_on.add("userData.addUserData")
        with pytest.raises(StorageError, match="failed on purpose"):
            await aio.setChatUserData(1, 2, "k", "v")
        db.rec.fail_on.clear()
        assert await aio.getChatUserData(1, 2) == {}
        db.rec.fail_on.add("chatSettings.getChatSettings")
        with pytest.raises(StorageError):
            await aio.getChatSettings(3)
        db.rec.fail_on.clear()
        db.chatSettings.settings[(3, "lang")] = ("ru", 0)
        assert await aio.getChatSettings(3) == {Key.LANG: Value("ru")}

    run(main())


def test_a_missing_repository_method_is_named(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    broken: Any = type("Broken", (), {})()
    broken.cache = db.cache
    broken.chatSettings = object()

    with pytest.raises(TypeError, match="chatSettings.getChatSettings.*userData.clearUserData"):
        run(aio.injectDatabase(broken))
    assert aio.database is None


def test_an_object_of_no_known_shape_is_a_type_error(aio: CacheService[Key, Value]) -> None:
    with pytest.raises(TypeError, match="getCacheStorage"):
        run(aio.injectDatabase(object()))


def test_a_hit_does_not_wait_behind_a_slow_database(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()

    async def main() -> None:
        await aio.injectDatabase(db)
        await aio.setChatUserData(1, 1, "k", "v")
        assert await aio.getChatUserData(1, 1) == {"k": "v"}  # now cached
        db.rec.delay = 0.3
        slow = [asyncio.create_task(aio.getChatUserData(1, 100 + i)) for i in range(20)]
        await asyncio.sleep(0.05)
        assert db.rec.in_flight == 20  # the misses wait on the database together
        started = time.perf_counter()
        assert await aio.getChatUserData(1, 1) == {"k": "v"}
        assert aio.getUserState(5, "x") is None
        elapsed = time.perf_counter() - started
        assert elapsed < 0.1, elapsed
        assert all(not t.done() for t in slow)
        assert [await t for t in slow] == [{}] * 20
        assert all(loop is asyncio.get_running_loop() for loop in db.rec.loops)

    run(main())


def test_a_cancelled_write_leaves_cache_and_database_agreeing(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()

    async def main() -> None:
        await aio.injectDatabase(db)
        assert await aio.getChatUserData(1, 2) == {}
        db.rec.delay = 0.2
        task = asyncio.create_task(aio.setChatUserData(1, 2, "k", "v"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.4)
        db.rec.delay = 0.0
        stored = {k: json.loads(v) for (u, c, k), v in db.userData.data.items() if (u, c) == (2, 1)}
        assert await aio.getChatUserData(1, 2) == stored == {"k": "v"}

    run(main())


def test_two_event_loops_in_turn(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    run(aio.injectDatabase(db))
    run(aio.setChatUserData(1, 2, "a", 1))
    run(aio.setChatUserData(1, 2, "b", 2))
    assert run(aio.getChatUserData(1, 2)) == {"a": 1, "b": 2}
    assert len(set(db.rec.loops)) >= 2


def test_calls_after_aclose_raise(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()

    async def main() -> None:
        await aio.injectDatabase(db)
        aio.setUserState(3, "s", 1)
        await aio.aclose()
        assert json.loads(db.cache.rows[("users", "3")]) == {"s": 1}
        with pytest.raises(CacheClosedError):
            await aio.getChatUserData(1, 2)
        with pytest.raises(CacheClosedError):
            aio.getUserState(3, "s")

    run(main())


def test_without_a_database_changes_stay_in_memory(aio: CacheService[Key, Value]) -> None:
    async def main() -> None:
        await aio.setChatSetting(123, Key.LANG, Value("en"), userId=0)
        assert await aio.getChatSettings(123) == {Key.LANG: Value("en")}
        await aio.setChatUserData(123, 456, "key", "value")
        await aio.persistAll()

    run(main())


def test_ttl_helpers_use_the_component_s_expiry(aio: CacheService[Key, Value]) -> None:
    aio.setChatAdmins(1, {5: ("u", "User")})
    aio.cacheChatSettings(1, {Key.LANG: Value("en")})
    assert aio.getChatAdmins(1) == {5: ("u", "User")}
    assert aio.getCachedChatSettings(1) == {Key.LANG: Value("en")}
    assert aio.getChatAdmins(2) is None and aio.getChatAdmins(1, ttl=-1) is None
    time.sleep(0.25)  # the component's time moves in steps of 0.1 s
    assert aio.getChatAdmins(1, ttl=0.1) is None, "older than 0.1 s"  # type: ignore[arg-type]
    assert aio.getCachedChatSettings(1, ttl=0.1) is None  # type: ignore[arg-type]
    assert aio.getChatAdmins(1, ttl=None) == {5: ("u", "User")}, "kept for readers that accept its age"
    assert aio.getCachedChatSettings(1, ttl=60) == {Key.LANG: Value("en")}
    stats = aio.getStats()
    assert stats["chatAdmins"]["misses"] >= 1 and stats["chatAdmins"]["size"] == 1
    aio.clearCachedChatSettings(1)
    assert aio.getCachedChatSettings(1) is None
    aio.setDefaultChatSettings("default", {Key.MODEL: Value("m")})
    assert aio.getDefaultChatSettings("default") == {Key.MODEL: Value("m")}


def test_the_ttl_namespaces_expire_entries(aio: CacheService[Key, Value]) -> None:
    native = aio._native
    native.configure([("short", 2, "memory-only")])
    native.expireAfterWrite("short", 0.1)
    native.set("short", "a", 1)
    time.sleep(0.25)
    native.set("short", "b", 2)
    native.set("short", "c", 3)  # full: the expired a goes, not the least recent
    assert native.get("short", "a") is None
    assert native.get("short", "b") == 2 and native.get("short", "c") == 3
    assert native.getStats()["short"]["expirations"] == 1
    assert native.getStats()["short"]["evictions"] == 0


def test_sqlite_path_through_the_async_api(aio: CacheService[Key, Value], db_path: Any) -> None:
    async def main() -> None:
        await aio.injectDatabase(str(db_path))
        await aio.setChatSetting(5, Key.LANG, Value("en"), userId=1)
        await aio.setChatUserData(5, 6, "k", [1])
        aio.setUserState(6, "s", "x")
        await aio.aclose()

    run(main())
    CacheService._instance = None
    again: CacheService[Key, Value] = CacheService.getInstance()
    again.useSettingsTypes(Key, Value)

    async def reopened() -> None:
        await again.injectDatabase(str(db_path))
        assert await again.getChatSettings(5) == {Key.LANG: Value("en")}
        assert await again.getChatUserData(5, 6) == {"k": [1]}
        assert again.getUserState(6, "s") == "x"

    run(reopened())


def test_loading_reads_the_cache_table_once(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    db.cache.rows[("users", "1")] = json.dumps({"s": 1})
    db.cache.rows[("chatPersistent", "2")] = json.dumps({"spamWarningMessages": {}})
    db.cache._stamps.update({("users", "1"): 0, ("chatPersistent", "2"): 1})
    run(aio.injectDatabase(db))
    assert db.rec.names().count("cache.getCacheStorage") == 1
    assert aio.getUserState(1, "s") == 1 and aio.chatPersistent.get(2) == {"spamWarningMessages": {}}


def test_a_setting_reads_back_as_the_objects_set(aio: CacheService[Key, Value]) -> None:
    db = AsyncBotDatabase()
    db.chatSettings.settings[(5, "lang")] = ("en", 0)

    async def main() -> None:
        await aio.injectDatabase(db)
        value = Value("gpt")
        await aio.setChatSetting(5, Key.MODEL, value, userId=1)
        first = await aio.getChatSettings(5)
        assert first[Key.MODEL] is value
        again = await aio.getChatSettings(5)
        assert again[Key.LANG] is first[Key.LANG]  # unchanged text: the same object
        assert again is not first  # a new dict: the caller may change it
        again.clear()
        assert await aio.getChatSettings(5) == {Key.LANG: Value("en"), Key.MODEL: value}
        db.chatSettings.settings[(5, "lang")] = ("ru", 0)  # changed behind the cache's back:
        assert (await aio.getChatSettings(5))[Key.LANG] == Value("en")  # still the cached text

    run(main())
