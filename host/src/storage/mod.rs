//! Storage backends of the host. The storage contract itself is
//! [`cache_core::Storage`] and [`cache_core::BotStorage`] (the same functions as
//! `wit/rows.wit` and `wit/bot-storage.wit`), and what a host asks beyond it is
//! [`cache_core::backend`] ([`Inspect`], [`SharedStorage`]); every backend is a
//! crate that implements those traits, and the component's imports are
//! implemented once on top of them ([`crate::imports`]).
//!
//! This module is the one place the host names its backends: the default
//! storage, and opening by a path or a URL (`open.rs`), each behind the
//! backend's feature (`sqlite`, `postgres`; both by default). The runtime, the service
//! and the contract are generic over [`ServiceStorage`]; a new backend is
//! served by `CacheServiceBuilder::build(storage)` without touching the host
//! (`scripts/check-seams` keeps backend names out of the rest of `host/src`).
//!
//! - [`sqlite`]: `SqliteStorage` of the `cache-storage-sqlite` crate, the
//!   default: one SQLite file, the schema and queries of `schema/sqlite/`.
//! - [`postgres`]: `PostgresStorage` of the `cache-storage-postgres` crate, a
//!   PostgreSQL database shared by several processes, the schema and queries of
//!   `schema/postgres/`.
//! - [`cache_core::MemoryStorage`]: in memory, no durability.
//! - [`cache_core::MockStorage`]: any backend behind a call log and failure
//!   switches, for tests.

#[cfg(feature = "sqlite")]
mod open;
#[cfg(feature = "postgres")]
pub mod postgres;

/// The SQLite backend, `cache-storage-sqlite` (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use cache_storage_sqlite as sqlite;

pub use cache_core::backend::{
    ChangeFeed, FeedEvent, Inspect, NamespaceUsage, RemoteChange, SharedStorage,
};
pub use cache_core::{
    Batch, BotStorage, Call, MemoryStorage, MockStorage, Row, RowKey, SettingsChange, Storage,
    StorageError, StorageErrorKind, StoredRow,
};

/// The storage of a [`CacheService`](crate::CacheService) whose type names none:
/// one SQLite file.
#[cfg(feature = "sqlite")]
pub type DefaultStorage = sqlite::SqliteStorage;

/// The storage of a [`CacheService`](crate::CacheService) whose type names none:
/// any storage, boxed (this build has no feature `sqlite`).
#[cfg(not(feature = "sqlite"))]
pub type DefaultStorage = Box<dyn ServiceStorage>;

/// True if `db` names a PostgreSQL database (`postgres://` or `postgresql://`)
/// rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// What a [`CacheService`](crate::CacheService) needs of its storage: the two
/// storage traits, [`Inspect`], and being movable to the thread that calls it.
pub trait ServiceStorage: BotStorage + Inspect + Send + 'static {}

impl<S: BotStorage + Inspect + Send + 'static> ServiceStorage for S {}
