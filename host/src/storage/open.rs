//! Opening a service over a backend named by a path or a URL: a SQLite file
//! (feature `sqlite`), or PostgreSQL for a `postgres://` URL (feature
//! `postgres`).

use std::path::{Path, PathBuf};

#[cfg(feature = "postgres")]
use super::postgres;
use super::sqlite::{SqliteOptions, SqliteStorage};
use super::{is_url, ServiceStorage};
use crate::{CacheService, CacheServiceBuilder, Error};

impl CacheService<SqliteStorage> {
    /// A builder for a service running the component at `wasm_path`.
    pub fn builder(wasm_path: impl Into<PathBuf>) -> CacheServiceBuilder {
        CacheServiceBuilder::new(wasm_path)
    }

    /// Opens the SQLite file `db_path` with every default: the seed's namespace
    /// table, default limits.
    pub fn open(wasm_path: impl Into<PathBuf>, db_path: impl AsRef<Path>) -> Result<Self, Error> {
        CacheServiceBuilder::new(wasm_path).open_sqlite(db_path)
    }
}

impl CacheServiceBuilder {
    /// Opens (or creates) the SQLite file at `db_path` with default options and
    /// builds the service over it.
    pub fn open_sqlite(self, db_path: impl AsRef<Path>) -> Result<CacheService, Error> {
        self.open_sqlite_with(db_path, &SqliteOptions::default())
    }

    /// Opens the SQLite file at `db_path` with `options` and builds the service over it.
    pub fn open_sqlite_with(
        self,
        db_path: impl AsRef<Path>,
        options: &SqliteOptions,
    ) -> Result<CacheService, Error> {
        let storage = SqliteStorage::open_with(db_path, options)?;
        self.build(storage)
    }

    /// Opens the database named by `db` and builds the service over it: a
    /// `postgres://` or `postgresql://` URL connects to PostgreSQL as a storage
    /// several processes share (the service listens for their changes, see
    /// [`coherence`](crate::service::coherence)), anything else is the path of a SQLite file (created if
    /// missing).
    pub fn open(self, db: &str) -> Result<CacheService<Box<dyn ServiceStorage>>, Error> {
        self.open_with(db, &SqliteOptions::default())
    }

    /// [`open`](Self::open) with options. For PostgreSQL only `read_only` applies:
    /// nothing is migrated, and every write fails with `read-only` (the service still
    /// listens, so what it reads stays fresh). A URL fails with
    /// `unavailable` in a build without the feature `postgres`.
    pub fn open_with(
        self,
        db: &str,
        options: &SqliteOptions,
    ) -> Result<CacheService<Box<dyn ServiceStorage>>, Error> {
        let storage: Box<dyn ServiceStorage> = if is_url(db) {
            #[cfg(feature = "postgres")]
            {
                Box::new(postgres::PostgresStorage::open_with(
                    db,
                    postgres::shared_options(options.read_only),
                )?)
            }
            #[cfg(not(feature = "postgres"))]
            {
                return Err(Error::OpenStorage(super::StorageError::new(
                    super::StorageErrorKind::Unavailable,
                    format!("{db:?} is a PostgreSQL URL, and this cache-host was built without its feature `postgres`"),
                )));
            }
        } else {
            Box::new(SqliteStorage::open_with(db, options)?)
        };
        self.build(storage)
    }
}
