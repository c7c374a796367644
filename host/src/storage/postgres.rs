//! The PostgreSQL backend, [`PostgresStorage`] from the `cache-storage-postgres`
//! crate (schema and queries in `schema/postgres/`): with a [`Coherence`] in its
//! options it is a storage several processes share
//! ([`SharedStorage`](cache_core::SharedStorage)), and its
//! [`Listener`](cache_storage_postgres::Listener) is the service's change feed.

use std::sync::Arc;

pub use super::is_url;
pub use cache_storage_postgres::{parse_url, Coherence, PostgresOptions, PostgresStorage};

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
