"""The bot's views as its code uses them: ``chats`` with settings as the bot's
own objects, and ``dirtyKeys``, the component's pending changes seen as the
bot's per-namespace sets."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ._aio_support import SettingsObjects, key_to_str, value_to_str
from ._views import NamespaceView, entry_key

_MISSING = object()


def _namespace_name(namespace: Any) -> str:
    """A namespace name, or the bot's ``CacheNamespace`` (its ``.value``)."""
    return str(getattr(namespace, "value", namespace))


def _settings_slot(key: str) -> Any:
    """Where :class:`SettingsObjects` keeps the objects of the chat entry ``key``:
    the slot ``getChatSettings`` uses for a chat id (the id itself)."""
    try:
        return int(key)
    except ValueError:
        return ("chats", key)


class ChatsView(NamespaceView):
    """``cache.chats``: as :class:`NamespaceView`, with the entry's ``settings``
    in the bot's own types. ``chats.set(chatId, {"settings": {...}})`` caches the
    chat's settings in memory, as the bot's class does (its tests fake stored
    settings so): ``getChatSettings`` then returns them, the same objects, without
    the database; nothing is written to the database."""

    __slots__ = ("_objects",)

    def __init__(self, cache: Any, objects: Callable[[], SettingsObjects[Any, Any]]) -> None:
        super().__init__(cache, "chats")
        self._objects = objects

    def set(self, key: Any, value: Any) -> None:
        settings = value.get("settings") if isinstance(value, dict) else None
        if not isinstance(settings, dict):
            super().set(key, value)
            return
        texts = {key_to_str(k): value_to_str(v) for k, v in settings.items()}
        super().set(key, {**value, "settings": texts})
        slot, objects = _settings_slot(entry_key(key)), self._objects()
        objects.forget(slot)
        for k, v in settings.items():
            objects.remember(slot, key_to_str(k), value_to_str(v), k, v)

    __setitem__ = set

    def get(self, key: Any, default: Any = None) -> Any:
        value = super().get(key, _MISSING)
        return default if value is _MISSING else self._out(key, value)

    def __getitem__(self, key: Any) -> Any:
        return self._out(key, super().__getitem__(key))

    def _out(self, key: Any, value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("settings"), dict):
            # A new dict: with shareValues("chats") `value` is the cache's own.
            settings = self._objects().out(_settings_slot(entry_key(key)), value["settings"])
            return {**value, "settings": settings}
        return value


class PendingKeys:
    """The keys of one namespace whose changes ``persistAll`` will write: a live,
    set-like view of the component's pending changes (``in``, ``len``, iteration
    over the keys as stored text, ``add``, ``update``). A memory-only namespace
    never has any (the bot's class also lists keys there, which it never writes);
    an on-change one neither (its changes are written before the call returns).
    A pending clear of the whole namespace is ``cleared``, not a key."""

    __slots__ = ("_cache", "_namespace")

    def __init__(self, cache: Any, namespace: str) -> None:
        self._cache = cache
        self._namespace = namespace

    def _pending(self) -> dict[str, Any]:
        pending: dict[str, Any] = self._cache.getPendingChanges(self._namespace)
        return pending

    @property
    def cleared(self) -> bool:
        """A clear of the whole namespace is pending."""
        return bool(self._pending()["cleared"])

    def __contains__(self, key: Any) -> bool:
        return entry_key(key) in self._pending()["keys"]

    def __len__(self) -> int:
        return len(self._pending()["keys"])

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._pending()["keys"]))

    def add(self, key: Any) -> None:
        """Marks ``key`` to be written by the next ``persistAll``, as the bot's
        ``dirtyKeys[ns].add(key)`` does: its current entry is stored again, or, if
        the cache holds none, the stored row is deleted. In a namespace that is
        not on-shutdown there is nothing to mark and nothing changes."""
        if self._cache.getStats()[self._namespace]["persistence"] != "on-shutdown":
            return
        k = entry_key(key)
        value = self._cache.get(self._namespace, k, _MISSING)
        if value is _MISSING:
            self._cache.delete(self._namespace, k)
        else:
            self._cache.set(self._namespace, k, value)

    def update(self, keys: Any) -> None:
        """:meth:`add` of each key."""
        for key in keys:
            self.add(key)

    def __repr__(self) -> str:
        pending = self._pending()
        keys = pending["keys"]
        shown = "{" + ", ".join(repr(k) for k in keys) + "}" if keys else "set()"
        return f"{shown} (cleared)" if pending["cleared"] else shown


class DirtyKeys(Mapping[Any, PendingKeys]):
    """``cache.dirtyKeys``: namespace (a name or the bot's ``CacheNamespace``) ->
    :class:`PendingKeys`. Nothing here is stored twice: every answer is the
    component's."""

    __slots__ = ("_cache",)

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def _names(self) -> list[str]:
        return list(self._cache.getStats())

    def __getitem__(self, namespace: Any) -> PendingKeys:
        name = _namespace_name(namespace)
        if name not in self._names():
            raise KeyError(namespace)
        return PendingKeys(self._cache, name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{name!r}: {self[name]!r}" for name in self._names()) + "}"
