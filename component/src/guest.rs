//! The WIT glue: conversions between the generated bindings and cache-core,
//! one cache instance per component instance, and the imported storage.

use std::cell::RefCell;

use cache_core as core;

use exports::gromozeka::cache::bot::SettingsMode;
use exports::gromozeka::cache::types::{
    CacheError, Change, HitBatch, LoadReport, NamespaceConfig, NamespaceStats, Pending,
    PersistReport, SyncReport,
};
use exports::gromozeka::cache::{bot, cache, types};
use gromozeka::cache::{bot_storage, rows};

wit_bindgen::generate!({
    world: "bot-service",
    path: "../wit",
    ownership: Borrowing { duplicate_if_necessary: true },
});

export!(Component);

/// The exported interfaces' implementation.
struct Component;

/// The storage the host provides (`rows` and `bot-storage`), as cache-core's traits.
struct HostStorage;

thread_local! {
    static CACHE: RefCell<core::BotCache<HostStorage>> = RefCell::new(core::BotCache::new(HostStorage));
}

/// Runs `f` on this instance's cache. The component model forbids re-entering
/// an instance, so the borrow is never contended.
fn with_bot<R>(f: impl FnOnce(&mut core::BotCache<HostStorage>) -> R) -> R {
    CACHE.with(|cache| f(&mut cache.borrow_mut()))
}

/// Runs `f` on the generic cache of this instance.
fn with_cache<R>(f: impl FnOnce(&mut core::Cache<HostStorage>) -> R) -> R {
    with_bot(|bot| f(bot.cache()))
}

core::contract_mirror!(types, rows, bot);

impl core::Storage for HostStorage {
    fn load(
        &mut self,
        namespace: &str,
        limit: u32,
    ) -> Result<Vec<core::StoredRow>, core::StorageError> {
        Ok(rows::load(namespace, limit)
            .map_err(core::StorageError::from)?
            .into_iter()
            .map(|row| core::StoredRow {
                key: row.key,
                value: row.value,
            })
            .collect())
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, core::StorageError> {
        rows::get(namespace, key).map_err(core::StorageError::from)
    }

    fn write(&mut self, batch: &core::Batch<'_>) -> Result<(), core::StorageError> {
        let delete: Vec<rows::RowKey<'_>> = batch
            .delete
            .iter()
            .map(|r| rows::RowKey {
                namespace: r.namespace,
                key: r.key,
            })
            .collect();
        let upsert: Vec<rows::Row<'_>> = batch
            .upsert
            .iter()
            .map(|r| rows::Row {
                namespace: r.namespace,
                key: r.key,
                value: &r.value,
            })
            .collect();
        rows::write(rows::Batch {
            clear: &batch.clear,
            delete: &delete,
            upsert: &upsert,
        })
        .map_err(core::StorageError::from)
    }
}

impl core::BotStorage for HostStorage {
    fn get_chat_settings(
        &mut self,
        chat_id: i64,
    ) -> Result<Vec<(String, String)>, core::StorageError> {
        bot_storage::get_chat_settings(chat_id).map_err(core::StorageError::from)
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &core::SettingsChange,
    ) -> Result<(), core::StorageError> {
        fn pairs(list: &[(String, String)]) -> Vec<(&str, &str)> {
            list.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
        }
        match change {
            core::SettingsChange::Merge(list) => {
                let list = pairs(list);
                bot_storage::write_chat_settings(chat_id, bot_storage::SettingsChange::Merge(&list))
            }
            core::SettingsChange::Rewrite(list) => {
                let list = pairs(list);
                bot_storage::write_chat_settings(
                    chat_id,
                    bot_storage::SettingsChange::Rewrite(&list),
                )
            }
            core::SettingsChange::Unset(key) => {
                bot_storage::write_chat_settings(chat_id, bot_storage::SettingsChange::Unset(key))
            }
        }
        .map_err(core::StorageError::from)
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, core::StorageError> {
        bot_storage::get_user_data(chat_id, user_id).map_err(core::StorageError::from)
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), core::StorageError> {
        bot_storage::set_user_data(chat_id, user_id, key, value).map_err(core::StorageError::from)
    }
}

impl cache::Guest for Component {
    fn configure(namespaces: Vec<NamespaceConfig>) -> Result<(), CacheError> {
        let configs = namespaces.into_iter().map(Into::into).collect();
        with_cache(|c| c.configure(configs)).map_err(Into::into)
    }

    fn get(namespace: String, key: String) -> Result<Option<String>, CacheError> {
        with_cache(|c| c.get(&namespace, &key)).map_err(Into::into)
    }

    fn set(namespace: String, key: String, value: String) -> Result<(), CacheError> {
        with_cache(|c| c.set(&namespace, key, value)).map_err(Into::into)
    }

    fn delete(namespace: String, key: String) -> Result<bool, CacheError> {
        with_cache(|c| c.delete(&namespace, &key)).map_err(Into::into)
    }

    fn get_many(namespace: String, keys: Vec<String>) -> Result<Vec<Option<String>>, CacheError> {
        with_cache(|c| c.get_many(&namespace, &keys)).map_err(Into::into)
    }

    fn set_many(namespace: String, entries: Vec<(String, String)>) -> Result<(), CacheError> {
        with_cache(|c| c.set_many(&namespace, entries)).map_err(Into::into)
    }

    fn clear_namespace(namespace: String) -> Result<(), CacheError> {
        with_cache(|c| c.clear_namespace(&namespace)).map_err(Into::into)
    }

    fn load_from_storage() -> Result<LoadReport, CacheError> {
        Ok(with_cache(|c| c.load_from_storage())?.into())
    }

    fn persist_all() -> Result<PersistReport, CacheError> {
        Ok(with_cache(|c| c.persist_all())?.into())
    }

    fn forget(namespace: String, key: String) -> bool {
        with_cache(|c| c.forget(&namespace, &key))
    }

    fn forget_namespace(namespace: String) -> u32 {
        with_cache(|c| c.forget_namespace(&namespace))
    }

    fn forget_all() -> u32 {
        with_cache(|c| c.forget_all())
    }

    fn set_time(now_ms: u64) {
        with_cache(|c| c.set_time(now_ms))
    }

    fn expire_after_write(namespace: String, after_ms: Option<u64>) -> Result<(), CacheError> {
        with_cache(|c| c.expire_after_write(&namespace, after_ms)).map_err(Into::into)
    }

    fn get_fresh(
        namespace: String,
        key: String,
        max_age_ms: u64,
    ) -> Result<Option<String>, CacheError> {
        with_cache(|c| c.get_fresh(&namespace, &key, max_age_ms)).map_err(Into::into)
    }

    fn sync(hits: HitBatch) -> SyncReport {
        with_cache(|c| {
            let (entries, unreadable) = hit_entries(&hits);
            let replayed = c.replay(&hits.namespaces, &entries);
            let changes = c
                .take_changes()
                .into_iter()
                .map(|change| match change {
                    core::Change::Entry { namespace, key } => Change::Entry((namespace, key)),
                    core::Change::Namespace(name) => Change::WholeNamespace(name),
                    core::Change::Everything => Change::Everything,
                })
                .collect();
            let mut handles = Vec::with_capacity(2 * replayed.handles.len());
            for handle in replayed.handles {
                handles.extend(handle.map_or([NO_HANDLE; 2], |h| [h.slot, h.generation]));
            }
            SyncReport {
                changes,
                stale: replayed.stale.saturating_add(unreadable),
                handles,
            }
        })
    }

    fn stats() -> Vec<NamespaceStats> {
        with_cache(|c| c.stats())
            .into_iter()
            .map(Into::into)
            .collect()
    }

    fn pending_changes(namespace: String) -> Result<Pending, CacheError> {
        Ok(with_cache(|c| c.pending_changes(&namespace))?.into())
    }
}

/// Both numbers of "no handle" in `hit-batch` and `sync-report`.
const NO_HANDLE: u32 = u32::MAX;

/// The entries of a hit batch as (namespace index, key or handle, hits), and
/// how many could not be read (a key length outside the batch, a key not cut
/// at a character boundary, fewer than three numbers at the end, handles
/// that are neither absent nor two per entry, or a handle with a key length).
/// A namespace index outside the batch is the replay's to count.
fn hit_entries(batch: &HitBatch) -> (Vec<core::HitOf<&str>>, u32) {
    let numbers = batch.entries.chunks_exact(3);
    let mut handles = batch.handles.chunks_exact(2);
    let mut unreadable = u32::from(!numbers.remainder().is_empty());
    if !batch.handles.is_empty() && handles.len() != numbers.len() {
        unreadable = unreadable.saturating_add(u32::try_from(numbers.len()).unwrap_or(u32::MAX));
        return (Vec::new(), unreadable);
    }
    let mut entries = Vec::with_capacity(numbers.len());
    let mut at = 0usize;
    for entry in numbers {
        let &[namespace, len, hits] = entry else {
            continue; // Never: `chunks_exact(3)` gives three numbers.
        };
        if let Some(&[slot, generation]) = handles.next() {
            if slot != NO_HANDLE {
                // An entry named by its handle has no key in `keys`: a length
                // would shift every later key.
                if len == 0 {
                    let handle = core::Handle { slot, generation };
                    entries.push((namespace, core::Named::Handle(handle), hits));
                } else {
                    unreadable = unreadable.saturating_add(1);
                }
                continue;
            }
        }
        let end = at.saturating_add(len as usize);
        let key = batch.keys.get(at..end);
        at = end;
        match key {
            Some(key) => entries.push((namespace, core::Named::Key(key), hits)),
            None => unreadable = unreadable.saturating_add(1),
        }
    }
    (entries, unreadable)
}

impl bot::Guest for Component {
    fn get_chat_settings(chat_id: i64) -> Result<String, CacheError> {
        with_bot(|c| c.get_chat_settings(chat_id)).map_err(Into::into)
    }

    fn set_chat_settings(
        chat_id: i64,
        settings: String,
        mode: SettingsMode,
    ) -> Result<(), CacheError> {
        with_bot(|c| c.set_chat_settings(chat_id, &settings, mode.into())).map_err(Into::into)
    }

    fn unset_chat_setting(chat_id: i64, key: String) -> Result<(), CacheError> {
        with_bot(|c| c.unset_chat_setting(chat_id, &key)).map_err(Into::into)
    }

    fn forget_chat_settings(chat_id: i64) -> bool {
        with_bot(|c| c.forget_chat_settings(chat_id))
    }

    fn forget_user_data(chat_id: i64, user_id: i64) -> bool {
        with_bot(|c| c.forget_user_data(chat_id, user_id))
    }

    fn get_chat_info(chat_id: i64) -> Result<Option<String>, CacheError> {
        with_bot(|c| c.get_chat_info(chat_id)).map_err(Into::into)
    }

    fn set_chat_info(chat_id: i64, info: String) -> Result<(), CacheError> {
        with_bot(|c| c.set_chat_info(chat_id, &info)).map_err(Into::into)
    }

    fn set_chat_topic(chat_id: i64, topic_id: i64, info: String) -> Result<(), CacheError> {
        with_bot(|c| c.set_chat_topic(chat_id, topic_id, &info)).map_err(Into::into)
    }

    fn get_user_data(chat_id: i64, user_id: i64) -> Result<String, CacheError> {
        with_bot(|c| c.get_user_data(chat_id, user_id)).map_err(Into::into)
    }

    fn set_user_data(
        chat_id: i64,
        user_id: i64,
        key: String,
        value: String,
    ) -> Result<(), CacheError> {
        with_bot(|c| c.set_user_data(chat_id, user_id, &key, &value)).map_err(Into::into)
    }

    fn get_user_state(user_id: i64, state_key: String) -> Result<Option<String>, CacheError> {
        with_bot(|c| c.get_user_state(user_id, &state_key)).map_err(Into::into)
    }

    fn set_user_state(user_id: i64, state_key: String, value: String) -> Result<(), CacheError> {
        with_bot(|c| c.set_user_state(user_id, &state_key, &value)).map_err(Into::into)
    }

    fn clear_user_state(user_id: i64, state_key: Option<String>) -> Result<(), CacheError> {
        with_bot(|c| c.clear_user_state(user_id, state_key.as_deref())).map_err(Into::into)
    }
}
