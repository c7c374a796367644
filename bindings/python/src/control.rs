//! How the cache runs, as [`NativeCache`] methods: the namespace table,
//! write-back, the read path and shared values, expiry, stats and pending
//! changes.

use cache_host::{NamespaceConfig, WriteBack};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::args::{json_or_default, parse_persistence};
use crate::service::NativeCache;

#[pymethods]
impl NativeCache {
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
            d.set_item("persistence", s.persistence.name())?;
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
    /// (`get`, `getMany`, `getChatSettings`, `getChatInfo`, `getChatUserData`,
    /// `getUserState`) is answered from the host's copy of the component's
    /// answer without entering the component; the hits are replayed into it,
    /// in order, before any other call, so its LRU order, hit counts and
    /// evictions are exactly as with the read path off. Off: every read enters
    /// the component (for debugging).
    #[pyo3(name = "setReadPath")]
    fn set_read_path(&self, on: bool) {
        self.service.set_read_path(on);
    }

    /// Whether hits in `namespace` return the cache's own Python object rather
    /// than a fresh copy of it (off by default). On, a hit costs the same for
    /// every size of value, and the object is the same one each time, as the
    /// bot's own cache returns its dict. It must then be treated as read-only:
    /// mutating it changes what later hits of the unchanged entry return in
    /// this process, never what the cache holds. Applies to `get` in
    /// `namespace` and to the bot's reads of it (`chats`: settings and info,
    /// `chatUsers`: user data, `users`: user state).
    #[pyo3(name = "shareValues", signature = (namespace, on = true))]
    fn share_values(&self, py: Python<'_>, namespace: &str, on: bool) -> PyResult<()> {
        self.memo.share(py, namespace, on)
    }

    /// The read path's figures: `enabled`, `copies` held, their `bytes` (the
    /// texts, keys and bookkeeping, and the Python objects kept with them, as
    /// `sys.getsizeof` counts each), hits
    /// `served` from copies, `syncs` (replays into the component) and `stale`
    /// (copies served after their entry changed: always 0 unless the read path
    /// has a defect).
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
}
