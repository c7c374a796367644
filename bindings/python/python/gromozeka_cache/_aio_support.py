"""What the asyncio ``CacheService`` needs besides the cache: the staged call
(perform the component's storage requests off the loop, then retry), per-key
locks and value conversions."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Generic, TypeVar

from ._native import AsyncStorage, IoScope, Performer
from .errors import StorageError

R = TypeVar("R")
K = TypeVar("K")
V = TypeVar("V")

#: How many times one call is retried while the cache's needs change under it.
MAX_ATTEMPTS = 64

async def drive(performer: Performer | None, bridge: Any) -> None:
    """Drives one performer (``bindings/python/src/relay.rs``): awaits each
    database call its worker hands over, on this coroutine's loop, and hands back
    what it returned or raised."""
    if performer is None:
        return
    step = performer.begin()
    while step is not None:
        name, args, kwargs = step
        try:
            result = await getattr(bridge, name)(*args, **kwargs)
        except asyncio.CancelledError:
            performer.throw(RuntimeError("the storage request was cancelled with its event loop"))
            raise
        except Exception as e:  # the database's own exception types: the worker types them
            step = performer.throw(e)
        else:
            step = performer.step(result)


def value_to_str(value: Any) -> str:
    """The bot's ``ChatSettingsValue.toStr()``, or ``str()`` for plain values."""
    to_str = getattr(value, "toStr", None)
    return str(to_str()) if callable(to_str) else str(value)


def key_to_str(key: Any) -> str:
    """A settings key as stored: a ``StrEnum``'s value, or the text itself."""
    return str(getattr(key, "value", key))


class KeyLocks:
    """One ``asyncio.Lock`` per key, held while a call that needs the database
    performs its requests and retries: two calls on one chat (or one user in a
    chat) cannot interleave their database writes and cache updates."""

    def __init__(self) -> None:
        self._locks: dict[Any, tuple[asyncio.Lock, int]] = {}

    async def run(self, key: Any, body: Callable[[], Awaitable[R]]) -> R:
        lock, users = self._locks.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                return await body()
        finally:
            held, count = self._locks[key]
            if count <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (held, count - 1)


def jsonable(value: Any) -> Any:
    """``value`` with what JSON cannot hold (the database's ``datetime`` cells)
    turned into ISO-8601 text, so that a database row can be cached."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    isoformat = getattr(value, "isoformat", None)
    if callable(isoformat):
        return isoformat()
    return value


async def staged_call(handle: AsyncStorage | None, locks: KeyLocks, lock_key: Any, fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)`` on the cache. If it needs the async database (``handle``), its
    requests are performed off the loop and the call is retried under
    ``lock_key``'s lock until it completes. The retries run in a task of their
    own, shielded from the caller's cancellation, so that a write which reached
    the database also reaches the cache."""
    scope = IoScope()
    scope.enter()
    try:
        return fn(*args)
    except StorageError:
        if not scope.pending or handle is None:
            raise
    finally:
        IoScope.exit()
    task = asyncio.ensure_future(locks.run(lock_key, lambda: _settle(handle, scope, fn, args)))
    return await asyncio.shield(task)


async def _settle(handle: AsyncStorage, scope: IoScope, fn: Callable[..., R], args: tuple[Any, ...]) -> R:
    bridge = handle.bridge
    for _ in range(MAX_ATTEMPTS):
        await drive(handle.start(scope), bridge)
        scope.enter()
        try:
            return fn(*args)
        except StorageError:
            if not scope.pending:
                raise
        finally:
            IoScope.exit()
    raise StorageError(f"the cache's storage requests did not settle in {MAX_ATTEMPTS} attempts")


class SettingsObjects(Generic[K, V]):
    """The bot's settings objects (its ``ChatSettingsKey``/``ChatSettingsValue``)
    for the settings texts the cache holds: a setting whose text is unchanged
    comes back as the same objects, as in the bot's own cache (where the value a
    caller set is the value it gets), and a hit converts nothing.

    Derived only, never a second truth: every read passes the component's texts,
    and an object is reused only while the text it was made from (or set with)
    is the same. Bounded: forgets everything past :data:`SLOTS` chats.
    """

    SLOTS = 65536

    def __init__(self, key: Callable[[str], K], value: Callable[[str], V], *, shared: bool = False) -> None:
        self._key = key
        self._value = value
        #: Whether :meth:`out` returns the kept dict itself (``shareValues("chats")``)
        #: rather than a new one.
        self.shared = shared
        # slot -> (texts, {text key: (key object, value object)}, the result dict or None)
        self._made: dict[Any, tuple[dict[str, str], dict[str, tuple[K, V]], dict[K, V] | None]] = {}

    def out(self, slot: Any, stored: dict[str, str]) -> dict[K, V]:
        """``stored`` (text key -> text value) as a new dict of the bot's objects,
        or, when :attr:`shared`, as the one dict kept for these texts. ``stored``
        is kept, never mutated: the caller hands it over (the read path's memo
        passes the same dict while the settings are unchanged, so a hit is an
        identity check)."""
        made = self._made.get(slot)
        if made is not None and made[2] is not None:
            if made[0] is stored:
                return made[2] if self.shared else made[2].copy()
            if made[0] == stored:
                self._made[slot] = (stored, made[1], made[2])  # identity from now on
                return made[2] if self.shared else made[2].copy()
        texts, pairs = (made[0], made[1]) if made is not None else ({}, {})
        fresh: dict[str, tuple[K, V]] = {}
        for k, v in stored.items():
            pair = pairs.get(k)
            fresh[k] = pair if pair is not None and texts.get(k) == v else (self._key(k), self._value(v))
        result = dict(fresh.values())
        if made is None and len(self._made) >= self.SLOTS:
            self._made.clear()
        self._made[slot] = (stored, fresh, result)
        return result if self.shared else result.copy()

    def remember(self, slot: Any, text_key: str, text_value: str, key: K, value: V) -> None:
        """The caller set ``key`` to ``value`` (stored as the two texts): the next
        read with that text returns these very objects."""
        made = self._made.get(slot)
        texts, pairs = (dict(made[0]), dict(made[1])) if made is not None else ({}, {})
        texts[text_key] = text_value
        pairs[text_key] = (key, value)
        self._made[slot] = (texts, pairs, None)

    def forget(self, slot: Any) -> None:
        """Drops the objects of ``slot``."""
        self._made.pop(slot, None)
