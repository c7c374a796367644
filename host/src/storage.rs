//! The `storage` interface the component imports, as a Rust trait.
//!
//! The component only ever sees storage through these seven functions (see
//! `wit/storage.wit`). [`SqliteStorage`](crate::SqliteStorage) is the default
//! implementation; anything implementing [`Storage`] can be plugged into a
//! [`CacheService`](crate::CacheService) instead (an in-memory fake in a test, another
//! database in another program).

use std::fmt;

pub use crate::bindings::gromozeka::cache::storage::{Batch, Row, RowKey};

/// What kind of failure a [`StorageError`] is, so callers can react without parsing
/// the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// Another connection holds the write lock and it was not released in time.
    Busy,
    /// The database (or its directory) cannot be written.
    ReadOnly,
    /// The disk (or a quota) is full.
    Full,
    /// The file is damaged or is not a database.
    Corrupt,
    /// The file could not be opened or created.
    CannotOpen,
    /// An operating-system I/O error.
    Io,
    /// The file's tables do not have the shape this host expects, or its schema
    /// version is newer than this host understands.
    Schema,
    /// Anything else reported by the storage backend.
    Other,
}

/// A storage failure with a message a person can act on.
///
/// The message is what the component receives as the `err` of the storage call and
/// passes on as `cache-error.storage`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct StorageError {
    kind: StorageErrorKind,
    message: String,
}

impl StorageError {
    /// An error of `kind` with the given human-readable `message`.
    pub fn new(kind: StorageErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// The kind of failure.
    pub fn kind(&self) -> StorageErrorKind {
        self.kind
    }

    /// The human-readable message (also the `Display` output).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            StorageErrorKind::Busy => "busy",
            StorageErrorKind::ReadOnly => "read-only",
            StorageErrorKind::Full => "full",
            StorageErrorKind::Corrupt => "corrupt",
            StorageErrorKind::CannotOpen => "cannot-open",
            StorageErrorKind::Io => "io",
            StorageErrorKind::Schema => "schema",
            StorageErrorKind::Other => "other",
        };
        f.write_str(s)
    }
}

/// The durable store behind the cache: one method per function of the WIT `storage`
/// interface, with the same contract (see `wit/storage.wit`).
///
/// Implementations must never panic on bad data; every failure is a
/// [`StorageError`]. A failed [`write`](Storage::write) must apply nothing.
pub trait Storage: Send + 'static {
    /// The newest `limit` rows of `namespace` by last update, oldest first.
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<Row>, StorageError>;

    /// The stored value of one key, or `None` if there is no such row.
    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError>;

    /// Applies `batch` atomically, in the order clear, delete, upsert.
    fn write(&mut self, batch: &Batch) -> Result<(), StorageError>;

    /// Every stored setting of a chat as (key, plain-text value) pairs.
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError>;

    /// Inserts or replaces the given settings of a chat; other settings are kept.
    fn set_chat_settings(
        &mut self,
        chat_id: i64,
        settings: &[(String, String)],
    ) -> Result<(), StorageError>;

    /// Every stored data item of a user in a chat as (key, JSON text) pairs.
    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError>;

    /// Inserts or replaces one data item (JSON text) of a user in a chat.
    fn add_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError>;

    /// Every namespace that has stored rows, with its row count. Not part of the WIT
    /// interface: the host uses it to report rows of namespaces the namespace table
    /// does not cover (which the component never loads). The default reports none.
    fn stored_namespaces(&mut self) -> Result<Vec<(String, u64)>, StorageError> {
        Ok(Vec::new())
    }
}
