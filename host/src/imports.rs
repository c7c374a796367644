//! The component's imports (`rows`, `bot-storage`), implemented once for every
//! backend on top of [`cache_core::Storage`] and [`cache_core::BotStorage`].

use crate::bindings::gromozeka::cache::{bot_storage, rows};
use crate::runtime::HostState;
use crate::storage::{
    Batch, Row, RowKey, ServiceStorage, SettingsChange, StorageError, StorageErrorKind,
};

/// Logs a storage failure and turns it into the typed error the guest receives.
/// A `pending` request is the normal course of an asynchronous storage, not a
/// failure: it is logged at debug level only.
fn to_guest<T>(call: &str, r: Result<T, StorageError>) -> Result<T, rows::StorageError> {
    r.map_err(|e| {
        if e.kind == StorageErrorKind::Pending {
            tracing::debug!(call, "storage call answered later (pending)");
        } else {
            tracing::warn!(call, kind = %e.kind, error = %e.message, "storage call failed");
        }
        e.into()
    })
}

impl<S> HostState<S> {
    /// Runs one import call on the storage: counted, so the host knows whether a
    /// guest call reached storage (see `service/read_path.rs`), and timed, so the wait
    /// is not charged to the guest's CPU bound (see `runtime.rs`).
    fn called<T>(&mut self, call: impl FnOnce(&mut S) -> T) -> T {
        self.storage_calls += 1;
        let storage = &mut self.storage;
        self.bound.waiting(|| call(storage))
    }
}

impl<S: ServiceStorage> rows::Host for HostState<S> {
    fn load(
        &mut self,
        namespace: String,
        limit: u32,
    ) -> Result<Vec<rows::StoredRow>, rows::StorageError> {
        let loaded = to_guest("rows.load", self.called(|s| s.load(&namespace, limit)))?;
        Ok(loaded
            .into_iter()
            .map(|r| rows::StoredRow {
                key: r.key,
                value: r.value,
            })
            .collect())
    }

    fn get(
        &mut self,
        namespace: String,
        key: String,
    ) -> Result<Option<String>, rows::StorageError> {
        to_guest("rows.get", self.called(|s| s.get(&namespace, &key)))
    }

    fn write(&mut self, batch: rows::Batch) -> Result<(), rows::StorageError> {
        let batch = Batch {
            clear: batch.clear.iter().map(String::as_str).collect(),
            delete: batch
                .delete
                .iter()
                .map(|k| RowKey {
                    namespace: &k.namespace,
                    key: &k.key,
                })
                .collect(),
            upsert: batch
                .upsert
                .iter()
                .map(|r| Row {
                    namespace: &r.namespace,
                    key: &r.key,
                    value: r.value.as_str().into(),
                })
                .collect(),
        };
        to_guest("rows.write", self.called(|s| s.write(&batch)))
    }
}

impl<S: ServiceStorage> bot_storage::Host for HostState<S> {
    fn get_chat_settings(
        &mut self,
        chat_id: i64,
    ) -> Result<Vec<(String, String)>, rows::StorageError> {
        to_guest(
            "bot-storage.get-chat-settings",
            self.called(|s| s.get_chat_settings(chat_id)),
        )
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: bot_storage::SettingsChange,
    ) -> Result<(), rows::StorageError> {
        let change = match change {
            bot_storage::SettingsChange::Merge(pairs) => SettingsChange::Merge(pairs),
            bot_storage::SettingsChange::Rewrite(pairs) => SettingsChange::Rewrite(pairs),
            bot_storage::SettingsChange::Unset(key) => SettingsChange::Unset(key),
        };
        to_guest(
            "bot-storage.write-chat-settings",
            self.called(|s| s.write_chat_settings(chat_id, &change)),
        )
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, rows::StorageError> {
        to_guest(
            "bot-storage.get-user-data",
            self.called(|s| s.get_user_data(chat_id, user_id)),
        )
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: String,
        value: String,
    ) -> Result<(), rows::StorageError> {
        to_guest(
            "bot-storage.set-user-data",
            self.called(|s| s.set_user_data(chat_id, user_id, &key, &value)),
        )
    }
}
