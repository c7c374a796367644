"""Shared fixtures: locate the component and the conformance scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest

from gromozeka_cache import find_component

REPO = Path(__file__).resolve().parents[3]
SCENARIOS = REPO / "conformance" / "scenarios.json"


@pytest.fixture(scope="session")
def wasm_path() -> Path:
    """The built component; fails (not skips) when it is missing: the suite must run."""
    return find_component()
