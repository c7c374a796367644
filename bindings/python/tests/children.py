"""Real child processes for the tests whose claim is about processes (signals,
kills): each runs a script against a SQLite file and says ``ready`` once its
writes are acknowledged."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def start_ready_child(tmp_path: Path, script: str, *args: str) -> subprocess.Popen[str]:
    """Starts ``script`` (Python source) with ``args`` and a private component
    cache, and returns it once it printed ``ready``; fails with its stderr if it
    did not."""
    path = tmp_path / "child.py"
    path.write_text(script)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    child = subprocess.Popen(
        [sys.executable, str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if line.strip() != "ready":
        child.kill()
        _, err = child.communicate(timeout=60)
        raise AssertionError(f"the child did not get ready: {line!r}\n{err}")
    return child


def persisted_chats(db: Path) -> dict[str, dict]:
    """The ``chats`` rows of the SQLite file ``db``, by key."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT key, value FROM cache_storage WHERE namespace = 'chats'").fetchall()
    return {key: json.loads(value) for key, value in rows}
