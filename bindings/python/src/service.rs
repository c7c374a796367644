//! [`NativeCache`]: the Rust host's `CacheService` as a Python class, with the bot's
//! camelCase methods. `gromozeka_cache.CacheService` subclasses it and adds the
//! singleton, the dict-like views, `injectDatabase` and the shutdown hooks.
//!
//! Every call runs with the GIL released: other Python threads run while a call
//! waits on storage or on another thread's call, and a storage callback into a
//! Python database object can take the GIL without deadlock. Arguments are checked
//! and converted (ids must fit in `s64`, values must be JSON-able) before the GIL
//! is released, results are converted to Python objects in Rust after.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use cache_host::storage::postgres::{self, PostgresStorage};
use cache_host::storage::MemoryStorage;
use cache_host::{
    CacheService, Error, NamespaceConfig, Read, RuntimeOptions, SettingsMode, SqliteStorage,
    WriteBack,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::args::{
    json_or_default, load_report, parse_persistence, persistence_name, state_key_fast,
};
use crate::convert::{json_to_py, py_to_json};
use crate::errors::to_py;
use crate::memo::ValueMemo;
use crate::object_storage::ObjectStorage;
use crate::staged::{staged_storage, AsyncStorage};
use crate::storage::AnyStorage;

/// The host's service over the storage `injectDatabase` chose.
pub(crate) type Service = CacheService<AnyStorage>;

/// The cache: one sandboxed component instance over one storage, shared by every
/// thread. Methods raise `gromozeka_cache.errors.CacheError` subclasses; a failed
/// call leaves the cache unchanged.
#[pyclass(subclass, frozen, module = "gromozeka_cache._native")]
pub struct NativeCache {
    pub(crate) service: Service,
    /// Serialises calls so that the thread inside a call is known (see `owner`).
    pub(crate) gate: Mutex<()>,
    /// A token of the thread running a call (0 if none): a call from inside a
    /// storage callback on that thread is refused instead of waiting for itself.
    pub(crate) owner: AtomicU64,
    /// A signal whose handler could not persist because it ran inside a storage
    /// callback; delivered again when the running call returns.
    pub(crate) deferred_signal: AtomicI32,
    /// Python objects of recently returned JSON texts (see `memo.rs`).
    pub(crate) memo: ValueMemo,
    /// Whether calls keep the GIL: the storage never blocks and never calls
    /// Python (see `gate.rs`).
    pub(crate) keep_gil: AtomicBool,
}

#[pymethods]
impl NativeCache {
    /// Loads the component at `wasm_path` (from its precompiled artifact in the
    /// host's private per-user cache directory when `artifact_cache` is true) and starts it over an in-memory
    /// storage: until a database is attached nothing is durable. `memory_limit` (bytes) and
    /// `call_time_limit` (seconds) bound the sandbox.
    #[new]
    /// `read_path` (on by default) answers repeated reads from the host's copies
    /// without entering the component (see `setReadPath`).
    #[pyo3(signature = (wasm_path, artifact_cache = true, memory_limit = None, call_time_limit = None, read_path = true))]
    fn new(
        py: Python<'_>,
        wasm_path: PathBuf,
        artifact_cache: bool,
        memory_limit: Option<usize>,
        call_time_limit: Option<f64>,
        read_path: bool,
    ) -> PyResult<Self> {
        let call_time = match call_time_limit {
            Some(s) if s.is_finite() && s >= 0.0 => Some(Duration::from_secs_f64(s)),
            Some(s) => {
                return Err(PyValueError::new_err(format!(
                    "call_time_limit must be a finite number of seconds >= 0, not {s}"
                )))
            }
            None => None,
        };
        let service = py
            .detach(|| {
                let defaults = RuntimeOptions::default();
                let options = RuntimeOptions {
                    // The host's private per-user directory (owner-only, checksummed
                    // artifacts), or no artifact cache at all.
                    artifact_dir: if artifact_cache {
                        defaults.artifact_dir.clone()
                    } else {
                        None
                    },
                    ..defaults
                };
                let mut builder = CacheService::builder(wasm_path)
                    .runtime_options(options)
                    .read_path(read_path);
                if let Some(bytes) = memory_limit {
                    builder = builder.memory_limit(bytes);
                }
                if let Some(limit) = call_time {
                    builder = builder.call_time_limit(limit);
                }
                builder.build(AnyStorage::Memory(MemoryStorage::new()))
            })
            .map_err(|e| to_py(py, e))?;
        Ok(Self {
            service,
            gate: Mutex::new(()),
            owner: AtomicU64::new(0),
            deferred_signal: AtomicI32::new(0),
            memo: ValueMemo::new(),
            keep_gil: AtomicBool::new(true),
        })
    }

    // ----- storage -----

    /// Opens (creating and migrating if needed) the SQLite file at `path`, makes it
    /// the storage and, with `load`, loads its persisted entries into free capacity.
    /// Returns the load report `{"loaded": n, "skipped": [{"namespace", "key",
    /// "reason"}]}` (empty without `load`).
    #[pyo3(signature = (path, load = true))]
    fn _attach_sqlite<'py>(
        &self,
        py: Python<'py>,
        path: PathBuf,
        load: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let storage = py
            .detach(|| SqliteStorage::open(&path))
            .map_err(|e| to_py(py, Error::OpenStorage(e)))?;
        self.attach(py, AnyStorage::Sqlite(storage), load)
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://` or
    /// `postgresql://`, creating and migrating the cache's tables if needed), makes
    /// it the storage and, with `load`, loads its persisted entries. Several
    /// processes may share the database: a thread listens for their changes and
    /// drops this cache's copies of what they changed, and a write based on a stale
    /// copy is refused by storage instead of overwriting a newer row.
    #[pyo3(signature = (url, load = true))]
    fn _attach_postgres<'py>(
        &self,
        py: Python<'py>,
        url: String,
        load: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let storage = py
            .detach(|| PostgresStorage::open_with(&url, postgres::shared_options(false)))
            .map_err(|e| to_py(py, Error::OpenStorage(e)))?;
        self.attach(py, AnyStorage::Postgres(Box::new(storage)), load)
    }

    /// Makes the duck-typed database object `db` the storage and, with `load`,
    /// loads its persisted entries; returns the load report.
    #[pyo3(signature = (db, load = true))]
    fn _attach_object<'py>(
        &self,
        py: Python<'py>,
        db: Py<PyAny>,
        load: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        self.attach(py, AnyStorage::Object(ObjectStorage::new(db)), load)
    }

    /// Makes the bot's async database the storage, through `bridge` (an object
    /// with the seed's method names, each a coroutine; see `staged.rs`). Loads
    /// nothing: the caller loads in a scope. Returns the handle that performs
    /// staged requests.
    fn _attach_async(&self, py: Python<'_>, bridge: Py<PyAny>) -> PyResult<AsyncStorage> {
        let (storage, handle) = staged_storage(bridge);
        drop(self.swap_storage(py, AnyStorage::Staged(storage))?);
        Ok(handle)
    }

    /// Replaces the storage with an empty memory storage (closing a SQLite file).
    fn _detach_storage(&self, py: Python<'_>) -> PyResult<()> {
        drop(self.swap_storage(py, AnyStorage::Memory(MemoryStorage::new()))?);
        Ok(())
    }

    /// Loads the newest stored rows of the persisted namespaces into free capacity
    /// (never over an entry held, deleted or cleared in memory). Unusable rows are
    /// skipped and listed in the returned report, never raised.
    #[pyo3(name = "loadFromDatabase")]
    fn load_from_database<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let report = self.run(py, |s| s.load_from_storage())?;
        load_report(py, &report)
    }

    /// Writes every pending on-shutdown change in one storage transaction; returns
    /// `{"written": n, "deleted": n}`. On error the changes stay pending.
    #[pyo3(name = "persistAll")]
    fn persist_all<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let report = self.run(py, |s| s.persist_all())?;
        let out = PyDict::new(py);
        out.set_item("written", report.written)?;
        out.set_item("deleted", report.deleted)?;
        Ok(out)
    }

    /// Persists pending changes and closes the cache: every later call raises
    /// `CacheClosedError`. A second `close()` does nothing. If persisting fails the
    /// cache stays open (retry), and the error is raised.
    fn _close_native(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |s| s.close())?;
        drop(self.swap_storage(py, AnyStorage::Memory(MemoryStorage::new()))?);
        Ok(())
    }

    /// Sets when pending on-shutdown changes are written back to the database: once
    /// the oldest is `maxAge` seconds old, or `maxPending` are pending (`None` or 0
    /// turns a trigger off). The default, 5 s and 256, bounds what a process killed
    /// without warning (SIGKILL, OOM, power loss) can lose. `ValueError` for a
    /// negative, non-finite or over-a-day age.
    #[pyo3(name = "setWriteBack", signature = (max_age = Some(WriteBack::DEFAULT_MAX_AGE.as_secs_f64()), max_pending = Some(WriteBack::DEFAULT_MAX_PENDING)))]
    fn set_write_back(
        &self,
        py: Python<'_>,
        max_age: Option<f64>,
        max_pending: Option<u32>,
    ) -> PyResult<()> {
        let write_back = WriteBack {
            max_age: match max_age {
                Some(secs) => WriteBack::age_from_secs(secs).map_err(PyValueError::new_err)?,
                None => None,
            },
            max_pending: max_pending.and_then(WriteBack::pending_from_count),
        };
        py.detach(|| self.service.set_write_back(write_back));
        Ok(())
    }

    /// The write-back schedule: `{"maxAge": seconds or None, "maxPending": n or None,
    /// "failures": failed write-backs so far (each logged; the changes stayed
    /// pending), "dropped": pending changes dropped because another process
    /// committed the row first (each logged; PostgreSQL shared by processes)}`.
    #[pyo3(name = "getWriteBack")]
    fn get_write_back<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let (write_back, failures, dropped) = py.detach(|| {
            (
                self.service.write_back(),
                self.service.write_back_failures(),
                self.service.dropped_changes(),
            )
        });
        let out = PyDict::new(py);
        out.set_item("maxAge", write_back.max_age.map(|a| a.as_secs_f64()))?;
        out.set_item("maxPending", write_back.max_pending)?;
        out.set_item("failures", failures)?;
        out.set_item("dropped", dropped)?;
        Ok(out)
    }

    /// Whether the cache was closed.
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| self.service.is_closed())
    }

    /// Calls the component's export `name` (its WIT name, e.g. `"cache.get-many"`)
    /// with `args` in WIT order, as JSON-shaped Python values; returns its `ok`
    /// value the same way (JSON text stays text, records are dicts with the WIT's
    /// kebab-case names) and raises its `err` as the typed methods do. The types
    /// come from the component (`CacheService::call_by_name`): every export,
    /// a new one included, with no table here. For the conformance scenarios.
    fn _wit_call<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        args: &Bound<'py, PyList>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args: Vec<serde_json::Value> = serde_json::from_str(&py_to_json(args.as_any())?)
            .map_err(|e| PyValueError::new_err(format!("{name}: arguments: {e}")))?;
        let answer = self.run(py, |s| s.call_by_name(name, &args))?;
        json_to_py(py, &answer.to_string())
    }

    /// For the bench: the cheapest call through the gate (`is_closed` on the
    /// service), with the GIL released (`release=True`, as every method does) or
    /// kept. Measures what releasing the GIL costs per call.
    #[pyo3(signature = (release = true))]
    fn _gil_probe(&self, py: Python<'_>, release: bool) -> bool {
        let call = || {
            let _gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            self.service.is_closed()
        };
        if release {
            py.detach(call)
        } else {
            call()
        }
    }

    /// Asks for `signum` to be delivered again once the running call returns (used
    /// by the shutdown handlers when a signal arrives inside a storage callback).
    fn _defer_signal(&self, signum: i32) {
        self.deferred_signal.store(signum, Ordering::Release);
    }

    /// Per namespace: `size`, `maxSize`, `dirty`, `persistence`, `hits`, `misses`,
    /// `evictions`.
    #[pyo3(name = "getStats")]
    fn get_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.run(py, |s| s.stats())?;
        let out = PyDict::new(py);
        for s in stats {
            let d = PyDict::new(py);
            d.set_item("size", s.size)?;
            d.set_item("maxSize", s.max_entries)?;
            d.set_item("dirty", s.dirty)?;
            d.set_item("persistence", persistence_name(s.persistence))?;
            d.set_item("hits", s.hits)?;
            d.set_item("misses", s.misses)?;
            d.set_item("evictions", s.evictions)?;
            d.set_item("expirations", s.expirations)?;
            out.set_item(s.name, d)?;
        }
        Ok(out)
    }

    /// The changes of an on-shutdown namespace that `persistAll` will write:
    /// `{"keys": [...], "cleared": bool}`, keys of changed and deleted entries
    /// sorted, and whether a clear of the whole namespace is pending. Other
    /// namespaces have none.
    #[pyo3(name = "getPendingChanges")]
    fn get_pending_changes<'py>(
        &self,
        py: Python<'py>,
        namespace: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let pending = self.run(py, |s| s.pending_changes(namespace))?;
        let out = PyDict::new(py);
        out.set_item("keys", pending.keys)?;
        out.set_item("cleared", pending.cleared)?;
        Ok(out)
    }

    /// Turns the read path on or off. On (the default), a repeated read
    /// (`get`, `getChatSettings`, `getChatInfo`, `getChatUserData`,
    /// `getUserState`) is answered from the host's copy of the component's
    /// answer without entering the component; the hits are replayed into it,
    /// in order, before any other call, so its LRU order, hit counts and
    /// evictions are exactly as with the read path off. Off: every read enters
    /// the component (for debugging).
    #[pyo3(name = "setReadPath")]
    fn set_read_path(&self, on: bool) {
        self.service.set_read_path(on);
    }

    /// The read path's figures: `enabled`, `copies` held, their `bytes`, hits
    /// `served` from copies, `syncs` (replays into the component) and `stale`
    /// (copies served after their entry changed: always 0 unless the read path
    /// has a defect).
    /// Whether hits in `namespace` return the cache's own Python object rather
    /// than a fresh copy of it (off by default). On, a hit costs the same for
    /// every size of value, and the object is the same one each time, as the
    /// bot's own cache returns its dict. It must then be treated as read-only:
    /// mutating it changes what later hits of the unchanged entry return in
    /// this process, never what the cache holds. Applies to `get` in
    /// `namespace` and to the bot's reads of it (`chats`: settings and info,
    /// `chatUsers`: user data, `users`: user state).
    #[pyo3(name = "shareValues", signature = (namespace, on = true))]
    fn share_values(&self, namespace: &str, on: bool) {
        self.memo.share(namespace, on);
    }

    #[pyo3(name = "getReadPathStats")]
    fn get_read_path_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.service.read_path_stats();
        let out = PyDict::new(py);
        out.set_item("enabled", stats.enabled)?;
        out.set_item("copies", stats.copies)?;
        out.set_item("bytes", stats.bytes)?;
        out.set_item("served", stats.served)?;
        out.set_item("syncs", stats.syncs)?;
        out.set_item("stale", stats.stale)?;
        Ok(out)
    }

    /// Entries of the memory-only `namespace` expire `seconds` after they were
    /// written (`None`: never). `InvalidConfigError` for a persisted namespace.
    #[pyo3(name = "expireAfterWrite")]
    fn expire_after_write(
        &self,
        py: Python<'_>,
        namespace: &str,
        seconds: Option<f64>,
    ) -> PyResult<()> {
        let after = seconds
            .map(|s| crate::expiry::duration("seconds", s))
            .transpose()?;
        self.run(py, |s| s.expire_after_write(namespace, after))
    }

    /// The value under `key` if it was written at most `maxAge` seconds ago (to
    /// within 0.1 s), else `default`; an older entry stays for other readers.
    #[pyo3(name = "getFresh", signature = (namespace, key, max_age, default = None))]
    fn get_fresh<'py>(
        &self,
        py: Python<'py>,
        namespace: &str,
        key: &str,
        max_age: f64,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let max_age = crate::expiry::duration("maxAge", max_age)?;
        let text = self.run(py, |s| s.get_fresh(namespace, key, max_age))?;
        json_or_default(py, text, default)
    }

    /// Replaces the namespace table with `(name, maxEntries, persistence)` items
    /// (persistence: "memory-only", "on-change" or "on-shutdown"). Pending changes of
    /// namespaces removed or no longer on-shutdown are written first.
    fn configure(&self, py: Python<'_>, namespaces: Vec<(String, u32, String)>) -> PyResult<()> {
        let table = namespaces
            .into_iter()
            .map(|(name, max_entries, p)| {
                Ok(NamespaceConfig {
                    name,
                    max_entries,
                    persistence: parse_persistence(&p)?,
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        self.run(py, |s| s.configure(&table))
    }

    // ----- generic namespaces -----

    /// The value under `key` in `namespace` (read through storage on a miss in a
    /// persisted namespace), or `default`.
    #[pyo3(signature = (namespace, key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        namespace: &str,
        key: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.read_py(py, Read::Get { namespace, key }, default)
    }

    /// Stores `value` (JSON-able, not `None`) under `key`, as the namespace's
    /// persistence says (on-change: written to storage before this returns).
    fn set(
        &self,
        py: Python<'_>,
        namespace: &str,
        key: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let json = py_to_json(value)?;
        self.run(py, |s| s.set(namespace, key, &json))
    }

    /// Removes `key`; `True` if it was held in memory.
    fn delete(&self, py: Python<'_>, namespace: &str, key: &str) -> PyResult<bool> {
        self.run(py, |s| s.delete(namespace, key))
    }

    /// The values of `keys` in order (`None` for missing ones), in one call.
    #[pyo3(name = "getMany")]
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        namespace: &str,
        keys: Vec<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let texts = self.run(py, |s| s.get_many(namespace, &keys))?;
        let out = PyList::empty(py);
        for t in texts {
            out.append(json_or_default(py, t, None)?)?;
        }
        Ok(out)
    }

    /// Stores every `(key, value)` of `entries` (a dict or pairs), all or nothing.
    #[pyo3(name = "setMany")]
    fn set_many(
        &self,
        py: Python<'_>,
        namespace: &str,
        entries: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let items = match entries.cast::<PyDict>() {
            Ok(d) => d.items().into_any(),
            Err(_) => entries.clone(),
        };
        let mut encoded = Vec::new();
        for item in items.try_iter()? {
            let (k, v): (String, Bound<'_, PyAny>) = item?.extract()?;
            encoded.push((k, py_to_json(&v)?));
        }
        self.run(py, |s| s.set_many(namespace, &encoded))
    }

    /// Removes every entry of `namespace` (and, per its persistence, from storage).
    #[pyo3(name = "clearNamespace")]
    fn clear_namespace(&self, py: Python<'_>, namespace: &str) -> PyResult<()> {
        self.run(py, |s| s.clear_namespace(namespace))
    }

    // ----- the bot's API -----

    /// The chat's settings as a dict of `str` (read from the database's chat
    /// settings and cached on first use).
    #[pyo3(name = "getChatSettings")]
    fn get_chat_settings<'py>(&self, py: Python<'py>, chat_id: i64) -> PyResult<Bound<'py, PyAny>> {
        self.read_py(py, Read::ChatSettings(chat_id), None)
    }

    /// Sets the chat's settings (a dict of `str` values): merged into the stored
    /// settings by default, or with `rewrite=True` made the only ones. Written to
    /// the database before this returns.
    #[pyo3(name = "setChatSettings", signature = (chat_id, settings, rewrite = false))]
    fn set_chat_settings(
        &self,
        py: Python<'_>,
        chat_id: i64,
        settings: &Bound<'_, PyDict>,
        rewrite: bool,
    ) -> PyResult<()> {
        let json = py_to_json(settings.as_any())?;
        let mode = if rewrite {
            SettingsMode::Rewrite
        } else {
            SettingsMode::Merge
        };
        self.run(py, |s| s.set_chat_settings(chat_id, &json, mode))
    }

    /// Deletes one setting of the chat, in the database and in the cache.
    #[pyo3(name = "unsetChatSetting")]
    fn unset_chat_setting(&self, py: Python<'_>, chat_id: i64, key: &str) -> PyResult<()> {
        self.run(py, |s| s.unset_chat_setting(chat_id, key))
    }

    /// The chat's info dict, or `None` if none was set.
    #[pyo3(name = "getChatInfo")]
    fn get_chat_info<'py>(&self, py: Python<'py>, chat_id: i64) -> PyResult<Bound<'py, PyAny>> {
        self.read_py(py, Read::ChatInfo(chat_id), None)
    }

    /// Replaces the chat's info (a dict), stored as the `chats` namespace says
    /// (on-shutdown: by `persistAll`, `close`, exit or SIGTERM/SIGHUP).
    #[pyo3(name = "setChatInfo")]
    fn set_chat_info(
        &self,
        py: Python<'_>,
        chat_id: i64,
        info: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        let json = py_to_json(info.as_any())?;
        self.run(py, |s| s.set_chat_info(chat_id, &json))
    }

    /// Sets one forum topic of the chat (a dict) in the chat's topic map, the
    /// other topics and the chat's info kept, in one call; stored as `setChatInfo` is.
    #[pyo3(name = "setChatTopic")]
    fn set_chat_topic(
        &self,
        py: Python<'_>,
        chat_id: i64,
        topic_id: i64,
        info: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        let json = py_to_json(info.as_any())?;
        self.run(py, |s| s.set_chat_topic(chat_id, topic_id, &json))
    }

    /// The user's data in the chat as a dict (read from the database's user data
    /// and cached on first use).
    #[pyo3(name = "getUserData")]
    fn get_user_data<'py>(
        &self,
        py: Python<'py>,
        chat_id: i64,
        user_id: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.read_py(py, Read::UserData { chat_id, user_id }, None)
    }

    /// `getChatSettings` if the host's copy answers it now, as the memo's own
    /// dict (never to be mutated or handed out: the asyncio class converts it);
    /// else `None`, without entering the component.
    #[pyo3(name = "_peekChatSettings")]
    fn peek_chat_settings<'py>(
        &self,
        py: Python<'py>,
        chat_id: i64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.peek_py(py, Read::ChatSettings(chat_id), true)
    }

    /// `getUserData` if the host's copy answers it now (a new dict); else
    /// `None`, without entering the component.
    #[pyo3(name = "_peekUserData")]
    fn peek_user_data<'py>(
        &self,
        py: Python<'py>,
        chat_id: i64,
        user_id: i64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.peek_py(py, Read::UserData { chat_id, user_id }, false)
    }

    /// Sets one data item of the user in the chat; written to the database before
    /// this returns.
    #[pyo3(name = "setUserData")]
    fn set_user_data(
        &self,
        py: Python<'_>,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let json = py_to_json(value)?;
        self.run(py, |s| s.set_user_data(chat_id, user_id, key, &json))
    }

    /// One item of the user's (memory-only) state, or `default`. `state_key` is a
    /// `str` or an `Enum` with a `str` value.
    #[pyo3(name = "getUserState", signature = (user_id, state_key, default = None))]
    fn get_user_state<'py>(
        &self,
        py: Python<'py>,
        user_id: i64,
        state_key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = state_key_fast(state_key)?;
        let state_key = &*key;
        self.read_py(py, Read::UserState { user_id, state_key }, default)
    }

    /// Sets one item of the user's state (never persisted).
    #[pyo3(name = "setUserState")]
    fn set_user_state(
        &self,
        py: Python<'_>,
        user_id: i64,
        state_key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let key = state_key_fast(state_key)?;
        let json = py_to_json(value)?;
        self.run(py, |s| s.set_user_state(user_id, &key, &json))
    }

    /// Removes one item of the user's state, or all of it when `state_key` is `None`.
    #[pyo3(name = "clearUserState", signature = (user_id, state_key = None))]
    fn clear_user_state(
        &self,
        py: Python<'_>,
        user_id: i64,
        state_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let key = state_key.map(state_key_fast).transpose()?;
        self.run(py, |s| s.clear_user_state(user_id, key.as_deref()))
    }
}
