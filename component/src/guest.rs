//! The WIT glue: conversions between the generated bindings and cache-core,
//! one cache instance per component instance, and the imported storage.

use std::cell::RefCell;

use cache_core as core;

use exports::gromozeka::cache::types::{
    CacheError, LoadReport, NamespaceConfig, NamespaceStats, PersistReport, Persistence, SkippedRow,
};
use exports::gromozeka::cache::{bot, cache};
use gromozeka::cache::storage;

wit_bindgen::generate!({
    world: "cache-service",
    path: "../wit",
    ownership: Borrowing { duplicate_if_necessary: true },
});

export!(Component);

/// The exported interfaces' implementation.
struct Component;

/// The `storage` the host provides, as cache-core's [`core::Storage`].
struct HostStorage;

thread_local! {
    static CACHE: RefCell<core::Cache<HostStorage>> = RefCell::new(core::Cache::new(HostStorage));
}

/// Runs `f` on this instance's cache. The component model forbids re-entering
/// an instance, so the borrow is never contended.
fn with_cache<R>(f: impl FnOnce(&mut core::Cache<HostStorage>) -> R) -> R {
    CACHE.with(|cache| f(&mut cache.borrow_mut()))
}

impl core::Storage for HostStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<core::StoredRow>, String> {
        Ok(storage::load(namespace, limit)?
            .into_iter()
            .map(|row| core::StoredRow {
                namespace: row.namespace,
                key: row.key,
                value: row.value,
            })
            .collect())
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, String> {
        storage::get(namespace, key)
    }

    fn write(&mut self, batch: &core::Batch<'_>) -> Result<(), String> {
        let delete: Vec<storage::RowKey<'_>> = batch
            .delete
            .iter()
            .map(|r| storage::RowKey {
                namespace: r.namespace,
                key: r.key,
            })
            .collect();
        let upsert: Vec<storage::RowParam<'_>> = batch
            .upsert
            .iter()
            .map(|r| storage::RowParam {
                namespace: r.namespace,
                key: r.key,
                value: r.value,
            })
            .collect();
        storage::write(storage::Batch {
            clear: &batch.clear,
            delete: &delete,
            upsert: &upsert,
        })
    }

    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, String> {
        storage::get_chat_settings(chat_id)
    }

    fn set_chat_settings(
        &mut self,
        chat_id: i64,
        settings: &[(String, String)],
    ) -> Result<(), String> {
        let pairs: Vec<(&str, &str)> = settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        storage::set_chat_settings(chat_id, &pairs)
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, String> {
        storage::get_user_data(chat_id, user_id)
    }

    fn add_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), String> {
        storage::add_user_data(chat_id, user_id, key, value)
    }
}

impl From<core::CacheError> for CacheError {
    fn from(e: core::CacheError) -> Self {
        match e {
            core::CacheError::UnknownNamespace(m) => CacheError::UnknownNamespace(m),
            core::CacheError::InvalidJson(m) => CacheError::InvalidJson(m),
            core::CacheError::InvalidConfig(m) => CacheError::InvalidConfig(m),
            core::CacheError::TooLarge(m) => CacheError::TooLarge(m),
            core::CacheError::Storage(m) => CacheError::Storage(m),
        }
    }
}

fn persistence_from_wit(p: Persistence) -> core::Persistence {
    match p {
        Persistence::MemoryOnly => core::Persistence::MemoryOnly,
        Persistence::OnChange => core::Persistence::OnChange,
        Persistence::OnShutdown => core::Persistence::OnShutdown,
    }
}

fn persistence_to_wit(p: core::Persistence) -> Persistence {
    match p {
        core::Persistence::MemoryOnly => Persistence::MemoryOnly,
        core::Persistence::OnChange => Persistence::OnChange,
        core::Persistence::OnShutdown => Persistence::OnShutdown,
    }
}

impl cache::Guest for Component {
    fn configure(namespaces: Vec<NamespaceConfig>) -> Result<(), CacheError> {
        let configs = namespaces
            .into_iter()
            .map(|c| core::NamespaceConfig {
                name: c.name,
                max_entries: c.max_entries,
                persistence: persistence_from_wit(c.persistence),
            })
            .collect();
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
        let report = with_cache(|c| c.load_from_storage())?;
        Ok(LoadReport {
            loaded: report.loaded,
            skipped: report
                .skipped
                .into_iter()
                .map(|s| SkippedRow {
                    namespace: s.namespace,
                    key: s.key,
                    reason: s.reason,
                })
                .collect(),
        })
    }

    fn persist_all() -> Result<PersistReport, CacheError> {
        let report = with_cache(|c| c.persist_all())?;
        Ok(PersistReport {
            written: report.written,
            deleted: report.deleted,
        })
    }

    fn stats() -> Vec<NamespaceStats> {
        with_cache(|c| c.stats())
            .into_iter()
            .map(|s| NamespaceStats {
                name: s.name,
                persistence: persistence_to_wit(s.persistence),
                size: s.size,
                max_entries: s.max_entries,
                dirty: s.dirty,
                hits: s.hits,
                misses: s.misses,
                evictions: s.evictions,
            })
            .collect()
    }
}

impl bot::Guest for Component {
    fn get_chat_settings(chat_id: i64) -> Result<String, CacheError> {
        with_cache(|c| c.get_chat_settings(chat_id)).map_err(Into::into)
    }

    fn set_chat_settings(chat_id: i64, settings: String) -> Result<(), CacheError> {
        with_cache(|c| c.set_chat_settings(chat_id, &settings)).map_err(Into::into)
    }

    fn get_chat_info(chat_id: i64) -> Result<Option<String>, CacheError> {
        with_cache(|c| c.get_chat_info(chat_id)).map_err(Into::into)
    }

    fn set_chat_info(chat_id: i64, info: String) -> Result<(), CacheError> {
        with_cache(|c| c.set_chat_info(chat_id, &info)).map_err(Into::into)
    }

    fn get_user_data(chat_id: i64, user_id: i64) -> Result<String, CacheError> {
        with_cache(|c| c.get_user_data(chat_id, user_id)).map_err(Into::into)
    }

    fn set_user_data(
        chat_id: i64,
        user_id: i64,
        key: String,
        value: String,
    ) -> Result<(), CacheError> {
        with_cache(|c| c.set_user_data(chat_id, user_id, &key, &value)).map_err(Into::into)
    }

    fn get_user_state(user_id: i64, state_key: String) -> Result<Option<String>, CacheError> {
        with_cache(|c| c.get_user_state(user_id, &state_key)).map_err(Into::into)
    }

    fn set_user_state(user_id: i64, state_key: String, value: String) -> Result<(), CacheError> {
        with_cache(|c| c.set_user_state(user_id, &state_key, &value)).map_err(Into::into)
    }

    fn clear_user_state(user_id: i64, state_key: Option<String>) -> Result<(), CacheError> {
        with_cache(|c| c.clear_user_state(user_id, state_key.as_deref())).map_err(Into::into)
    }
}
