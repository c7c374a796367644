//! The PostgreSQL backend, [`PostgresStorage`] from the `cache-storage-postgres`
//! crate (schema and queries in `schema/postgres/`), as a storage of the host.

pub use cache_storage_postgres::{PostgresOptions, PostgresStorage};

use super::{Inspect, NamespaceUsage, StorageError};

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
}

/// True if `db` names a PostgreSQL database (`postgres://` or `postgresql://`)
/// rather than a SQLite file.
pub fn is_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}
