//! The storage contract's row and settings calls on the bot's database object
//! ([`ObjectStorage`]), shared by [`AnyStorage`](crate::storage::AnyStorage) and the
//! staged storage of the asyncio API.

use cache_host::storage::{Batch, SettingsChange, StoredRow};
use cache_host::StorageError;

use crate::object_storage::{ObjectRow, ObjectStorage};

/// `load` through a database object.
pub(crate) fn load_object(
    o: &ObjectStorage,
    namespace: &str,
    limit: u32,
) -> Result<Vec<StoredRow>, StorageError> {
    stored_rows(o.load(namespace, limit)?)
}

/// Rows of a database object as the cache's [`StoredRow`]s.
pub(crate) fn stored_rows(rows: Vec<ObjectRow>) -> Result<Vec<StoredRow>, StorageError> {
    Ok(rows
        .into_iter()
        .map(|r| StoredRow {
            key: r.key,
            value: r.value,
        })
        .collect())
}

/// A batch written through a database object.
pub(crate) fn write_object(o: &ObjectStorage, batch: &Batch<'_>) -> Result<(), StorageError> {
    let delete: Vec<(&str, &str)> = batch.delete.iter().map(|k| (k.namespace, k.key)).collect();
    let upsert: Vec<(&str, &str, &str)> = batch
        .upsert
        .iter()
        .map(|r| (r.namespace, r.key, r.value.as_ref()))
        .collect();
    o.write(&batch.clear, &delete, &upsert)
}

/// A settings change written through a database object.
pub(crate) fn write_object_settings(
    o: &ObjectStorage,
    chat_id: i64,
    change: &SettingsChange,
) -> Result<(), StorageError> {
    match change {
        SettingsChange::Merge(pairs) => o.merge_chat_settings(chat_id, pairs),
        SettingsChange::Rewrite(pairs) => o.rewrite_chat_settings(chat_id, pairs),
        SettingsChange::Unset(key) => o.unset_chat_setting(chat_id, key),
    }
}
