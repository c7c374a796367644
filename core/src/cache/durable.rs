//! Between memory and storage as a whole: `persist-all` and `load-from-storage`.

use super::{write, Cache};
use crate::config::Persistence;
use crate::namespace::Entry;
use crate::storage::{Batch, Storage};
use crate::{validate, CacheError, LoadReport, PersistReport, SkippedRow};

impl<S: Storage> Cache<S> {
    /// Writes every pending change of every on-shutdown namespace in one
    /// write; on error every change stays pending. Storage is not called when
    /// nothing is pending.
    pub fn persist_all(&mut self) -> Result<PersistReport, CacheError> {
        let mut batch = Batch::default();
        for ns in &self.namespaces {
            if ns.persistence() == Persistence::OnShutdown {
                ns.push_all_pending(&mut batch);
            }
        }
        let report = PersistReport {
            written: u32::try_from(batch.upsert.len()).unwrap_or(u32::MAX),
            deleted: u32::try_from(batch.delete.len() + batch.clear.len()).unwrap_or(u32::MAX),
        };
        if batch.is_empty() {
            return Ok(report);
        }
        write(&mut self.storage, &batch)?;
        for ns in &mut self.namespaces {
            if ns.persistence() == Persistence::OnShutdown {
                ns.mark_all_written();
            }
        }
        Ok(report)
    }

    /// Loads each persisted namespace's newest stored rows into its free
    /// capacity; see `load-from-storage` in `wit/cache.wit`. If a storage load
    /// fails, nothing is loaded.
    pub fn load_from_storage(&mut self) -> Result<LoadReport, CacheError> {
        let mut report = LoadReport::default();
        // Every namespace is read before any entry changes: a failed read fails
        // the call with nothing loaded.
        let mut loaded = Vec::new();
        for (idx, ns) in self.namespaces.iter().enumerate() {
            if ns.persistence().is_persisted() {
                let rows = self
                    .storage
                    .load(ns.name(), ns.config.max_entries)
                    .map_err(|e| CacheError::storage("rows.load", e))?;
                loaded.push((idx, rows));
            }
        }
        for (idx, rows) in loaded {
            let now = self.now;
            let ns = &mut self.namespaces[idx];
            let newest = rows.len().saturating_sub(ns.capacity());
            let mut usable = Vec::with_capacity(rows.len() - newest);
            for row in rows.into_iter().skip(newest) {
                let checked = row.value.and_then(|value| {
                    if row.key.len() > validate::MAX_KEY_BYTES {
                        Err(format!("key of {} bytes is over the limit", row.key.len()))
                    } else if let Some(why) = validate::nul(&row.key) {
                        Err(format!("key {why}"))
                    } else if value.len() > validate::MAX_VALUE_BYTES {
                        Err(format!("value of {} bytes is over the limit", value.len()))
                    } else {
                        validate::json(&value).map(|()| value)
                    }
                });
                match checked {
                    // An empty record is no entry: nothing to load, nothing wrong.
                    Ok(value) if ns.is_empty_record(&ns.without_mirror(&value)) => {}
                    Ok(value) => usable.push((row.key, value)),
                    Err(reason) => report.skipped.push(SkippedRow {
                        namespace: ns.name().to_owned(),
                        key: row.key,
                        reason,
                    }),
                }
            }
            // Newest first, each pushed behind everything already held.
            for (key, value) in usable.into_iter().rev() {
                if ns.entries.len() >= ns.capacity()
                    || ns.entries.contains(key.as_str())
                    || !ns.storage_may_have(&key)
                {
                    continue;
                }
                let value: Box<str> = ns.without_mirror(&value).into();
                ns.entries
                    .put(key.as_str().into(), Entry::new(value, false, None, now));
                ns.entries.demote(key.as_str());
                report.loaded += 1;
            }
        }
        Ok(report)
    }
}
