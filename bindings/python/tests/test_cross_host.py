"""Cross-host persistence: one SQLite file, written by the Rust host and read by the
Python host, and the other way round.

Uses the Rust CLI ``target/release/cache-host`` (or ``$CACHE_HOST_BIN``):
    cache-host --db PATH set NAMESPACE KEY JSON     (chatUsers is on-change: written at once)
    cache-host --db PATH get NAMESPACE KEY          (prints the JSON text, reads through storage)
Skipped, with the reason, when the binary has not been built.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO

from gromozeka_cache import CacheService

CACHE_HOST = Path(os.environ.get("CACHE_HOST_BIN", REPO / "target" / "release" / "cache-host"))
# Skipped only outside CI: `just test` builds the binary, and CI must not skip.
pytestmark = pytest.mark.skipif(
    not CACHE_HOST.is_file() and not os.environ.get("CI"),
    reason=f"{CACHE_HOST} not built (scripts/cargo build --release -p cache-host)",
)


def rust(db: Path, *args: str) -> str:
    done = subprocess.run([str(CACHE_HOST), "--db", str(db), *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"cache-host {args} failed ({done.returncode}): {done.stderr}"
    return done.stdout.strip()


def test_rust_writes_python_reads(tmp_path: Path, wasm_path: Path) -> None:
    db = tmp_path / "shared.db"
    rust(db, "set", "chatUsers", "1:2", '{"data":{"from":"rust"}}')
    py = CacheService(wasmPath=wasm_path)
    report = py.injectDatabase(db)
    assert report.loaded == 1 and report.skipped == []
    assert py.get("chatUsers", "1:2") == {"data": {"from": "rust"}}
    assert py.getUserData(1, 2) == {"from": "rust"}
    py.close()


def test_python_writes_rust_reads(tmp_path: Path, wasm_path: Path) -> None:
    db = tmp_path / "shared.db"
    py = CacheService(wasmPath=wasm_path)
    py.injectDatabase(db)
    py.set("chatUsers", "3:4", {"data": {"from": "python"}})
    py.setChatInfo(9, {"title": "from python"})
    py.close()  # persists the on-shutdown chats entry
    assert json.loads(rust(db, "get", "chatUsers", "3:4")) == {"data": {"from": "python"}}
    assert json.loads(rust(db, "get", "chats", "9"))["info"] == {"title": "from python"}
