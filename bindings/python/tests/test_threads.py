"""Thread safety: concurrent calls, the GIL released while a call waits, and
storage callbacks into a Python object from many threads without deadlock."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fake_db import FakeDatabase

from gromozeka_cache import CacheService


def test_concurrent_calls_see_every_write(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(db_path)
    errors: list[BaseException] = []

    def worker(t: int) -> None:
        try:
            for i in range(200):
                cache.setUserState(t, f"k{i}", i)
                cache.setUserData(-1, t, f"d{i % 5}", i)
                assert cache.getUserState(t, f"k{i}") == i
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    for t in range(8):
        assert cache.getUserState(t, "k199") == 199
        assert cache.getUserData(-1, t)["d4"] == 199


def test_other_threads_run_while_a_call_waits_on_a_python_database(cache: CacheService) -> None:
    entered = threading.Event()

    class SlowDatabase(FakeDatabase):
        def addUserData(self, userId: int, chatId: int, key: str, data: str) -> None:
            entered.set()
            time.sleep(0.5)  # releases the GIL, like real I/O
            super().addUserData(userId, chatId, key, data)

    cache.injectDatabase(SlowDatabase())
    writer = threading.Thread(target=cache.setUserData, args=(1, 2, "k", 1))
    writer.start()
    assert entered.wait(5)
    # The writer holds the cache; this thread still runs Python code meanwhile.
    ticks = 0
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:
        ticks += 1
    writer.join(10)
    assert ticks > 1000
    assert cache.getUserData(1, 2) == {"k": 1}


def test_many_threads_calling_a_python_database_do_not_deadlock(cache: CacheService) -> None:
    db = FakeDatabase()
    cache.injectDatabase(db)

    def worker(t: int) -> None:
        for i in range(50):
            cache.setUserData(t, t, f"k{i}", i)
            cache.getUserData(t, t)
            cache.chatUsers[f"{t}:{i}"] = {"i": i}

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
        assert not t.is_alive(), "deadlock"
    assert len(db.user_data) == 6 * 50
