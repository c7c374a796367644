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
//! let cache = CacheService::builder("target/cache.wasm").open_sqlite("cache.db")?;
//! cache.set("users", "42", r#"{"step":"menu"}"#)?;
//! assert_eq!(cache.get("users", "42")?.as_deref(), Some(r#"{"step":"menu"}"#));
//! cache.close()?; // persists on-shutdown namespaces
//! # Ok::<(), cache_host::Error>(())
//! ```

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
