//! What a host asks of a storage backend beyond the storage contract
//! ([`Storage`](crate::Storage) and [`BotStorage`](crate::BotStorage), the
//! component's imports).
//!
//! Two traits, each optional in what it adds:
//! - [`Inspect`]: what a backend holds, for reports (`cache-host inspect`, the
//!   namespaces a table does not cover). Its defaults know nothing.
//! - [`SharedStorage`]: the coherence protocol of a storage several processes
//!   share (a change feed, and writes refused as stale). A backend only one
//!   process writes implements nothing: [`Inspect::shared`] defaults to `None`.
//!
//! A new backend is a crate that implements `Storage`, `BotStorage` and
//! `Inspect`, and passes the storage kit (`cache-storage-kit`).

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::{MemoryStorage, MockStorage, StorageError};

/// Rows and bytes stored for one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceUsage {
    /// The namespace.
    pub namespace: String,
    /// Number of rows.
    pub rows: u64,
    /// Bytes of keys plus values.
    pub bytes: u64,
}

/// What a backend can tell about itself beyond the storage contract. Every
/// method has a default, for a backend that cannot tell.
pub trait Inspect {
    /// Every namespace that has stored rows, with its row count and bytes, in
    /// namespace order. The default knows none (a backend that cannot list its
    /// rows cheaply).
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        Ok(Vec::new())
    }

    /// The coherence protocol, for a storage several processes share; `None`
    /// (the default) for one only this process writes.
    fn shared(&mut self) -> Option<&mut dyn SharedStorage> {
        None
    }
}

/// A storage several processes share: how this process hears the others'
/// commits, and learns which of its writes were refused as stale.
pub trait SharedStorage {
    /// Starts hearing the changes other processes commit. The service calls it
    /// once, before it loads, and runs a thread that drops the cached copies of
    /// what the feed reports. `None` if this storage has no feed after all (a
    /// read-only open, say).
    fn change_feed(&mut self) -> Result<Option<ChangeFeed>, StorageError>;

    /// Called under the service's lock after the component dropped its copy of
    /// `change` (another process's): the backend may accept writes of it again.
    fn change_applied(&mut self, change: &RemoteChange);

    /// The rows (namespace, key) whose writes were refused with `conflict` since
    /// the last call, because another process changed them since this process
    /// read them: the service drops its copies and their pending changes.
    fn take_conflicts(&mut self) -> Vec<(String, String)>;
}

/// One change another process committed, which this process must drop its
/// cached copy of.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum RemoteChange {
    /// A row of the row store was written or deleted.
    Row {
        /// Its namespace.
        namespace: String,
        /// Its key.
        key: String,
        /// The version it was written at (the backend's clock), 0 if it was
        /// deleted; `None` if the sender did not say. Informational (logs,
        /// measurements): a backend does not trust it for coherence.
        version: Option<i64>,
    },
    /// Every row of a namespace may have changed (a clear).
    Namespace(String),
    /// A chat's settings changed.
    ChatSettings(i64),
    /// A user's data in a chat changed.
    UserData {
        /// The chat.
        chat_id: i64,
        /// The user.
        user_id: i64,
    },
}

/// What a [`ChangeFeed`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// Another process committed this change.
    Change(RemoteChange),
    /// The feed lost its connection and has it again: changes made in between may
    /// have been missed.
    Reconnected,
}

/// Other processes' changes to a shared storage, in commit order, as a channel the
/// service's coherence thread polls. Dropping it stops whatever produces them.
pub struct ChangeFeed {
    events: Receiver<FeedEvent>,
    _source: Box<dyn Send>,
}

impl ChangeFeed {
    /// A feed of what `source` (kept alive as long as the feed, dropped with it)
    /// sends into the channel whose receiver is `events`.
    pub fn new(events: Receiver<FeedEvent>, source: Box<dyn Send>) -> Self {
        Self {
            events,
            _source: source,
        }
    }

    /// The next event, waiting at most `timeout`: `Ok(None)` if none came in time,
    /// `Err` if the source stopped for good.
    pub fn next(&self, timeout: Duration) -> Result<Option<FeedEvent>, RecvTimeoutError> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => Ok(Some(event)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed").finish_non_exhaustive()
    }
}

impl Inspect for MemoryStorage {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        let mut usage: Vec<NamespaceUsage> = Vec::new();
        for (namespace, key, value) in self.rows() {
            match usage.last_mut() {
                Some(last) if last.namespace == namespace => {
                    last.rows += 1;
                    last.bytes += (key.len() + value.len()) as u64;
                }
                _ => usage.push(NamespaceUsage {
                    namespace: namespace.to_owned(),
                    rows: 1,
                    bytes: (key.len() + value.len()) as u64,
                }),
            }
        }
        Ok(usage)
    }
}

impl<S: Inspect> Inspect for MockStorage<S> {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        (**self).stored_namespaces()
    }
    fn shared(&mut self) -> Option<&mut dyn SharedStorage> {
        (**self).shared()
    }
}

impl<S: Inspect + ?Sized> Inspect for Box<S> {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        (**self).stored_namespaces()
    }
    fn shared(&mut self) -> Option<&mut dyn SharedStorage> {
        (**self).shared()
    }
}
