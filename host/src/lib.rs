//! `cache-host`: runs the cache component (`wit/`, world `bot-service`) inside
//! wasmtime, over SQLite or PostgreSQL, for a Rust program.
//!
//! The runtime, the service and the contract are generic over the storage and
//! name no backend. The features `sqlite` and `postgres` (both on by default)
//! add those backends and opening the service by a path or a URL; without
//! them, a storage is passed to [`CacheServiceBuilder::build`].
//!
//! A newcomer's map of the crate:
//!
//! - [`storage`]: the backends, each its own crate. The storage contract is
//!   `cache_core`'s [`Storage`] (the generic rows) and [`BotStorage`] (the bot's
//!   tables), plus [`Inspect`] and, for a storage several processes share,
//!   `SharedStorage`; [`imports`] implements the component's imports once on top
//!   of them, and the service is generic over them.
//! - [`storage::sqlite`]: [`SqliteStorage`] (`cache-storage-sqlite`), the default:
//!   the shared schema and queries of `schema/sqlite/`, WAL, typed errors a person
//!   can act on, one owner per file ([`owner`]).
//! - [`storage::postgres`]: PostgreSQL (`cache-storage-postgres`, `schema/postgres/`),
//!   shared by several bot processes; [`CacheServiceBuilder::open`] picks it for a
//!   `postgres://` URL.
//! - [`artifact`]: the precompiled-artifact cache, in a private per-user directory,
//!   checksummed; anything that fails a check is recompiled, never executed.
//! - [`runtime`]: [`Runtime`], the engine and the compiled component, the sandbox (linker with `storage` only,
//!   memory limit, CPU bound per call through epoch interruption), instances.
//! - [`contract`]: [`Contract`], the exported functions with the WIT types the
//!   compiled component declares; calls by WIT name with values as JSON
//!   ([`CacheService::call_by_name`], the conformance runners, `cache-host call`).
//! - `mirror`: the contract's types as the bindgen generates them ([`bindings`])
//!   converted to `cache_core`'s, which the API takes and returns
//!   ([`NamespaceConfig`], [`LoadReport`], ...), by `cache_core::contract_mirror!`.
//! - [`limits`]: [`Limits`]; the guest memory limit follows the namespace table.
//! - [`service`]: [`CacheService`], the embedding API: one instance behind a mutex,
//!   typed methods for the `cache` and `bot` interfaces, trap recovery, graceful close;
//!   its read path answers repeated reads ([`Read`]) from copies and replays the hits
//!   into the instance, which keeps its LRU exact;
//!   over PostgreSQL shared by several processes, [`service::coherence`] keeps this
//!   process's copies coherent with the others' writes.
//! - [`policy`]: the optional TOML namespace policy.
//! - [`error`]: [`Error`], what every call of the API can fail with.
//!
//! ```no_run
//! use cache_host::{CacheService, SettingsMode};
//!
//! fn main() -> Result<(), cache_host::Error> {
//!     // Loads the component (compiled once, then from the artifact in the user's
//!     // cache directory), opens or migrates the SQLite file, configures the namespaces, loads.
//!     let cache = CacheService::builder("target/cache.wasm")
//!         .policy_file("cache-policy.toml")? // optional; default: the seed's table
//!         .open_sqlite("cache.db")?;
//!     // Merged into the chat's stored settings, in one SQLite transaction.
//!     cache.set_chat_settings(-100123, r#"{"lang":"en"}"#, SettingsMode::Merge)?;
//!     let settings: String = cache.get_chat_settings(-100123)?; // JSON text
//!     cache.set_user_state(42, "step", r#""menu""#)?; // memory-only
//!     let worker = cache.clone(); // Send + Sync: clones share the one instance
//!     std::thread::spawn(move || worker.set_user_data(-100123, 42, "karma", "1"))
//!         .join()
//!         .expect("worker thread")?;
//!     cache.close()?; // persist-all (also done when the last clone is dropped)
//!     Ok(())
//! }
//! ```
//!
//! (Compiled as a doctest; `tests/embed.rs` runs the same code for real.)

#![warn(missing_docs)]

pub mod artifact;
pub mod contract;
pub mod error;
pub mod imports;
pub mod limits;
mod mirror;
pub mod policy;
pub mod runtime;
pub mod service;
pub mod storage;

/// Bindings generated from `wit/` by `wasmtime::component::bindgen!`: the
/// guest's exports as wasmtime calls them. The API takes and returns
/// `cache_core`'s types instead (re-exported here), converted once in `mirror`.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "bot-service",
        additional_derives: [PartialEq, Eq],
    });
}

pub use cache_core::{
    LoadReport, NamespaceConfig, NamespaceStats, Pending, PersistReport, Persistence, Read,
    SettingsMode, SkippedRow, MAX_DEPTH as MAX_VALUE_DEPTH,
};
#[cfg(feature = "sqlite")]
pub use cache_storage_sqlite::owner::{self, OwnerWait};
pub use contract::Contract;
pub use error::Error;
pub use limits::Limits;
pub use policy::Policy;
pub use runtime::{ArtifactSource, Runtime, RuntimeOptions};
pub use service::{
    Attachment, CacheService, CacheServiceBuilder, ReadPathStats, StartTiming, WriteBack,
};
#[cfg(feature = "sqlite")]
pub use storage::sqlite::{SqliteOptions, SqliteStorage};
pub use storage::ServiceStorage;
pub use storage::{BotStorage, Inspect, Storage, StorageError, StorageErrorKind};
