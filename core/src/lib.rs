//! The cache service's logic, in plain Rust: namespaced LRU maps from string
//! keys to JSON text, each with a persistence policy, over the [`Storage`]
//! trait, and the bot's API ([`BotCache`]) over [`BotStorage`]. The WebAssembly
//! component (`component/`) is a thin adapter that puts this behind the WIT
//! contract in `wit/`; natively it runs under any storage, which is how most
//! of it is tested.
//!
//! Promises (the contract in `wit/` spells them out):
//! - a call either succeeds or returns a [`CacheError`] and leaves the cache as it was;
//! - nothing acknowledged is lost: a dirty on-shutdown entry is written before it
//!   is evicted, and a failed write keeps every pending change;
//! - memory-only namespaces never reach storage;
//! - every datum has one durable home: chat settings and user data live only
//!   in [`BotStorage`], never in the row store.

pub mod backend;
mod bot;
mod cache;
pub mod config;
mod declared;
mod error;
mod forget;
mod key_hash;
mod lru_map;
mod memory_storage;
mod mirror;
mod mock_storage;
#[cfg(feature = "model")]
pub mod model;
mod namespace;
mod read_path;
mod storage;
mod validate;

pub use backend::{ChangeFeed, FeedEvent, Inspect, NamespaceUsage, RemoteChange, SharedStorage};
pub use bot::{BotCache, SettingsMode, DATA_FIELD, SETTINGS_FIELD};
pub use cache::Cache;
pub use config::{
    NamespaceConfig, Persistence, CHATS, CHAT_PERSISTENT, CHAT_USERS, DEFAULT_MAX_ENTRIES, USERS,
};
pub use declared::FieldShape;
pub use error::{CacheError, StorageError, StorageErrorKind};
pub use lru_map::Handle;
pub use memory_storage::MemoryStorage;
pub use mock_storage::{Call, FailRule, MockStorage};
pub use namespace::{NamespaceStats, Pending};
pub use read_path::{Change, HitOf, Named, Read, Replayed, MAX_KEYS as MAX_JOURNALED_KEYS};
pub use storage::{Batch, BotStorage, Row, RowKey, SettingsChange, Storage, StoredRow};
pub use validate::{MAX_DEPTH, MAX_KEY_BYTES, MAX_VALUE_BYTES};

/// What [`Cache::load_from_storage`] did. Serializes to the JSON encoding of
/// the WIT's `load-report` (`conformance/README.md`), as the report types do.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LoadReport {
    /// Rows now held in memory.
    pub loaded: u32,
    /// Rows refused, with the reason.
    pub skipped: Vec<SkippedRow>,
}

/// A stored row that [`Cache::load_from_storage`] refused to load.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SkippedRow {
    /// The namespace the row was read for.
    pub namespace: String,
    /// The row's key.
    pub key: String,
    /// Why it was refused, for a person.
    pub reason: String,
}

/// What [`Cache::persist_all`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PersistReport {
    /// Entries upserted.
    pub written: u32,
    /// Keys deleted one by one, plus one per namespace cleared as a whole.
    pub deleted: u32,
}
