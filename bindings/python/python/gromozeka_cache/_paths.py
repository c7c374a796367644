"""Where the component comes from.

The wheel carries ``cache.wasm`` next to this file and loads it from there. The
compiled component is cached by the Rust host in its private per-user directory
(``$XDG_CACHE_HOME/gromozeka-cache``, else ``~/.cache/gromozeka-cache``, created
owner-only; an artifact is used only if its checksum and key match), never next
to site-packages.
"""

from __future__ import annotations

from pathlib import Path

COMPONENT_NAME = "cache.wasm"


def packaged_component() -> Path:
    """The ``cache.wasm`` shipped in the package."""
    return Path(__file__).resolve().parent / COMPONENT_NAME


def prepared_component() -> tuple[Path, bool]:
    """The component to load, and whether the host may cache its compiled form
    (always: the host keeps it in its private per-user directory)."""
    source = packaged_component()
    if not source.is_file():
        from .errors import ComponentError

        raise ComponentError(f"the package's component is missing: {source} (reinstall gromozeka-cache)")
    return source, True
