//! The typed methods of the component's `cache` and `bot` interfaces: one guest call
//! each, under the service's lock.

use super::lifecycle::report_unknown_namespaces;
use super::Attachment;
use super::{flatten, CacheService, Slot};
use crate::runtime::set_memory_limit;
use crate::storage::ServiceStorage;
use crate::{
    Error, LoadReport, NamespaceConfig, NamespaceStats, Pending, PersistReport, SettingsMode,
};

impl<S: ServiceStorage, A: Attachment> CacheService<S, A> {
    // ----- the `cache` interface -----

    /// Replaces the namespace table (see `configure` in `wit/cache.wit`); the new
    /// table is also used by every later restart. The guest memory limit follows it
    /// ([`crate::limits`]); with a fixed limit too small for it, fails with
    /// [`Error::MemoryLimit`] and changes nothing.
    pub fn configure(&self, namespaces: &[NamespaceConfig]) -> Result<(), Error> {
        let memory = self.shared.limits.for_table(namespaces)?.memory();
        let mut state = self.shared.lock();
        let r = self.shared.call_locked(&mut state, |b, s| {
            let before = set_memory_limit(s, memory);
            let r = b
                .gromozeka_cache_cache()
                .call_configure(&mut *s, &crate::mirror::table(namespaces));
            if !matches!(r, Ok(Ok(()))) {
                set_memory_limit(s, before);
            }
            r
        });
        flatten(r)?;
        state.namespaces = namespaces.to_vec();
        state.clock.retain_memory_only(namespaces);
        Ok(())
    }

    /// Stores `value` (JSON text) under `key`; on-change namespaces are written to
    /// storage before this returns.
    pub fn set(&self, namespace: &str, key: &str, value: &str) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_cache().call_set(s, namespace, key, value)
        }))
    }

    /// Removes `key`; `true` if it was held in memory.
    pub fn delete(&self, namespace: &str, key: &str) -> Result<bool, Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_cache().call_delete(s, namespace, key)
        }))
    }

    /// [`set`](Self::set) of each (key, JSON) entry, all or nothing, in one guest call.
    pub fn set_many(&self, namespace: &str, entries: &[(String, String)]) -> Result<(), Error> {
        flatten(self.shared.call_changing(entries.len() as u64, |b, s| {
            b.gromozeka_cache_cache()
                .call_set_many(s, namespace, entries)
        }))
    }

    /// Removes every entry of the namespace (in storage too, as its policy says).
    pub fn clear_namespace(&self, namespace: &str) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_cache().call_clear_namespace(s, namespace)
        }))
    }

    /// Loads the newest stored rows into free capacity (the component's
    /// `load-from-storage`). The report lists the rows the component skipped (not
    /// JSON, empty, `null`) and, from the host, one entry per stored namespace that the
    /// namespace table does not cover (its rows are left in storage, untouched).
    pub fn load_from_storage(&self) -> Result<LoadReport, Error> {
        let mut state = self.shared.lock();
        let mut report: LoadReport = flatten(self.shared.call_locked(&mut state, |b, s| {
            b.gromozeka_cache_cache().call_load_from_storage(s)
        }))?
        .into();
        let state = &mut *state;
        if let Slot::Live(inst) = &mut state.slot {
            report_unknown_namespaces(
                &mut inst.store.data_mut().storage,
                &state.namespaces,
                &mut report,
            );
        }
        Ok(report)
    }

    /// Writes every pending on-shutdown change in one storage batch. On a storage
    /// shared by several processes, a pending change of a row another process has
    /// changed since is dropped, not written (the newer row stays; logged), and the
    /// rest is written (see [`crate::service`]).
    pub fn persist_all(&self) -> Result<PersistReport, Error> {
        let mut state = self.shared.lock();
        self.shared.persist_locked(&mut state)
    }

    /// One record per namespace, in configuration order.
    pub fn stats(&self) -> Result<Vec<NamespaceStats>, Error> {
        let stats = self
            .shared
            .call(|b, s| b.gromozeka_cache_cache().call_stats(s))?;
        Ok(stats.into_iter().map(Into::into).collect())
    }

    /// The changes of an on-shutdown namespace not yet written to storage (see
    /// `pending-changes` in `wit/cache.wit`).
    pub fn pending_changes(&self, namespace: &str) -> Result<Pending, Error> {
        flatten(
            self.shared
                .call(|b, s| b.gromozeka_cache_cache().call_pending_changes(s, namespace)),
        )
        .map(Into::into)
    }

    /// Drops the cached entry of `key` and its pending change without writing,
    /// because another process changed the stored row (see `forget` in
    /// `wit/cache.wit`). `true` if something was held.
    pub fn forget(&self, namespace: &str, key: &str) -> Result<bool, Error> {
        self.shared
            .call(|b, s| b.gromozeka_cache_cache().call_forget(s, namespace, key))
    }

    /// [`forget`](Self::forget) of a whole namespace; returns the entries dropped.
    pub fn forget_namespace(&self, namespace: &str) -> Result<u32, Error> {
        self.shared.call(|b, s| {
            b.gromozeka_cache_cache()
                .call_forget_namespace(s, namespace)
        })
    }

    /// Drops every clean entry of the persisted namespaces (after missing other
    /// processes' changes); returns the entries dropped.
    pub fn forget_all(&self) -> Result<u32, Error> {
        self.shared
            .call(|b, s| b.gromozeka_cache_cache().call_forget_all(s))
    }

    /// [`get`](Self::get), parsed as JSON.
    pub fn get_json(&self, namespace: &str, key: &str) -> Result<Option<serde_json::Value>, Error> {
        match self.get(namespace, key)? {
            Some(text) => serde_json::from_str(&text)
                .map(Some)
                .map_err(|e| Error::InvalidJson(format!("value of {namespace:?}/{key:?}: {e}"))),
            None => Ok(None),
        }
    }

    /// [`set`](Self::set) of a `serde_json::Value`.
    pub fn set_json(
        &self,
        namespace: &str,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), Error> {
        self.set(namespace, key, &value.to_string())
    }

    // ----- the `bot` interface -----

    /// Changes the chat's settings (a JSON object of strings), merged with the
    /// stored ones or rewriting them; written to the settings table in one
    /// transaction before the cached copy changes.
    pub fn set_chat_settings(
        &self,
        chat_id: i64,
        settings: &str,
        mode: SettingsMode,
    ) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_bot()
                .call_set_chat_settings(s, chat_id, settings, mode.into())
        }))
    }

    /// Deletes one setting of the chat, in storage and in the cached copy.
    pub fn unset_chat_setting(&self, chat_id: i64, key: &str) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_bot()
                .call_unset_chat_setting(s, chat_id, key)
        }))
    }

    /// Drops the cached copy of the chat's settings without writing.
    pub fn forget_chat_settings(&self, chat_id: i64) -> Result<bool, Error> {
        self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_forget_chat_settings(s, chat_id)
        })
    }

    /// Drops the cached copy of a user's data in a chat without writing.
    pub fn forget_user_data(&self, chat_id: i64, user_id: i64) -> Result<bool, Error> {
        self.shared.call(|b, s| {
            b.gromozeka_cache_bot()
                .call_forget_user_data(s, chat_id, user_id)
        })
    }

    /// Replaces the chat's info (a JSON object).
    pub fn set_chat_info(&self, chat_id: i64, info: &str) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_bot().call_set_chat_info(s, chat_id, info)
        }))
    }

    /// Sets one forum topic (a JSON object) in the chat's topic map, the other
    /// topics and the chat's info kept, in one guest call.
    pub fn set_chat_topic(&self, chat_id: i64, topic_id: i64, info: &str) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_bot()
                .call_set_chat_topic(s, chat_id, topic_id, info)
        }))
    }

    /// Sets one data item (JSON) of the user in the chat; written to storage first.
    pub fn set_user_data(
        &self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_bot()
                .call_set_user_data(s, chat_id, user_id, key, value)
        }))
    }

    /// Sets one item (JSON) of the user's state.
    pub fn set_user_state(&self, user_id: i64, state_key: &str, value: &str) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_bot()
                .call_set_user_state(s, user_id, state_key, value)
        }))
    }

    /// Removes one item of the user's state, or with `None` all of it.
    pub fn clear_user_state(&self, user_id: i64, state_key: Option<&str>) -> Result<(), Error> {
        flatten(self.shared.call_changing(1, |b, s| {
            b.gromozeka_cache_bot()
                .call_clear_user_state(s, user_id, state_key)
        }))
    }
}
