//! Test support: the real component (`target/cache.wasm`, built by `just
//! build`) instantiated in wasmtime over [`MockStorage`], an in-memory storage
//! that records every call as JSON and fails on request. The semantics follow
//! `conformance/README.md`, so the same scenarios run here, in Python and in Node.

use std::path::PathBuf;
use std::sync::OnceLock;

use cache_core::{Batch, MemoryStorage, Row, RowKey, Storage};
use serde_json::{json, Value};
use wasmtime::component::{Component, HasSelf, Linker};
use wasmtime::{Config, Engine, Store};

/// Bindings generated from `wit/`.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "cache-service" });
}

pub use bindings::exports::gromozeka::cache::types::{
    CacheError, LoadReport, NamespaceConfig, NamespaceStats, PersistReport, Persistence,
};
use bindings::gromozeka::cache::storage as wit_storage;

/// Turns a wasmtime error (a trap, a failed instantiation) into an `anyhow` one.
pub fn trap(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

/// Path of the component under test.
pub fn component_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/cache.wasm")
}

/// The engine and the compiled component, shared by every test of a binary.
pub fn compiled() -> &'static (Engine, Component) {
    static COMPILED: OnceLock<(Engine, Component)> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let engine = Engine::new(&Config::new()).expect("wasmtime engine");
        let path = component_path();
        let component = Component::from_file(&engine, &path).unwrap_or_else(|e| {
            panic!(
                "cannot load {} (run `just build` first): {e:#}",
                path.display()
            )
        });
        (engine, component)
    })
}

/// A failure rule of the mock: fail matching calls with `message`.
#[derive(Clone, Debug)]
pub struct FailRule {
    /// The error string the storage call returns.
    pub message: String,
    /// How many matching calls fail; `None` = all until healed.
    pub times: Option<u64>,
    /// Restricts the rule to these storage functions; `None` = all of its kind.
    pub fns: Option<Vec<String>>,
}

impl FailRule {
    /// A rule failing every call of its kind until healed.
    pub fn always(message: &str) -> Self {
        FailRule {
            message: message.to_owned(),
            times: None,
            fns: None,
        }
    }
}

/// [`cache_core::MemoryStorage`] (the SQLite storage's semantics, in memory)
/// seen through the WIT `storage` interface, with a JSON call log and
/// failure rules.
#[derive(Default, Debug)]
pub struct MockStorage {
    /// The stored rows, chat settings and user data.
    pub data: MemoryStorage,
    /// Every call made, as in `conformance/README.md`.
    pub calls: Vec<Value>,
    /// Rule for `write`, `set-chat-settings`, `add-user-data`.
    pub fail_writes: Option<FailRule>,
    /// Rule for `load`, `get`, `get-chat-settings`, `get-user-data`.
    pub fail_reads: Option<FailRule>,
}

impl MockStorage {
    /// Names of the functions called so far.
    pub fn call_names(&self) -> Vec<String> {
        self.calls
            .iter()
            .map(|c| c["fn"].as_str().unwrap_or_default().to_owned())
            .collect()
    }

    /// Records `call`, then fails it if a rule says so.
    fn check(&mut self, call: Value, write: bool) -> Result<(), String> {
        let name = call["fn"].as_str().unwrap_or_default().to_owned();
        self.calls.push(call);
        let rule = if write {
            &mut self.fail_writes
        } else {
            &mut self.fail_reads
        };
        let Some(r) = rule else { return Ok(()) };
        if r.fns.as_ref().is_some_and(|fns| !fns.contains(&name)) {
            return Ok(());
        }
        match &mut r.times {
            Some(0) => Ok(()),
            Some(n) => {
                *n -= 1;
                Err(r.message.clone())
            }
            None => Err(r.message.clone()),
        }
    }
}

impl wit_storage::Host for MockStorage {
    fn load(&mut self, namespace: String, limit: u32) -> Result<Vec<wit_storage::Row>, String> {
        self.check(
            json!({"fn": "load", "namespace": namespace, "limit": limit}),
            false,
        )?;
        Ok(self
            .data
            .load(&namespace, limit)?
            .into_iter()
            .map(|r| wit_storage::Row {
                namespace: r.namespace,
                key: r.key,
                value: r.value,
            })
            .collect())
    }

    fn get(&mut self, namespace: String, key: String) -> Result<Option<String>, String> {
        self.check(
            json!({"fn": "get", "namespace": namespace, "key": key}),
            false,
        )?;
        self.data.get(&namespace, &key)
    }

    fn write(&mut self, batch: wit_storage::Batch) -> Result<(), String> {
        let record = json!({"fn": "write", "batch": {
            "clear": batch.clear,
            "delete": batch.delete.iter().map(|d| json!({"namespace": d.namespace, "key": d.key})).collect::<Vec<_>>(),
            "upsert": batch.upsert.iter().map(|u| json!({"namespace": u.namespace, "key": u.key, "value": u.value})).collect::<Vec<_>>(),
        }});
        self.check(record, true)?;
        self.data.write(&Batch {
            clear: batch.clear.iter().map(String::as_str).collect(),
            delete: batch
                .delete
                .iter()
                .map(|d| RowKey {
                    namespace: &d.namespace,
                    key: &d.key,
                })
                .collect(),
            upsert: batch
                .upsert
                .iter()
                .map(|u| Row {
                    namespace: &u.namespace,
                    key: &u.key,
                    value: &u.value,
                })
                .collect(),
        })
    }

    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, String> {
        self.check(
            json!({"fn": "get-chat-settings", "chat-id": chat_id}),
            false,
        )?;
        self.data.get_chat_settings(chat_id)
    }

    fn set_chat_settings(
        &mut self,
        chat_id: i64,
        settings: Vec<(String, String)>,
    ) -> Result<(), String> {
        self.check(
            json!({"fn": "set-chat-settings", "chat-id": chat_id, "settings": settings}),
            true,
        )?;
        self.data.set_chat_settings(chat_id, &settings)
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, String> {
        self.check(
            json!({"fn": "get-user-data", "chat-id": chat_id, "user-id": user_id}),
            false,
        )?;
        self.data.get_user_data(chat_id, user_id)
    }

    fn add_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: String,
        value: String,
    ) -> Result<(), String> {
        self.check(
            json!({"fn": "add-user-data", "chat-id": chat_id, "user-id": user_id, "key": key, "value": value}),
            true,
        )?;
        self.data.add_user_data(chat_id, user_id, &key, &value)
    }
}

/// One fresh component instance over its own [`MockStorage`].
pub struct Harness {
    /// The store; its data is the mock storage.
    pub store: Store<MockStorage>,
    /// The instance's exports.
    pub service: bindings::CacheService,
}

impl Harness {
    /// A fresh instance over an empty mock.
    pub fn new() -> wasmtime::Result<Self> {
        Self::with_storage(MockStorage::default())
    }

    /// A fresh instance over `storage`.
    pub fn with_storage(storage: MockStorage) -> wasmtime::Result<Self> {
        let (engine, component) = compiled();
        let mut linker = Linker::new(engine);
        wit_storage::add_to_linker::<MockStorage, HasSelf<MockStorage>>(&mut linker, |s| s)?;
        let mut store = Store::new(engine, storage);
        let service = bindings::CacheService::instantiate(&mut store, component, &linker)?;
        Ok(Harness { store, service })
    }

    /// The mock storage.
    pub fn storage(&mut self) -> &mut MockStorage {
        self.store.data_mut()
    }

    /// `cache.configure`; a trap is an `Err`.
    pub fn configure(
        &mut self,
        configs: &[NamespaceConfig],
    ) -> wasmtime::Result<Result<(), CacheError>> {
        self.service
            .gromozeka_cache_cache()
            .call_configure(&mut self.store, configs)
    }

    /// `cache.stats`; a trap is an `Err`.
    pub fn stats(&mut self) -> wasmtime::Result<Vec<NamespaceStats>> {
        self.service
            .gromozeka_cache_cache()
            .call_stats(&mut self.store)
    }
}

/// The WIT case name and payload of an error.
pub fn error_case(e: &CacheError) -> (&'static str, &str) {
    match e {
        CacheError::UnknownNamespace(m) => ("unknown-namespace", m),
        CacheError::InvalidJson(m) => ("invalid-json", m),
        CacheError::InvalidConfig(m) => ("invalid-config", m),
        CacheError::TooLarge(m) => ("too-large", m),
        CacheError::Storage(m) => ("storage", m),
    }
}

/// The WIT case name of a persistence policy.
pub fn persistence_name(p: Persistence) -> &'static str {
    match p {
        Persistence::MemoryOnly => "memory-only",
        Persistence::OnChange => "on-change",
        Persistence::OnShutdown => "on-shutdown",
    }
}
