"""Every Python snippet of the README and of this package's README runs as
printed, each in a fresh interpreter in an empty directory."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
READMES = [ROOT / "README.md", ROOT / "bindings" / "python" / "README.md"]
#: The first line of the snippet that is the bot's own file: it imports the bot,
#: so it runs only inside it; `scripts/bot-suite` runs the bot's tests with it.
BOT_FILE = "# internal/services/cache/service.py\n"
SNIPPETS = [
    (f"{readme.relative_to(ROOT)}#{n}", code)
    for readme in READMES
    for n, code in enumerate(re.findall(r"```python\n(.*?)```", readme.read_text(), re.S))
    if not code.startswith(BOT_FILE)
]


def test_the_bot_s_file_is_in_the_readme_once() -> None:
    found = re.findall(r"```python\n(.*?)```", READMES[0].read_text(), re.S)
    assert [code for code in found if code.startswith(BOT_FILE)], "scripts/bot-suite reads it"
    compile("".join(code for code in found if code.startswith(BOT_FILE)), "service.py", "exec")


def test_the_readmes_have_snippets() -> None:
    assert len(SNIPPETS) >= 3, [name for name, _ in SNIPPETS]


@pytest.mark.parametrize("code", [code for _, code in SNIPPETS], ids=[name for name, _ in SNIPPETS])
def test_snippet_runs(code: str, tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
