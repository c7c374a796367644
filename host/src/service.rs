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

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use wasmtime::Store;

use crate::bindings::{BotService as Bindings, BotServicePre};
use crate::imports::ServiceStorage;
use crate::runtime::{HostState, Instance, Limits, Runtime, RuntimeOptions};
use crate::storage::sqlite::{SqliteOptions, SqliteStorage};
use crate::{
    CacheError, Error, LoadReport, NamespaceConfig, NamespaceStats, PersistReport, Policy,
    SettingsMode, SkippedRow,
};

/// Builds a [`CacheService`]: where the component is, the sandbox limits, the
/// namespace policy, and the storage.
#[derive(Debug, Clone)]
pub struct CacheServiceBuilder {
    wasm_path: PathBuf,
    runtime: Option<Runtime>,
    runtime_options: RuntimeOptions,
    limits: Limits,
    policy: Policy,
    load_on_start: bool,
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
        }
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

    /// The guest's memory limit in bytes.
    pub fn memory_limit(mut self, bytes: usize) -> Self {
        self.limits.memory_bytes = bytes;
        self
    }

    /// The CPU bound of one call (wall-clock, rounded up to epoch ticks).
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

    /// Opens (or creates) the SQLite file at `db_path` with default options and
    /// builds the service over it.
    pub fn open_sqlite(self, db_path: impl AsRef<Path>) -> Result<CacheService, Error> {
        self.open_sqlite_with(db_path, &SqliteOptions::default())
    }

    /// Opens the SQLite file at `db_path` with `options` and builds the service over it.
    pub fn open_sqlite_with(
        self,
        db_path: impl AsRef<Path>,
        options: &SqliteOptions,
    ) -> Result<CacheService, Error> {
        let storage = SqliteStorage::open_with(db_path, options)?;
        self.build(storage)
    }

    /// Opens the database named by `db` and builds the service over it: a
    /// `postgres://` or `postgresql://` URL connects to PostgreSQL (default
    /// options; see [`PostgresStorage`](crate::storage::postgres::PostgresStorage)),
    /// anything else is the path of a SQLite file (created if missing).
    pub fn open(self, db: &str) -> Result<CacheService<Box<dyn ServiceStorage>>, Error> {
        let storage: Box<dyn ServiceStorage> = if crate::storage::postgres::is_url(db) {
            Box::new(crate::storage::postgres::PostgresStorage::open(db)?)
        } else {
            Box::new(SqliteStorage::open(db)?)
        };
        self.build(storage)
    }

    /// Builds the service over any [`Storage`]: loads the runtime (unless one was
    /// given), instantiates the component, configures the namespaces and (unless
    /// turned off) loads from storage.
    pub fn build<S: ServiceStorage>(self, storage: S) -> Result<CacheService<S>, Error> {
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
            state: Mutex::new(State {
                slot: Slot::Empty,
                namespaces: self.policy.namespaces().to_vec(),
                closed: false,
                restarts: 0,
                last_start: None,
                last_start_timing: None,
            }),
        };
        let started = match shared.start(storage, self.policy.namespaces(), self.load_on_start) {
            Ok(started) => started,
            Err((_, e)) => {
                // Nothing ran, so nothing is pending: the drop has nothing to persist.
                shared.lock().closed = true;
                return Err(e);
            }
        };
        shared.lock().set_live(started);
        Ok(CacheService {
            shared: Arc::new(shared),
        })
    }
}

/// The cache, embedded: typed methods for the component's `cache` and `bot`
/// interfaces over one sandboxed instance.
///
/// `Send + Sync`; clones share the same instance. JSON goes in as `&str` (or
/// `serde_json::Value` in the `_json` helpers) and comes out as `String`; failures are
/// [`Error`]s. Nothing in here panics on bad input.
pub struct CacheService<S: ServiceStorage = SqliteStorage> {
    shared: Arc<Shared<S>>,
}

impl<S: ServiceStorage> Clone for CacheService<S> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<S: ServiceStorage> std::fmt::Debug for CacheService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CacheService")
            .field("runtime", &self.shared.runtime)
            .field("limits", &self.shared.limits)
            .finish_non_exhaustive()
    }
}

struct Shared<S: ServiceStorage> {
    runtime: Runtime,
    pre: BotServicePre<HostState<S>>,
    limits: Limits,
    call_ticks: AtomicU64,
    state: Mutex<State<S>>,
}

struct State<S: ServiceStorage> {
    slot: Slot<S>,
    /// The namespace table of the last successful `configure` (or the policy).
    namespaces: Vec<NamespaceConfig>,
    closed: bool,
    restarts: u64,
    last_start: Option<LoadReport>,
    last_start_timing: Option<StartTiming>,
}

impl<S: ServiceStorage> State<S> {
    fn set_live(&mut self, started: Started<S>) {
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

struct Started<S: ServiceStorage> {
    inst: Instance<S>,
    report: Option<LoadReport>,
    timing: StartTiming,
}

// One slot per service: its size does not matter, and boxing the instance would add
// an indirection to every call.
#[allow(clippy::large_enum_variant)]
enum Slot<S: ServiceStorage> {
    /// A running instance.
    Live(Instance<S>),
    /// No instance (it trapped and the restart failed, or the service is closed);
    /// the storage waits here.
    Down(S),
    /// Only while moving between the two states above.
    Empty,
}

impl<S: ServiceStorage> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, State<S>> {
        // A panic while holding the lock leaves the state consistent enough: the slot
        // is re-checked on every call.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ticks(&self) -> u64 {
        self.call_ticks.load(Ordering::Relaxed)
    }

    /// Instantiates over `storage`, configures `namespaces`, optionally loads.
    #[allow(clippy::type_complexity)]
    fn start(
        &self,
        storage: S,
        namespaces: &[NamespaceConfig],
        load: bool,
    ) -> Result<Started<S>, (S, Error)> {
        let t0 = Instant::now();
        let mut inst = self.runtime.instantiate(&self.pre, storage, &self.limits)?;
        let mut timing = StartTiming {
            instantiate: t0.elapsed(),
            configure: Duration::ZERO,
            load: Duration::ZERO,
        };
        let t1 = Instant::now();
        inst.store.set_epoch_deadline(self.ticks());
        let configured = inst
            .bindings
            .gromozeka_cache_cache()
            .call_configure(&mut inst.store, namespaces);
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
        inst.store.set_epoch_deadline(self.ticks());
        let loaded = inst
            .bindings
            .gromozeka_cache_cache()
            .call_load_from_storage(&mut inst.store);
        match loaded {
            Ok(Ok(mut report)) => {
                report_unknown_namespaces(
                    &mut inst.store.data_mut().storage,
                    namespaces,
                    &mut report,
                );
                for row in &report.skipped {
                    tracing::warn!(namespace = %row.namespace, key = %row.key, reason = %row.reason, "stored row skipped at load");
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
    fn ensure_live(&self, state: &mut State<S>) -> Result<(), Error> {
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
    fn call_locked<R>(
        &self,
        state: &mut State<S>,
        f: impl FnOnce(&Bindings, &mut Store<HostState<S>>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        self.ensure_live(state)?;
        let Slot::Live(inst) = &mut state.slot else {
            return Err(Error::Runtime("no live instance".into()));
        };
        inst.store.set_epoch_deadline(self.ticks());
        match f(&inst.bindings, &mut inst.store) {
            Ok(r) => Ok(r),
            Err(e) => Err(self.recover(state, &e)),
        }
    }

    fn call<R>(
        &self,
        f: impl FnOnce(&Bindings, &mut Store<HostState<S>>) -> wasmtime::Result<R>,
    ) -> Result<R, Error> {
        let mut state = self.lock();
        self.call_locked(&mut state, f)
    }

    /// Drops the trapped instance and starts a fresh one from storage.
    fn recover(&self, state: &mut State<S>, e: &wasmtime::Error) -> Error {
        let reason = trap_reason(e);
        tracing::error!(%reason, detail = %format!("{e:?}"), "the cache component trapped; restarting it from storage");
        state.restarts += 1;
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

    /// `persist-all` then stop the instance, keeping the storage.
    fn close(&self, state: &mut State<S>) -> Result<PersistReport, Error> {
        if state.closed {
            return Ok(PersistReport {
                written: 0,
                deleted: 0,
            });
        }
        let report = self
            .call_locked(state, |b, s| b.gromozeka_cache_cache().call_persist_all(s))?
            .map_err(Error::from)?;
        state.closed = true;
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

impl<S: ServiceStorage> Drop for Shared<S> {
    fn drop(&mut self) {
        let mut state = std::mem::replace(
            self.state.get_mut().unwrap_or_else(|e| e.into_inner()),
            State {
                slot: Slot::Empty,
                namespaces: Vec::new(),
                closed: true,
                restarts: 0,
                last_start: None,
                last_start_timing: None,
            },
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
fn report_unknown_namespaces<S: ServiceStorage>(
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

fn flatten<T>(r: Result<Result<T, CacheError>, Error>) -> Result<T, Error> {
    r?.map_err(Error::from)
}

impl CacheService<SqliteStorage> {
    /// A builder for a service running the component at `wasm_path`.
    pub fn builder(wasm_path: impl Into<PathBuf>) -> CacheServiceBuilder {
        CacheServiceBuilder::new(wasm_path)
    }

    /// Opens the SQLite file `db_path` with every default: the seed's namespace
    /// table, default limits.
    pub fn open(wasm_path: impl Into<PathBuf>, db_path: impl AsRef<Path>) -> Result<Self, Error> {
        CacheServiceBuilder::new(wasm_path).open_sqlite(db_path)
    }
}

impl<S: ServiceStorage> CacheService<S> {
    // ----- the `cache` interface -----

    /// Replaces the namespace table (see `configure` in `wit/cache.wit`); the new
    /// table is also used by every later restart.
    pub fn configure(&self, namespaces: &[NamespaceConfig]) -> Result<(), Error> {
        let mut state = self.shared.lock();
        let r = self.shared.call_locked(&mut state, |b, s| {
            b.gromozeka_cache_cache().call_configure(s, namespaces)
        });
        flatten(r)?;
        state.namespaces = namespaces.to_vec();
        Ok(())
    }

    /// The JSON value of `key`, reading through to storage in persisted namespaces.
    pub fn get(&self, namespace: &str, key: &str) -> Result<Option<String>, Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_cache().call_get(s, namespace, key)),
        )
    }

    /// Stores `value` (JSON text) under `key`; on-change namespaces are written to
    /// storage before this returns.
    pub fn set(&self, namespace: &str, key: &str, value: &str) -> Result<(), Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_cache().call_set(s, namespace, key, value)),
        )
    }

    /// Removes `key`; `true` if it was held in memory.
    pub fn delete(&self, namespace: &str, key: &str) -> Result<bool, Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_cache().call_delete(s, namespace, key)),
        )
    }

    /// [`get`](Self::get) of each key, in the order of `keys`, in one guest call.
    pub fn get_many(&self, namespace: &str, keys: &[String]) -> Result<Vec<Option<String>>, Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_cache().call_get_many(s, namespace, keys)),
        )
    }

    /// [`set`](Self::set) of each (key, JSON) entry, all or nothing, in one guest call.
    pub fn set_many(&self, namespace: &str, entries: &[(String, String)]) -> Result<(), Error> {
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_cache()
                .call_set_many(s, namespace, entries)
        }))
    }

    /// Removes every entry of the namespace (in storage too, as its policy says).
    pub fn clear_namespace(&self, namespace: &str) -> Result<(), Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_cache().call_clear_namespace(s, namespace)),
        )
    }

    /// Loads the newest stored rows into free capacity (the component's
    /// `load-from-storage`). The report lists the rows the component skipped (not
    /// JSON, empty, `null`) and, from the host, one entry per stored namespace that the
    /// namespace table does not cover (its rows are left in storage, untouched).
    pub fn load_from_storage(&self) -> Result<LoadReport, Error> {
        let mut state = self.shared.lock();
        let mut report = flatten(self.shared.call_locked(&mut state, |b, s| {
            b.gromozeka_cache_cache().call_load_from_storage(s)
        }))?;
        let state = &mut *state;
        if let Slot::Live(inst) = &mut state.slot {
            report_unknown_namespaces(
                &mut inst.store.data_mut().storage,
                &state.namespaces,
                &mut report,
            );
        }
        Ok(report)
    }

    /// Writes every pending on-shutdown change in one storage batch.
    pub fn persist_all(&self) -> Result<PersistReport, Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_cache().call_persist_all(s)),
        )
    }

    /// One record per namespace, in configuration order.
    pub fn stats(&self) -> Result<Vec<NamespaceStats>, Error> {
        self.shared
            .call(|b, s| b.gromozeka_cache_cache().call_stats(s))
    }

    /// Drops the cached entry of `key` and its pending change without writing,
    /// because another process changed the stored row (see `forget` in
    /// `wit/cache.wit`). `true` if something was held.
    pub fn forget(&self, namespace: &str, key: &str) -> Result<bool, Error> {
        self.shared
            .call(|b, s| b.gromozeka_cache_cache().call_forget(s, namespace, key))
    }

    /// [`forget`](Self::forget) of a whole namespace; returns the entries dropped.
    pub fn forget_namespace(&self, namespace: &str) -> Result<u32, Error> {
        self.shared.call(|b, s| {
            b.gromozeka_cache_cache()
                .call_forget_namespace(s, namespace)
        })
    }

    /// Drops every clean entry of the persisted namespaces (after missing other
    /// processes' changes); returns the entries dropped.
    pub fn forget_all(&self) -> Result<u32, Error> {
        self.shared
            .call(|b, s| b.gromozeka_cache_cache().call_forget_all(s))
    }

    /// [`get`](Self::get), parsed as JSON.
    pub fn get_json(&self, namespace: &str, key: &str) -> Result<Option<serde_json::Value>, Error> {
        match self.get(namespace, key)? {
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::InvalidJson(format!("value of {namespace:?}/{key:?}: {e}"))),
            None => Ok(None),
        }
    }

    /// [`set`](Self::set) of a `serde_json::Value`.
    pub fn set_json(
        &self,
        namespace: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), Error> {
        self.set(namespace, key, &value.to_string())
    }

    // ----- the `bot` interface -----

    /// The chat's settings as a JSON object (loaded from storage if not cached).
    pub fn get_chat_settings(&self, chat_id: i64) -> Result<String, Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_bot().call_get_chat_settings(s, chat_id)),
        )
    }

    /// Changes the chat's settings (a JSON object of strings), merged with the
    /// stored ones or rewriting them; written to the settings table in one
    /// transaction before the cached copy changes.
    pub fn set_chat_settings(
        &self,
        chat_id: i64,
        settings: &str,
        mode: SettingsMode,
    ) -> Result<(), Error> {
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_set_chat_settings(s, chat_id, settings, mode)
        }))
    }

    /// Deletes one setting of the chat, in storage and in the cached copy.
    pub fn unset_chat_setting(&self, chat_id: i64, key: &str) -> Result<(), Error> {
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_unset_chat_setting(s, chat_id, key)
        }))
    }

    /// Drops the cached copy of the chat's settings without writing.
    pub fn forget_chat_settings(&self, chat_id: i64) -> Result<bool, Error> {
        self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_forget_chat_settings(s, chat_id)
        })
    }

    /// Drops the cached copy of a user's data in a chat without writing.
    pub fn forget_user_data(&self, chat_id: i64, user_id: i64) -> Result<bool, Error> {
        self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_forget_user_data(s, chat_id, user_id)
        })
    }

    /// The chat's info object, if one was set.
    pub fn get_chat_info(&self, chat_id: i64) -> Result<Option<String>, Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_bot().call_get_chat_info(s, chat_id)),
        )
    }

    /// Replaces the chat's info (a JSON object).
    pub fn set_chat_info(&self, chat_id: i64, info: &str) -> Result<(), Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_bot().call_set_chat_info(s, chat_id, info)),
        )
    }

    /// The user's data in the chat, as a JSON object.
    pub fn get_user_data(&self, chat_id: i64, user_id: i64) -> Result<String, Error> {
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_get_user_data(s, chat_id, user_id)
        }))
    }

    /// Sets one data item (JSON) of the user in the chat; written to storage first.
    pub fn set_user_data(
        &self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), Error> {
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_set_user_data(s, chat_id, user_id, key, value)
        }))
    }

    /// One item of the user's state, if set.
    pub fn get_user_state(&self, user_id: i64, state_key: &str) -> Result<Option<String>, Error> {
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_get_user_state(s, user_id, state_key)
        }))
    }

    /// Sets one item (JSON) of the user's state.
    pub fn set_user_state(&self, user_id: i64, state_key: &str, value: &str) -> Result<(), Error> {
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_set_user_state(s, user_id, state_key, value)
        }))
    }

    /// Removes one item of the user's state, or with `None` all of it.
    pub fn clear_user_state(&self, user_id: i64, state_key: Option<&str>) -> Result<(), Error> {
        flatten(self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_clear_user_state(s, user_id, state_key)
        }))
    }

    // ----- host operations -----

    /// Runs `persist-all` and stops the instance; later calls return
    /// [`Error::Closed`]. Calling it again is a no-op returning an empty report. On
    /// error nothing is closed and the pending changes stay pending (retry it).
    pub fn close(&self) -> Result<PersistReport, Error> {
        let mut state = self.shared.lock();
        self.shared.close(&mut state)
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
            Slot::Empty => Err(Error::Runtime(
                "the storage was lost after an earlier panic".into(),
            )),
        }
    }
}
