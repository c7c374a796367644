"""Python host for the gromozeka:cache WebAssembly component.

>>> from gromozeka_cache import CacheService
>>> cache = CacheService.getInstance()
>>> cache.injectDatabase("bot.db")
"""

from .component import (
    CacheComponent,
    LoadReport,
    NamespaceConfig,
    NamespaceStats,
    PersistReport,
    SkippedRow,
    find_component,
)
from .errors import (
    CacheError,
    ComponentTrapError,
    InvalidConfigError,
    InvalidJsonError,
    StorageError,
    TooLargeError,
    UnknownNamespaceError,
)
from .service import CacheService
from .storage import Batch, MemoryStorage, Row, SqliteStorage, Storage

__all__ = [
    "Batch",
    "CacheComponent",
    "CacheError",
    "CacheService",
    "ComponentTrapError",
    "InvalidConfigError",
    "InvalidJsonError",
    "LoadReport",
    "MemoryStorage",
    "NamespaceConfig",
    "NamespaceStats",
    "PersistReport",
    "Row",
    "SkippedRow",
    "SqliteStorage",
    "Storage",
    "StorageError",
    "TooLargeError",
    "UnknownNamespaceError",
    "find_component",
]
