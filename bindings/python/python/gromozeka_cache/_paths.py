"""Where the component comes from and where its compiled form is cached.

The wheel carries ``cache.wasm`` next to this file. Compiling it takes a moment,
so the host keeps a precompiled artifact beside the ``.wasm`` it loads. An
artifact is native code loaded without validation, so it must never sit where
others can write (such as a shared site-packages): the package copies the
component into a per-user cache directory that it creates owner-only
(``$XDG_CACHE_HOME/gromozeka-cache``, else ``~/.cache/gromozeka-cache``) and
loads it from there. If that directory cannot be made private, the artifact
cache is off and the component is compiled at every start.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger("gromozeka_cache")

COMPONENT_NAME = "cache.wasm"


def packaged_component() -> Path:
    """The ``cache.wasm`` shipped in the package."""
    return Path(__file__).resolve().parent / COMPONENT_NAME


def user_cache_dir() -> Path:
    """The per-user cache directory (not created)."""
    base = os.environ.get("XDG_CACHE_HOME")
    root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    return root / "gromozeka-cache"


def _private_dir(path: Path) -> bool:
    """Creates ``path`` owner-only if missing; true if it is a directory owned by
    this user that neither group nor others can write."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = os.lstat(path)
    except OSError as e:
        log.warning("cache: cannot create the artifact cache %s (%s); compiling at every start", path, e)
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o022:
        log.warning(
            "cache: %s is not a directory owned by this user and closed to group and others; "
            "not caching the compiled component there (compiling at every start)",
            path,
        )
        return False
    return True


def prepared_component() -> tuple[Path, bool]:
    """The component to load and whether the host may cache its compiled artifact
    beside it: a copy in the private per-user directory when possible, else the
    packaged file with the artifact cache off."""
    source = packaged_component()
    if not source.is_file():
        from .errors import ComponentError

        raise ComponentError(f"the package's component is missing: {source} (reinstall gromozeka-cache)")
    directory = user_cache_dir()
    if not _private_dir(directory):
        return source, False
    target = directory / COMPONENT_NAME
    data = source.read_bytes()
    try:
        if target.is_file() and not target.is_symlink() and target.read_bytes() == data:
            return target, True
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".cache.wasm.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as e:
        log.warning("cache: cannot copy the component to %s (%s); compiling at every start", directory, e)
        return source, False
    return target, True
