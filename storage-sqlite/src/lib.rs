//! [`SqliteStorage`]: the default storage, one SQLite file, with the schema and
//! queries of `schema/sqlite/` (see its README).
//!
//! A read-write open adopts existing tables (the bot's, the seed design's) and
//! creates what is missing, in one transaction; it switches the file to WAL with
//! `synchronous = NORMAL` (a committed write survives a crash of the process; on
//! power loss the last commits may roll back). A read-only open neither migrates
//! nor changes the journal mode. A cell that cannot be read as text is a skipped
//! row of `load` and a `corrupt` error of `get`, never a file that cannot open.

#![warn(missing_docs)]

mod errors;
pub mod owner;
mod schema;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::owner::{OwnerLock, OwnerWait};
use cache_core::{
    Batch, BotStorage, Inspect, NamespaceUsage, SettingsChange, Storage, StorageError,
    StorageErrorKind, StoredRow,
};
use errors::{cell_text, map_error};
pub use schema::{queries, SCHEMA_VERSION};

/// How [`SqliteStorage::open_with`] opens the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a statement waits for another connection's lock before failing
    /// with [`StorageErrorKind::Busy`]. Default 5 s.
    pub busy_timeout: Duration,
    /// Open read-only: the file must exist; reads work, every write fails with
    /// [`StorageErrorKind::ReadOnly`], and nothing of the file is changed.
    /// Default `false`.
    pub read_only: bool,
    /// What a read-write open does when another process owns the file (see
    /// [`crate::owner`]): fail at once naming the owner (default), or wait.
    pub owner_wait: OwnerWait,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            read_only: false,
            owner_wait: OwnerWait::No,
        }
    }
}

/// Row counts of the whole file, for `cache-host inspect`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageUsage {
    /// `cache_storage` per namespace, sorted by name.
    pub namespaces: Vec<NamespaceUsage>,
    /// Rows in `chat_settings`.
    pub chat_settings_rows: u64,
    /// Rows in `user_data`.
    pub user_data_rows: u64,
}

/// The SQLite storage: one connection, prepared statements cached, every
/// writing call one `IMMEDIATE` transaction.
#[derive(Debug)]
pub struct SqliteStorage {
    conn: Connection,
    path: PathBuf,
    busy_timeout: Duration,
    /// The last write sequence (microseconds) this connection used, or the
    /// newest timestamp of the file at open.
    last_written: i64,
    /// Held while open read-write: one owner per database file. Dropped after `conn`.
    _owner: Option<OwnerLock>,
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path` with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens the database at `path` with `options`. Read-write: creates the file
    /// if missing and applies missing migrations (no write when there are none).
    pub fn open_with(
        path: impl AsRef<Path>,
        options: &SqliteOptions,
    ) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        // A writer opens the file by its resolved name, the name its owner lock and
        // SQLite's `-wal` file follow.
        let (path, owner) = if options.read_only {
            (path, None)
        } else {
            let path = crate::owner::resolve(&path)?;
            let owner = OwnerLock::acquire(&path, options.owner_wait)?;
            (path, Some(owner))
        };
        let flags = if options.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let err = |op: &str, e: rusqlite::Error| map_error(&path, options.busy_timeout, op, e);
        if !options.read_only {
            create_private(&path)?;
        }
        let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| err("open", e))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| err("set busy_timeout", e))?;
        conn.set_prepared_statement_cache_capacity(32);
        if options.read_only {
            let version = schema::version(&conn).map_err(|e| err("read the schema version", e))?;
            if version > SCHEMA_VERSION {
                return Err(newer_schema(&path, version));
            }
            if version == 0 {
                schema::stand_in_missing_tables(&conn)
                    .map_err(|e| err("stand in for the tables the file lacks", e))?;
            }
        } else {
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(|e| err("switch to WAL mode", e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(path = %path.display(), %mode, "SQLite did not switch to WAL mode");
            }
            conn.pragma_update(None, "synchronous", "NORMAL")
                .map_err(|e| err("set synchronous", e))?;
            schema::migrate(&mut conn).map_err(|e| match e {
                schema::MigrateError::Sqlite(e) => err("migrate the schema", e),
                schema::MigrateError::Newer(v) => newer_schema(&path, v),
            })?;
        }
        for sql in schema::ALL_STATEMENTS {
            conn.prepare_cached(sql).map_err(|e| {
                let base = err("check the tables", e);
                StorageError::new(
                    StorageErrorKind::Schema,
                    format!(
                        "{}; the tables of {} do not have the columns the cache needs (schema/sqlite/migrations)",
                        base.message,
                        path.display()
                    ),
                )
            })?;
        }
        let last_written: Option<i64> = conn
            .query_row(schema::LAST_WRITTEN, [], |r| r.get(0))
            .map_err(|e| err("read the newest timestamp", e))?;
        tracing::debug!(path = %path.display(), read_only = options.read_only, "opened SQLite storage");
        Ok(Self {
            conn,
            path,
            busy_timeout: options.busy_timeout,
            last_written: last_written.unwrap_or(0),
            _owner: owner,
        })
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for inspection and maintenance outside the
    /// cache's contract (tests use it to simulate failures).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Rows and sizes stored per namespace, plus the row counts of the bot tables.
    pub fn usage(&mut self) -> Result<StorageUsage, StorageError> {
        let namespaces = self.stored_namespaces()?;
        let (chat_settings_rows, user_data_rows): (i64, i64) = self
            .conn
            .prepare_cached(schema::TABLE_ROWS)
            .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
            .map_err(|e| self.error("count the rows of the bot tables", e))?;
        Ok(StorageUsage {
            namespaces,
            chat_settings_rows: chat_settings_rows.max(0) as u64,
            user_data_rows: user_data_rows.max(0) as u64,
        })
    }

    /// The (key, value) text pairs `sql` returns; a cell that is not text is a
    /// `corrupt` error naming `what`.
    fn text_pairs(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        what: &str,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let run = || -> rusqlite::Result<Vec<Result<(String, String), String>>> {
            let mut stmt = self.conn.prepare_cached(sql)?;
            let rows = stmt
                .query_map(params, |r| {
                    let key = cell_text(r.get_ref(0)?, "a key");
                    let value = cell_text(r.get_ref(1)?, "the value");
                    Ok(key.and_then(|key| value.map(|value| (key, value))))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        };
        let rows = run().map_err(|e| self.error(&format!("read {what}"), e))?;
        rows.into_iter()
            .map(|row| {
                row.map_err(|reason| {
                    StorageError::new(
                        StorageErrorKind::Corrupt,
                        format!(
                            "{what} in {}: {reason}; rewrite or delete the row",
                            self.path.display()
                        ),
                    )
                })
            })
            .collect()
    }

    fn error(&self, op: &str, e: rusqlite::Error) -> StorageError {
        map_error(&self.path, self.busy_timeout, op, e)
    }

    /// Runs `f` in one `IMMEDIATE` transaction with a write sequence counter;
    /// nothing is applied if it fails.
    fn transaction(
        &mut self,
        op: impl FnOnce() -> String,
        f: impl FnOnce(&rusqlite::Transaction<'_>, &mut i64) -> rusqlite::Result<()>,
    ) -> Result<(), StorageError> {
        let mut last = self.last_written;
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            f(&tx, &mut last)?;
            tx.commit()
        })();
        // Sequence values stay consumed even on failure: still strictly increasing.
        self.last_written = last;
        result.map_err(|e| self.error(&op(), e))
    }
}

fn newer_schema(path: &Path, version: i64) -> StorageError {
    StorageError::new(
        StorageErrorKind::Schema,
        format!(
            "{} has cache schema version {version}, newer than the {SCHEMA_VERSION} this host understands; \
             use a newer gromozeka-cache",
            path.display()
        ),
    )
}

/// The next write sequence value: `max(now in microseconds, last + 1)`.
fn next_seq(last: &mut i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let next = now.max(last.saturating_add(1));
    *last = next;
    next
}

impl Storage for SqliteStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<StoredRow>, StorageError> {
        let run = || -> rusqlite::Result<Vec<StoredRow>> {
            let mut stmt = self.conn.prepare_cached(schema::ROWS_LOAD)?;
            let mut rows = stmt
                .query_map((namespace, i64::from(limit)), |r| {
                    let key = r.get_ref(0)?;
                    let value = cell_text(r.get_ref(1)?, "the value");
                    Ok(match cell_text(key, "the key") {
                        Ok(key) => StoredRow { key, value },
                        Err(reason) => StoredRow {
                            key: String::from_utf8_lossy(key.as_bytes().unwrap_or_default())
                                .into_owned(),
                            value: Err(reason),
                        },
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.reverse();
            Ok(rows)
        };
        run().map_err(|e| self.error(&format!("load namespace {namespace:?}"), e))
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        let run = || -> rusqlite::Result<Option<Result<String, String>>> {
            let mut stmt = self.conn.prepare_cached(schema::ROWS_GET)?;
            stmt.query_row((namespace, key), |r| {
                Ok(cell_text(r.get_ref(0)?, "the value"))
            })
            .optional()
        };
        match run() {
            Ok(None) => Ok(None),
            Ok(Some(Ok(value))) => Ok(Some(value)),
            Ok(Some(Err(reason))) => Err(StorageError::new(
                StorageErrorKind::Corrupt,
                format!(
                    "row {namespace:?}/{key:?} of {}: {reason}; delete or rewrite the row",
                    self.path.display()
                ),
            )),
            Err(e) => Err(self.error(&format!("read {namespace:?}/{key:?}"), e)),
        }
    }

    fn write(&mut self, batch: &Batch<'_>) -> Result<(), StorageError> {
        if batch.is_empty() {
            return Ok(());
        }
        let op = || {
            format!(
                "write a batch ({} clear, {} delete, {} upsert)",
                batch.clear.len(),
                batch.delete.len(),
                batch.upsert.len()
            )
        };
        self.transaction(op, |tx, last| {
            if !batch.clear.is_empty() {
                let mut stmt = tx.prepare_cached(schema::ROWS_CLEAR)?;
                for ns in &batch.clear {
                    stmt.execute((ns,))?;
                }
            }
            if !batch.delete.is_empty() {
                let mut stmt = tx.prepare_cached(schema::ROWS_DELETE)?;
                for k in &batch.delete {
                    stmt.execute((k.namespace, k.key))?;
                }
            }
            if !batch.upsert.is_empty() {
                let mut stmt = tx.prepare_cached(schema::ROWS_UPSERT)?;
                for r in &batch.upsert {
                    stmt.execute((r.namespace, r.key, &*r.value, next_seq(last)))?;
                }
            }
            Ok(())
        })
    }
}

impl BotStorage for SqliteStorage {
    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        self.text_pairs(
            schema::SETTINGS_GET,
            (chat_id,),
            &format!("the settings of chat {chat_id}"),
        )
    }

    fn write_chat_settings(
        &mut self,
        chat_id: i64,
        change: &SettingsChange,
    ) -> Result<(), StorageError> {
        let op = || format!("write the settings of chat {chat_id}");
        self.transaction(op, |tx, last| {
            let pairs = match change {
                SettingsChange::Unset(key) => {
                    tx.prepare_cached(schema::SETTINGS_DELETE)?
                        .execute((chat_id, key))?;
                    return Ok(());
                }
                SettingsChange::Merge(pairs) => pairs,
                SettingsChange::Rewrite(pairs) => {
                    let stored: Vec<String> = tx
                        .prepare_cached(schema::SETTINGS_KEYS)?
                        .query_map((chat_id,), |r| r.get(0))?
                        .collect::<rusqlite::Result<_>>()?;
                    let mut delete = tx.prepare_cached(schema::SETTINGS_DELETE)?;
                    for key in stored
                        .iter()
                        .filter(|k| !pairs.iter().any(|(p, _)| p == *k))
                    {
                        delete.execute((chat_id, key))?;
                    }
                    pairs
                }
            };
            let mut stmt = tx.prepare_cached(schema::SETTINGS_UPSERT)?;
            for (key, value) in pairs {
                stmt.execute((chat_id, key, value, next_seq(last)))?;
            }
            Ok(())
        })
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        self.text_pairs(
            schema::USER_DATA_GET,
            (chat_id, user_id),
            &format!("the data of user {user_id} in chat {chat_id}"),
        )
    }

    fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        let op = || format!("write data {key:?} of user {user_id} in chat {chat_id}");
        self.transaction(op, |tx, last| {
            tx.prepare_cached(schema::USER_DATA_UPSERT)?.execute((
                chat_id,
                user_id,
                key,
                value,
                next_seq(last),
            ))?;
            Ok(())
        })
    }
}

impl Inspect for SqliteStorage {
    fn stored_namespaces(&mut self) -> Result<Vec<NamespaceUsage>, StorageError> {
        let run = || -> rusqlite::Result<Vec<NamespaceUsage>> {
            let mut stmt = self.conn.prepare_cached(schema::ROWS_NAMESPACES)?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(NamespaceUsage {
                        namespace: cell_text(r.get_ref(0)?, "namespace")
                            .unwrap_or_else(|reason| format!("<{reason}>")),
                        rows: r.get::<_, i64>(1)?.max(0) as u64,
                        bytes: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        };
        run().map_err(|e| self.error("list the stored namespaces", e))
    }
}

#[cfg(test)]
mod tests;

/// Creates the database file, if it does not exist, readable and writable by its
/// owner only, whatever the umask: it holds the bot's data. SQLite gives the
/// `-wal` and `-shm` files the database file's permissions.
fn create_private(path: &Path) -> Result<(), StorageError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StorageError::new(
            StorageErrorKind::Unavailable,
            format!("cannot create the database file {}: {e}", path.display()),
        )),
    }
}
