"""The host's read path seen from Python: repeated reads are served from the
host's copies (no crossing into the component), the caller still gets its own
mutable copy of a dict, a write is seen at once, and the component's counts are
the same with the read path off."""

from __future__ import annotations

import json
import sys
from typing import Any

from gromozeka_cache import CacheService


def _kept_user_state(cache: CacheService, user: int, key: str) -> Any:
    """The objects kept with the copy of `getUserState(user, key)`, in a
    namespace that shares them. Keeping them is refused while another thread
    holds the cache (the write-back thread wakes at the first pending change),
    and the next read keeps them then; so read until two reads agree."""
    for _ in range(100):
        kept = cache.getUserState(user, key)
        if cache.getUserState(user, key) is kept:
            return kept
    raise AssertionError("the objects were never kept with the copy")


def _reads(cache: CacheService) -> list[Any]:
    return [
        cache.getUserState(1, "step"),
        cache.getChatSettings(5),
        cache.getChatUserData(5, 1),
        cache.getChatInfo(5),
        cache.get("users", "1"),
    ]


def _workload(cache: CacheService) -> list[Any]:
    cache.setUserState(1, "step", {"menu": [1, 2]})
    cache.setChatSettings(5, {"lang": "en"})
    cache.setChatUserData(5, 1, "karma", 3)
    cache.setChatInfo(5, {"title": "t"})
    answers = [_reads(cache) for _ in range(50)]
    cache.setUserState(1, "step", "done")
    answers.append(_reads(cache))
    return answers


def test_repeated_reads_are_served_from_copies_with_the_same_answers_and_counts(cache: CacheService) -> None:
    on = _workload(cache)
    stats_on = cache.getStats()
    read_path = cache.getReadPathStats()
    assert read_path["enabled"] is True
    # 51 rounds of 5 reads; the first read of each entry (and the first after a
    # write) enters the component, the rest are served.
    assert read_path["served"] >= 5 * 51 - 15, read_path
    assert read_path["stale"] == 0
    assert read_path["copies"] > 0 and read_path["bytes"] > 0

    CacheService.resetInstance()
    off_cache = CacheService.getInstance()
    off_cache.setReadPath(False)
    off = _workload(off_cache)
    assert off == on
    assert off_cache.getStats() == stats_on
    assert off_cache.getReadPathStats()["served"] == 0
    assert off_cache.getReadPathStats()["copies"] == 0


def test_a_served_dict_is_the_callers_own(cache: CacheService) -> None:
    cache.setUserState(1, "step", {"menu": [1, 2]})
    first = cache.getUserState(1, "step")
    first["menu"].append(3)
    first["new"] = True
    second = cache.getUserState(1, "step")
    assert second == {"menu": [1, 2]}
    assert second is not first and second["menu"] is not first["menu"]
    assert cache.getReadPathStats()["served"] >= 1


def test_a_write_is_seen_by_the_next_read(cache: CacheService) -> None:
    for i in range(20):
        cache.setUserState(7, "n", i)
        assert cache.getUserState(7, "n") == i
        assert cache.getUserState(7, "n") == i
    cache.clearUserState(7, "n")
    assert cache.getUserState(7, "n") is None


def test_evicted_entries_are_not_served(cache: CacheService) -> None:
    cache.configure([("chats", 10, "memory-only"), ("chatUsers", 10, "memory-only"), ("users", 2, "memory-only")])
    cache.setUserState(1, "s", 1)
    assert cache.getUserState(1, "s") == 1
    assert cache.getUserState(1, "s") == 1
    cache.setUserState(2, "s", 2)
    cache.setUserState(3, "s", 3)  # evicts user 1, the least recent
    assert cache.getUserState(1, "s") is None
    assert cache.getStats()["users"]["evictions"] == 1


def test_shared_values_are_the_same_object_until_the_entry_changes(cache: CacheService) -> None:
    cache.shareValues("users")
    cache.setUserState(1, "step", {"menu": [1, 2]})
    first = _kept_user_state(cache, 1, "step")
    assert cache.getUserState(1, "step") is first
    cache.setUserState(1, "step", {"menu": [3]})
    changed = cache.getUserState(1, "step")
    assert changed == {"menu": [3]} and changed is not first
    # Other namespaces still copy.
    cache.setChatSettings(5, {"lang": "en"})
    assert cache.getChatSettings(5) is not cache.getChatSettings(5)
    cache.shareValues("users", False)
    assert cache.getUserState(1, "step") is not cache.getUserState(1, "step")


def test_objects_kept_with_a_copy_are_released_outside_the_cache(cache: CacheService) -> None:
    # A caller broke the read-only promise of a shared value and put an object
    # with a finaliser into it: when the entry changes, the kept objects go,
    # (at the first read after the change, which learns of it), and that
    # finaliser calls the cache. It runs after the call that dropped them, with
    # no lock held, so it neither deadlocks nor is refused.
    seen: list[Any] = []

    class Finaliser:
        def __del__(self) -> None:
            seen.append(cache.getUserState(2, "step"))

    cache.shareValues("users")
    cache.setUserState(1, "step", {"menu": [1]})
    cache.setUserState(2, "step", "other")
    cache.getUserState(2, "step")
    shared = _kept_user_state(cache, 1, "step")
    shared["finaliser"] = Finaliser()
    del shared
    assert seen == []
    cache.setUserState(1, "step", {"menu": [2]})
    assert cache.getUserState(1, "step") == {"menu": [2]}
    assert seen == ["other"]


def _deep_size(value: Any) -> int:
    """What keeping `value` holds, as `sys.getsizeof` counts each object, but
    for `None`, `True` and `False`, which the whole process shares."""
    if value is None or isinstance(value, bool):
        return 0
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        size += sum(_deep_size(k) + _deep_size(v) for k, v in value.items())
    elif isinstance(value, list):
        size += sum(_deep_size(v) for v in value)
    return size


def test_the_objects_kept_with_a_copy_are_counted_in_its_bytes(cache: CacheService) -> None:
    cache.shareValues("users")
    big = {
        "items": ["x" * 100 + str(i) for i in range(100)],
        "latin": "café " * 10,
        "ru": "привет мир " * 10,
        "emoji": "😀" * 5,
        "numbers": [0, 7, -(2**40), 2**63 - 1, 1.5],
        "flags": [True, False, None],
    }
    cache.setUserState(1, "step", big)
    kept = _kept_user_state(cache, 1, "step")
    assert cache.getUserState(1, "step") is kept, "served with the kept objects"
    held = cache.getReadPathStats()["bytes"]
    text = len(json.dumps(big, separators=(",", ":"), ensure_ascii=False).encode())
    # The text, the kept objects, and at most 200 bytes of key and bookkeeping.
    assert _deep_size(kept) + text <= held < _deep_size(kept) + text + 200, held

    cache.setUserState(1, "step", "small")
    assert cache.getUserState(1, "step") == "small"
    assert cache.getUserState(1, "step") == "small"
    assert cache.getReadPathStats()["bytes"] < 300, "the big value's objects went with its copy"
