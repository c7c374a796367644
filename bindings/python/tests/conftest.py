"""Fixtures: a fresh process-wide CacheService per test (the singleton is reset)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot_types import Key, Value

from gromozeka_cache import CacheService
from gromozeka_cache.aio import CacheService as AsyncCacheService


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # The compiled component is cached per user: keep the tests' copy out of ~/.cache.
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture
def cache() -> Iterator[CacheService]:
    CacheService.resetInstance()
    service = CacheService.getInstance()
    yield service
    CacheService.resetInstance()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "bot.db"


@pytest.fixture
def aio() -> Iterator[AsyncCacheService[Key, Value]]:
    """A fresh asyncio ``CacheService`` with the bot's kind of settings types."""
    AsyncCacheService._instance = None
    service: AsyncCacheService[Key, Value] = AsyncCacheService.getInstance()
    service.useSettingsTypes(Key, Value)
    yield service
    AsyncCacheService._instance = None
