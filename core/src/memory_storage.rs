//! An in-memory [`Storage`] with the semantics of the SQLite one, for tests
//! and for native users who want no durability. It records every call and
//! can be told to fail.

use std::collections::BTreeMap;

use crate::storage::{Batch, Storage, StoredRow};

/// In-memory rows, settings and user data, plus a call log and failure switches.
#[derive(Debug, Default, Clone)]
pub struct MemoryStorage {
    /// (namespace, key) → (write sequence, value).
    rows: BTreeMap<(String, String), (u64, String)>,
    sequence: u64,
    /// (chat id, key) → plain-text value.
    pub chat_settings: BTreeMap<(i64, String), String>,
    /// (chat id, user id, key) → JSON text.
    pub user_data: BTreeMap<(i64, i64, String), String>,
    /// Names of the storage functions called, in order (`"write"`, `"get"`, ...).
    pub calls: Vec<&'static str>,
    /// When set, every writing call fails with this message and changes nothing.
    pub fail_writes: Option<String>,
    /// When set, every reading call fails with this message.
    pub fail_reads: Option<String>,
}

impl MemoryStorage {
    /// An empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// Inserts or replaces a row as if written now (for seeding tests).
    pub fn put_row(&mut self, namespace: &str, key: &str, value: &str) {
        self.sequence += 1;
        self.rows.insert(
            (namespace.to_owned(), key.to_owned()),
            (self.sequence, value.to_owned()),
        );
    }

    /// The stored value of a row.
    pub fn row(&self, namespace: &str, key: &str) -> Option<&str> {
        self.rows
            .get(&(namespace.to_owned(), key.to_owned()))
            .map(|(_, v)| v.as_str())
    }

    /// Every row as (namespace, key, value), in (namespace, key) order.
    pub fn rows(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.rows
            .iter()
            .map(|((ns, k), (_, v))| (ns.as_str(), k.as_str(), v.as_str()))
    }

    /// Every row of a namespace as (key, value), in key order.
    pub fn rows_of(&self, namespace: &str) -> BTreeMap<String, String> {
        self.rows
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|((_, k), (_, v))| (k.clone(), v.clone()))
            .collect()
    }

    fn read(&mut self, name: &'static str) -> Result<(), String> {
        self.calls.push(name);
        self.fail_reads.clone().map_or(Ok(()), Err)
    }

    fn writing(&mut self, name: &'static str) -> Result<(), String> {
        self.calls.push(name);
        self.fail_writes.clone().map_or(Ok(()), Err)
    }
}

impl Storage for MemoryStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, String> {
        self.read("load")?;
        let mut rows: Vec<(u64, StoredRow)> = self
            .rows
            .iter()
            .filter(|((ns, _), _)| ns == namespace)
            .map(|((ns, key), (seq, value))| {
                let row = StoredRow {
                    namespace: ns.clone(),
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

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, String> {
        self.read("get")?;
        Ok(self.row(namespace, key).map(str::to_owned))
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), String> {
        self.writing("write")?;
        for namespace in &batch.clear {
            self.rows.retain(|(ns, _), _| ns != namespace);
        }
        for row in &batch.delete {
            self.rows
                .remove(&(row.namespace.to_owned(), row.key.to_owned()));
        }
        for row in &batch.upsert {
            self.put_row(row.namespace, row.key, row.value);
        }
        Ok(())
    }

    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, String> {
        self.read("get-chat-settings")?;
        Ok(self
            .chat_settings
            .iter()
            .filter(|((chat, _), _)| *chat == chat_id)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn set_chat_settings(
        &mut self,
        chat_id: i64,
        settings: &[(String, String)],
    ) -> Result<(), String> {
        self.writing("set-chat-settings")?;
        for (k, v) in settings {
            self.chat_settings.insert((chat_id, k.clone()), v.clone());
        }
        Ok(())
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, String> {
        self.read("get-user-data")?;
        Ok(self
            .user_data
            .iter()
            .filter(|((chat, user, _), _)| *chat == chat_id && *user == user_id)
            .map(|((_, _, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    fn add_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), String> {
        self.writing("add-user-data")?;
        self.user_data
            .insert((chat_id, user_id, key.to_owned()), value.to_owned());
        Ok(())
    }
}
