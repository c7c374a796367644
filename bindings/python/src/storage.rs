//! [`AnyStorage`]: the storage behind the Python cache, chosen by `injectDatabase`.

use cache_host::storage::postgres::PostgresStorage;
use cache_host::storage::MemoryStorage;
use cache_host::storage::{Batch, NamespaceUsage, SettingsChange, SharedStorage, StoredRow};
use cache_host::{BotStorage, Inspect, SqliteStorage, Storage, StorageError};

use crate::object_calls::{load_object, write_object, write_object_settings};
use crate::object_storage::ObjectStorage;
use crate::staged::StagedStorage;

/// Where the cache's durable data goes.
pub enum AnyStorage {
    /// No database injected yet: rows, settings and user data are kept in memory
    /// (read through like a database, gone with the process).
    Memory(MemoryStorage),
    /// The Rust host's SQLite storage on a file.
    Sqlite(SqliteStorage),
    /// The Rust host's PostgreSQL storage (boxed: it is much larger than the others).
    Postgres(Box<PostgresStorage>),
    /// The bot's database object, called with the GIL.
    Object(ObjectStorage),
    /// The bot's async database: requests staged for the caller to perform
    /// (see `staged.rs`).
    Staged(StagedStorage),
}

impl AnyStorage {
    /// Whether every call returns at once without calling Python: memory, and the
    /// staged async database (which never waits inside a call).
    pub fn never_blocks(&self) -> bool {
        matches!(self, AnyStorage::Memory(_) | AnyStorage::Staged(_))
    }
}

impl Storage for AnyStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        match self {
            AnyStorage::Memory(s) => s.load(namespace, limit),
            AnyStorage::Sqlite(s) => s.load(namespace, limit),
            AnyStorage::Postgres(s) => s.load(namespace, limit),
            AnyStorage::Object(o) => load_object(o, namespace, limit),
            AnyStorage::Staged(s) => s.load(namespace, limit),
        }
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        match self {
            AnyStorage::Memory(s) => s.get(namespace, key),
            AnyStorage::Sqlite(s) => s.get(namespace, key),
            AnyStorage::Postgres(s) => s.get(namespace, key),
            AnyStorage::Object(o) => o.get(namespace, key),
            AnyStorage::Staged(s) => s.get(namespace, key),
        }
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        match self {
            AnyStorage::Memory(s) => s.write(batch),
            AnyStorage::Sqlite(s) => s.write(batch),
            AnyStorage::Postgres(s) => s.write(batch),
            AnyStorage::Object(o) => write_object(o, batch),
            AnyStorage::Staged(s) => s.write(batch),
        }
    }
}

impl BotStorage for AnyStorage {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        match self {
            AnyStorage::Memory(s) => s.get_chat_settings(chat_id),
            AnyStorage::Sqlite(s) => s.get_chat_settings(chat_id),
            AnyStorage::Postgres(s) => s.get_chat_settings(chat_id),
            AnyStorage::Object(o) => o.get_chat_settings(chat_id),
            AnyStorage::Staged(s) => s.get_chat_settings(chat_id),
        }
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        match self {
            AnyStorage::Memory(s) => s.write_chat_settings(chat_id, change),
            AnyStorage::Sqlite(s) => s.write_chat_settings(chat_id, change),
            AnyStorage::Postgres(s) => s.write_chat_settings(chat_id, change),
            AnyStorage::Object(o) => write_object_settings(o, chat_id, change),
            AnyStorage::Staged(s) => s.write_chat_settings(chat_id, change),
        }
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        match self {
            AnyStorage::Memory(s) => s.get_user_data(chat_id, user_id),
            AnyStorage::Sqlite(s) => s.get_user_data(chat_id, user_id),
            AnyStorage::Postgres(s) => s.get_user_data(chat_id, user_id),
            AnyStorage::Object(o) => o.get_user_data(chat_id, user_id),
            AnyStorage::Staged(s) => s.get_user_data(chat_id, user_id),
        }
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        match self {
            AnyStorage::Memory(s) => s.set_user_data(chat_id, user_id, key, value),
            AnyStorage::Sqlite(s) => s.set_user_data(chat_id, user_id, key, value),
            AnyStorage::Postgres(s) => s.set_user_data(chat_id, user_id, key, value),
            AnyStorage::Object(o) => o.set_user_data(chat_id, user_id, key, value),
            AnyStorage::Staged(s) => s.set_user_data(chat_id, user_id, key, value),
        }
    }
}

impl Inspect for AnyStorage {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        match self {
            AnyStorage::Memory(s) => s.stored_namespaces(),
            AnyStorage::Sqlite(s) => s.stored_namespaces(),
            AnyStorage::Postgres(s) => s.stored_namespaces(),
            // Listing would read every row through the object: not worth it at start.
            AnyStorage::Object(_) | AnyStorage::Staged(_) => Ok(Vec::new()),
        }
    }

    fn shared(&mut self) -> Option<&mut dyn SharedStorage> {
        match self {
            AnyStorage::Postgres(s) => s.shared(),
            _ => None,
        }
    }
}
