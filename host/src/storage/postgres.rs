//! The PostgreSQL backend, [`PostgresStorage`] from the `cache-storage-postgres`
//! crate (schema and queries in `schema/postgres/`), as a storage of the host: with
//! a [`Coherence`] in its options it is a storage several processes share, and its
//! [`Listener`](cache_storage_postgres::Listener) is the service's change feed.

use std::sync::Arc;

use cache_storage_postgres::ListenerEvent;
pub use cache_storage_postgres::{parse_url, Coherence, PostgresOptions, PostgresStorage};

use super::{Change, ChangeFeed, FeedEvent, Inspect, NamespaceUsage, StorageError};

impl Inspect for PostgresStorage {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        Ok(PostgresStorage::stored_namespaces(self)?
            .into_iter()
            .map(|n| NamespaceUsage {
                namespace: n.namespace,
                rows: n.rows,
                bytes: n.bytes,
            })
            .collect())
    }

    fn change_feed(&mut self) -> Result<Option<ChangeFeed>, StorageError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let listener = self.listen(move |event| {
            let event = match event {
                ListenerEvent::Change(change) => FeedEvent::Change(change),
                ListenerEvent::Reconnected => FeedEvent::Reconnected,
            };
            // The receiver is gone only once the service stopped.
            if tx.send(event).is_err() {
                tracing::debug!("a change arrived after the cache service stopped");
            }
        })?;
        Ok(listener.map(|l| ChangeFeed::new(rx, Box::new(l))))
    }

    fn change_applied(&mut self, change: &Change) {
        if let Some(coherence) = self.coherence() {
            coherence.changed(change);
        }
    }

    fn take_conflicts(&mut self) -> Vec<(String, String)> {
        self.coherence()
            .map(|c| c.take_conflicts())
            .unwrap_or_default()
    }
}

/// True if `db` names a PostgreSQL database (`postgres://` or `postgresql://`)
/// rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

/// The options of a storage shared by several processes: default options with a
/// fresh [`Coherence`] (so the service listens, and a write based on a stale copy
/// fails with `conflict`), read-only if `read_only` (nothing migrated or written).
pub fn shared_options(read_only: bool) -> PostgresOptions {
    PostgresOptions {
        read_only,
        coherence: Some(Arc::new(Coherence::new())),
        ..PostgresOptions::default()
    }
}
