//! Storage backends of the host. The storage contract itself is
//! [`cache_core::Storage`] and [`cache_core::BotStorage`] (the same functions as
//! `wit/rows.wit` and `wit/bot-storage.wit`); every backend implements those two
//! traits, and the component's imports are implemented once on top of them
//! ([`crate::imports`]).
//!
//! - [`sqlite`]: [`SqliteStorage`](sqlite::SqliteStorage), the default: one SQLite
//!   file, the schema and queries of `schema/sqlite/`.
//! - [`postgres`]: [`PostgresStorage`](postgres::PostgresStorage), a PostgreSQL
//!   database shared by several processes, the schema and queries of `schema/postgres/`.
//! - [`cache_core::MemoryStorage`]: in memory, no durability.
//! - [`cache_core::MockStorage`]: any backend behind a call log and failure
//!   switches, for tests.

pub mod postgres;
pub mod sqlite;

pub use cache_core::{
    Batch, BotStorage, MemoryStorage, MockStorage, Row, RowKey, SettingsChange, Storage,
    StorageError, StorageErrorKind, StoredRow,
};

/// What a backend can tell about itself beyond the storage contract: used by the
/// host to report stored namespaces the namespace table does not cover, and by
/// `cache-host inspect`.
pub trait Inspect {
    /// Every namespace that has stored rows, with its row count and bytes. The
    /// default knows none (a backend that cannot list its rows cheaply).
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        Ok(Vec::new())
    }
}

/// Rows and bytes stored for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceUsage {
    /// The namespace.
    pub namespace: String,
    /// Number of rows.
    pub rows: u64,
    /// Bytes of keys plus values.
    pub bytes: u64,
}

impl Inspect for MemoryStorage {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        let mut usage: Vec<NamespaceUsage> = Vec::new();
        for (namespace, key, value) in self.rows() {
            match usage.last_mut() {
                Some(last) if last.namespace == namespace => {
                    last.rows += 1;
                    last.bytes += (key.len() + value.len()) as u64;
                }
                _ => usage.push(NamespaceUsage {
                    namespace: namespace.to_owned(),
                    rows: 1,
                    bytes: (key.len() + value.len()) as u64,
                }),
            }
        }
        Ok(usage)
    }
}

impl<S: Inspect> Inspect for MockStorage<S> {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        (**self).stored_namespaces()
    }
}

impl<S: Inspect + ?Sized> Inspect for Box<S> {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        (**self).stored_namespaces()
    }
}
