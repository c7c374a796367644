//! [`MockStorage`]: any storage (by default [`MemoryStorage`]) behind a call
//! log and failure rules, for tests that check which storage calls a cache
//! call makes and what a failing storage does to it. The conformance runners
//! (`conformance/README.md`) use it through the Rust host.

use std::ops::{Deref, DerefMut};

use crate::storage::{Batch, BotStorage, Row, RowKey, SettingsChange, Storage, StoredRow};
use crate::{MemoryStorage, StorageError};

/// One storage call as the mock saw it, with its arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `rows.load`.
    Load {
        /// The namespace.
        namespace: String,
        /// The row limit.
        limit: u32,
    },
    /// `rows.get`.
    Get {
        /// The namespace.
        namespace: String,
        /// The key.
        key: String,
    },
    /// `rows.write`.
    Write {
        /// Namespaces cleared.
        clear: Vec<String>,
        /// (namespace, key) deleted.
        delete: Vec<(String, String)>,
        /// (namespace, key, value) upserted.
        upsert: Vec<(String, String, String)>,
    },
    /// `bot-storage.get-chat-settings`.
    GetChatSettings {
        /// The chat.
        chat_id: i64,
    },
    /// `bot-storage.write-chat-settings`.
    WriteChatSettings {
        /// The chat.
        chat_id: i64,
        /// The change.
        change: SettingsChange,
    },
    /// `bot-storage.get-user-data`.
    GetUserData {
        /// The chat.
        chat_id: i64,
        /// The user.
        user_id: i64,
    },
    /// `bot-storage.set-user-data`.
    SetUserData {
        /// The chat.
        chat_id: i64,
        /// The user.
        user_id: i64,
        /// The data key.
        key: String,
        /// The JSON text.
        value: String,
    },
}

impl Call {
    /// The WIT name of the function called (`"write"`, `"get-chat-settings"`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Call::Load { .. } => "load",
            Call::Get { .. } => "get",
            Call::Write { .. } => "write",
            Call::GetChatSettings { .. } => "get-chat-settings",
            Call::WriteChatSettings { .. } => "write-chat-settings",
            Call::GetUserData { .. } => "get-user-data",
            Call::SetUserData { .. } => "set-user-data",
        }
    }

    /// The `rows.write` call of `batch`, its strings owned.
    pub fn write_of(batch: &Batch<'_>) -> Call {
        Call::Write {
            clear: batch.clear.iter().map(|s| (*s).to_owned()).collect(),
            delete: batch
                .delete
                .iter()
                .map(|k| (k.namespace.to_owned(), k.key.to_owned()))
                .collect(),
            upsert: batch
                .upsert
                .iter()
                .map(|r| {
                    (
                        r.namespace.to_owned(),
                        r.key.to_owned(),
                        r.value.to_string(),
                    )
                })
                .collect(),
        }
    }

    /// The batch of a `rows.write` call (borrowing its strings); `None` for any
    /// other call.
    pub fn batch(&self) -> Option<Batch<'_>> {
        let Call::Write {
            clear,
            delete,
            upsert,
        } = self
        else {
            return None;
        };
        Some(Batch {
            clear: clear.iter().map(String::as_str).collect(),
            delete: delete
                .iter()
                .map(|(namespace, key)| RowKey { namespace, key })
                .collect(),
            upsert: upsert
                .iter()
                .map(|(namespace, key, value)| Row {
                    namespace,
                    key,
                    value: value.as_str().into(),
                })
                .collect(),
        })
    }

    /// Whether the function writes.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            Call::Write { .. } | Call::WriteChatSettings { .. } | Call::SetUserData { .. }
        )
    }
}

/// Fails matching calls with `error`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailRule {
    /// The error the calls return.
    pub error: StorageError,
    /// How many matching calls fail; `None`: all, until removed.
    pub times: Option<u64>,
    /// Restricts the rule to these function names; `None`: every function of its
    /// kind (reading or writing).
    pub functions: Option<Vec<String>>,
}

impl FailRule {
    /// A rule failing every call of its kind with `error` until removed.
    pub fn always(error: StorageError) -> Self {
        FailRule {
            error,
            times: None,
            functions: None,
        }
    }
}

/// A storage that records every call and fails on demand, changing nothing then.
#[derive(Debug, Default, Clone)]
pub struct MockStorage<S = MemoryStorage> {
    inner: S,
    /// Every call made, in order, including the ones made to fail.
    pub calls: Vec<Call>,
    /// The rule for writing calls (`write`, `write-chat-settings`, `set-user-data`).
    pub fail_writes: Option<FailRule>,
    /// The rule for reading calls (`load`, `get`, `get-chat-settings`, `get-user-data`).
    pub fail_reads: Option<FailRule>,
}

impl MockStorage<MemoryStorage> {
    /// An empty in-memory storage behind the log.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S> MockStorage<S> {
    /// `inner` behind the log.
    pub fn wrap(inner: S) -> Self {
        MockStorage {
            inner,
            calls: Vec::new(),
            fail_writes: None,
            fail_reads: None,
        }
    }

    /// The wrapped storage.
    pub fn into_inner(self) -> S {
        self.inner
    }

    /// The names of the calls made so far.
    pub fn call_names(&self) -> Vec<&'static str> {
        self.calls.iter().map(Call::name).collect()
    }

    /// Records `call`; fails it if a rule matches.
    fn record(&mut self, call: Call) -> Result<(), StorageError> {
        let rule = if call.writes() {
            &mut self.fail_writes
        } else {
            &mut self.fail_reads
        };
        let name = call.name();
        self.calls.push(call);
        let Some(rule) = rule else {
            return Ok(());
        };
        if rule
            .functions
            .as_ref()
            .is_some_and(|fns| !fns.iter().any(|f| f == name))
        {
            return Ok(());
        }
        match &mut rule.times {
            Some(0) => Ok(()),
            Some(n) => {
                *n -= 1;
                Err(rule.error.clone())
            }
            None => Err(rule.error.clone()),
        }
    }
}

impl<S> Deref for MockStorage<S> {
    type Target = S;
    fn deref(&self) -> &S {
        &self.inner
    }
}

impl<S> DerefMut for MockStorage<S> {
    fn deref_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

impl<S: Storage> Storage for MockStorage<S> {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        self.record(Call::Load {
            namespace: namespace.to_owned(),
            limit,
        })?;
        self.inner.load(namespace, limit)
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        self.record(Call::Get {
            namespace: namespace.to_owned(),
            key: key.to_owned(),
        })?;
        self.inner.get(namespace, key)
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        self.record(Call::write_of(batch))?;
        self.inner.write(batch)
    }
}

impl<S: BotStorage> BotStorage for MockStorage<S> {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        self.record(Call::GetChatSettings { chat_id })?;
        self.inner.get_chat_settings(chat_id)
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        self.record(Call::WriteChatSettings {
            chat_id,
            change: change.clone(),
        })?;
        self.inner.write_chat_settings(chat_id, change)
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        self.record(Call::GetUserData { chat_id, user_id })?;
        self.inner.get_user_data(chat_id, user_id)
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        self.record(Call::SetUserData {
            chat_id,
            user_id,
            key: key.to_owned(),
            value: value.to_owned(),
        })?;
        self.inner.set_user_data(chat_id, user_id, key, value)
    }
}
