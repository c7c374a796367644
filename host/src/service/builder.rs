//! [`CacheServiceBuilder`]: where the component is, the sandbox limits, the namespace
//! policy, and the storage.

use super::Attachment;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::coherence;
use super::lifecycle::ChangeObserver;
use super::lifecycle::{Shared, State};
use super::{write_back, Background, CacheService, WriteBack};
use crate::limits::Limits;
use crate::runtime::{Runtime, RuntimeOptions};
use crate::storage::ServiceStorage;
use crate::{Error, Policy};

/// Builds a [`CacheService`]: where the component is, the sandbox limits, the
/// namespace policy, and the storage.
#[derive(Clone)]
pub struct CacheServiceBuilder {
    wasm_path: PathBuf,
    runtime: Option<Runtime>,
    runtime_options: RuntimeOptions,
    limits: Limits,
    policy: Policy,
    load_on_start: bool,
    read_path: bool,
    observer: Option<ChangeObserver>,
}

impl std::fmt::Debug for CacheServiceBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheServiceBuilder")
            .field("wasm_path", &self.wasm_path)
            .field("runtime", &self.runtime)
            .field("limits", &self.limits)
            .field("policy", &self.policy)
            .field("load_on_start", &self.load_on_start)
            .field("read_path", &self.read_path)
            .field("observer", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

impl CacheServiceBuilder {
    /// A builder for the component at `wasm_path`, with default limits, the seed's
    /// namespace table, and loading from storage at start.
    pub fn new(wasm_path: impl Into<PathBuf>) -> Self {
        Self {
            wasm_path: wasm_path.into(),
            runtime: None,
            runtime_options: RuntimeOptions::default(),
            limits: Limits::default(),
            policy: Policy::default(),
            load_on_start: true,
            read_path: true,
            observer: None,
        }
    }

    /// Whether hits are answered from the host's copies of earlier answers
    /// (default: on). Off, every read enters the component; for debugging,
    /// since the answers, counts and evictions are the same either way (see
    /// [`CacheService::set_read_path`]).
    pub fn read_path(mut self, on: bool) -> Self {
        self.read_path = on;
        self
    }

    /// Reuses an already loaded [`Runtime`] (engine + compiled component) instead of
    /// loading one; the builder's wasm path and runtime options are then ignored.
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// Engine options used when the builder loads the runtime itself.
    pub fn runtime_options(mut self, options: RuntimeOptions) -> Self {
        self.runtime_options = options;
        self
    }

    /// A fixed guest memory limit in bytes. Without one the limit follows the
    /// namespace table ([`crate::limits`]); a fixed limit that cannot hold the table
    /// makes the build (and a later `configure`) fail with [`Error::MemoryLimit`].
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.limits.memory_bytes = Some(bytes);
        self
    }

    /// The CPU bound of one call (wall-clock less storage waits, rounded up to epoch
    /// ticks).
    pub fn call_time_limit(mut self, limit: Duration) -> Self {
        self.limits.call_time = limit;
        self
    }

    /// Both limits at once.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The namespace table given to the component at every (re)start.
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// When pending on-shutdown changes are written back (default: the policy's,
    /// [`WriteBack::default`] unless its file says otherwise).
    pub fn write_back(mut self, write_back: WriteBack) -> Self {
        self.policy = self.policy.with_write_back(write_back);
        self
    }

    /// Reads the namespace table from a TOML file (see [`crate::policy`]).
    pub fn policy_file(self, path: impl AsRef<Path>) -> Result<Self, Error> {
        let policy = Policy::from_file(path)?;
        Ok(self.policy(policy))
    }

    /// Whether to run `load-from-storage` when the service starts (default `true`).
    /// Restarts after a trap always load.
    pub fn load_on_start(mut self, load: bool) -> Self {
        self.load_on_start = load;
        self
    }

    /// Calls `observer` after each change of another process is applied to this
    /// cache (see [`coherence`]), on the coherence thread and outside the service's
    /// lock: for metrics, logs and measurements. Only a shared storage has such
    /// changes. The service owns the observer, so it must not own a clone of the
    /// service (that would keep the service alive forever).
    pub fn on_remote_change(mut self, observer: ChangeObserver) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Builds the service over any [`Storage`](crate::Storage): loads the runtime (unless one was
    /// given), instantiates the component, configures the namespaces and (unless
    /// turned off) loads from storage.
    ///
    /// If the storage is shared and has a change feed ([`SharedStorage::change_feed`](crate::storage::SharedStorage::change_feed)),
    /// it starts listening before the load, and a coherence thread applies it.
    pub fn build<S: ServiceStorage>(self, storage: S) -> Result<CacheService<S>, Error> {
        self.build_with_attachments(storage)
    }

    /// [`build`](Self::build), for a host that keeps its own form of answers
    /// with the read path's copies ([`CacheService::attach`]).
    pub fn build_with_attachments<S: ServiceStorage, A: Attachment>(
        self,
        mut storage: S,
    ) -> Result<CacheService<S, A>, Error> {
        let runtime = match self.runtime {
            Some(rt) => rt,
            None => Runtime::load_with(&self.wasm_path, &self.runtime_options)?,
        };
        let pre = runtime.instance_pre::<S>()?;
        let shared = Shared {
            call_ticks: AtomicU64::new(runtime.ticks_for(self.limits.call_time)),
            runtime,
            pre,
            limits: self.limits,
            state: Mutex::new(State::new(
                self.policy.namespaces().to_vec(),
                self.policy.write_back(),
                self.read_path,
            )),
            wake: Condvar::new(),
            stopping: AtomicBool::new(false),
            feed_generation: AtomicU64::new(0),
            observer: self.observer,
        };
        // Before the load: no change committed after it is missed.
        let feed = super::coherence::change_feed(&mut storage).map_err(Error::OpenStorage)?;
        let started = match shared.start(storage, self.policy.namespaces(), self.load_on_start) {
            Ok(started) => started,
            Err((_, e)) => {
                // Nothing ran, so nothing is pending: the drop has nothing to persist.
                shared.lock().closed = true;
                return Err(e);
            }
        };
        shared.lock().set_live(started);
        let shared = Arc::new(shared);
        // If a thread cannot start, dropping `background` stops those already started.
        let background = Background {
            shared: Arc::clone(&shared),
            threads: Mutex::new(Vec::new()),
        };
        background.push(write_back::spawn(&shared)?);
        if let Some(feed) = feed {
            background.push(coherence::spawn(&shared, feed, 0)?);
        }
        Ok(CacheService {
            background: Arc::new(background),
            shared,
        })
    }
}
