"""The Gromozeka bot's cache: a sandboxed WebAssembly component run by a Rust
host (wasmtime, SQLite), with the bot's ``CacheService`` API.

>>> from gromozeka_cache import CacheService
>>> cache = CacheService.getInstance()
>>> cache.injectDatabase("bot.db")  # doctest: +SKIP
"""

from ._native import dumps, loads
from ._service import DATABASE_METHODS, CacheService
from ._shutdown import install_handlers as install_signal_handlers
from ._views import NamespaceView
from .errors import (
    CacheClosedError,
    CacheError,
    ComponentError,
    ComponentTrapError,
    InvalidConfigError,
    InvalidKeyError,
    InvalidJsonError,
    ReentrantCallError,
    StorageError,
    TooLargeError,
    UnknownNamespaceError,
)

__all__ = [
    "DATABASE_METHODS",
    "CacheClosedError",
    "CacheError",
    "CacheService",
    "ComponentError",
    "ComponentTrapError",
    "InvalidConfigError",
    "InvalidKeyError",
    "InvalidJsonError",
    "NamespaceView",
    "ReentrantCallError",
    "StorageError",
    "TooLargeError",
    "UnknownNamespaceError",
    "dumps",
    "install_signal_handlers",
    "loads",
]
