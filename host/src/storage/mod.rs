//! Storage backends of the host. The storage contract itself is
//! [`cache_core::Storage`] and [`cache_core::BotStorage`] (the same functions as
//! `wit/rows.wit` and `wit/bot-storage.wit`); every backend implements those two
//! traits, and the component's imports are implemented once on top of them
//! ([`crate::imports`]).
//!
//! - [`sqlite`]: [`SqliteStorage`](sqlite::SqliteStorage), the default: one SQLite
//!   file, the schema and queries of `schema/sqlite/`.
//! - [`postgres`]: [`PostgresStorage`](postgres::PostgresStorage), a PostgreSQL
//!   database shared by several processes, the schema and queries of `schema/postgres/`.
//! - [`cache_core::MemoryStorage`]: in memory, no durability.
//! - [`cache_core::MockStorage`]: any backend behind a call log and failure
//!   switches, for tests.

pub mod postgres;
pub mod sqlite;

pub use cache_core::{
    Batch, BotStorage, Call, MemoryStorage, MockStorage, Row, RowKey, SettingsChange, Storage,
    StorageError, StorageErrorKind, StoredRow,
};

pub use cache_storage_postgres::Change;

/// What a backend can tell about itself beyond the storage contract: used by the
/// host to report stored namespaces the namespace table does not cover, by
/// `cache-host inspect`, and, for a database shared by several processes, to keep
/// this process's cache coherent with the others. Every method has a default for a
/// backend one process owns.
pub trait Inspect {
    /// Every namespace that has stored rows, with its row count and bytes. The
    /// default knows none (a backend that cannot list its rows cheaply).
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        Ok(Vec::new())
    }

    /// Starts hearing the changes other processes commit to this storage, for a
    /// backend shared by several processes; `None` (the default) for one only this
    /// process writes. The service calls it once, before it loads, and runs a
    /// thread that drops the cached copies of what the feed reports.
    fn change_feed(&mut self) -> Result<Option<ChangeFeed>, StorageError> {
        Ok(None)
    }

    /// Called under the service's lock after the component dropped its copy of
    /// `change` (another process's): the backend may now accept writes of it again
    /// (see `Coherence::changed` of the PostgreSQL backend). Default: nothing.
    fn change_applied(&mut self, change: &Change) {
        let _ = change;
    }

    /// The rows (namespace, key) that writes refused with `conflict` since the last
    /// call, because another process changed them since this process read them: the
    /// service drops its copies and their pending changes. Default: none.
    fn take_conflicts(&mut self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// What a [`ChangeFeed`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedEvent {
    /// Another process committed this change.
    Change(Change),
    /// The feed lost its connection and has it again: changes made in between may
    /// have been missed.
    Reconnected,
}

/// Other processes' changes to a shared storage, in commit order, as a channel the
/// service's coherence thread polls. Dropping it stops whatever produces them.
pub struct ChangeFeed {
    events: std::sync::mpsc::Receiver<FeedEvent>,
    _source: Box<dyn Send>,
}

impl ChangeFeed {
    /// A feed of what `source` (kept alive as long as the feed, dropped with it)
    /// sends into the channel whose receiver is `events`.
    pub fn new(events: std::sync::mpsc::Receiver<FeedEvent>, source: Box<dyn Send>) -> Self {
        Self {
            events,
            _source: source,
        }
    }

    /// The next event, waiting at most `timeout`: `Ok(None)` if none came in time,
    /// `Err` if the source stopped for good.
    pub fn next(
        &self,
        timeout: std::time::Duration,
    ) -> Result<Option<FeedEvent>, std::sync::mpsc::RecvTimeoutError> {
        match self.events.recv_timeout(timeout) {
            Ok(event) => Ok(Some(event)),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl std::fmt::Debug for ChangeFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeFeed").finish_non_exhaustive()
    }
}

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
    fn change_feed(&mut self) -> Result<Option<ChangeFeed>, StorageError> {
        (**self).change_feed()
    }
    fn change_applied(&mut self, change: &Change) {
        (**self).change_applied(change)
    }
    fn take_conflicts(&mut self) -> Vec<(String, String)> {
        (**self).take_conflicts()
    }
}

impl<S: Inspect + ?Sized> Inspect for Box<S> {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        (**self).stored_namespaces()
    }
    fn change_feed(&mut self) -> Result<Option<ChangeFeed>, StorageError> {
        (**self).change_feed()
    }
    fn change_applied(&mut self, change: &Change) {
        (**self).change_applied(change)
    }
    fn take_conflicts(&mut self) -> Vec<(String, String)> {
        (**self).take_conflicts()
    }
}
