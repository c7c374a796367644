"""`injectDatabase` with the bot's database object (the seed's method names)."""

from __future__ import annotations

import json

import pytest
from fake_db import FakeDatabase, SeedOnlyDatabase

from gromozeka_cache import CacheService, ReentrantCallError, StorageError


def test_persisted_rows_load_and_writes_reach_the_object(cache: CacheService) -> None:
    db = FakeDatabase()
    db.setCacheStorage(namespace="chats", key="5", value=json.dumps({"info": {"title": "old"}}))
    db.setChatSetting(5, "lang", "en")
    db.addUserData(userId=42, chatId=5, key="karma", data="3")
    report = cache.injectDatabase(db)
    assert report["loaded"] == 1
    assert cache.getChatInfo(5) == {"title": "old"}
    assert cache.getChatSettings(5) == {"lang": "en"}
    assert cache.getUserData(5, 42) == {"karma": 3}

    cache.setChatSettings(5, {"model": "m"})
    assert db.chat_settings == {(5, "lang"): "en", (5, "model"): "m"}
    cache.setUserData(5, 42, "lang", "ru")
    assert db.user_data[(5, 42, "lang")] == '"ru"'
    cache.chatUsers["5:42"] = {"seen": True}
    assert db.cache_storage[("chatUsers", "5:42")][1] == '{"seen":true}'

    cache.setChatInfo(5, {"title": "new"})
    cache.persistAll()
    assert json.loads(db.cache_storage[("chats", "5")][1])["info"] == {"title": "new"}


def test_an_exception_in_the_object_is_a_storage_error_and_changes_nothing(cache: CacheService) -> None:
    db = FakeDatabase()
    cache.injectDatabase(db)
    cache.setUserData(1, 2, "k", "before")
    db.fail_on.add("addUserData")
    with pytest.raises(StorageError) as e:
        cache.setUserData(1, 2, "k", "after")
    assert "addUserData" in str(e.value) and "failed on purpose" in str(e.value)
    assert e.value.kind is not None
    assert cache.getUserData(1, 2) == {"k": "before"}

    before = cache.chatUsers.get("1:2")
    db.fail_on = {"setCacheStorage"}
    with pytest.raises(StorageError):
        cache.chatUsers["1:2"] = {"x": 1}
    db.fail_on = set()
    assert cache.chatUsers.get("1:2") == before


def test_a_missing_method_is_a_clear_error_when_needed(cache: CacheService) -> None:
    db = SeedOnlyDatabase()
    cache.injectDatabase(db)
    cache.chatUsers["1:2"] = {"x": 1}  # setCacheStorage exists
    with pytest.raises(StorageError) as e:
        del cache.chatUsers["1:2"]  # needs unsetCacheStorage
    assert "unsetCacheStorage" in str(e.value)
    assert cache.chatUsers["1:2"] == {"x": 1}


def test_rewrite_without_clear_unsets_the_other_keys(cache: CacheService) -> None:
    db = FakeDatabase()
    db.clearChatSettings = None  # type: ignore[assignment]  # the bot's older wrapper
    del db.clearChatSettings
    cache.injectDatabase(db)
    cache.setChatSettings(1, {"a": "1", "b": "2"})
    cache.setChatSettings(1, {"b": "3"}, rewrite=True)
    assert db.chat_settings == {(1, "b"): "3"}
    assert cache.getChatSettings(1) == {"b": "3"}


def test_a_callback_into_the_cache_is_refused_not_deadlocked(cache: CacheService) -> None:
    class Reentrant(FakeDatabase):
        def addUserData(self, userId: int, chatId: int, key: str, data: str) -> None:
            CacheService.getInstance().getUserState(1, "x")

    cache.injectDatabase(Reentrant())
    with pytest.raises(StorageError) as e:
        cache.setUserData(1, 2, "k", 1)
    assert ReentrantCallError.__name__ in str(e.value)


def test_the_storage_kit_passes_over_a_database_object() -> None:
    """The one storage kit (storage-kit/, the suite SQLite and PostgreSQL run) over
    the bot's kind of database object: every case, the optional ones included
    through the fake's hooks."""
    from gromozeka_cache import _native

    ran = _native._storage_kit(FakeDatabase)
    kinds = ["busy", "full", "read-only", "corrupt", "constraint", "schema", "unavailable", "conflict", "other"]
    assert ran == [
        "load-newest-n-oldest-first",
        "batch-order",
        "absent-is-not-an-error",
        "reopen-keeps-everything",
        "bad-cell-Blob",
        "bad-cell-InvalidUtf8",
        "bad-cell-Null",
        *(f"typed-error-{kind}" for kind in kinds),
        "settings-merge-rewrite-unset",
        "user-data",
    ]


def test_the_storage_kit_skips_what_an_object_without_hooks_cannot_do() -> None:
    """Without the kit's hooks only the cases every object can run are run."""
    from gromozeka_cache import _native

    class WithoutHooks:
        def __init__(self) -> None:
            self._db = FakeDatabase()

        def __getattr__(self, name: str) -> object:
            if name.startswith("_kit"):
                raise AttributeError(name)
            return getattr(self._db, name)

    ran = _native._storage_kit(WithoutHooks)
    assert "load-newest-n-oldest-first" in ran and "user-data" in ran
    assert not [name for name in ran if name.startswith(("bad-cell", "typed-error"))]
