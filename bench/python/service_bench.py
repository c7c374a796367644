"""The bot's calls from Python, side by side in one run: the seed's CacheService in
pure Python (seed_cache_service.py, the baseline), cachetools.LRUCache behind an
RLock, diskcache.Cache on a file, and the gromozeka_cache package.

Usage: python service_bench.py [--quick] TMPDIR
Prints one JSON object: {measurement: {implementation: median ns per call}}.
Run by `just bench` with target/py-venv's interpreter (the wheel installed).
"""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import cachetools
import diskcache

sys.path.insert(0, str(Path(__file__).resolve().parent))
import seed_cache_service  # noqa: E402

import gromozeka_cache  # noqa: E402

USERS = 1000


def state(user: int) -> dict[str, Any]:
    """A user's state: a distinct value per user, as in a bot (no implementation may
    profit from every user holding the same value)."""
    return {"step": "await_name", "page": user, "draft": {"text": "hello", "tags": ["a", "b"]}}


def settings(chat: int) -> dict[str, str]:
    """A chat's ten settings, distinct per chat."""
    return {f"key{i}": f"value {i} of {chat}" for i in range(10)}
# The bot's tables, from the one copy of the DDL.
MIGRATION = Path(__file__).resolve().parents[2] / "schema" / "sqlite" / "migrations" / "0001_tables.sql"


VALUE_SIZES = (64, 512, 2048, 16384)


def sized_value(size: int, user: int) -> dict[str, str]:
    """A dict whose JSON text is about `size` bytes, distinct per user."""
    fields = max(1, size // 32)
    return {f"f{i:03d}": f"{user:08d}-{'x' * 12}"[:18] for i in range(fields)}


def side_by_side(loops: dict[str, Callable[[], None]], ops: int, warmup: int, reps: int) -> dict[str, float]:
    """Median ns per call of each implementation's loop of `ops` calls. The rounds are
    interleaved (each round runs every implementation once, in a rotating order), so
    a burst of load from other processes falls on all of them alike instead of on
    whichever ran during it."""
    names = list(loops)
    for _ in range(warmup):
        for name in names:
            loops[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(reps):
        for name in names[r % len(names):] + names[: r % len(names)]:
            start = time.perf_counter_ns()
            loops[name]()
            samples[name].append((time.perf_counter_ns() - start) / ops)
    return {name: statistics.median(values) for name, values in samples.items()}


# The loops call bound methods directly (no lambda per call): the per-call overhead
# of the harness is the same `for` loop and call for every implementation.
def get_state_loop(get: Callable[..., Any], ids: list[int], key: str = "step") -> Callable[[], None]:
    def loop() -> None:
        for i in ids:
            get(i, key)

    return loop


def set_state_loop(set_: Callable[..., Any], ids: list[int], values: list[Any]) -> Callable[[], None]:
    def loop() -> None:
        for i in ids:
            set_(i, "step", values[i])

    return loop


def one_arg_loop(fn: Callable[..., Any], args: list[Any]) -> Callable[[], None]:
    def loop() -> None:
        for a in args:
            fn(a)

    return loop


def set_user_data_loop(fn: Callable[..., Any], ids: list[int]) -> Callable[[], None]:
    def loop() -> None:
        for i in ids:
            fn(-100, i, "lang", "ru")

    return loop


def replayed(loop: Callable[[], None], sync: Callable[[], Any]) -> Callable[[], None]:
    """`loop`, then `sync`: a call that enters the component, which replays the
    hits the loop logged first."""

    def both() -> None:
        loop()
        sync()

    return both


class SeedDatabase:
    """The seed's dbWrapper methods over sqlite3 (commit per write, as a bot does), on
    the bot's tables as schema/sqlite creates them (the one copy of the DDL)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(MIGRATION.read_text())

    def getChatSettings(self, chatId: int) -> dict[str, str]:
        return settings(chatId)

    def getUserData(self, userId: int, chatId: int) -> dict[str, str]:
        rows = self.conn.execute("SELECT key, data FROM user_data WHERE user_id=? AND chat_id=?", (userId, chatId))
        return dict(rows.fetchall())

    def addUserData(self, userId: int, chatId: int, key: str, data: str) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO user_data (user_id, chat_id, key, data, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                (userId, chatId, key, data),
            )

    def getCacheStorage(self) -> list[dict[str, Any]]:
        return []


class CachetoolsService:
    """The bot's three calls on cachetools.LRUCache behind an RLock."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.users: cachetools.LRUCache = cachetools.LRUCache(maxsize=1000)
        self.chats: cachetools.LRUCache = cachetools.LRUCache(maxsize=1000)

    def getUserState(self, userId: int, stateKey: str, default: Any = None) -> Any:
        with self.lock:
            state = self.users.get(userId)
            return default if state is None else state.get(stateKey, default)

    def setUserState(self, userId: int, stateKey: str, value: Any) -> None:
        with self.lock:
            state = dict(self.users.get(userId) or {})
            state[stateKey] = value
            self.users[userId] = state

    def getChatSettings(self, chatId: int) -> dict[str, str]:
        with self.lock:
            cached = self.chats.get(chatId)
            if cached is None:
                cached = self.chats[chatId] = settings(chatId)
            return cached


def main() -> None:
    quick = "--quick" in sys.argv
    tmp = Path([a for a in sys.argv[1:] if not a.startswith("--")][0])
    warmup, reps = (1, 5) if quick else (3, 21)
    ops = USERS
    results: dict[str, dict[str, float]] = {}

    seed = seed_cache_service.CacheService.getInstance()
    seed.injectDatabase(SeedDatabase(tmp / "seed.db"))
    ct = CachetoolsService()
    dc = diskcache.Cache(str(tmp / "diskcache"))
    gc = gromozeka_cache.CacheService.getInstance()
    gc.injectDatabase(str(tmp / "gromozeka.db"))

    states = [state(u) for u in range(USERS)]
    for u in range(USERS):
        seed.setUserState(u, "step", states[u])
        ct.setUserState(u, "step", states[u])
        dc.set((u, "step"), states[u])
        gc.setUserState(u, "step", states[u])
    for c in range(USERS):
        seed.getChatSettings(c)
        ct.getChatSettings(c)
        dc.set(("settings", c), settings(c))
        gc.setChatSettings(c, settings(c))
        gc.getChatSettings(c)

    ids = list(range(USERS))
    results["getUserState"] = side_by_side(
        {
            "seed": get_state_loop(seed.getUserState, ids),
            "cachetools": get_state_loop(ct.getUserState, ids),
            "diskcache": one_arg_loop(dc.get, [(i, "step") for i in ids]),
            "gromozeka_cache": get_state_loop(gc.getUserState, ids),
        },
        ops, warmup, reps,
    )
    results["setUserState"] = side_by_side(
        {
            "seed": set_state_loop(seed.setUserState, ids, states),
            "cachetools": set_state_loop(ct.setUserState, ids, states),
            "diskcache": set_state_loop(lambda i, _k, v: dc.set((i, "step"), v), ids, states),
            "gromozeka_cache": set_state_loop(gc.setUserState, ids, states),
        },
        ops, warmup, reps,
    )
    results["getChatSettings"] = side_by_side(
        {
            "seed": one_arg_loop(seed.getChatSettings, ids),
            "cachetools": one_arg_loop(ct.getChatSettings, ids),
            "diskcache": one_arg_loop(dc.get, [("settings", i) for i in ids]),
            "gromozeka_cache": one_arg_loop(gc.getChatSettings, ids),
        },
        ops, warmup, reps,
    )
    def seed_and_package() -> dict[str, dict[str, Callable[[], None]]]:
        return {
            "getUserState": {
                "seed": get_state_loop(seed.getUserState, ids),
                "gromozeka_cache": get_state_loop(gc.getUserState, ids),
            },
            "getChatSettings": {
                "seed": one_arg_loop(seed.getChatSettings, ids),
                "gromozeka_cache": one_arg_loop(gc.getChatSettings, ids),
            },
        }

    # Warm: the same hits with nothing else in the rounds (the rows above run
    # diskcache's SQLite work in the same rounds, as a bot does other work);
    # then with the cache's own objects returned (opt-in per namespace).
    for suffix, share in (("Warm", False), ("Shared", True)):
        gc.shareValues("users", share)
        gc.shareValues("chats", share)
        for call, loops in seed_and_package().items():
            results[call + suffix] = side_by_side(loops, ops, warmup, reps)
    # Shared hits after other work: diskcache's SQLite work in the same rounds, as
    # in the first rows.
    for call, loops in seed_and_package().items():
        other = [(i, "step") if call == "getUserState" else ("settings", i) for i in ids]
        loops["diskcache"] = one_arg_loop(dc.get, other)
        results[call + "SharedBusy"] = side_by_side(loops, ops, warmup, reps)
    # Hits with their replay: each round's 1000 entries, none pending before it, are
    # replayed into the component at its end (`getStats` enters it, as the next write
    # would). The rows above replay nothing while they run: the same 1000 entries stay
    # pending from round to round, and a hit of a pending entry only moves it in the
    # host's log. So this is a hit's whole cost when every hit is of another entry.
    for suffix, share in (("Replayed", False), ("SharedReplayed", True)):
        gc.shareValues("users", share)
        gc.shareValues("chats", share)
        for call, loops in seed_and_package().items():
            loops["gromozeka_cache"] = replayed(loops["gromozeka_cache"], gc.getStats)
            results[call + suffix] = side_by_side(loops, ops, warmup, reps)
    gc.shareValues("users", False)
    gc.shareValues("chats", False)
    # Value size: a hit that copies against Python's own deepcopy of the value,
    # and a shared hit against the 64 B one.
    for size in VALUE_SIZES:
        key = f"v{size}"
        values = [sized_value(size, u) for u in ids]
        for u in ids:
            gc.setUserState(u, key, values[u])
            seed.setUserState(u, key, values[u])
        loops = {
            "copy": get_state_loop(gc.getUserState, ids, key),
            "deepcopy": one_arg_loop(copy.deepcopy, values),
        }
        results[f"size{size}"] = side_by_side(loops, ops, warmup, reps)
        # The seed returns its own object too: its growth with the value is the
        # memory hierarchy's (the values no longer fit the CPU caches), not work.
        gc.shareValues("users")
        results[f"size{size}"].update(
            side_by_side(
                {"shared": get_state_loop(gc.getUserState, ids, key), "seed": get_state_loop(seed.getUserState, ids, key)},
                ops, warmup, reps,
            )
        )
        gc.shareValues("users", False)
        for u in ids:
            gc.clearUserState(u, key)
            seed.clearUserState(u, key)
    write_ids = list(range(200))
    results["setUserData"] = side_by_side(
        {
            "seed": set_user_data_loop(seed.setUserData, write_ids),
            "diskcache": set_user_data_loop(lambda c, u, k, v: dc.set(("ud", c, u, k), v), write_ids),
            "gromozeka_cache": set_user_data_loop(gc.setUserData, write_ids),
        },
        len(write_ids), 1, max(3, reps // 3),
    )
    # What releasing the GIL costs per call: the cheapest call through the cache's
    # gate with the GIL released (as every method does) and kept.
    results["gilProbe"] = side_by_side(
        {
            "released": one_arg_loop(gc._gil_probe, [True] * ops),
            "kept": one_arg_loop(gc._gil_probe, [False] * ops),
        },
        ops, warmup, reps,
    )
    results["python"] = {"version": sys.version.split()[0]}  # type: ignore[dict-item]
    gc.close()
    dc.close()
    print(json.dumps(results))


if __name__ == "__main__":
    os.environ.setdefault("XDG_CACHE_HOME", str(Path(sys.argv[-1]) / "xdg"))
    main()
