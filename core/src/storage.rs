//! What the cache needs from its host: [`Storage`], the generic row store, and
//! for the bot's API [`BotStorage`], the bot's own tables. Every backend (memory,
//! SQLite, PostgreSQL, the component's import, a Python object) implements these
//! two traits and nothing else; `wit/rows.wit` and `wit/bot-storage.wit` are the
//! same contract.

use std::borrow::Cow;

use crate::StorageError;

/// One entry to store; `value` is JSON text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    /// Namespace of the entry.
    pub namespace: &'a str,
    /// Key within the namespace.
    pub key: &'a str,
    /// JSON text of the value: borrowed from the cache, or owned when the cache
    /// had to rewrite it (a mirrored field dropped, see [`crate::Cache::mirror`]).
    pub value: Cow<'a, str>,
}

/// Names one stored entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RowKey<'a> {
    /// Namespace of the entry.
    pub namespace: &'a str,
    /// Key within the namespace.
    pub key: &'a str,
}

/// Changes a storage applies atomically, in the order clear, delete, upsert.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch<'a> {
    /// Namespaces whose every row is deleted.
    pub clear: Vec<&'a str>,
    /// Rows deleted; absent rows are not an error.
    pub delete: Vec<RowKey<'a>>,
    /// Rows inserted or replaced.
    pub upsert: Vec<Row<'a>>,
}

impl Batch<'_> {
    /// True when applying the batch would change nothing.
    pub fn is_empty(&self) -> bool {
        self.clear.is_empty() && self.delete.is_empty() && self.upsert.is_empty()
    }
}

/// A row as [`Storage::load`] read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRow {
    /// Key of the row (lossily decoded if it was not valid text; `value` is then `Err`).
    pub key: String,
    /// The stored text, or why the cell could not be read as text (a BLOB,
    /// invalid UTF-8, NULL). The cache skips such a row and reports it.
    pub value: Result<String, String>,
}

/// The generic row store: namespaces of JSON rows (`wit/rows.wit`).
///
/// Implementations never panic on bad data; every failure is a typed
/// [`StorageError`], and a failed call changes nothing.
pub trait Storage {
    /// The newest `limit` rows of `namespace` by last update, oldest first;
    /// rows updated at the same time are ordered by key.
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError>;
    /// The stored value of one key, if any. A cell that cannot be read as text
    /// is a [`Corrupt`](crate::StorageErrorKind::Corrupt) error naming the row.
    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError>;
    /// Applies the whole batch atomically: on `Err`, none of it was applied.
    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError>;
}

/// A change to one chat's settings (`settings-change` in `wit/bot-storage.wit`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingsChange {
    /// Inserts or replaces these settings; others are kept.
    Merge(Vec<(String, String)>),
    /// Makes these the chat's only settings.
    Rewrite(Vec<(String, String)>),
    /// Deletes one setting; absent is not an error.
    Unset(String),
}

/// The bot's own tables: the only durable home of chat settings and user data
/// (`wit/bot-storage.wit`). Every writing method is one atomic transaction.
pub trait BotStorage: Storage {
    /// Every stored setting of a chat, ordered by key; NULL values are absent.
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError>;
    /// Applies `change` to the chat's settings in one transaction.
    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError>;
    /// Every stored data item (JSON text) of a user in a chat, ordered by key.
    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError>;
    /// Inserts or replaces one data item (JSON text) of a user in a chat.
    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError>;
}

impl<S: Storage + ?Sized> Storage for Box<S> {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        (**self).load(namespace, limit)
    }
    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        (**self).get(namespace, key)
    }
    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        (**self).write(batch)
    }
}

impl<S: BotStorage + ?Sized> BotStorage for Box<S> {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        (**self).get_chat_settings(chat_id)
    }
    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        (**self).write_chat_settings(chat_id, change)
    }
    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        (**self).get_user_data(chat_id, user_id)
    }
    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        (**self).set_user_data(chat_id, user_id, key, value)
    }
}
