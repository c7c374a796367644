//! [`AnyStorage`]: the storage behind the Python cache, chosen by `injectDatabase`.

use cache_host::{Batch, Row, SqliteStorage, Storage, StorageError, StorageErrorKind};

use crate::object_storage::{Kind, ObjectError, ObjectStorage};

/// Where the cache's durable data goes.
pub enum AnyStorage {
    /// No database injected yet: nothing is stored and nothing is read, as in the
    /// seed before `injectDatabase` (on-change writes are acknowledged in memory only).
    Detached,
    /// The Rust host's SQLite storage on a file.
    Sqlite(SqliteStorage),
    /// The bot's database object, called with the GIL.
    Object(ObjectStorage),
}

impl AnyStorage {
    /// Whether storage calls run Python code (and so need the GIL).
    pub fn needs_gil(&self) -> bool {
        matches!(self, AnyStorage::Object(_))
    }
}

fn host_error(e: ObjectError) -> StorageError {
    let kind = match e.kind {
        Kind::Busy => StorageErrorKind::Busy,
        Kind::Full => StorageErrorKind::Full,
        Kind::ReadOnly => StorageErrorKind::ReadOnly,
        Kind::Corrupt => StorageErrorKind::Corrupt,
        Kind::Constraint | Kind::Other => StorageErrorKind::Other,
    };
    StorageError::new(kind, e.message)
}

impl Storage for AnyStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<Row>, StorageError> {
        match self {
            AnyStorage::Detached => Ok(Vec::new()),
            AnyStorage::Sqlite(s) => s.load(namespace, limit),
            AnyStorage::Object(o) => {
                let rows = o.load(namespace, limit).map_err(host_error)?;
                Ok(rows
                    .into_iter()
                    .filter_map(|r| {
                        r.value.ok().map(|value| Row {
                            namespace: namespace.to_owned(),
                            key: r.key,
                            value,
                        })
                    })
                    .collect())
            }
        }
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        match self {
            AnyStorage::Detached => Ok(None),
            AnyStorage::Sqlite(s) => s.get(namespace, key),
            AnyStorage::Object(o) => o.get(namespace, key).map_err(host_error),
        }
    }

    fn write(&mut self, batch: &Batch) -> Result<(), StorageError> {
        match self {
            AnyStorage::Detached => Ok(()),
            AnyStorage::Sqlite(s) => s.write(batch),
            AnyStorage::Object(o) => {
                let clear: Vec<&str> = batch.clear.iter().map(String::as_str).collect();
                let delete: Vec<(&str, &str)> = batch
                    .delete
                    .iter()
                    .map(|k| (k.namespace.as_str(), k.key.as_str()))
                    .collect();
                let upsert: Vec<(&str, &str, &str)> = batch
                    .upsert
                    .iter()
                    .map(|r| (r.namespace.as_str(), r.key.as_str(), r.value.as_str()))
                    .collect();
                o.write(&clear, &delete, &upsert).map_err(host_error)
            }
        }
    }

    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        match self {
            AnyStorage::Detached => Ok(Vec::new()),
            AnyStorage::Sqlite(s) => s.get_chat_settings(chat_id),
            AnyStorage::Object(o) => o.get_chat_settings(chat_id).map_err(host_error),
        }
    }

    fn set_chat_settings(
        &mut self,
        chat_id: i64,
        settings: &[(String, String)],
    ) -> Result<(), StorageError> {
        match self {
            AnyStorage::Detached => Ok(()),
            AnyStorage::Sqlite(s) => s.set_chat_settings(chat_id, settings),
            AnyStorage::Object(o) => o.merge_chat_settings(chat_id, settings).map_err(host_error),
        }
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        match self {
            AnyStorage::Detached => Ok(Vec::new()),
            AnyStorage::Sqlite(s) => s.get_user_data(chat_id, user_id),
            AnyStorage::Object(o) => o.get_user_data(chat_id, user_id).map_err(host_error),
        }
    }

    fn add_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        match self {
            AnyStorage::Detached => Ok(()),
            AnyStorage::Sqlite(s) => s.add_user_data(chat_id, user_id, key, value),
            AnyStorage::Object(o) => o
                .set_user_data(chat_id, user_id, key, value)
                .map_err(host_error),
        }
    }

    fn stored_namespaces(&mut self) -> Result<Vec<(String, u64)>, StorageError> {
        match self {
            AnyStorage::Sqlite(s) => s.stored_namespaces(),
            AnyStorage::Detached | AnyStorage::Object(_) => Ok(Vec::new()),
        }
    }
}
