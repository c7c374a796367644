//! [`MemoryStorage`]: rows, settings and user data in memory, with the
//! semantics every durable backend has (the storage kit checks them all), for
//! tests and for native users who want no durability.

use std::collections::BTreeMap;

use crate::storage::{Batch, BotStorage, SettingsChange, Storage, StoredRow};
use crate::{StorageError, StorageErrorKind};

/// In-memory rows, chat settings and user data.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    /// (namespace, key) → (write sequence, value or why the cell is unreadable).
    rows: BTreeMap<(String, String), (u64, Result<String, String>)>,
    sequence: u64,
    /// (chat id, key) → value.
    pub chat_settings: BTreeMap<(i64, String), String>,
    /// (chat id, user id, key) → JSON text.
    pub user_data: BTreeMap<(i64, i64, String), String>,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces a row as if written now (for seeding tests).
    pub fn put_row(&mut self, namespace: &str, key: &str, value: &str) {
        self.put(namespace, key, Ok(value.to_owned()));
    }

    /// Stores a row whose cell cannot be read as text, for `reason` (as a
    /// database file can hold a BLOB where text belongs).
    pub fn put_unreadable_row(&mut self, namespace: &str, key: &str, reason: &str) {
        self.put(namespace, key, Err(reason.to_owned()));
    }

    fn put(&mut self, namespace: &str, key: &str, value: Result<String, String>) {
        self.sequence += 1;
        self.rows.insert(
            (namespace.to_owned(), key.to_owned()),
            (self.sequence, value),
        );
    }

    /// The stored value of a readable row.
    pub fn row(&self, namespace: &str, key: &str) -> Option<&str> {
        self.rows
            .get(&(namespace.to_owned(), key.to_owned()))
            .and_then(|(_, v)| v.as_deref().ok())
    }

    /// Every readable row as (namespace, key, value), in (namespace, key) order.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.rows
            .iter()
            .filter_map(|((ns, k), (_, v))| v.as_deref().ok().map(|v| (ns.as_str(), k.as_str(), v)))
    }

    /// Every readable row of a namespace as (key, value), in key order.
    pub fn rows_of(&self, namespace: &str) -> BTreeMap<String, String> {
        self.rows()
            .filter(|(ns, _, _)| *ns == namespace)
            .map(|(_, k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }
}

impl Storage for MemoryStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        let mut rows: Vec<(u64, StoredRow)> = self
            .rows
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|((_, key), (seq, value))| {
                let row = StoredRow {
                    key: key.clone(),
                    value: value.clone(),
                };
                (*seq, row)
            })
            .collect();
        rows.sort_by_key(|(seq, _)| *seq);
        let skip = rows.len().saturating_sub(limit as usize);
        Ok(rows.into_iter().skip(skip).map(|(_, row)| row).collect())
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        match self.rows.get(&(namespace.to_owned(), key.to_owned())) {
            None => Ok(None),
            Some((_, Ok(value))) => Ok(Some(value.clone())),
            Some((_, Err(reason))) => Err(StorageError::new(
                StorageErrorKind::Corrupt,
                format!("row {namespace:?}/{key:?}: {reason}"),
            )),
        }
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        for namespace in &batch.clear {
            self.rows.retain(|(ns, _), _| ns != namespace);
        }
        for row in &batch.delete {
            self.rows
                .remove(&(row.namespace.to_owned(), row.key.to_owned()));
        }
        for row in &batch.upsert {
            self.put(row.namespace, row.key, Ok(row.value.to_string()));
        }
        Ok(())
    }
}

impl BotStorage for MemoryStorage {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        Ok(self
            .chat_settings
            .range((chat_id, String::new())..)
            .take_while(|((chat, _), _)| *chat == chat_id)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        let pairs = match change {
            SettingsChange::Unset(key) => {
                self.chat_settings.remove(&(chat_id, key.clone()));
                return Ok(());
            }
            SettingsChange::Rewrite(pairs) => {
                self.chat_settings.retain(|(chat, _), _| *chat != chat_id);
                pairs
            }
            SettingsChange::Merge(pairs) => pairs,
        };
        for (k, v) in pairs {
            self.chat_settings.insert((chat_id, k.clone()), v.clone());
        }
        Ok(())
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        Ok(self
            .user_data
            .range((chat_id, user_id, String::new())..)
            .take_while(|((chat, user, _), _)| *chat == chat_id && *user == user_id)
            .map(|((_, _, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        self.user_data
            .insert((chat_id, user_id, key.to_owned()), value.to_owned());
        Ok(())
    }
}
