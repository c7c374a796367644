"""Bounded loss: pending on-shutdown writes are written back by age or count, so a
process killed with SIGKILL (no handler runs) loses at most that bound."""

from __future__ import annotations

import logging
import math
import signal
import textwrap
import time
from pathlib import Path

import pytest
from children import persisted_chats, start_ready_child

from gromozeka_cache import CacheService

CHILD = textwrap.dedent(
    """
    import sys, time
    from gromozeka_cache import CacheService

    cache = CacheService.getInstance()
    cache.injectDatabase(sys.argv[1])
    max_age = None if sys.argv[2] == "off" else float(sys.argv[2])
    cache.setWriteBack(max_age, None)
    for chat in range(100):
        cache.setChatInfo(chat, {"title": f"chat {chat}"})
    print("ready", flush=True)
    time.sleep(60)
    """
)


def stored_chats(db: Path) -> int:
    return len(persisted_chats(db))


def killed_child(tmp_path: Path, max_age: str, wait: float) -> int:
    """Runs the child, SIGKILLs it `wait` seconds after its writes were acknowledged,
    and returns how many of its 100 chats the database holds."""
    db = tmp_path / "bot.db"
    child = start_ready_child(tmp_path, CHILD, str(db), max_age)
    time.sleep(wait)
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=60)
    assert child.returncode == -signal.SIGKILL
    return stored_chats(db)


def test_sigkill_after_the_age_bound_loses_nothing(tmp_path: Path) -> None:
    assert killed_child(tmp_path, "0.3", wait=2.0) == 100


def test_without_write_back_sigkill_loses_every_pending_write(tmp_path: Path) -> None:
    # The control: the same child without the bound loses all 100 writes.
    assert killed_child(tmp_path, "off", wait=2.0) == 0


def test_the_count_bound_writes_back_before_the_call_returns(cache: CacheService, db_path: Path) -> None:
    cache.injectDatabase(str(db_path))
    cache.setWriteBack(None, 10)
    for chat in range(9):
        cache.setChatInfo(chat, {"n": chat})
    assert stored_chats(db_path) == 0
    cache.setChatInfo(9, {"n": 9})
    assert stored_chats(db_path) == 10
    assert cache.getStats()["chats"]["dirty"] == 0


def test_the_schedule_is_read_back_and_checked(cache: CacheService) -> None:
    assert cache.getWriteBack() == {"maxAge": 5.0, "maxPending": 256, "failures": 0, "dropped": 0}
    cache.setWriteBack(0.5, 0)
    assert cache.getWriteBack() == {"maxAge": 0.5, "maxPending": None, "failures": 0, "dropped": 0}
    cache.setWriteBack()
    assert cache.getWriteBack()["maxAge"] == 5.0
    for bad in (-1.0, math.nan, math.inf, 1e9):
        with pytest.raises(ValueError, match="write-back max age"):
            cache.setWriteBack(bad, 1)
    with pytest.raises(OverflowError):
        cache.setWriteBack(1.0, -1)
    assert cache.getWriteBack()["maxAge"] == 5.0, "a refused schedule changes nothing"


def test_a_failed_write_back_reaches_python_logging(
    cache: CacheService, caplog: pytest.LogCaptureFixture
) -> None:
    class Failing:
        """A database object whose cache-table writes fail while ``full``."""

        full = True

        def getCacheStorage(self) -> list[dict[str, str]]:
            return []

        def setCacheStorage(self, namespace: str, key: str, value: str) -> bool:
            if self.full:
                raise OSError("disk full")
            return True

    db = Failing()
    cache.injectDatabase(db)
    cache.setWriteBack(None, 1)
    with caplog.at_level(logging.INFO, logger="gromozeka_cache"):
        cache.setChatInfo(1, {"n": 1})
        cache.setChatInfo(2, {"n": 2})
    assert cache.getWriteBack()["failures"] >= 1
    failed = [r for r in caplog.records if r.name == "gromozeka_cache" and r.levelno == logging.ERROR]
    assert failed, [r.getMessage() for r in caplog.records]
    assert "writing back on-shutdown changes failed" in failed[0].getMessage()
    assert "disk full" in failed[0].getMessage()
    db.full = False  # the fixture's close persists
