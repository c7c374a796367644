//! Several processes on one database: the thread that applies the changes other
//! processes commit (the storage's [`ChangeFeed`]) to this process's component, and
//! what the service does when a write meets a row another process changed.
//!
//! - A changed row → `forget(namespace, key)`; a cleared namespace →
//!   `forget-namespace`; chat settings → `forget-chat-settings`; user data →
//!   `forget-user-data`. Then the storage is told the change is applied
//!   ([`SharedStorage::change_applied`](crate::storage::SharedStorage::change_applied)), in that order and under the service's lock: no
//!   write-back of the dropped copy can run in between.
//! - The feed reconnected (changes may have been missed) → `forget-all`.
//! - This process's own writes are not in the feed (the storage filters them).
//! - A write refused with `conflict` (a stale copy would have overwritten a newer
//!   row): the rows named by [`SharedStorage::take_conflicts`](crate::storage::SharedStorage::take_conflicts) are forgotten, copy and
//!   pending change; `persist-all` is then retried up to [`CONFLICT_RETRIES`] times,
//!   so the newer stored row wins and the rest of the batch is written.
//!
//! The thread holds an `Arc<Shared>` and polls the feed every 50 ms: it returns
//! within that when the service stops, so the last handle's drop (which joins it
//! before the shared instance is dropped) never waits long and never runs on it.

use super::Attachment;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::Store;

use super::flatten;
use super::lifecycle::{Shared, Slot, State};
use super::CacheService;
use crate::bindings::exports::gromozeka::cache::types::CacheError;
use crate::bindings::gromozeka::cache::rows::StorageErrorKind as WitKind;
use crate::runtime::Exports as Bindings;
use crate::runtime::HostState;
use crate::storage::ServiceStorage;
use crate::storage::{
    ChangeFeed, FeedEvent, Inspect, RemoteChange, StorageError, StorageErrorKind,
};
use crate::{Error, PersistReport};

/// How often the coherence thread checks whether the service stops.
pub(super) const POLL: Duration = Duration::from_millis(50);

/// How many times `persist-all` is retried after forgetting conflicting rows.
pub const CONFLICT_RETRIES: u32 = 3;

/// A guest call's outcome that may be a storage `conflict`.
pub(super) trait Outcome {
    /// True for a `storage` error of kind `conflict`.
    fn is_conflict(&self) -> bool;
}

impl<T> Outcome for Result<T, CacheError> {
    fn is_conflict(&self) -> bool {
        matches!(self, Err(CacheError::Storage(e)) if e.kind == WitKind::Conflict)
    }
}

fn storage_of<S: ServiceStorage, A: Attachment>(state: &mut State<S, A>) -> Option<&mut S> {
    match &mut state.slot {
        Slot::Live(inst) => Some(&mut inst.store.data_mut().storage),
        Slot::Down(storage) => Some(storage),
        Slot::Empty => None,
    }
}

impl<S: ServiceStorage, A: Attachment> Shared<S, A> {
    /// [`call`](Self::call) of a method that may leave up to `changes` on-shutdown
    /// changes pending (see [`super::write_back`]). If storage refused it with
    /// `conflict`, the stale copies it named are dropped before the lock is released
    /// (see the module documentation), so a retry reads the newer rows.
    pub(super) fn call_changing<R: Outcome>(
        &self,
        changes: u64,
        f: impl FnOnce(&Bindings, &mut Store<HostState<S>>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let mut state = self.lock();
        let r = self.call_locked(&mut state, f)?;
        if r.is_conflict() {
            self.forget_conflicts(&mut state);
        }
        self.note_changes(&mut state, changes);
        Ok(r)
    }

    /// Applies one event of the feed of `generation` (see the module
    /// documentation); nothing if the storage was replaced since.
    pub(super) fn apply_remote(&self, event: &FeedEvent, generation: u64) {
        let mut state = self.lock();
        if state.closed || self.feed_generation.load(Ordering::Acquire) != generation {
            return;
        }
        match event {
            FeedEvent::Change(change) => {
                let forgotten = self.call_locked(&mut state, |b, s| {
                    let cache = b.gromozeka_cache_cache();
                    // Pending changes of the namespace before and after: a drop is
                    // logged and counted, never silent.
                    let dirty = |s: &mut _, namespace: &str| {
                        cache.call_stats(s).map(|all| {
                            all.iter()
                                .find(|n| n.name == namespace)
                                .map_or(0, |n| u64::from(n.dirty))
                        })
                    };
                    match change {
                        RemoteChange::Row { namespace, key, .. } => {
                            let before = dirty(&mut *s, namespace)?;
                            let held = cache.call_forget(&mut *s, namespace, key)?;
                            Ok((held, before.saturating_sub(dirty(&mut *s, namespace)?)))
                        }
                        RemoteChange::Namespace(namespace) => {
                            let before = dirty(&mut *s, namespace)?;
                            let held = cache.call_forget_namespace(&mut *s, namespace)? > 0;
                            Ok((held, before.saturating_sub(dirty(&mut *s, namespace)?)))
                        }
                        RemoteChange::ChatSettings(chat_id) => b
                            .gromozeka_cache_bot()
                            .call_forget_chat_settings(s, *chat_id)
                            .map(|held| (held, 0)),
                        RemoteChange::UserData { chat_id, user_id } => b
                            .gromozeka_cache_bot()
                            .call_forget_user_data(s, *chat_id, *user_id)
                            .map(|held| (held, 0)),
                    }
                });
                match forgotten {
                    Ok((held, 0)) => {
                        tracing::trace!(?change, held, "another process's change applied")
                    }
                    Ok((_, dropped)) => {
                        state.dropped_changes += dropped;
                        tracing::warn!(?change, dropped,
                            "another process committed this row after this process changed it: this process's pending change is dropped, the committed row wins");
                    }
                    // A trap restarted the instance from storage: nothing stale is held.
                    Err(e) => {
                        tracing::warn!(?change, error = %e, "dropping the copy of another process's change failed")
                    }
                }
                if let Some(shared) = storage_of(&mut state).and_then(|s| s.shared()) {
                    shared.change_applied(change);
                }
            }
            FeedEvent::Reconnected => {
                match self.call_locked(&mut state, |b, s| {
                    b.gromozeka_cache_cache().call_forget_all(s)
                }) {
                    Ok(dropped) => tracing::info!(
                        dropped,
                        "listening again after a lost connection: dropped every clean cached entry"
                    ),
                    Err(e) => tracing::error!(error = %e, "forget-all after a reconnect failed"),
                }
            }
        }
        state.remote_changes += 1;
        drop(state);
        if let Some(observer) = &self.observer {
            observer(event);
        }
    }

    /// Forgets the rows the storage refused with `conflict` (copy and pending
    /// change): the newer stored row wins. Returns how many.
    pub(super) fn forget_conflicts(&self, state: &mut State<S, A>) -> usize {
        let rows = storage_of(state)
            .and_then(|s| s.shared())
            .map(|s| s.take_conflicts())
            .unwrap_or_default();
        for (namespace, key) in &rows {
            match self.call_locked(state, |b, s| {
                b.gromozeka_cache_cache().call_forget(s, namespace, key)
            }) {
                Ok(_) => tracing::warn!(%namespace, %key,
                    "another process changed this row after this process read it: the cached copy and its pending change are dropped, the newer stored row stays"),
                Err(e) => {
                    tracing::error!(%namespace, %key, error = %e, "cannot drop the stale copy of a conflicting row")
                }
            }
        }
        rows.len()
    }

    /// `persist-all`; on `conflict`, forgets the conflicting rows and retries (up
    /// to [`CONFLICT_RETRIES`] times), so a stale copy is never written and the rest
    /// is. Other failures are returned at once, every change still pending.
    pub(super) fn persist_locked(&self, state: &mut State<S, A>) -> Result<PersistReport, Error> {
        let mut retries = 0;
        loop {
            let result = flatten(
                self.call_locked(state, |b, s| b.gromozeka_cache_cache().call_persist_all(s)),
            );
            match result {
                Ok(report) => {
                    state.mark_persisted();
                    return Ok(report.into());
                }
                Err(Error::Storage(e))
                    if e.kind == StorageErrorKind::Conflict && retries < CONFLICT_RETRIES =>
                {
                    retries += 1;
                    let forgotten = self.forget_conflicts(state);
                    state.dropped_changes += forgotten as u64;
                    tracing::warn!(forgotten, retry = retries, error = %e.message,
                        "persist-all met rows another process changed; retrying without them");
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn run_coherence(&self, feed: &ChangeFeed, generation: u64) {
        // A newer generation means the storage was replaced: this feed is done.
        while !self.stopping.load(Ordering::Acquire)
            && self.feed_generation.load(Ordering::Acquire) <= generation
        {
            match feed.next(POLL) {
                Ok(Some(event)) => self.apply_remote(&event, generation),
                Ok(None) => {}
                Err(e) => {
                    tracing::error!(error = %e, "the change feed stopped: other processes' changes are no longer applied to this cache");
                    return;
                }
            }
        }
    }
}

/// The change feed of `storage`, if it is shared by several processes and has one.
pub(super) fn change_feed(storage: &mut impl Inspect) -> Result<Option<ChangeFeed>, StorageError> {
    match storage.shared() {
        Some(shared) => shared.change_feed(),
        None => Ok(None),
    }
}

/// Starts the coherence thread of `shared` over `feed`, the feed of storage
/// `generation`.
pub(super) fn spawn<S: ServiceStorage, A: Attachment>(
    shared: &Arc<Shared<S, A>>,
    feed: ChangeFeed,
    generation: u64,
) -> Result<JoinHandle<()>, Error> {
    let shared = Arc::clone(shared);
    std::thread::Builder::new()
        .name("cache-coherence".into())
        .spawn(move || shared.run_coherence(&feed, generation))
        .map_err(|e| Error::Runtime(format!("cannot start the coherence thread: {e}")))
}

impl<S: ServiceStorage, A: Attachment> CacheService<S, A> {
    /// Makes `storage` the service's storage and returns the previous one.
    ///
    /// The cached entries stay (call `load_from_storage` to fill free capacity
    /// from the new storage). The previous storage's change feed, if any, is no
    /// longer applied; if `storage` has one, it starts listening before the swap
    /// and a new coherence thread applies it, as for a service built over it. On
    /// error the service keeps its storage.
    pub fn replace_storage(&self, mut storage: S) -> Result<S, Error> {
        let feed = change_feed(&mut storage).map_err(Error::OpenStorage)?;
        let mut state = self.shared.lock();
        // The instance stays: the hits served from copies go into it before the
        // copies are dropped below, or its recency and hit counts would miss them.
        self.shared.sync_reads(&mut state)?;
        let Some(current) = storage_of(&mut state) else {
            return Err(lost_storage());
        };
        let generation = self.shared.feed_generation.load(Ordering::Acquire) + 1;
        // Started under the lock, the thread applies nothing before the swap below.
        let thread = feed
            .map(|feed| spawn(&self.shared, feed, generation))
            .transpose()?;
        let previous = std::mem::replace(current, storage);
        // Copies of answers read from the previous storage are not carried over.
        state.reads.reset();
        self.shared
            .feed_generation
            .store(generation, Ordering::Release);
        drop(state);
        if let Some(thread) = thread {
            self.background.push(thread);
        }
        Ok(previous)
    }
}

/// The error of a service whose storage was lost to an earlier panic.
pub(super) fn lost_storage() -> Error {
    Error::Runtime("the storage was lost after an earlier panic".into())
}
