//! Bounded loss for on-shutdown namespaces: the host writes pending changes back
//! when the oldest is older than [`WriteBack::max_age`] or when
//! [`WriteBack::max_pending`] are pending, so a crash or `SIGKILL` loses at most
//! that much. The component stays clock-free: the host counts the calls that may
//! leave a change pending, asks the component's `stats` for the exact count only
//! when that upper bound reaches the limit, and a background thread runs
//! `persist-all` when the age deadline passes.

use super::Attachment;
use std::sync::atomic::Ordering;
use std::sync::{Arc, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::lifecycle::{Shared, State};
use crate::storage::ServiceStorage;
use crate::{Error, Persistence};

/// When pending on-shutdown changes are written back before the service closes.
///
/// The default writes back changes older than 5 s, and as soon as 256 are pending:
/// a process killed without warning loses at most the on-shutdown changes of its
/// last 5 s (plus the time one write-back takes), and never 256 or more. `None`
/// turns a trigger off; [`WriteBack::NEVER`] is the seed's behaviour (only at
/// `persist-all`, close, eviction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteBack {
    /// Write back once the oldest pending change is this old.
    pub max_age: Option<Duration>,
    /// Write back once this many changes (entries, deleted keys, clears) are pending.
    pub max_pending: Option<u32>,
}

impl WriteBack {
    /// No scheduled write-back: pending changes wait for `persist-all` or close.
    pub const NEVER: WriteBack = WriteBack {
        max_age: None,
        max_pending: None,
    };

    /// The default age bound.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5);

    /// The default count bound.
    pub const DEFAULT_MAX_PENDING: u32 = 256;

    /// The longest age bound accepted: one day.
    pub const MAX_AGE_LIMIT: Duration = Duration::from_secs(86_400);

    /// An age bound from seconds, as the policy file and the CLI give it: `0` turns
    /// the age trigger off; negative, non-finite or over [`Self::MAX_AGE_LIMIT`] is an
    /// error naming the value.
    pub fn age_from_secs(secs: f64) -> Result<Option<Duration>, String> {
        if secs == 0.0 {
            return Ok(None);
        }
        if !secs.is_finite() || secs < 0.0 || secs > Self::MAX_AGE_LIMIT.as_secs_f64() {
            return Err(format!(
                "write-back max age {secs} s is out of range: 0 (off) or more, at most {} s",
                Self::MAX_AGE_LIMIT.as_secs()
            ));
        }
        Ok(Some(Duration::from_secs_f64(secs)))
    }

    /// A count bound: `0` turns the count trigger off.
    pub fn pending_from_count(count: u32) -> Option<u32> {
        (count > 0).then_some(count)
    }
}

impl Default for WriteBack {
    fn default() -> Self {
        WriteBack {
            max_age: Some(Self::DEFAULT_MAX_AGE),
            max_pending: Some(Self::DEFAULT_MAX_PENDING),
        }
    }
}

impl<S: ServiceStorage, A: Attachment> Shared<S, A> {
    /// Records that a successful call may have left `changes` more changes pending,
    /// and writes back if the count bound may be reached.
    pub(super) fn note_changes(&self, state: &mut State<S, A>, changes: u64) {
        state.unpersisted = state.unpersisted.saturating_add(changes);
        if state.dirty_since.is_none() {
            state.dirty_since = Some(Instant::now());
            if state.write_back.max_age.is_some() {
                self.wake.notify_all();
            }
        }
        let Some(max) = state.write_back.max_pending else {
            return;
        };
        if state.unpersisted < u64::from(max) {
            return;
        }
        match self.pending_count(state) {
            Ok(pending) if pending < u64::from(max) => state.unpersisted = pending,
            Ok(_) => self.write_back(state, "count"),
            Err(e) => self.write_back_failed(state, &e),
        }
    }

    /// The component's exact count of pending on-shutdown changes.
    fn pending_count(&self, state: &mut State<S, A>) -> Result<u64, Error> {
        let stats = self.call_locked(state, |b, s| b.gromozeka_cache_cache().call_stats(s))?;
        Ok(stats
            .iter()
            .filter(|n| Persistence::from(n.persistence) == Persistence::OnShutdown)
            .map(|n| u64::from(n.dirty))
            .sum())
    }

    /// Runs `persist-all` now; a failure is logged and counted, and retried after
    /// another interval (or another `max-pending` changes).
    fn write_back(&self, state: &mut State<S, A>, trigger: &str) {
        match self.persist_locked(state) {
            Ok(report) => {
                tracing::debug!(
                    trigger,
                    written = report.written,
                    deleted = report.deleted,
                    "on-shutdown changes written back"
                );
            }
            Err(e) => self.write_back_failed(state, &e),
        }
    }

    fn write_back_failed(&self, state: &mut State<S, A>, e: &Error) {
        state.write_back_failures += 1;
        state.unpersisted = 0;
        state.dirty_since = Some(Instant::now());
        tracing::error!(error = %e, "writing back on-shutdown changes failed; they stay pending and are retried");
    }

    /// The background thread's loop: sleeps until the oldest pending change reaches
    /// `max-age`, writes back, and returns when the service stops or closes.
    fn run_write_back(&self) {
        let mut state = self.lock();
        loop {
            if self.stopping.load(Ordering::Acquire) || state.closed {
                return;
            }
            let deadline = match (state.write_back.max_age, state.dirty_since) {
                (Some(age), Some(since)) => Some(since + age),
                _ => None,
            };
            state = match deadline {
                None => self.wait(state, None),
                Some(at) => match at.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => self.wait(state, Some(left)),
                    _ => {
                        self.write_back(&mut state, "age");
                        state
                    }
                },
            };
        }
    }

    fn wait<'a>(
        &self,
        state: MutexGuard<'a, State<S, A>>,
        timeout: Option<Duration>,
    ) -> MutexGuard<'a, State<S, A>> {
        match timeout {
            None => self.wake.wait(state).unwrap_or_else(|e| e.into_inner()),
            Some(t) => {
                self.wake
                    .wait_timeout(state, t)
                    .unwrap_or_else(|e| e.into_inner())
                    .0
            }
        }
    }
}

/// Starts the write-back thread of `shared`.
pub(super) fn spawn<S: ServiceStorage, A: Attachment>(
    shared: &Arc<Shared<S, A>>,
) -> Result<JoinHandle<()>, Error> {
    let shared = Arc::clone(shared);
    std::thread::Builder::new()
        .name("cache-write-back".into())
        .spawn(move || shared.run_write_back())
        .map_err(|e| Error::Runtime(format!("cannot start the write-back thread: {e}")))
}
