"""``cache.chats``, ``cache.chatUsers``, ``cache.users``: dict-like views of one
namespace. Every change goes through the component with the namespace's
persistence (on-change: written to the database before returning)."""

from __future__ import annotations

from typing import Any

_MISSING = object()
_S64_MIN = -(2**63)
_S64_MAX = 2**63 - 1


def entry_key(key: Any) -> str:
    """The component key of a view key: an ``int`` id (within 64 bits) as its decimal
    text, a ``str`` as it is."""
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        if not _S64_MIN <= key <= _S64_MAX:
            raise OverflowError(f"id {key} is outside the 64-bit signed range")
        return str(key)
    raise TypeError(f"a cache key must be an int id or a str, not {type(key).__name__}")


class NamespaceView:
    """A dict-like view of one namespace of a cache.

    ``get(key, default)``, ``view[key]``, ``view[key] = value``, ``del view[key]``,
    ``key in view``, ``len(view)``, ``set(key, value)``, ``delete(key)``, ``clear()``.
    Keys are ``int`` ids or ``str``. Reads of persisted namespaces read through to
    the database on a miss. The namespace's keys cannot be listed (the cache keeps
    no index of what the database holds), so a view is not iterable.
    """

    __slots__ = ("_cache", "_namespace")
    __iter__ = None  # not iterable: see the class doc

    def __init__(self, cache: Any, namespace: str) -> None:
        self._cache = cache
        self._namespace = namespace

    @property
    def namespace(self) -> str:
        """The namespace's name."""
        return self._namespace

    def get(self, key: Any, default: Any = None) -> Any:
        """The value under ``key``, or ``default``."""
        return self._cache.get(self._namespace, entry_key(key), default)

    def __getitem__(self, key: Any) -> Any:
        value = self._cache.get(self._namespace, entry_key(key), _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def set(self, key: Any, value: Any) -> None:
        """Stores ``value`` (JSON-able, not ``None``) under ``key``."""
        self._cache.set(self._namespace, entry_key(key), value)

    __setitem__ = set

    def delete(self, key: Any) -> bool:
        """Removes ``key`` (from the database too, per the namespace's persistence);
        ``True`` if it was held in memory."""
        return self._cache.delete(self._namespace, entry_key(key))

    def __delitem__(self, key: Any) -> None:
        # Deleting an absent key is a no-op, not a KeyError: the key may exist only
        # in the database, where it is deleted all the same.
        self._cache.delete(self._namespace, entry_key(key))

    def __contains__(self, key: Any) -> bool:
        return self._cache.get(self._namespace, entry_key(key), _MISSING) is not _MISSING

    def __len__(self) -> int:
        """Entries held in memory."""
        return int(self._cache.getStats()[self._namespace]["size"])

    def clear(self) -> None:
        """Removes every entry (from the database too, per the namespace's persistence)."""
        self._cache.clearNamespace(self._namespace)

    def __repr__(self) -> str:
        return f"<NamespaceView {self._namespace!r}>"
