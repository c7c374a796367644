//! `_storage_kit(factory)`: the storage kit (`cache-storage-kit`, the one suite
//! every backend runs) over database objects, so the bot's own object is held to
//! the same cases as SQLite and PostgreSQL. Run by `tests/test_database_object.py`.
//!
//! `factory()` makes a fresh, empty database object. The kit's optional cases
//! need hooks the object may offer: `_kit_put_bad_cell(namespace, key, cell)`
//! (`cell`: "blob", "invalid-utf8" or "null") stores an unreadable value, and
//! `_kit_provoke(kind, key)` / `_kit_heal()` make the next write of `key` raise
//! an exception whose `kind` is `kind`. Without them those cases are skipped, as
//! the kit skips what a backend cannot do.

use cache_host::StorageErrorKind;
use cache_storage_kit::{Backend, BadCell};
use pyo3::prelude::*;

use crate::object_storage::ObjectStorage;
use crate::storage::AnyStorage;

struct ObjectBackend {
    factory: Py<PyAny>,
}

impl ObjectBackend {
    /// Calls hook `name` of the object behind `storage`, if it has one; its result
    /// read as a bool (`false` if it has none or returned something else).
    fn hook<A: for<'py> pyo3::call::PyCallArgs<'py>>(
        storage: &AnyStorage,
        name: &str,
        args: A,
    ) -> bool {
        let AnyStorage::Object(o) = storage else {
            return false;
        };
        Python::attach(|py| {
            let db = o.db().bind(py);
            match db.getattr(name) {
                Ok(hook) => hook
                    .call1(args)
                    .unwrap_or_else(|e| panic!("{name} raised: {e}"))
                    .is_truthy()
                    .unwrap_or(false),
                Err(_) => false,
            }
        })
    }
}

impl Backend for ObjectBackend {
    type Storage = AnyStorage;

    fn open(&mut self) -> AnyStorage {
        Python::attach(|py| {
            let db = self
                .factory
                .call0(py)
                .unwrap_or_else(|e| panic!("the factory raised: {e}"));
            AnyStorage::Object(ObjectStorage::new(db))
        })
    }

    /// The object keeps its data: reopening wraps the same object again.
    fn reopen(&mut self, storage: AnyStorage) -> Option<AnyStorage> {
        let AnyStorage::Object(o) = storage else {
            return None;
        };
        let db = Python::attach(|py| o.db().clone_ref(py));
        drop(o);
        Some(AnyStorage::Object(ObjectStorage::new(db)))
    }

    fn put_bad_cell(
        &mut self,
        storage: &mut AnyStorage,
        namespace: &str,
        key: &str,
        cell: BadCell,
    ) -> bool {
        let cell = match cell {
            BadCell::Blob => "blob",
            BadCell::InvalidUtf8 => "invalid-utf8",
            BadCell::Null => "null",
        };
        Self::hook(storage, "_kit_put_bad_cell", (namespace, key, cell))
    }

    fn provoke(&mut self, storage: &mut AnyStorage, kind: StorageErrorKind, key: &str) -> bool {
        Self::hook(storage, "_kit_provoke", (kind.name(), key))
    }

    fn heal(&mut self, storage: &mut AnyStorage) {
        Self::hook(storage, "_kit_heal", ());
    }
}

/// Runs every case of the storage kit over objects `factory()` makes; returns the
/// names of the cases run. A failing case raises (a panic, with its name).
#[pyfunction]
pub(crate) fn _storage_kit(factory: Py<PyAny>) -> Vec<String> {
    cache_storage_kit::run(&mut ObjectBackend { factory })
}
