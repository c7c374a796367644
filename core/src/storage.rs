//! The one thing the cache needs from its host: durable rows.

/// One entry to store; `value` is JSON text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row<'a> {
    /// Namespace of the entry.
    pub namespace: &'a str,
    /// Key within the namespace.
    pub key: &'a str,
    /// JSON text of the value.
    pub value: &'a str,
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

/// A row as a storage returns it from [`Storage::load`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRow {
    /// Namespace of the row.
    pub namespace: String,
    /// Key of the row.
    pub key: String,
    /// The stored text, which the cache validates before use.
    pub value: String,
}

/// Durable storage behind the cache, mirroring the WIT `storage` interface.
/// Every method reports failure as `Err` with a message for a person.
pub trait Storage {
    /// The newest `limit` rows of `namespace` by last update, oldest first.
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, String>;
    /// The stored value of one key, if any.
    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, String>;
    /// Applies the whole batch atomically: on `Err`, none of it was applied.
    fn write(&mut self, batch: &Batch<'_>) -> Result<(), String>;
    /// Every stored setting of a chat, values as plain text.
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, String>;
    /// Inserts or replaces the given settings of a chat.
    fn set_chat_settings(
        &mut self,
        chat_id: i64,
        settings: &[(String, String)],
    ) -> Result<(), String>;
    /// Every stored data item of a user in a chat, values as JSON text.
    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, String>;
    /// Inserts or replaces one data item (JSON text) of a user in a chat.
    fn add_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), String>;
}
