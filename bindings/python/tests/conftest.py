"""Fixtures: a fresh process-wide CacheService per test (the singleton is reset)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gromozeka_cache import CacheService


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
