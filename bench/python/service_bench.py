"""The bot's calls from Python, side by side in one run: the seed's CacheService in
pure Python (seed_cache_service.py, the baseline), cachetools.LRUCache behind an
RLock, diskcache.Cache on a file, and the gromozeka_cache package.

Usage: python service_bench.py [--quick] TMPDIR
Prints one JSON object: {measurement: {implementation: median ns per call}}.
Run by `just bench` with target/py-venv's interpreter (the wheel installed).
"""

from __future__ import annotations

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
STATE = {"step": "await_name", "page": 3, "draft": {"text": "hello", "tags": ["a", "b"]}}
SETTINGS = {f"key{i}": f"value {i}" for i in range(10)}
# The bot's tables, from the one copy of the DDL.
MIGRATION = Path(__file__).resolve().parents[2] / "schema" / "sqlite" / "migrations" / "0001_tables.sql"


def timed(fn: Callable[[int], None], ops: int, warmup: int, reps: int) -> float:
    """Median ns per call of `fn(i)` over `ops` calls per round."""
    for _ in range(warmup):
        for i in range(ops):
            fn(i)
    samples = []
    for _ in range(reps):
        start = time.perf_counter_ns()
        for i in range(ops):
            fn(i)
        samples.append((time.perf_counter_ns() - start) / ops)
    return statistics.median(samples)


class SeedDatabase:
    """The seed's dbWrapper methods over sqlite3 (commit per write, as a bot does), on
    the bot's tables as schema/sqlite creates them (the one copy of the DDL)."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, check_same_thread=False)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(MIGRATION.read_text())

    def getChatSettings(self, chatId: int) -> dict[str, str]:
        return dict(SETTINGS)

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
            settings = self.chats.get(chatId)
            if settings is None:
                settings = self.chats[chatId] = dict(SETTINGS)
            return settings


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

    for u in range(USERS):
        seed.setUserState(u, "step", STATE)
        ct.setUserState(u, "step", STATE)
        dc.set((u, "step"), STATE)
        gc.setUserState(u, "step", STATE)
    for c in range(USERS):
        seed.getChatSettings(c)
        ct.getChatSettings(c)
        gc.setChatSettings(c, SETTINGS)
        gc.getChatSettings(c)

    results["getUserState"] = {
        "seed": timed(lambda i: seed.getUserState(i, "step"), ops, warmup, reps),
        "cachetools": timed(lambda i: ct.getUserState(i, "step"), ops, warmup, reps),
        "diskcache": timed(lambda i: dc.get((i, "step")), ops, warmup, reps),
        "gromozeka_cache": timed(lambda i: gc.getUserState(i, "step"), ops, warmup, reps),
    }
    results["setUserState"] = {
        "seed": timed(lambda i: seed.setUserState(i, "step", STATE), ops, warmup, reps),
        "cachetools": timed(lambda i: ct.setUserState(i, "step", STATE), ops, warmup, reps),
        "diskcache": timed(lambda i: dc.set((i, "step"), STATE), ops, warmup, reps),
        "gromozeka_cache": timed(lambda i: gc.setUserState(i, "step", STATE), ops, warmup, reps),
    }
    results["getChatSettings"] = {
        "seed": timed(lambda i: seed.getChatSettings(i), ops, warmup, reps),
        "cachetools": timed(lambda i: ct.getChatSettings(i), ops, warmup, reps),
        "diskcache": timed(lambda i: dc.get(("settings", i)), ops, warmup, reps),
        "gromozeka_cache": timed(lambda i: gc.getChatSettings(i), ops, warmup, reps),
    }
    write_ops = 200
    results["setUserData"] = {
        "seed": timed(lambda i: seed.setUserData(-100, i, "lang", "ru"), write_ops, 1, max(3, reps // 3)),
        "diskcache": timed(lambda i: dc.set(("ud", -100, i, "lang"), "ru"), write_ops, 1, max(3, reps // 3)),
        "gromozeka_cache": timed(lambda i: gc.setUserData(-100, i, "lang", "ru"), write_ops, 1, max(3, reps // 3)),
    }
    # What releasing the GIL costs per call: the cheapest call through the cache's
    # gate with the GIL released (as every method does) and kept.
    results["gilProbe"] = {
        "released": timed(lambda i: gc._gil_probe(True), ops, warmup, reps),
        "kept": timed(lambda i: gc._gil_probe(False), ops, warmup, reps),
    }
    results["python"] = {"version": sys.version.split()[0]}  # type: ignore[dict-item]
    gc.close()
    dc.close()
    print(json.dumps(results))


if __name__ == "__main__":
    os.environ.setdefault("XDG_CACHE_HOME", str(Path(sys.argv[-1]) / "xdg"))
    main()
