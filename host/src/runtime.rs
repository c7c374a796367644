//! [`Runtime`]: the wasmtime engine, the compiled component, and the sandbox each
//! instance runs in.
//!
//! - **One engine, one compiled component**, shared by every service built on the same
//!   [`Runtime`] (it is a cheap `Clone`).
//! - **Precompiled artifact cache** ([`crate::artifact`]): the compiled component is
//!   saved in a private per-user directory under a key of the component bytes and the
//!   engine, with a checksum; a restart deserializes it only if every check passes,
//!   and recompiles and replaces it otherwise.
//! - **Sandbox**: the linker provides the storage interfaces and nothing else; every
//!   store has a memory limit ([`Limits::memory_bytes`], following the namespace table) and every call a CPU bound
//!   ([`Limits::call_time`]) enforced by epoch interruption, with one background
//!   thread advancing the epoch every [`RuntimeOptions::epoch_tick`]. The bound counts
//!   the guest's own time only: time spent waiting in the host's storage calls is
//!   given back ([`CallBound`]), so a slow or stalled database is the storage's
//!   error to report (its own time limits), never a trap that restarts the instance.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, OptLevel, ResourceLimiter, Store, UpdateDeadline};

pub use crate::artifact::ArtifactSource;
use crate::bindings::{BotService, BotServicePre};
use crate::contract::Contract;
use crate::limits::Limits;
use crate::storage::ServiceStorage;
use crate::Error;

/// Engine-wide settings of a [`Runtime`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeOptions {
    /// How often the background thread advances the epoch: the granularity of the CPU
    /// bound per call. Default 10 ms.
    pub epoch_tick: Duration,
    /// The private directory where compiled components are saved and reused (see
    /// [`crate::artifact`] for the checks an artifact must pass); `None` turns the
    /// cache off (every start compiles). Default: [`crate::artifact::default_dir`],
    /// `$XDG_CACHE_HOME/gromozeka-cache` or `~/.cache/gromozeka-cache`.
    pub artifact_dir: Option<PathBuf>,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            epoch_tick: Duration::from_millis(10),
            artifact_dir: crate::artifact::default_dir(),
        }
    }
}

/// The engine and the compiled component, shared by every service built on it.
///
/// Cheap to clone; the epoch ticker thread stops when the last clone is dropped.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

struct RuntimeInner {
    engine: Engine,
    component: Component,
    wasm_path: PathBuf,
    epoch_tick: Duration,
    source: ArtifactSource,
    load_time: Duration,
    contract: OnceLock<Contract>,
    _ticker: Ticker,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("wasm_path", &self.inner.wasm_path)
            .field("epoch_tick", &self.inner.epoch_tick)
            .field("source", &self.inner.source)
            .field("load_time", &self.inner.load_time)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Loads the component at `wasm_path` with default options.
    pub fn load(wasm_path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::load_with(wasm_path, &RuntimeOptions::default())
    }

    /// Creates the engine (no async, epoch interruption on, Cranelift at `speed`) and
    /// loads the component at `wasm_path`, from its precompiled artifact when there is
    /// a valid one.
    pub fn load_with(wasm_path: impl AsRef<Path>, options: &RuntimeOptions) -> Result<Self, Error> {
        let wasm_path = wasm_path.as_ref();
        let wasm = fs::read(wasm_path).map_err(|e| Error::Component {
            path: wasm_path.to_path_buf(),
            message: format!("{e} (build it with `just build`, or pass the right path)"),
        })?;
        Self::from_bytes(wasm_path, &wasm, options)
    }

    /// Like [`load_with`](Self::load_with), from the component's bytes (e.g. embedded
    /// in the binary); `wasm_path` names it in errors, logs and artifact file names.
    pub fn from_bytes(
        wasm_path: impl AsRef<Path>,
        wasm: &[u8],
        options: &RuntimeOptions,
    ) -> Result<Self, Error> {
        let started = Instant::now();
        let wasm_path = wasm_path.as_ref().to_path_buf();
        let mut config = Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_opt_level(OptLevel::Speed)
            .parallel_compilation(true);
        let engine = Engine::new(&config).map_err(|e| Error::Runtime(format!("{e:#}")))?;
        let label = wasm_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "component.wasm".into());
        let (component, source) = crate::artifact::load_or_compile(
            &engine,
            wasm,
            &label,
            options.artifact_dir.as_deref(),
        )
        .map_err(|message| Error::Component {
            path: wasm_path.clone(),
            message,
        })?;
        let epoch_tick = options.epoch_tick.max(Duration::from_micros(100));
        let ticker = Ticker::start(engine.clone(), epoch_tick)?;
        let load_time = started.elapsed();
        tracing::info!(wasm = %wasm_path.display(), ?source, ?load_time, "cache component loaded");
        Ok(Self {
            inner: Arc::new(RuntimeInner {
                engine,
                component,
                wasm_path,
                epoch_tick,
                source,
                load_time,
                contract: OnceLock::new(),
                _ticker: ticker,
            }),
        })
    }

    /// The wasmtime engine.
    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// The `.wasm` file this runtime was loaded from.
    pub fn wasm_path(&self) -> &Path {
        &self.inner.wasm_path
    }

    /// The compiled component.
    pub fn component(&self) -> &Component {
        &self.inner.component
    }

    /// The functions the component exports, with their WIT types (read from the
    /// component once).
    pub fn contract(&self) -> &Contract {
        self.inner
            .contract
            .get_or_init(|| Contract::of(&self.inner.engine, &self.inner.component))
    }

    /// Whether the component was compiled or deserialized from the artifact cache.
    pub fn artifact_source(&self) -> &ArtifactSource {
        &self.inner.source
    }

    /// How long creating the engine and loading the component took.
    pub fn load_time(&self) -> Duration {
        self.inner.load_time
    }

    /// The epoch tick (granularity of the CPU bound).
    pub fn epoch_tick(&self) -> Duration {
        self.inner.epoch_tick
    }

    /// The number of epoch ticks a call of `limit` may run for (rounded up).
    pub(crate) fn ticks_for(&self, limit: Duration) -> u64 {
        let tick = self.inner.epoch_tick.as_nanos().max(1);
        u64::try_from(limit.as_nanos().div_ceil(tick)).unwrap_or(u64::MAX)
    }

    /// Links the storage imports (`rows`, `bot-storage`; nothing else) for storage
    /// type `S` and type-checks the component against them.
    pub(crate) fn instance_pre<S: ServiceStorage>(
        &self,
    ) -> Result<BotServicePre<HostState<S>>, Error> {
        let mut linker = Linker::<HostState<S>>::new(&self.inner.engine);
        BotService::add_to_linker::<HostState<S>, HasSelf<HostState<S>>>(&mut linker, |s| s)
            .map_err(|e| Error::Runtime(format!("linking storage: {e:#}")))?;
        let pre = linker
            .instantiate_pre(&self.inner.component)
            .map_err(|e| Error::Component {
                path: self.inner.wasm_path.clone(),
                message: format!(
                    "it needs an import this host does not provide (only `rows` and `bot-storage` are): {e:#}"
                ),
            })?;
        BotServicePre::new(pre).map_err(|e| Error::Component {
            path: self.inner.wasm_path.clone(),
            message: format!(
                "it does not export the `bot-service` world of gromozeka:cache@0.3.0: {e:#}"
            ),
        })
    }

    /// A fresh instance over `storage` with `limits`, its exports called directly
    /// (no lock, no trap recovery: a trap leaves the instance unusable).
    pub fn new_instance<S: ServiceStorage>(
        &self,
        storage: S,
        limits: &Limits,
    ) -> Result<Instance<S>, Error> {
        let pre = self.instance_pre::<S>()?;
        self.instantiate(&pre, storage, limits).map_err(|(_, e)| e)
    }

    /// A fresh instance over `storage` with `limits`. On failure the storage is handed
    /// back so nothing is lost.
    pub(crate) fn instantiate<S: ServiceStorage>(
        &self,
        pre: &BotServicePre<HostState<S>>,
        storage: S,
        limits: &Limits,
    ) -> Result<Instance<S>, (S, Error)> {
        let state = HostState {
            storage,
            limits: GuestLimiter {
                max_memory: limits.memory(),
                memory: 0,
                refused: 0,
            },
            storage_calls: 0,
            bound: CallBound::new(0),
        };
        let mut store = Store::new(&self.inner.engine, state);
        store.limiter(|s| &mut s.limits);
        // One `storage.write` carries every pending change, which can exceed
        // wasmtime's default 128 MiB per host call: allow whatever the guest's
        // memory can hold (data plus per-record overhead), so persist-all never
        // traps on a batch the cache legitimately built.
        store.set_hostcall_fuel(limits.memory().saturating_mul(4));
        let tick = self.inner.epoch_tick;
        store.epoch_deadline_callback(move |mut cx| Ok(cx.data_mut().bound.reached(tick)));
        arm(&mut store, self.ticks_for(limits.call_time));
        let instance = pre
            .instance_pre()
            .instantiate(&mut store)
            .and_then(|instance| {
                let typed = BotService::new(&mut store, &instance)?;
                Ok(Exports { typed, instance })
            });
        match instance {
            Ok(bindings) => Ok(Instance { store, bindings }),
            Err(e) => Err((
                store.into_data().storage,
                Error::Runtime(format!("instantiating the cache component: {e:#}")),
            )),
        }
    }
}

/// Starts the CPU bound of one guest call: `ticks` epoch ticks of guest time from now.
pub(crate) fn arm<S>(store: &mut Store<HostState<S>>, ticks: u64) {
    store.data_mut().bound = CallBound::new(ticks);
    store.set_epoch_deadline(ticks);
}

/// The CPU bound of the current guest call: its allowance, when it started, and how
/// long it has waited in storage calls since.
#[derive(Debug)]
pub(crate) struct CallBound {
    started: Instant,
    ticks: u64,
    waited: Duration,
}

impl CallBound {
    fn new(ticks: u64) -> Self {
        Self {
            started: Instant::now(),
            ticks,
            waited: Duration::ZERO,
        }
    }

    /// Runs one storage call, its time not counted against the bound.
    pub(crate) fn waiting<T>(&mut self, call: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let out = call();
        self.waited += started.elapsed();
        out
    }

    /// The deadline passed (wall-clock): interrupt if the guest's own time (wall
    /// time minus storage waits) used the allowance, else extend by what is left.
    fn reached(&self, tick: Duration) -> UpdateDeadline {
        let allowance = tick.saturating_mul(u32::try_from(self.ticks).unwrap_or(u32::MAX));
        let guest = self.started.elapsed().saturating_sub(self.waited);
        match allowance.checked_sub(guest) {
            Some(left) if !left.is_zero() => {
                let tick = tick.as_nanos().max(1);
                UpdateDeadline::Continue(
                    u64::try_from(left.as_nanos().div_ceil(tick)).unwrap_or(u64::MAX),
                )
            }
            _ => UpdateDeadline::Interrupt,
        }
    }
}

/// Sets the guest memory limit of a live store (and the host-call budget that
/// follows it); returns the previous limit.
pub(crate) fn set_memory_limit<S: ServiceStorage>(
    store: &mut Store<HostState<S>>,
    bytes: usize,
) -> usize {
    let before = std::mem::replace(&mut store.data_mut().limits.max_memory, bytes);
    store.set_hostcall_fuel(bytes.saturating_mul(4));
    before
}

/// One running instance: its store (holding the storage) and its exports.
/// [`CacheService`](crate::CacheService) wraps one behind a lock, with trap
/// recovery; tests and benchmarks use one directly through
/// [`Runtime::new_instance`] to call the exports as the WIT declares them.
pub struct Instance<S: ServiceStorage> {
    /// The store; its data holds the storage.
    pub store: Store<HostState<S>>,
    /// The component's exports.
    pub bindings: Exports,
}

/// The exports of one instance: typed (`bindgen!`'s, through `Deref`), and by
/// name through [`Contract`] with [`instance`](Self::instance).
pub struct Exports {
    typed: BotService,
    instance: wasmtime::component::Instance,
}

impl Exports {
    /// The instance, for calls by name ([`crate::contract::Call::run`]).
    pub fn instance(&self) -> wasmtime::component::Instance {
        self.instance
    }
}

impl std::ops::Deref for Exports {
    type Target = BotService;

    fn deref(&self) -> &BotService {
        &self.typed
    }
}

impl<S: ServiceStorage> Instance<S> {
    /// Drops the instance, keeping its storage.
    pub fn into_storage(self) -> S {
        self.store.into_data().storage
    }

    /// The storage the guest calls.
    pub fn storage(&mut self) -> &mut S {
        &mut self.store.data_mut().storage
    }
}

/// The data of a store: the storage the guest may call, and its memory limiter.
pub struct HostState<S> {
    /// The storage behind the component's imports.
    pub storage: S,
    pub(crate) limits: GuestLimiter,
    /// Import calls made into `storage` since the instance started.
    pub(crate) storage_calls: u64,
    /// The CPU bound of the current call.
    pub(crate) bound: CallBound,
}

/// The guest's memory limit: a linear memory may not grow past `max_memory` bytes in
/// total. A refused growth is reported to the guest as a failed `memory.grow` (an
/// allocation failure inside the guest, which then traps); nothing is allocated on the
/// host. Also counts the memory in use, for stats.
#[derive(Debug)]
pub(crate) struct GuestLimiter {
    pub(crate) max_memory: usize,
    /// Bytes of linear memory currently allocated to the guest.
    pub(crate) memory: usize,
    /// Growths refused since the instance started.
    pub(crate) refused: u64,
}

impl ResourceLimiter for GuestLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory.saturating_sub(current).saturating_add(desired);
        if total > self.max_memory {
            self.refused += 1;
            tracing::warn!(
                requested = desired,
                limit = self.max_memory,
                "guest memory growth refused by the memory limit"
            );
            return Ok(false);
        }
        self.memory = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

/// The background thread advancing the engine's epoch; stopped on drop.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> Result<Self, Error> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("cache-host-epoch".into())
            .spawn(move || {
                let mut next = Instant::now() + tick;
                while !flag.load(Ordering::Acquire) {
                    let now = Instant::now();
                    if now >= next {
                        engine.increment_epoch();
                        next += tick;
                        if next < now {
                            next = now + tick;
                        }
                    } else {
                        std::thread::park_timeout(next - now);
                    }
                }
            })
            .map_err(|e| Error::Runtime(format!("cannot start the epoch thread: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            if thread.join().is_err() {
                tracing::error!("the epoch thread panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticker_stops_promptly_on_drop() {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).unwrap();
        let ticker = Ticker::start(engine.clone(), Duration::from_millis(1)).unwrap();
        std::thread::sleep(Duration::from_millis(30));
        drop(ticker); // joins: must not hang
    }
}
