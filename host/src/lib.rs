//! `cache-host`: runs the cache component (`wit/`, world `cache-service`) inside
//! wasmtime, over SQLite, for a Rust program.
//!
//! A newcomer's map of the crate:
//!
//! - [`storage`]: the [`Storage`] trait, the `storage` interface the component imports.
//! - [`sqlite_storage`]: [`SqliteStorage`], the default storage: schema, migration,
//!   WAL, prepared statements, error messages a person can act on.
//! - [`runtime`]: [`Runtime`], the engine and the compiled component (precompiled
//!   artifact cached next to the `.wasm`), the sandbox (linker with `storage` only,
//!   memory limit, CPU bound per call through epoch interruption), instances.
//! - [`service`]: [`CacheService`], the embedding API: one instance behind a mutex,
//!   typed methods for the `cache` and `bot` interfaces, trap recovery, graceful close.
//! - [`policy`]: the optional TOML namespace policy.
//! - [`error`]: [`Error`], what every call of the API can fail with.
//!
//! ```no_run
//! use cache_host::CacheService;
//!
//! fn main() -> Result<(), cache_host::Error> {
//!     // Loads the component (compiled once, then from the artifact cached next to
//!     // it), opens or migrates the SQLite file, configures the namespaces, loads.
//!     let cache = CacheService::builder("target/cache.wasm")
//!         .policy_file("cache-policy.toml")? // optional; default: the seed's table
//!         .open_sqlite("cache.db")?;
//!     cache.set_chat_settings(-100123, r#"{"lang":"en"}"#)?; // written through to SQLite
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

pub mod error;
pub mod policy;
pub mod runtime;
pub mod service;
pub mod sqlite_storage;
pub mod storage;

/// Bindings generated from `wit/` by `wasmtime::component::bindgen!`.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "cache-service",
        additional_derives: [PartialEq, Eq],
    });
}

pub use bindings::exports::gromozeka::cache::types::{
    CacheError, LoadReport, NamespaceConfig, NamespaceStats, PersistReport, Persistence, SkippedRow,
};
pub use error::Error;
pub use policy::Policy;
pub use runtime::{ArtifactSource, Limits, Runtime, RuntimeOptions};
pub use service::{CacheService, CacheServiceBuilder, StartTiming};
pub use sqlite_storage::{SqliteOptions, SqliteStorage};
pub use storage::{Batch, Row, RowKey, Storage, StorageError, StorageErrorKind};
