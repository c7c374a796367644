//! [`CacheService`]: the embedding API.
//!
//! One component instance (the seed's singleton) lives behind a mutex; the service is
//! `Send + Sync` and a clone is one `Arc` increment. Every method is one call into the
//! guest under the lock, with the CPU bound armed.
//!
//! If the guest traps, the call returns [`Error::Trapped`], the instance is dropped and
//! a fresh one is started over the same storage: configured with the current namespace
//! table and loaded with `load-from-storage`. Acknowledged on-change writes are in
//! storage and survive; on-shutdown changes not yet persisted by the dead instance are
//! lost (as they would be in a crash).
//!
//! [`close`](CacheService::close) runs `persist-all`; dropping the last clone does too
//! (logging any failure, since `Drop` cannot return it).
//!
//! Over a storage several processes share (PostgreSQL opened through
//! [`CacheServiceBuilder::open`] with a `postgres://` URL), a coherence thread drops
//! this process's copy of every row, chat's settings and user's data another process
//! changes, and a write based on a stale copy (an on-shutdown write-back included)
//! is refused by storage and its row forgotten rather than written: see
//! [`coherence`].

mod builder;
mod by_name;
mod calls;
mod clock;
pub mod coherence;
mod entries;
mod hit_log;
mod lifecycle;
mod read_path;
mod reads;
mod write_back;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use builder::CacheServiceBuilder;
pub use lifecycle::{ChangeObserver, StartTiming};
pub use read_path::{Attachment, ReadPathStats, MAX_PENDING_HITS};
pub use write_back::WriteBack;

use crate::bindings::exports::gromozeka::cache::types::CacheError;
use crate::storage::{DefaultStorage, ServiceStorage};
use crate::{Error, LoadReport, NamespaceConfig, PersistReport, Runtime};
use lifecycle::{Shared, Slot};

/// The cache, embedded: typed methods for the component's `cache` and `bot`
/// interfaces over one sandboxed instance.
///
/// `Send + Sync`; clones share the same instance. JSON goes in as `&str` (or
/// `serde_json::Value` in the `_json` helpers) and comes out as `String`; failures are
/// [`Error`]s. Nothing in here panics on bad input.
pub struct CacheService<S: ServiceStorage = DefaultStorage, A: Attachment = ()> {
    // Declared first, so it is dropped first: the last handle's drop stops and joins
    // the background threads, then drops the last `Arc<Shared>` (whose drop persists),
    // on the dropping thread.
    background: Arc<Background<S, A>>,
    shared: Arc<Shared<S, A>>,
}

impl<S: ServiceStorage, A: Attachment> Clone for CacheService<S, A> {
    fn clone(&self) -> Self {
        Self {
            background: Arc::clone(&self.background),
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The service's background threads (the write-back timer, and the coherence
/// thread of a shared storage). Each holds an `Arc<Shared>` and returns when
/// [`Shared::stopping`] is set (the coherence thread within its poll interval).
struct Background<S: ServiceStorage, A: Attachment> {
    shared: Arc<Shared<S, A>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl<S: ServiceStorage, A: Attachment> Background<S, A> {
    /// Adds a started thread, joined when the service stops. Threads that already
    /// returned (the coherence threads of replaced storages) are joined now, so
    /// replacing the storage again and again holds no handles.
    fn push(&self, thread: JoinHandle<()>) {
        let mut threads = self.threads.lock().unwrap_or_else(|e| e.into_inner());
        let (done, running): (Vec<_>, Vec<_>) =
            threads.drain(..).partition(JoinHandle::is_finished);
        *threads = running;
        threads.push(thread);
        drop(threads);
        done.into_iter().for_each(join_logged);
    }
}

/// Joins a background thread, logging if it panicked.
fn join_logged(thread: JoinHandle<()>) {
    if thread.join().is_err() {
        tracing::error!("a cache background thread panicked");
    }
}

impl<S: ServiceStorage, A: Attachment> Drop for Background<S, A> {
    fn drop(&mut self) {
        self.shared.stopping.store(true, Ordering::Release);
        {
            // Notified under the lock: a thread either sees `stopping` before it
            // waits, or is waiting and wakes.
            let _state = self.shared.lock();
            self.shared.wake.notify_all();
        }
        let threads = self.threads.get_mut().unwrap_or_else(|e| e.into_inner());
        threads.drain(..).for_each(join_logged);
    }
}

impl<S: ServiceStorage, A: Attachment> std::fmt::Debug for CacheService<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheService")
            .field("runtime", &self.shared.runtime)
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

fn flatten<T>(r: Result<Result<T, CacheError>, Error>) -> Result<T, Error> {
    r?.map_err(Error::from)
}

impl<S: ServiceStorage, A: Attachment> CacheService<S, A> {
    /// Runs `persist-all` and stops the instance; later calls return
    /// [`Error::Closed`]. Calling it again is a no-op returning an empty report. On
    /// error nothing is closed and the pending changes stay pending (retry it).
    pub fn close(&self) -> Result<PersistReport, Error> {
        let mut state = self.shared.lock();
        self.shared.close(&mut state)
    }

    /// Changes when pending on-shutdown changes are written back (see [`WriteBack`]).
    pub fn set_write_back(&self, write_back: WriteBack) {
        let mut state = self.shared.lock();
        state.write_back = write_back;
        self.shared.wake.notify_all();
    }

    /// The write-back schedule in force.
    pub fn write_back(&self) -> WriteBack {
        self.shared.lock().write_back
    }

    /// How many scheduled write-backs failed since the service started (each was
    /// logged, and its changes stayed pending).
    pub fn write_back_failures(&self) -> u64 {
        self.shared.lock().write_back_failures
    }

    /// How many changes of other processes (and reconnects of the change feed) this
    /// service applied; always 0 over a storage only this process writes.
    pub fn remote_changes(&self) -> u64 {
        self.shared.lock().remote_changes
    }

    /// How many pending changes this service dropped because another process
    /// committed (wrote, deleted or cleared) the row after this process read it:
    /// the committed row wins (see `forget` in `wit/cache.wit`). Each is logged at
    /// warn level; always 0 over a storage only this process writes.
    pub fn dropped_changes(&self) -> u64 {
        self.shared.lock().dropped_changes
    }

    /// Whether [`close`](Self::close) succeeded.
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed
    }

    /// Changes the CPU bound of later calls (e.g. lower it around untrusted input).
    pub fn set_call_time_limit(&self, limit: Duration) {
        let ticks = self.shared.runtime.ticks_for(limit);
        self.shared.call_ticks.store(ticks, Ordering::Relaxed);
    }

    /// How many times the instance was replaced after a trap.
    pub fn restarts(&self) -> u64 {
        self.shared.lock().restarts
    }

    /// The report of `load-from-storage` at the last (re)start, if it loaded.
    pub fn last_start_report(&self) -> Option<LoadReport> {
        self.shared.lock().last_start.clone()
    }

    /// How long the phases of the last (re)start took.
    pub fn last_start_timing(&self) -> Option<StartTiming> {
        self.shared.lock().last_start_timing
    }

    /// Bytes of linear memory the current guest instance holds (0 if none is running).
    pub fn guest_memory_bytes(&self) -> usize {
        match &self.shared.lock().slot {
            Slot::Live(inst) => inst.store.data().limits.memory,
            _ => 0,
        }
    }

    /// The namespace table in force.
    pub fn namespaces(&self) -> Vec<NamespaceConfig> {
        self.shared.lock().namespaces.clone()
    }

    /// The runtime (engine and compiled component) this service runs on.
    pub fn runtime(&self) -> &Runtime {
        &self.shared.runtime
    }

    /// Runs `f` on the storage, under the service's lock (no guest call runs
    /// meanwhile). For inspection and maintenance; changes made here bypass the cache.
    pub fn with_storage<R>(&self, f: impl FnOnce(&mut S) -> R) -> Result<R, Error> {
        let mut state = self.shared.lock();
        match &mut state.slot {
            Slot::Live(inst) => Ok(f(&mut inst.store.data_mut().storage)),
            Slot::Down(storage) => Ok(f(storage)),
            Slot::Empty => Err(coherence::lost_storage()),
        }
    }
}
