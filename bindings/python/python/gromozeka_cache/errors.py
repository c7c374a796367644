"""The exceptions of ``gromozeka_cache``: one class per way a call can fail.

Every failed call raises a subclass of :class:`CacheError` and leaves the cache
unchanged. ``.detail`` holds the message; :class:`StorageError` also carries
``.kind``, the storage's typed failure (``"busy"``, ``"full"``, ``"read-only"``,
``"corrupt"``, ``"constraint"``, ``"other"``, ...) so a caller can react without
parsing messages. Wrong argument types raise ``TypeError`` and ids outside the
64-bit signed range ``OverflowError``, before the cache is called.
"""

from __future__ import annotations


class CacheError(Exception):
    """A cache call failed; the cache is unchanged."""

    case: str = "cache-error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def __str__(self) -> str:
        return self.detail


class UnknownNamespaceError(CacheError, KeyError):
    """No namespace of this name is configured (``detail`` is the name)."""

    case = "unknown-namespace"


class InvalidJsonError(CacheError, ValueError):
    """A value is not JSON, is ``None``, or has the wrong shape (e.g. a chat setting
    that is not a ``str``)."""

    case = "invalid-json"


class InvalidConfigError(CacheError, ValueError):
    """A namespace table with an empty or duplicate name, or ``maxEntries`` of 0."""

    case = "invalid-config"


class TooLargeError(CacheError, ValueError):
    """A key over 1024 bytes or a value over 1 MiB."""

    case = "too-large"


class InvalidKeyError(CacheError, ValueError):
    """A key (of an entry, a setting, a data item or a state) containing NUL, which
    PostgreSQL cannot store: refused by every host alike."""

    case = "invalid-key"


class StorageError(CacheError, OSError):
    """The database failed (or the database object raised); ``kind`` says how."""

    case = "storage"
    kind: str | None = None


class ComponentTrapError(CacheError, RuntimeError):
    """The sandboxed component trapped (a resource limit or a bug). The instance was
    replaced by a fresh one loaded from the database (``restarted``); on-shutdown
    changes not yet persisted by the trapped instance are lost, as in a crash."""

    case = "trapped"
    restarted: bool = False


class CacheClosedError(CacheError, RuntimeError):
    """The cache was closed with ``close()``."""

    case = "closed"


class ComponentError(CacheError, RuntimeError):
    """The component could not be loaded or started."""

    case = "component"


class ReentrantCallError(CacheError, RuntimeError):
    """A database object's method called back into the cache while the cache was
    running that method (on the same thread)."""

    case = "reentrant"


__all__ = [
    "CacheClosedError",
    "CacheError",
    "ComponentError",
    "ComponentTrapError",
    "InvalidConfigError",
    "InvalidJsonError",
    "InvalidKeyError",
    "ReentrantCallError",
    "StorageError",
    "TooLargeError",
    "UnknownNamespaceError",
]
