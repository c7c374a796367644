//! [`NativeCache`]: the Rust host's `CacheService` as a Python class, with the bot's
//! camelCase methods. `gromozeka_cache.CacheService` subclasses it and adds the
//! singleton, the dict-like views, `injectDatabase` and the shutdown hooks.
//!
//! This file holds the class, its construction and its lifecycle (the storage it
//! runs on, loading, persisting, closing); `control.rs` how it runs (namespace
//! table, write-back, read path, stats) and `api.rs` the data methods.
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
use cache_host::{CacheService, Error, RuntimeOptions, SqliteStorage};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::args::load_report;
use crate::convert::{json_to_py, py_to_json};
use crate::errors::to_py;
use crate::memo::{Kept, ValueMemo};
use crate::object_storage::ObjectStorage;
use crate::staged::{staged_storage, AsyncStorage};
use crate::storage::AnyStorage;

/// The host's service over the storage `injectDatabase` chose.
pub(crate) type Service = CacheService<AnyStorage, Kept>;

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
    /// Which namespaces' hits share the Python objects kept with the host's
    /// copies (see `memo.rs`).
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
                builder.build_with_attachments(AnyStorage::Memory(MemoryStorage::new()))
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
}
