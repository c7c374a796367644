//! Expiry: the host's time, expire-after-write per memory-only namespace, and
//! reads that accept an entry only up to a given age (`wit/cache.wit`). The
//! component has no clock: the host sets the time, and nothing expires at a
//! time it has not set.

use super::Cache;
use crate::{validate, CacheError};

impl<S: crate::Storage> Cache<S> {
    /// Sets the cache's time (milliseconds); an earlier time than the current
    /// one is ignored. See `set-time` in `wit/cache.wit`.
    pub fn set_time(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
    }

    /// The cache's time (milliseconds), as last set.
    pub fn time(&self) -> u64 {
        self.now
    }

    /// Entries of `namespace` expire `after_ms` after they were written (`None`:
    /// never). Memory-only namespaces only; see `expire-after-write` in
    /// `wit/cache.wit`.
    pub fn expire_after_write(
        &mut self,
        namespace: &str,
        after_ms: Option<u64>,
    ) -> Result<(), CacheError> {
        let idx = self.index(namespace)?;
        let ns = &mut self.namespaces[idx];
        if after_ms.is_some() && ns.persistence().is_persisted() {
            return Err(CacheError::InvalidConfig(format!(
                "{namespace} is persisted: only a memory-only namespace can expire entries \
                 (an expired persisted entry would come back from storage)"
            )));
        }
        ns.expire_after = after_ms;
        // Entries held may now be expired: copies of them must go.
        ns.changes.note_all();
        Ok(())
    }

    /// The value under `key` if it was written at most `max_age_ms` ago; see
    /// `get-fresh` in `wit/cache.wit`.
    pub fn get_fresh(
        &mut self,
        namespace: &str,
        key: &str,
        max_age_ms: u64,
    ) -> Result<Option<String>, CacheError> {
        validate::key(key)?;
        let idx = self.index(namespace)?;
        let now = self.now;
        let ns = &mut self.namespaces[idx];
        ns.expire(key, now);
        let stale = ns
            .entries
            .peek(key)
            .is_some_and(|e| now.saturating_sub(e.written) > max_age_ms);
        if stale {
            self.counted(|cache| {
                cache.count(idx, false);
                Ok(None)
            })
        } else {
            self.get(namespace, key)
        }
    }
}
