"""The installed package is typed (``py.typed``, ``_native.pyi``): mypy checks the
bot's calls against the real signatures, accepting right ones and reporting wrong
ones (an awaited sync method, a missing ``userId=``, a sync call of a coroutine's
result)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

RIGHT = '''
import asyncio
import enum
from gromozeka_cache.aio import CacheService

class Key(enum.StrEnum):
    LANG = "lang"

async def main() -> None:
    cache: CacheService[Key, str] = CacheService.getInstance()
    cache.useSettingsTypes(Key, str)
    await cache.injectDatabase("bot.db")
    settings: dict[Key, str] = await cache.getChatSettings(1)
    await cache.setChatSetting(1, Key.LANG, "en", userId=2)
    data: dict[str, object] = await cache.getChatUserData(1, 2)
    cache.setUserState(2, "step", {"page": 1})
    state = cache.getUserState(2, "step")
    admins = cache.getChatAdmins(1, ttl=300)
    stats = cache.getStats()["users"]["persistenceLevel"]
    await cache.persistAll()
    print(settings, data, state, admins, stats)

asyncio.run(main())
'''

WRONG = '''
from gromozeka_cache.aio import CacheService

async def main() -> None:
    cache: CacheService[str, str] = CacheService.getInstance()
    await cache.setChatSetting(1, "lang", "en")
    await cache.clearUserState(2)
    settings = cache.getChatSettings(1)
    settings["lang"]
'''


def run_mypy(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    file = tmp_path / "bot.py"
    file.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--python-version", "3.11", str(file)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


def test_right_calls_type_check(tmp_path: Path) -> None:
    result = run_mypy(tmp_path, RIGHT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_wrong_calls_are_reported(tmp_path: Path) -> None:
    result = run_mypy(tmp_path, WRONG)
    out = result.stdout
    assert result.returncode == 1, out
    # One error on each wrong line: the missing userId=, the awaited sync method,
    # the coroutine used as the dict it resolves to.
    assert 'bot.py:6: error: Missing named argument "userId"' in out, out
    assert "bot.py:7: error:" in out, out
    assert "bot.py:9: error:" in out, out
