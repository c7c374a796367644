"""Nothing acknowledged is lost at shutdown: a real child process with pending
on-shutdown writes is stopped by SIGTERM or SIGHUP, or exits normally."""

from __future__ import annotations

import signal
import textwrap
from pathlib import Path

import pytest
from children import persisted_chats, start_ready_child

CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    from gromozeka_cache import CacheService

    mode = sys.argv[2]
    if mode == "chained":
        def mine(signum, frame):
            print("app handler ran", flush=True)
            sys.exit(7)
        signal.signal(signal.SIGTERM, mine)
    cache = CacheService.getInstance()
    cache.injectDatabase(sys.argv[1])
    for chat in range(100):
        cache.setChatInfo(chat, {"title": f"chat {chat}"})
    assert cache.getStats()["chats"]["dirty"] == 100
    print("ready", flush=True)
    if mode == "exit":
        sys.exit(0)
    time.sleep(60)
    print("not stopped", flush=True)
    """
)


def run_child(tmp_path: Path, mode: str, signum: int | None) -> tuple[int, str]:
    child = start_ready_child(tmp_path, CHILD, str(tmp_path / "bot.db"), mode)
    if signum is not None:
        child.send_signal(signum)
    out, err = child.communicate(timeout=60)
    return child.returncode, out + err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_default_handlers_persist_and_the_process_ends_by_the_signal(tmp_path: Path, signum: int) -> None:
    code, output = run_child(tmp_path, "wait", signum)
    assert code == -signum, output
    chats = persisted_chats(tmp_path / "bot.db")
    lost = [c for c in range(100) if chats.get(str(c), {}).get("info") != {"title": f"chat {c}"}]
    assert lost == []


def test_an_application_handler_is_chained(tmp_path: Path) -> None:
    code, output = run_child(tmp_path, "chained", signal.SIGTERM)
    assert code == 7, output
    assert "app handler ran" in output
    assert len(persisted_chats(tmp_path / "bot.db")) == 100


def test_normal_exit_persists(tmp_path: Path) -> None:
    code, output = run_child(tmp_path, "exit", None)
    assert code == 0, output
    assert len(persisted_chats(tmp_path / "bot.db")) == 100
