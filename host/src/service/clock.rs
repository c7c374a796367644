//! The component's time and expiry settings. The component has no clock: before
//! a call the host sets its time (wall-clock milliseconds) when it has moved by
//! [`TIME_STEP_MS`] since it was last set, so expiry is exact to that step at the
//! cost of at most one extra crossing per step. The expiry settings live in the
//! component; the service keeps a copy to apply again to a restarted instance.

use super::Attachment;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{flatten, CacheService};
use crate::runtime::Instance;
use crate::storage::ServiceStorage;
use crate::Error;

/// How far the host's time may run ahead of the component's, in milliseconds.
pub const TIME_STEP_MS: u64 = 100;

/// What the live instance knows of the time and of expiry.
#[derive(Default)]
pub(super) struct Clock {
    /// The time last set in the live instance (0: not yet).
    set: u64,
    /// Whether the live instance has the expiry settings below.
    applied: bool,
    /// The expiry of each namespace that has one (milliseconds after a write).
    expiry: Vec<(String, u64)>,
}

impl Clock {
    /// A new instance knows nothing yet.
    pub(super) fn new_instance(&mut self) {
        self.set = 0;
        self.applied = false;
    }

    /// After `configure`: expiry stays only where the namespace stays memory-only
    /// (the component drops the rest itself).
    pub(super) fn retain_memory_only(&mut self, namespaces: &[crate::NamespaceConfig]) {
        self.expiry.retain(|(ns, _)| {
            namespaces
                .iter()
                .any(|c| c.name == *ns && matches!(c.persistence, crate::Persistence::MemoryOnly))
        });
    }

    /// Whether entries of `namespace` expire.
    pub(super) fn expires(&self, namespace: &str) -> bool {
        self.expiry.iter().any(|(ns, _)| ns == namespace)
    }

    fn remember(&mut self, namespace: &str, after_ms: Option<u64>) {
        self.expiry.retain(|(ns, _)| ns != namespace);
        if let Some(after) = after_ms {
            self.expiry.push((namespace.to_owned(), after));
        }
    }
}

/// Milliseconds since the Unix epoch (0 if the system clock is before it).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Clock {
    /// Brings `inst`'s time and expiry settings up to date. An error is a trap:
    /// the caller restarts the instance.
    pub(super) fn sync<S: ServiceStorage>(
        &mut self,
        inst: &mut Instance<S>,
        ticks: u64,
    ) -> wasmtime::Result<()> {
        let now = now_ms();
        if now < self.set.saturating_add(TIME_STEP_MS) && self.applied {
            return Ok(());
        }
        crate::runtime::arm(&mut inst.store, ticks);
        let cache = inst.bindings.gromozeka_cache_cache();
        let mut synced = cache.call_set_time(&mut inst.store, now).map(|()| Ok(()));
        if !self.applied {
            for (namespace, after) in &self.expiry {
                synced = cache.call_expire_after_write(&mut inst.store, namespace, Some(*after));
                if !matches!(synced, Ok(Ok(()))) {
                    break;
                }
            }
        }
        // A namespace gone from the table since: its setting is dropped.
        if let Err(e) = synced? {
            tracing::warn!(error = ?e, "the expiry settings could not be applied again; dropped");
            self.expiry.clear();
        }
        self.set = now;
        self.applied = true;
        Ok(())
    }
}

impl<S: ServiceStorage, A: Attachment> CacheService<S, A> {
    /// Entries of `namespace` expire `after` they were written (`None`: never).
    /// Memory-only namespaces only ([`Error::InvalidConfig`] otherwise); see
    /// `expire-after-write` in `wit/cache.wit`. Kept across restarts of the
    /// instance.
    pub fn expire_after_write(
        &self,
        namespace: &str,
        after: Option<Duration>,
    ) -> Result<(), Error> {
        let after_ms = after.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let mut state = self.shared.lock();
        flatten(self.shared.call_locked(&mut state, |b, s| {
            b.gromozeka_cache_cache()
                .call_expire_after_write(s, namespace, after_ms)
        }))?;
        state.clock.remember(namespace, after_ms);
        Ok(())
    }

    /// The value of `key` if it was written at most `max_age` ago (to within
    /// [`TIME_STEP_MS`]); see `get-fresh` in `wit/cache.wit`.
    pub fn get_fresh(
        &self,
        namespace: &str,
        key: &str,
        max_age: Duration,
    ) -> Result<Option<String>, Error> {
        let max_age_ms = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_cache()
                .call_get_fresh(s, namespace, key, max_age_ms)
        }))
    }
}
