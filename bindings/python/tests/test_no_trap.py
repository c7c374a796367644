"""No argument and no stored cell traps the instance: bad input is refused with a
typed error before or by the component, and pending writes survive it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from gromozeka_cache import CacheService, InvalidConfigError, InvalidJsonError, TooLargeError


def test_bad_arguments_are_refused_and_pending_writes_survive(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    cache.setChatInfo(1, {"pending": True})
    bad_calls = [
        (lambda: cache.configure([("users", 10, "sometimes")]), ValueError),
        (lambda: cache.configure([("users", 0, "memory-only")]), InvalidConfigError),
        (lambda: cache.configure([("", 1, "memory-only")]), InvalidConfigError),
        (lambda: cache.configure([("a", 1, "on-change"), ("a", 1, "on-change")]), InvalidConfigError),
        (lambda: cache.configure([("users", -1, "memory-only")]), OverflowError),
        (lambda: cache.set("users", "k", None), InvalidJsonError),
        (lambda: cache.set("users", "k" * 5000, 1), TooLargeError),
        (lambda: cache.set("users", "k", "v" * (2 << 20)), TooLargeError),
        (lambda: cache.set("users", "k", "\ud800"), UnicodeEncodeError),
        (lambda: cache.set("users", "\ud800", 1), UnicodeEncodeError),
        (lambda: cache.setChatSettings(1, {"k": 1}), InvalidJsonError),
        (lambda: cache.setChatSettings(1, {"k" * 2000: "v"}), TooLargeError),
        (lambda: cache.setUserData(1, 1, "k" * 2000, 1), TooLargeError),
        (lambda: cache.setUserState(1, "k", [[[[[[]]]]]] * 1), None),
        (lambda: cache.setUserState(1, "deep", _nested(200)), ValueError),
    ]
    for call, error in bad_calls:
        if error is None:
            call()
            continue
        with pytest.raises(error):
            call()
    assert cache.getChatInfo(1) == {"pending": True}
    assert cache.getStats()["chats"]["dirty"] == 1


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    "cell",
    [b"\x00\x01blob", "not json", "", "null"],
    ids=["blob", "not-json", "empty", "null"],
)
def test_a_bad_stored_cell_is_skipped_not_a_trap(cache: CacheService, db_path: Path, cell: object) -> None:
    cache.injectDatabase(db_path)
    cache.chatUsers["good"] = {"ok": 1}
    cache.close()
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES ('chatUsers', 'bad', ?, '9')",
            (cell,),
        )
    CacheService.resetInstance()
    again = CacheService.getInstance()
    report = again.injectDatabase(db_path)
    assert [row["key"] for row in report["skipped"]] == ["bad"]
    assert again.chatUsers["good"] == {"ok": 1}
    again.setChatInfo(2, {"still": "works"})
    assert again.getChatInfo(2) == {"still": "works"}
