//! Test support: the real component (`target/cache.wasm`, built by `just
//! build`) in the Rust host's runtime, over [`MockStorage`] (cache-core's
//! recording, failable storage). The same scenarios run here, in Python and in
//! Node (`conformance/README.md`).

use std::path::PathBuf;
use std::sync::OnceLock;

use cache_core::{Call, SettingsChange};
use cache_host::runtime::{HostState, Instance};
use cache_host::{Limits, Runtime, RuntimeOptions};
use serde_json::{json, Value};
use wasmtime::Store;

pub use cache_core::{CacheError, FailRule, MockStorage, StorageError, StorageErrorKind};
pub use cache_host::{NamespaceConfig, NamespaceStats, Persistence, SettingsMode};

/// Turns a wasmtime error (a trap) into an `anyhow` one.
pub fn trap(e: wasmtime::Error) -> anyhow::Error {
    anyhow::anyhow!("{e:?}")
}

/// Path of the component under test.
pub fn component_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/cache.wasm")
}

/// The runtime (engine and compiled component), shared by every test of a binary.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let path = component_path();
        let options = RuntimeOptions {
            artifact_dir: None,
            ..RuntimeOptions::default()
        };
        Runtime::load_with(&path, &options).unwrap_or_else(|e| {
            panic!(
                "cannot load {} (run `just build` first): {e}",
                path.display()
            )
        })
    })
}

/// One fresh component instance over its own [`MockStorage`].
pub struct Harness {
    instance: Instance<MockStorage>,
}

impl Harness {
    /// A fresh instance over an empty mock.
    pub fn new() -> anyhow::Result<Self> {
        Self::with_storage(MockStorage::new())
    }

    /// A fresh instance over `storage`.
    pub fn with_storage(storage: MockStorage) -> anyhow::Result<Self> {
        let instance = runtime()
            .new_instance(storage, &Limits::default())
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(Harness { instance })
    }

    /// The exports and the store to call them with.
    pub fn parts(
        &mut self,
    ) -> (
        &cache_host::bindings::BotService,
        &mut Store<HostState<MockStorage>>,
    ) {
        (&*self.instance.bindings, &mut self.instance.store)
    }

    /// The mock storage.
    pub fn storage(&mut self) -> &mut MockStorage {
        self.instance.storage()
    }

    /// `cache.configure`; a trap is an `Err`.
    pub fn configure(
        &mut self,
        configs: &[NamespaceConfig],
    ) -> wasmtime::Result<Result<(), CacheError>> {
        let configs: Vec<_> = configs.iter().cloned().map(Into::into).collect();
        let (b, s) = self.parts();
        let r = b.gromozeka_cache_cache().call_configure(s, &configs)?;
        Ok(r.map_err(Into::into))
    }

    /// Calls the export `name` (its WIT name) with `args` as JSON, its types read
    /// from the component ([`cache_host::contract`]); a trap or a call that does
    /// not match the contract is an `Err`.
    pub fn call_by_name(
        &mut self,
        name: &str,
        args: &[Value],
    ) -> anyhow::Result<cache_host::contract::Answer> {
        let call = runtime()
            .contract()
            .prepare(name, args)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let instance = self.instance.bindings.instance();
        call.run(instance, &mut self.instance.store).map_err(trap)
    }

    /// `cache.stats`; a trap is an `Err`.
    pub fn stats(&mut self) -> wasmtime::Result<Vec<NamespaceStats>> {
        let (b, s) = self.parts();
        let stats = b.gromozeka_cache_cache().call_stats(s)?;
        Ok(stats.into_iter().map(Into::into).collect())
    }
}

/// A storage call as `conformance/README.md` records it.
pub fn call_json(call: &Call) -> Value {
    let pairs =
        |p: &[(String, String)]| -> Vec<Value> { p.iter().map(|(k, v)| json!([k, v])).collect() };
    match call {
        Call::Load { namespace, limit } => {
            json!({"fn": "load", "namespace": namespace, "limit": limit})
        }
        Call::Get { namespace, key } => json!({"fn": "get", "namespace": namespace, "key": key}),
        Call::Write {
            clear,
            delete,
            upsert,
        } => json!({"fn": "write", "batch": {
            "clear": clear,
            "delete": delete.iter().map(|(n, k)| json!({"namespace": n, "key": k})).collect::<Vec<_>>(),
            "upsert": upsert.iter().map(|(n, k, v)| json!({"namespace": n, "key": k, "value": v})).collect::<Vec<_>>(),
        }}),
        Call::GetChatSettings { chat_id } => json!({"fn": "get-chat-settings", "chat-id": chat_id}),
        Call::WriteChatSettings { chat_id, change } => {
            let change = match change {
                SettingsChange::Merge(p) => json!({"merge": pairs(p)}),
                SettingsChange::Rewrite(p) => json!({"rewrite": pairs(p)}),
                SettingsChange::Unset(k) => json!({"unset": k}),
            };
            json!({"fn": "write-chat-settings", "chat-id": chat_id, "change": change})
        }
        Call::GetUserData { chat_id, user_id } => {
            json!({"fn": "get-user-data", "chat-id": chat_id, "user-id": user_id})
        }
        Call::SetUserData {
            chat_id,
            user_id,
            key,
            value,
        } => json!({
            "fn": "set-user-data", "chat-id": chat_id, "user-id": user_id, "key": key, "value": value
        }),
    }
}
