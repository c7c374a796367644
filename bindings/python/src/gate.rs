//! The gate every call of [`NativeCache`] goes through: one call at a time, the
//! GIL released while it runs, a same-thread re-entry (a cache call from inside a
//! storage callback) refused instead of waiting for itself, and a signal deferred
//! by a storage callback delivered once the call returns.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::MutexGuard;

use cache_host::{Error, LoadReport, Read};
use pyo3::prelude::*;
use pyo3::types::{PyAny, PyDict};

use crate::args::load_report;

use crate::errors::{reentrant, to_py};
use crate::memo::{bury, Found};
use crate::service::{NativeCache, Service};
use crate::storage::AnyStorage;

thread_local! {
    static TOKEN: u64 = next_token();
}

fn next_token() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn thread_token() -> u64 {
    TOKEN.with(|t| *t)
}

/// Resets `owner` when a call ends, even by a panic.
struct Owned<'a> {
    owner: &'a AtomicU64,
    _gate: MutexGuard<'a, ()>,
}

impl Drop for Owned<'_> {
    fn drop(&mut self) {
        self.owner.store(0, Ordering::Release);
    }
}

impl NativeCache {
    /// Runs `f` on the service with the GIL released, then delivers a deferred
    /// signal if one arrived meanwhile.
    pub(crate) fn run<R: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&Service) -> Result<R, Error> + Send,
    ) -> PyResult<R> {
        let me = thread_token();
        if self.owner.load(Ordering::Acquire) == me {
            return Err(reentrant(py));
        }
        let call = || {
            let gate = self.gate.lock().unwrap_or_else(|e| e.into_inner());
            self.owner.store(me, Ordering::Release);
            let _owned = Owned {
                owner: &self.owner,
                _gate: gate,
            };
            f(&self.service)
        };
        // Over a storage that never blocks and never calls Python (memory, the
        // staged async database), a call is short and nobody holding the gate
        // waits for the GIL: keeping the GIL saves releasing it, and under many
        // busy threads (the async database's I/O threads) saves waiting up to a
        // switch interval (5 ms) to get it back.
        let result = if self.keep_gil.load(Ordering::Acquire) {
            call()
        } else {
            py.detach(call)
        };
        // Objects the call dropped with the host's copies, released now that
        // no lock of the cache is held (see `memo::Kept`).
        bury(py);
        let signal = self.deferred_signal.swap(0, Ordering::AcqRel);
        if signal != 0 {
            py.import("gromozeka_cache._shutdown")?
                .call_method1("_deliver_deferred", (signal,))?;
        }
        result.map_err(|e| to_py(py, e))
    }

    /// The answer of `read` as Python objects (see `memo.rs`), or `default`
    /// (`None`) when absent. From the host's copy when one may be served now
    /// (no gate, no GIL release: that never waits and never enters the
    /// component), otherwise through [`run`](Self::run).
    pub(crate) fn read_py<'py>(
        &self,
        py: Python<'py>,
        read: Read<&str>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let namespace = Some(read.namespace());
        let found = match self.find_copy(py, read, namespace) {
            Some(found) => found,
            None => match self.run(py, |s| s.read(read))? {
                Some(text) => Found::Text(text),
                None => return Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
            },
        };
        self.answer(py, read, found, namespace)
    }

    /// What the memo found for `read`, as the caller's objects; objects parsed
    /// from a text are kept with the host's copy of it for the next hit.
    fn answer<'py>(
        &self,
        py: Python<'py>,
        read: Read<&str>,
        found: Found<'py>,
        namespace: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (value, parsed) = self.memo.answer(py, found, namespace)?;
        if let Some((text, kept)) = parsed {
            // Refused when the copy is gone or changed, or another call holds
            // the service: the next hit parses again, nothing is lost.
            if let Err(kept) = self.service.attach(read, &text, kept) {
                drop(kept);
                bury(py);
            }
        }
        Ok(value)
    }

    /// The answer of `read` from the host's copy, if one may be served now
    /// (as in [`read_py`](Self::read_py)), else `None` without entering the
    /// component. `kept`: the memo's own objects, for callers in this package
    /// that never mutate them nor hand them out.
    pub(crate) fn peek_py<'py>(
        &self,
        py: Python<'py>,
        read: Read<&str>,
        kept: bool,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let namespace = (!kept).then(|| read.namespace());
        match self.find_copy(py, read, namespace) {
            Some(found) => Ok(Some(self.answer(py, read, found, namespace)?)),
            None => Ok(None),
        }
    }

    /// What the memo holds for the host's copy of `read`'s answer, if one may
    /// be served now. The memo is asked while the service is held, so that
    /// the copy's text needs no reference of its own (see
    /// [`crate::memo::ValueMemo::find`], which runs no Python code and so
    /// cannot call the service back).
    fn find_copy<'py>(
        &self,
        py: Python<'py>,
        read: Read<&str>,
        namespace: Option<&str>,
    ) -> Option<Found<'py>> {
        self.service
            .with_read_copy(read, |text, kept| self.memo.find(py, text, kept, namespace))
    }

    /// Replaces the storage under the gate (starting its change feed, if it has
    /// one) and returns the previous one (dropped by the caller with the GIL held,
    /// since it may hold Python objects).
    pub(crate) fn swap_storage(&self, py: Python<'_>, storage: AnyStorage) -> PyResult<AnyStorage> {
        let keep_gil = storage.never_blocks();
        // Released for the swap itself: the previous storage may be a blocking one.
        self.keep_gil.store(false, Ordering::Release);
        let previous = self.run(py, move |s| s.replace_storage(storage));
        if previous.is_ok() {
            self.keep_gil.store(keep_gil, Ordering::Release);
        }
        previous
    }

    /// Makes `storage` the cache's storage (the previous one is dropped with the
    /// GIL held) and, with `load`, loads its persisted entries; returns the load
    /// report (empty without `load`).
    pub(crate) fn attach<'py>(
        &self,
        py: Python<'py>,
        storage: AnyStorage,
        load: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        drop(self.swap_storage(py, storage)?);
        let report = if load {
            self.run(py, |s| s.load_from_storage())?
        } else {
            LoadReport {
                loaded: 0,
                skipped: Vec::new(),
            }
        };
        load_report(py, &report)
    }
}
