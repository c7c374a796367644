//! The one instance behind the service's mutex: starting it (configure, load),
//! calling it with the CPU bound armed, replacing it after a trap, closing it.

use super::Attachment;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::read_path::ReadPath;
use super::WriteBack;
use crate::bindings::BotServicePre;
use crate::limits::Limits;
use crate::runtime::Exports as Bindings;
use crate::runtime::{HostState, Instance, Runtime};
use crate::storage::FeedEvent;
use crate::storage::ServiceStorage;
use crate::{Error, LoadReport, NamespaceConfig, PersistReport, SkippedRow};

/// Called after each change of another process is applied (for metrics, logs, and
/// the coherence tools' measurements); runs on the coherence thread, outside the
/// service's lock, so it may call the service.
pub type ChangeObserver = Arc<dyn Fn(&FeedEvent) + Send + Sync>;

pub(super) struct Shared<S: ServiceStorage, A: Attachment> {
    pub(super) runtime: Runtime,
    pub(super) pre: BotServicePre<HostState<S>>,
    pub(super) limits: Limits,
    pub(super) call_ticks: AtomicU64,
    pub(super) state: Mutex<State<S, A>>,
    /// Wakes the service's background threads: a write-back deadline appeared or
    /// changed, or the service is stopping.
    pub(super) wake: Condvar,
    /// Set when the last handle is dropped: background threads return.
    pub(super) stopping: AtomicBool,
    /// Which storage's change feed is current: bumped, under the state lock, each
    /// time the storage is replaced. A coherence thread of an older feed applies
    /// nothing more and returns.
    pub(super) feed_generation: AtomicU64,
    /// Told of each change of another process once it is applied.
    pub(super) observer: Option<ChangeObserver>,
}

pub(super) struct State<S: ServiceStorage, A: Attachment> {
    pub(super) slot: Slot<S>,
    /// The namespace table of the last successful `configure` (or the policy).
    pub(super) namespaces: Vec<NamespaceConfig>,
    pub(super) closed: bool,
    pub(super) restarts: u64,
    pub(super) last_start: Option<LoadReport>,
    pub(super) last_start_timing: Option<StartTiming>,
    /// When pending on-shutdown changes are written back before close.
    pub(super) write_back: WriteBack,
    /// Changes that may have become pending since the last `persist-all` (an upper
    /// bound of the component's dirty count; exact after each count check).
    pub(super) unpersisted: u64,
    /// When the first of those changes was made.
    pub(super) dirty_since: Option<Instant>,
    /// Scheduled write-backs that failed (each logged).
    pub(super) write_back_failures: u64,
    /// Changes of other processes applied (and reconnects of the change feed).
    pub(super) remote_changes: u64,
    /// Pending changes dropped because another process committed the row first.
    pub(super) dropped_changes: u64,
    /// The live instance's clock and expiry settings (see `clock.rs`).
    pub(super) clock: super::clock::Clock,
    /// Copies of answers served without entering the instance (see `read_path.rs`).
    pub(super) reads: ReadPath<A>,
}

impl<S: ServiceStorage, A: Attachment> State<S, A> {
    pub(super) fn new(
        namespaces: Vec<NamespaceConfig>,
        write_back: WriteBack,
        read_path: bool,
    ) -> Self {
        Self {
            slot: Slot::Empty,
            namespaces,
            closed: false,
            restarts: 0,
            last_start: None,
            last_start_timing: None,
            write_back,
            unpersisted: 0,
            dirty_since: None,
            write_back_failures: 0,
            remote_changes: 0,
            dropped_changes: 0,
            clock: super::clock::Clock::default(),
            reads: ReadPath::new(read_path),
        }
    }

    /// Nothing is pending any more: after a `persist-all`, or a restart that dropped
    /// what the dead instance held.
    pub(super) fn mark_persisted(&mut self) {
        self.unpersisted = 0;
        self.dirty_since = None;
    }

    pub(super) fn set_live(&mut self, started: Started<S>) {
        self.clock.new_instance();
        self.reads.reset();
        self.slot = Slot::Live(started.inst);
        self.last_start = started.report;
        self.last_start_timing = Some(started.timing);
    }
}

/// How long the phases of the last (re)start of the instance took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTiming {
    /// Creating the store and instantiating the compiled component.
    pub instantiate: Duration,
    /// The `configure` call with the namespace table.
    pub configure: Duration,
    /// The `load-from-storage` call (zero if it did not load).
    pub load: Duration,
}

pub(super) struct Started<S: ServiceStorage> {
    inst: Instance<S>,
    report: Option<LoadReport>,
    timing: StartTiming,
}

// One slot per service: its size does not matter, and boxing the instance would add
// an indirection to every call.
#[allow(clippy::large_enum_variant)]
pub(super) enum Slot<S: ServiceStorage> {
    /// A running instance.
    Live(Instance<S>),
    /// No instance (it trapped and the restart failed, or the service is closed);
    /// the storage waits here.
    Down(S),
    /// Only while moving between the two states above.
    Empty,
}

impl<S: ServiceStorage, A: Attachment> Shared<S, A> {
    pub(super) fn lock(&self) -> MutexGuard<'_, State<S, A>> {
        // A panic while holding the lock leaves the state consistent enough: the slot
        // is re-checked on every call.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn ticks(&self) -> u64 {
        self.call_ticks.load(Ordering::Relaxed)
    }

    /// Instantiates over `storage`, configures `namespaces`, optionally loads.
    #[allow(clippy::type_complexity)]
    pub(super) fn start(
        &self,
        storage: S,
        namespaces: &[NamespaceConfig],
        load: bool,
    ) -> Result<Started<S>, (S, Error)> {
        let t0 = Instant::now();
        let limits = match self.limits.for_table(namespaces) {
            Ok(limits) => limits,
            Err(e) => return Err((storage, e)),
        };
        let mut inst = self.runtime.instantiate(&self.pre, storage, &limits)?;
        let mut timing = StartTiming {
            instantiate: t0.elapsed(),
            configure: Duration::ZERO,
            load: Duration::ZERO,
        };
        let t1 = Instant::now();
        crate::runtime::arm(&mut inst.store, self.ticks());
        let configured = inst
            .bindings
            .gromozeka_cache_cache()
            .call_configure(&mut inst.store, &crate::mirror::table(namespaces));
        match configured {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err((inst.into_storage(), Error::from(e))),
            Err(e) => return Err((inst.into_storage(), trapped(&e, false))),
        }
        timing.configure = t1.elapsed();
        if !load {
            return Ok(Started {
                inst,
                report: None,
                timing,
            });
        }
        let t2 = Instant::now();
        crate::runtime::arm(&mut inst.store, self.ticks());
        let loaded = inst
            .bindings
            .gromozeka_cache_cache()
            .call_load_from_storage(&mut inst.store);
        match loaded {
            Ok(Ok(report)) => {
                let mut report = LoadReport::from(report);
                report_unknown_namespaces(
                    &mut inst.store.data_mut().storage,
                    namespaces,
                    &mut report,
                );
                for row in &report.skipped {
                    tracing::warn!(namespace = ?row.namespace, key = ?row.key, reason = ?row.reason, "stored row skipped at load");
                }
                timing.load = t2.elapsed();
                tracing::debug!(
                    loaded = report.loaded,
                    skipped = report.skipped.len(),
                    ?timing,
                    "cache instance started"
                );
                Ok(Started {
                    inst,
                    report: Some(report),
                    timing,
                })
            }
            Ok(Err(e)) => Err((inst.into_storage(), Error::from(e))),
            Err(e) => Err((inst.into_storage(), trapped(&e, false))),
        }
    }

    /// Makes sure a live instance is in the slot, restarting one if needed.
    pub(super) fn ensure_live(&self, state: &mut State<S, A>) -> Result<(), Error> {
        if state.closed {
            return Err(Error::Closed);
        }
        if matches!(state.slot, Slot::Live(_)) {
            return Ok(());
        }
        match std::mem::replace(&mut state.slot, Slot::Empty) {
            Slot::Down(storage) => match self.start(storage, &state.namespaces, true) {
                Ok(started) => {
                    state.set_live(started);
                    tracing::info!("cache component restarted");
                    Ok(())
                }
                Err((storage, e)) => {
                    state.slot = Slot::Down(storage);
                    Err(e)
                }
            },
            other => {
                state.slot = other;
                Err(Error::Runtime(
                    "the storage was lost after an earlier panic; open the service again".into(),
                ))
            }
        }
    }

    /// Runs `f` on the live instance with the CPU bound armed; on a trap, replaces the
    /// instance.
    pub(super) fn call_locked<R>(
        &self,
        state: &mut State<S, A>,
        f: impl FnOnce(&Bindings, &mut Store<HostState<S>>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        self.ensure_live(state)?;
        if state.reads.has_pending_hits() {
            self.sync_reads(state)?;
        }
        let Slot::Live(inst) = &mut state.slot else {
            return Err(Error::Runtime("no live instance".into()));
        };
        if let Err(e) = state.clock.sync(inst, self.ticks()) {
            return Err(self.recover(state, &e));
        }
        let Slot::Live(inst) = &mut state.slot else {
            return Err(Error::Runtime("no live instance".into()));
        };
        crate::runtime::arm(&mut inst.store, self.ticks());
        let r = f(&inst.bindings, &mut inst.store);
        state.reads.entered();
        match r {
            Ok(r) => Ok(r),
            Err(e) => Err(self.recover(state, &e)),
        }
    }

    pub(super) fn call<R>(
        &self,
        f: impl FnOnce(&Bindings, &mut Store<HostState<S>>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let mut state = self.lock();
        self.call_locked(&mut state, f)
    }

    /// Drops the trapped instance and starts a fresh one from storage.
    pub(super) fn recover(&self, state: &mut State<S, A>, e: &wasmtime::Error) -> Error {
        let reason = trap_reason(e);
        tracing::error!(%reason, detail = %format!("{e:?}"), "the cache component trapped; restarting it from storage");
        state.restarts += 1;
        state.reads.reset();
        state.mark_persisted();
        let storage = match std::mem::replace(&mut state.slot, Slot::Empty) {
            Slot::Live(inst) => inst.into_storage(),
            Slot::Down(storage) => storage,
            Slot::Empty => {
                return Error::Trapped {
                    reason,
                    restarted: false,
                }
            }
        };
        match self.start(storage, &state.namespaces, true) {
            Ok(started) => {
                state.set_live(started);
                Error::Trapped {
                    reason,
                    restarted: true,
                }
            }
            Err((storage, err)) => {
                tracing::error!(error = %err, "restarting the cache component failed; will retry on the next call");
                state.slot = Slot::Down(storage);
                Error::Trapped {
                    reason,
                    restarted: false,
                }
            }
        }
    }

    /// `persist-all` (with the conflict handling of [`super::coherence`]) then stop
    /// the instance, keeping the storage.
    pub(super) fn close(&self, state: &mut State<S, A>) -> Result<PersistReport, Error> {
        if state.closed {
            return Ok(PersistReport {
                written: 0,
                deleted: 0,
            });
        }
        let report = self.persist_locked(state)?;
        state.closed = true;
        state.reads.reset();
        if let Slot::Live(inst) = std::mem::replace(&mut state.slot, Slot::Empty) {
            state.slot = Slot::Down(inst.into_storage());
        }
        tracing::info!(
            written = report.written,
            deleted = report.deleted,
            "cache closed"
        );
        Ok(report)
    }
}

impl<S: ServiceStorage, A: Attachment> Drop for Shared<S, A> {
    fn drop(&mut self) {
        let mut state = std::mem::replace(
            self.state.get_mut().unwrap_or_else(|e| e.into_inner()),
            State::new(Vec::new(), WriteBack::NEVER, false),
        );
        if state.closed {
            return;
        }
        if let Err(e) = self.close(&mut state) {
            tracing::error!(error = %e, "persist-all at drop failed; on-shutdown changes were lost");
        }
    }
}

/// Adds to `report` one skipped entry per stored namespace that `namespaces` does not
/// define (the component never reads those rows). A failure to list them is logged,
/// not returned: it must not stop the cache from starting.
pub(super) fn report_unknown_namespaces<S: ServiceStorage>(
    storage: &mut S,
    namespaces: &[NamespaceConfig],
    report: &mut LoadReport,
) {
    match storage.stored_namespaces() {
        Ok(stored) => {
            for usage in stored {
                let (name, rows) = (usage.namespace, usage.rows);
                if !namespaces.iter().any(|n| n.name == name) {
                    report.skipped.push(SkippedRow {
                        reason: format!(
                            "namespace {name:?} is not configured: its {rows} stored row(s) were not loaded \
                             (left in storage); add it to the namespace policy or delete them"
                        ),
                        namespace: name,
                        key: String::new(),
                    });
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot list the stored namespaces"),
    }
}

fn trap_reason(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(trap) => format!("wasm trap: {trap}"),
        None => e.to_string(),
    }
}

fn trapped(e: &wasmtime::Error, restarted: bool) -> Error {
    Error::Trapped {
        reason: trap_reason(e),
        restarted,
    }
}
