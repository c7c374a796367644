//! The cache component and the no-op component called through wasmtime's
//! generated bindings directly (no `CacheService` mutex), on the engine of a
//! `cache_host::Runtime`: the same configuration the host uses.

use anyhow::{anyhow, Context, Result};
use std::time::Duration;

use cache_host::runtime::Instance;
use cache_host::storage::MemoryStorage;
use cache_host::{Limits, NamespaceConfig, Runtime};
use wasmtime::component::{Component, Linker};
use wasmtime::Store;

/// Bindings of the no-op component (`bench/noop-component/wit`).
#[allow(missing_docs, clippy::all)]
pub mod noop_bindings {
    wasmtime::component::bindgen!({ path: "noop-component/wit", world: "noop" });
}

/// The runtime's component (already compiled or deserialized by the runtime: no
/// second Cranelift compilation, so usable under valgrind).
pub fn component_of(runtime: &Runtime) -> Result<Component> {
    Ok(runtime.component().clone())
}

/// Turns a wasmtime error (trap, link failure) into an `anyhow` one.
fn wt(e: wasmtime::Error) -> anyhow::Error {
    anyhow!("{e:?}")
}

/// A store with the host's per-call setup: a far epoch deadline that traps.
fn store<T>(runtime: &Runtime, data: T) -> Store<T> {
    let mut store = Store::new(runtime.engine(), data);
    store.epoch_deadline_trap();
    store.set_epoch_deadline(u64::MAX / 2);
    store
}

/// The cache component, instantiated by the host's runtime over an in-memory
/// storage (the raw benchmarks use memory-only namespaces: it is never called).
pub struct RawCache {
    instance: Instance<MemoryStorage>,
}

impl RawCache {
    /// Instantiates the runtime's cache component and configures `namespaces`.
    pub fn new(runtime: &Runtime, namespaces: &[NamespaceConfig]) -> Result<Self> {
        let limits = Limits {
            memory_bytes: Some(4 << 30),
            call_time: Duration::from_secs(1 << 20),
        };
        let instance = runtime
            .new_instance(MemoryStorage::new(), &limits)
            .map_err(|e| anyhow!("{e}"))?;
        let mut raw = RawCache { instance };
        let Instance { store, bindings } = &mut raw.instance;
        let table: Vec<_> = namespaces.iter().cloned().map(Into::into).collect();
        bindings
            .gromozeka_cache_cache()
            .call_configure(store, &table)
            .map_err(wt)?
            .map_err(|e| anyhow!("configure: {e:?}"))?;
        Ok(raw)
    }

    /// `get` of the cache interface.
    pub fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>> {
        let Instance { store, bindings } = &mut self.instance;
        bindings
            .gromozeka_cache_cache()
            .call_get(store, namespace, key)
            .map_err(wt)?
            .map_err(|e| anyhow!("get: {e:?}"))
    }

    /// `set-many` of the cache interface.
    pub fn set_many(&mut self, namespace: &str, entries: &[(String, String)]) -> Result<()> {
        let Instance { store, bindings } = &mut self.instance;
        bindings
            .gromozeka_cache_cache()
            .call_set_many(store, namespace, entries)
            .map_err(wt)?
            .map_err(|e| anyhow!("set-many: {e:?}"))
    }
}

impl RawCache {
    /// `persist-all` of the cache interface (written rows).
    pub fn persist_all(&mut self) -> Result<u32> {
        let Instance { store, bindings } = &mut self.instance;
        Ok(bindings
            .gromozeka_cache_cache()
            .call_persist_all(store)
            .map_err(wt)?
            .map_err(|e| anyhow!("persist-all: {e:?}"))?
            .written)
    }
}

/// The no-op component: `get` with the cache's signature, returning a fixed value.
pub struct RawNoop {
    store: Store<()>,
    bindings: noop_bindings::Noop,
}

impl RawNoop {
    /// Instantiates the no-op component of `runtime` (a `Runtime` loaded from
    /// `target/bench-noop.wasm`: same engine configuration as the cache's).
    pub fn new(runtime: &Runtime) -> Result<Self> {
        let component = component_of(runtime).with_context(|| {
            format!(
                "loading {} (build it with bench/build-noop)",
                runtime.wasm_path().display()
            )
        })?;
        let linker = Linker::<()>::new(runtime.engine());
        let mut store = store(runtime, ());
        let bindings =
            noop_bindings::Noop::instantiate(&mut store, &component, &linker).map_err(wt)?;
        Ok(RawNoop { store, bindings })
    }

    /// The no-op `get`.
    pub fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>> {
        self.bindings
            .gromozeka_bench_noop_cache()
            .call_get(&mut self.store, namespace, key)
            .map_err(wt)?
            .map_err(|e| anyhow!("no-op get: {e:?}"))
    }
}
