"""The bot's asyncio calls side by side: the bot's current algorithm in pure Python
(bot_baseline.py, the baseline) and gromozeka_cache.aio, over one in-memory async
database of the bot's shape.

Usage: python async_bench.py [--quick] TMPDIR
Prints one JSON object: {measurement: {implementation: value}}; the values are ns.

- aioGetChatSettings: ns per ``await cache.getChatSettings(c)`` hit, 1000 chats.
- aioGetChatUserData: ns per ``await cache.getChatUserData(-100, u)`` hit, 1000 users.
- getUserState: ns per sync ``cache.getUserState(u, "step")`` hit, 1000 users.
- aioGetChatSettingsShared, aioGetChatUserDataShared: the first two with
  ``shareValues("chats")`` and ``shareValues("chatUsers")``: the package returns
  its own dict, as the baseline does.
- slowDbHit: median (and p99) ns of single ``getChatUserData`` hits while batches of
  100 misses wait on a database taking 50 ms per call.
- loopStall: during slowDbHit, the largest overshoot of ``asyncio.sleep(0.001)``
  in a monitor task: how long the event loop was kept from running.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bot_baseline import BotBaselineCache  # noqa: E402
from service_bench import USERS, get_state_loop, settings, side_by_side, state  # noqa: E402

from gromozeka_cache.aio import CacheService  # noqa: E402

CHAT = -100  # the chat whose user data is read
SLOW_DELAY = 0.05  # seconds per database call in the slow-database run
IN_FLIGHT = 100  # misses waiting on the slow database at a time
HOT_USERS = list(range(16))  # the warm users sampled during the slow run (kept recent in the LRU)


def user_data(user: int) -> dict[str, str]:
    """A user's few data items in the chat, as the database keeps them: JSON text."""
    return {"lang": json.dumps("ru"), "score": json.dumps(user), "prefs": json.dumps({"tz": "UTC", "n": user})}


class MemoryDatabase:
    """The bot's async Database in memory: ``db.cache``, ``db.chatSettings``,
    ``db.chatInfo`` and ``db.userData`` (all this object) with coroutine methods;
    each call first sleeps ``delay`` seconds (``asyncio.sleep``) when set."""

    def __init__(self) -> None:
        self.cache = self.chatSettings = self.chatInfo = self.userData = self
        self.delay = 0.0
        self.hot: set[int] = set()  # users whose reads are counted in hot_reads
        self.hot_reads = 0
        self.rows: dict[tuple[str, str], str] = {}
        self.settings: dict[int, dict[str, tuple[str, int]]] = {}
        self.data: dict[tuple[int, int], dict[str, str]] = {}
        self.info: dict[int, dict[str, Any]] = {}
        self.topics: dict[tuple[int, int], dict[str, Any]] = {}

    async def _io(self) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)

    async def getCacheStorage(self) -> list[dict[str, Any]]:
        await self._io()
        return []

    async def setCacheStorage(self, namespace: str, key: str, value: str) -> bool:
        await self._io()
        self.rows[(namespace, key)] = value
        return True

    async def unsetCacheStorage(self, namespace: str, key: str) -> bool:
        await self._io()
        self.rows.pop((namespace, key), None)
        return True

    async def getChatSettings(self, chatId: int) -> dict[str, tuple[str, int]]:
        await self._io()
        return dict(self.settings.get(chatId, {}))

    async def setChatSetting(self, chatId: int, key: str, value: str, *, updatedBy: int) -> bool:
        await self._io()
        self.settings.setdefault(chatId, {})[str(key)] = (value, updatedBy)
        return True

    async def unsetChatSetting(self, chatId: int, key: str) -> bool:
        await self._io()
        self.settings.get(chatId, {}).pop(str(key), None)
        return True

    async def clearChatSettings(self, chatId: int) -> bool:
        await self._io()
        self.settings.pop(chatId, None)
        return True

    async def getChatInfo(self, chatId: int) -> dict[str, Any] | None:
        await self._io()
        return self.info.get(chatId)

    async def updateChatInfo(self, chatId: int, **info: Any) -> bool:
        await self._io()
        self.info[chatId] = {"chat_id": chatId, **info}
        return True

    async def getChatTopics(self, chatId: int) -> list[dict[str, Any]]:
        await self._io()
        return [t for (c, _), t in self.topics.items() if c == chatId]

    async def updateChatTopicInfo(self, chatId: int, topicId: int, **info: Any) -> bool:
        await self._io()
        self.topics[(chatId, topicId)] = {"chat_id": chatId, "topic_id": topicId, **info}
        return True

    async def getUserData(self, userId: int, chatId: int) -> dict[str, str]:
        if userId in self.hot:
            self.hot_reads += 1
        await self._io()
        return dict(self.data.get((chatId, userId), {}))

    async def addUserData(self, userId: int, chatId: int, key: str, data: str) -> bool:
        await self._io()
        self.data.setdefault((chatId, userId), {})[key] = data
        return True

    async def deleteUserData(self, userId: int, chatId: int, key: str) -> bool:
        await self._io()
        self.data.get((chatId, userId), {}).pop(key, None)
        return True

    async def clearUserData(self, userId: int, chatId: int) -> bool:
        await self._io()
        self.data.pop((chatId, userId), None)
        return True


def seeded_database() -> MemoryDatabase:
    db = MemoryDatabase()
    for c in range(USERS):
        db.settings[c] = {k: (v, 0) for k, v in settings(c).items()}
    for u in range(USERS):
        db.data[(CHAT, u)] = user_data(u)
    return db


async def async_side_by_side(
    loops: dict[str, Callable[[], Awaitable[None]]], ops: int, warmup: int, reps: int
) -> dict[str, float]:
    """service_bench.side_by_side for coroutine loops: median ns per call over
    interleaved rounds, each running every implementation once in a rotating order."""
    names = list(loops)
    for _ in range(warmup):
        for name in names:
            await loops[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(reps):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter_ns()
            await loops[name]()
            samples[name].append((time.perf_counter_ns() - start) / ops)
    return {name: statistics.median(values) for name, values in samples.items()}


def chat_loop(get: Callable[[int], Awaitable[Any]], ids: list[int]) -> Callable[[], Awaitable[None]]:
    async def loop() -> None:
        for c in ids:
            await get(c)

    return loop


def user_data_loop(get: Callable[[int, int], Awaitable[Any]], ids: list[int]) -> Callable[[], Awaitable[None]]:
    async def loop() -> None:
        for u in ids:
            await get(CHAT, u)

    return loop


async def slow_run(cache: Any, db: MemoryDatabase, samples: int, fresh: Iterator[int]) -> tuple[list[int], int]:
    """With the database at SLOW_DELAY per call and batches of IN_FLIGHT misses (users
    never seen, `fresh` ids) kept waiting on it, times `samples` single hits of warm
    users; returns (hit ns, largest sleep(1 ms) overshoot in ns of a monitor task)."""
    stop = asyncio.Event()
    stall = 0

    async def monitor() -> None:
        nonlocal stall
        while not stop.is_set():
            start = time.perf_counter_ns()
            await asyncio.sleep(0.001)
            stall = max(stall, time.perf_counter_ns() - start - 1_000_000)

    async def load() -> None:
        while not stop.is_set():
            await asyncio.gather(*(cache.getChatUserData(CHAT, next(fresh)) for _ in range(IN_FLIGHT)))

    for u in HOT_USERS:  # the most recent entries: the misses' inserts evict the oldest
        await cache.getChatUserData(CHAT, u)
    db.hot, db.hot_reads, db.delay = set(HOT_USERS), 0, SLOW_DELAY
    tasks = [asyncio.create_task(monitor()), asyncio.create_task(load())]
    await asyncio.sleep(0.005)  # the first batch reaches the database
    times: list[int] = []
    for i in range(samples):
        u = HOT_USERS[i % len(HOT_USERS)]
        start = time.perf_counter_ns()
        await cache.getChatUserData(CHAT, u)
        times.append(time.perf_counter_ns() - start)
        await asyncio.sleep(0.002)  # spread the samples over the batches' lifetime
    stop.set()
    await asyncio.gather(*tasks)
    db.delay = 0.0
    if db.hot_reads:
        print(f"warning: {db.hot_reads} timed hits of {type(cache).__name__} were misses", file=sys.stderr)
    return times, stall


def p99(values: list[int]) -> float:
    return statistics.quantiles(values, n=100)[98]


async def run(quick: bool) -> dict[str, Any]:
    warmup, reps = (1, 5) if quick else (3, 21)
    samples = 50 if quick else 200
    ids = list(range(USERS))
    results: dict[str, Any] = {}

    base_db, gc_db = seeded_database(), seeded_database()
    base = BotBaselineCache(base_db)
    gc = CacheService.getInstance()
    await gc.injectDatabase(gc_db)
    caches: dict[str, Any] = {"baseline": base, "gromozeka_cache": gc}
    for cache in caches.values():
        for u in ids:
            cache.setUserState(u, "step", state(u))
            await cache.getChatUserData(CHAT, u)
        for c in ids:
            await cache.getChatSettings(c)

    results["aioGetChatSettings"] = await async_side_by_side(
        {name: chat_loop(cache.getChatSettings, ids) for name, cache in caches.items()}, USERS, warmup, reps
    )
    results["aioGetChatUserData"] = await async_side_by_side(
        {name: user_data_loop(cache.getChatUserData, ids) for name, cache in caches.items()}, USERS, warmup, reps
    )
    results["getUserState"] = side_by_side(
        {name: get_state_loop(cache.getUserState, ids) for name, cache in caches.items()}, USERS, warmup, reps
    )
    # The bot's semantics: each hit returns the cache's own dict, as the baseline does.
    gc.shareValues("chats")
    gc.shareValues("chatUsers")
    results["aioGetChatSettingsShared"] = await async_side_by_side(
        {name: chat_loop(cache.getChatSettings, ids) for name, cache in caches.items()}, USERS, warmup, reps
    )
    results["aioGetChatUserDataShared"] = await async_side_by_side(
        {name: user_data_loop(cache.getChatUserData, ids) for name, cache in caches.items()}, USERS, warmup, reps
    )
    gc.shareValues("chats", False)
    gc.shareValues("chatUsers", False)

    fresh = itertools.count(1_000_000)
    base_times, base_stall = await slow_run(base, base_db, samples, fresh)
    gc_times, gc_stall = await slow_run(gc, gc_db, samples, fresh)
    results["slowDbHit"] = {
        "gromozeka_cache": statistics.median(gc_times),
        "gromozeka_cache_p99": p99(gc_times),
        "baseline": statistics.median(base_times),
        "baseline_p99": p99(base_times),
    }
    results["loopStall"] = {"gromozeka_cache": gc_stall, "baseline": base_stall}
    results["python"] = {"version": sys.version.split()[0]}
    await gc.aclose()
    return results


def main() -> None:
    quick = "--quick" in sys.argv
    print(json.dumps(asyncio.run(run(quick))))


if __name__ == "__main__":
    os.environ.setdefault("XDG_CACHE_HOME", str(Path(sys.argv[-1]) / "xdg"))
    main()
