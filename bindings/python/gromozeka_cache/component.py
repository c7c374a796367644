"""Low-level host for ``cache.wasm`` on wasmtime-py's component API.

:class:`CacheComponent` instantiates the component with a Python :class:`Storage`
as its ``storage`` import and exposes the WIT ``cache`` and ``bot`` exports as
snake_case methods taking and returning JSON *text*. Every ``cache-error`` becomes a
:class:`~gromozeka_cache.errors.CacheError` subclass. Calls are serialised by a lock,
so one instance may be shared between threads.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import wasmtime
from wasmtime import component as wc

from .errors import ComponentTrapError, error_from_case
from .storage import Batch, MemoryStorage, Row, Storage

PACKAGE = "gromozeka:cache"
VERSION = "0.1.0"
STORAGE_IMPORT = f"{PACKAGE}/storage@{VERSION}"
CACHE_EXPORT = f"{PACKAGE}/cache@{VERSION}"
BOT_EXPORT = f"{PACKAGE}/bot@{VERSION}"
WASM_ENV = "GROMOZEKA_CACHE_WASM"


def find_component() -> Path:
    """Locate ``cache.wasm``: ``$GROMOZEKA_CACHE_WASM``, else ``target/cache.wasm`` of
    the repository this package lives in, else ``./target/cache.wasm``.

    Raises ``FileNotFoundError`` naming every place tried.
    """
    tried: list[Path] = []
    env = os.environ.get(WASM_ENV)
    if env:
        tried.append(Path(env))
    here = Path(__file__).resolve()
    tried.extend(parent / "target" / "cache.wasm" for parent in here.parents)
    tried.append(Path.cwd() / "target" / "cache.wasm")
    for candidate in tried:
        if candidate.is_file():
            return candidate
    if env:
        raise FileNotFoundError(f"{WASM_ENV}={env} does not exist")
    raise FileNotFoundError(
        "cache.wasm not found; build it with `just build` or set "
        f"{WASM_ENV}. Tried: " + ", ".join(str(p) for p in tried)
    )


@dataclass(frozen=True)
class NamespaceConfig:
    """One namespace: name, capacity (>= 1) and persistence policy."""

    name: str
    max_entries: int
    persistence: str  # "memory-only" | "on-change" | "on-shutdown"


@dataclass(frozen=True)
class NamespaceStats:
    """A snapshot of one namespace as `stats` returned it."""

    name: str
    persistence: str
    size: int
    max_entries: int
    dirty: int
    hits: int
    misses: int
    evictions: int


@dataclass(frozen=True)
class SkippedRow:
    """A stored row `load-from-storage` refused, and why."""

    namespace: str
    key: str
    reason: str


@dataclass(frozen=True)
class LoadReport:
    """Rows loaded by `load-from-storage` and the rows it skipped."""

    loaded: int
    skipped: list[SkippedRow]


@dataclass(frozen=True)
class PersistReport:
    """Entries upserted and keys/namespaces deleted by `persist-all`."""

    written: int
    deleted: int


def _field(record: Any, name: str) -> Any:
    return getattr(record, name)


def _record(**fields: Any) -> wc.Record:
    rec = wc.Record()
    for name, value in fields.items():
        setattr(rec, name.replace("_", "-"), value)
    return rec


class _ResultCodec:
    """Builds values of one WIT ``result<T, string>`` type in wasmtime-py's representation.

    wasmtime-py represents a result as a bare payload when the ok and err payload
    types are distinguishable by Python class, and as ``Variant('ok'|'err', payload)``
    otherwise; this asks the type which one applies.
    """

    def __init__(self, result_ty: Any) -> None:
        self.tagged = bool(result_ty._tagged())

    def ok(self, value: Any) -> Any:
        return wc.Variant("ok", value) if self.tagged else value

    def err(self, message: str) -> Any:
        return wc.Variant("err", message) if self.tagged else message


def _storage_func_types(engine: wasmtime.Engine, comp: wc.Component) -> dict[str, Any]:
    imports = comp.type.imports(engine)
    inst = imports.get(STORAGE_IMPORT)
    if inst is None:
        raise RuntimeError(f"the component does not import {STORAGE_IMPORT}; imports: {sorted(imports)}")
    return {name: ext.ty for name, ext in inst.ty.exports(engine).items()}


class CacheComponent:
    """One instance of the cache component with ``storage`` served by a Python backend.

    The backend can be swapped with :meth:`set_storage` (e.g. after opening a database);
    the component itself keeps its in-memory state.
    """

    def __init__(self, storage: Storage | None = None, wasm_path: str | os.PathLike[str] | None = None) -> None:
        """Compile and instantiate the component (``find_component()`` if no path given).

        ``storage`` defaults to a fresh :class:`MemoryStorage`.
        """
        self._lock = threading.RLock()
        self.storage: Storage = storage if storage is not None else MemoryStorage()
        self.wasm_path = Path(wasm_path) if wasm_path is not None else find_component()
        self._engine = wasmtime.Engine()
        self._component = wc.Component.from_file(self._engine, str(self.wasm_path))
        self._store = wasmtime.Store(self._engine)
        linker = wc.Linker(self._engine)
        types = _storage_func_types(self._engine, self._component)
        with linker.root() as root, root.add_instance(STORAGE_IMPORT) as inst:
            for name, handler in self._storage_handlers().items():
                fty = types.get(name)
                if fty is None:
                    raise RuntimeError(f"{STORAGE_IMPORT} has no function {name!r}")
                inst.add_func(name, self._adapt(handler, _ResultCodec(fty.result)))
        self._instance = linker.instantiate(self._store, self._component)
        self._funcs: dict[tuple[str, str], wc.Func] = {}
        self._poisoned: str | None = None

    # ------------------------------------------------------------------ storage import
    def set_storage(self, storage: Storage) -> None:
        """Serve every later storage call from ``storage``."""
        with self._lock:
            self.storage = storage

    def _adapt(self, handler: Callable[..., Any], codec: _ResultCodec) -> Callable[..., Any]:
        def host_func(_store: Any, *args: Any) -> Any:
            try:
                return codec.ok(handler(*args))
            except Exception as exc:  # reported to the component as the err string
                message = str(exc) or type(exc).__name__
                return codec.err(message)

        return host_func

    def _storage_handlers(self) -> dict[str, Callable[..., Any]]:
        def load(namespace: str, limit: int) -> list[wc.Record]:
            return [
                _record(namespace=r.namespace, key=r.key, value=r.value)
                for r in self.storage.load(namespace, limit)
            ]

        def get(namespace: str, key: str) -> str | None:
            return self.storage.get(namespace, key)

        def write(batch: Any) -> None:
            self.storage.write(
                Batch(
                    clear=list(_field(batch, "clear")),
                    delete=[(_field(k, "namespace"), _field(k, "key")) for k in _field(batch, "delete")],
                    upsert=[
                        Row(_field(r, "namespace"), _field(r, "key"), _field(r, "value"))
                        for r in _field(batch, "upsert")
                    ],
                )
            )

        def get_chat_settings(chat_id: int) -> list[tuple[str, str]]:
            return [(k, v) for k, v in self.storage.get_chat_settings(chat_id)]

        def set_chat_settings(chat_id: int, settings: list[tuple[str, str]]) -> None:
            self.storage.set_chat_settings(chat_id, [(k, v) for k, v in settings])

        def get_user_data(chat_id: int, user_id: int) -> list[tuple[str, str]]:
            return [(k, v) for k, v in self.storage.get_user_data(chat_id, user_id)]

        def add_user_data(chat_id: int, user_id: int, key: str, value: str) -> None:
            self.storage.add_user_data(chat_id, user_id, key, value)

        return {
            "load": load,
            "get": get,
            "write": write,
            "get-chat-settings": get_chat_settings,
            "set-chat-settings": set_chat_settings,
            "get-user-data": get_user_data,
            "add-user-data": add_user_data,
        }

    # ------------------------------------------------------------------ exports
    def _func(self, interface: str, name: str) -> wc.Func:
        key = (interface, name)
        func = self._funcs.get(key)
        if func is None:
            export = CACHE_EXPORT if interface == "cache" else BOT_EXPORT if interface == "bot" else interface
            iface = self._instance.get_export_index(self._store, export)
            if iface is None:
                raise RuntimeError(f"the component does not export {export}")
            idx = self._instance.get_export_index(self._store, name, iface)
            found = None if idx is None else self._instance.get_func(self._store, idx)
            if found is None:
                raise RuntimeError(f"{export} has no function {name!r}")
            func = self._funcs[key] = found
        return func

    def call(self, interface: str, name: str, *args: Any) -> Any:
        """Call export ``interface`` (``"cache"``/``"bot"``) function ``name`` (WIT name).

        Arguments and the ok value use wasmtime-py's representation (records are
        ``wasmtime.component.Record``). A ``cache-error`` raises the matching
        :class:`CacheError`; a trap raises :class:`ComponentTrapError` and makes the
        instance unusable.
        """
        with self._lock:
            if self._poisoned is not None:
                raise ComponentTrapError(f"the component trapped earlier and is unusable: {self._poisoned}")
            func = self._func(interface, name)
            try:
                result = func(self._store, *args)
            except wasmtime.WasmtimeError as exc:
                self._poisoned = str(exc)
                raise ComponentTrapError(f"{interface}.{name} trapped: {exc}") from exc
        return _unwrap(result)

    # -- cache interface
    def configure(self, namespaces: Sequence[NamespaceConfig]) -> None:
        """Replace the namespace table (see `cache.configure`)."""
        self.call("cache", "configure", [
            _record(name=n.name, max_entries=n.max_entries, persistence=n.persistence) for n in namespaces
        ])

    def get(self, namespace: str, key: str) -> str | None:
        """The JSON text under ``key``, or ``None``."""
        return self.call("cache", "get", namespace, key)

    def set(self, namespace: str, key: str, value: str) -> None:
        """Store JSON text ``value`` under ``key``."""
        self.call("cache", "set", namespace, key, value)

    def delete(self, namespace: str, key: str) -> bool:
        """Remove ``key``; ``True`` if it was held in memory."""
        return bool(self.call("cache", "delete", namespace, key))

    def get_many(self, namespace: str, keys: Sequence[str]) -> list[str | None]:
        """`get` of each key, in order."""
        return list(self.call("cache", "get-many", namespace, list(keys)))

    def set_many(self, namespace: str, entries: Sequence[tuple[str, str]]) -> None:
        """`set` of each (key, JSON text), all or nothing."""
        self.call("cache", "set-many", namespace, [(k, v) for k, v in entries])

    def clear_namespace(self, namespace: str) -> None:
        """Remove every entry of ``namespace``."""
        self.call("cache", "clear-namespace", namespace)

    def load_from_storage(self) -> LoadReport:
        """Load each persisted namespace's newest stored rows into free capacity."""
        rep = self.call("cache", "load-from-storage")
        return LoadReport(
            loaded=_field(rep, "loaded"),
            skipped=[
                SkippedRow(_field(s, "namespace"), _field(s, "key"), _field(s, "reason"))
                for s in _field(rep, "skipped")
            ],
        )

    def persist_all(self) -> PersistReport:
        """Write every pending on-shutdown change in one storage write."""
        rep = self.call("cache", "persist-all")
        return PersistReport(written=_field(rep, "written"), deleted=_field(rep, "deleted"))

    def stats(self) -> list[NamespaceStats]:
        """One record per namespace, in configuration order."""
        return [
            NamespaceStats(
                name=_field(s, "name"),
                persistence=_field(s, "persistence"),
                size=_field(s, "size"),
                max_entries=_field(s, "max-entries"),
                dirty=_field(s, "dirty"),
                hits=_field(s, "hits"),
                misses=_field(s, "misses"),
                evictions=_field(s, "evictions"),
            )
            for s in self.call("cache", "stats")
        ]

    # -- bot interface
    def get_chat_settings(self, chat_id: int) -> str:
        """The chat's settings as JSON object text."""
        return self.call("bot", "get-chat-settings", chat_id)

    def set_chat_settings(self, chat_id: int, settings: str) -> None:
        """Replace the chat's settings with JSON object text ``settings``."""
        self.call("bot", "set-chat-settings", chat_id, settings)

    def get_chat_info(self, chat_id: int) -> str | None:
        """The chat's info JSON object text, or ``None``."""
        return self.call("bot", "get-chat-info", chat_id)

    def set_chat_info(self, chat_id: int, info: str) -> None:
        """Replace the chat's info with JSON object text ``info``."""
        self.call("bot", "set-chat-info", chat_id, info)

    def get_user_data(self, chat_id: int, user_id: int) -> str:
        """The user's data in the chat as JSON object text."""
        return self.call("bot", "get-user-data", chat_id, user_id)

    def set_user_data(self, chat_id: int, user_id: int, key: str, value: str) -> None:
        """Set one data item (JSON text) of the user in the chat."""
        self.call("bot", "set-user-data", chat_id, user_id, key, value)

    def get_user_state(self, user_id: int, state_key: str) -> str | None:
        """One item of the user's state as JSON text, or ``None``."""
        return self.call("bot", "get-user-state", user_id, state_key)

    def set_user_state(self, user_id: int, state_key: str, value: str) -> None:
        """Set one item (JSON text) of the user's state."""
        self.call("bot", "set-user-state", user_id, state_key, value)

    def clear_user_state(self, user_id: int, state_key: str | None = None) -> None:
        """Remove one item of the user's state, or all of it with ``None``."""
        self.call("bot", "clear-user-state", user_id, state_key)


_ERROR_CASES = {"unknown-namespace", "invalid-json", "invalid-config", "too-large", "storage"}


def _unwrap(result: Any) -> Any:
    """Turn wasmtime-py's ``result<T, cache-error>`` value into T or a raised CacheError."""
    if isinstance(result, wc.Variant):
        if result.tag == "ok":
            return result.payload
        if result.tag == "err":
            err = result.payload
            raise error_from_case(err.tag, err.payload)
        if result.tag in _ERROR_CASES:  # untagged result: the err payload itself
            raise error_from_case(result.tag, result.payload)
    return result
