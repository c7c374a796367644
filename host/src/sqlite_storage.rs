//! [`SqliteStorage`]: the default [`Storage`], one SQLite file shared with the Python host.
//!
//! Schema version 1 (`PRAGMA user_version = 1`), created or migrated at open inside one
//! transaction, idempotently:
//!
//! ```sql
//! CREATE TABLE cache_storage (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
//!     updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, key));
//! CREATE INDEX idx_cache_storage_recency ON cache_storage (namespace, updated_at);
//! CREATE TABLE chat_settings (chat_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
//!     updated_at INTEGER NOT NULL, PRIMARY KEY (chat_id, key));
//! CREATE TABLE user_data (chat_id INTEGER NOT NULL, user_id INTEGER NOT NULL, key TEXT NOT NULL,
//!     data TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (chat_id, user_id, key));
//! ```
//!
//! `updated_at` is a write sequence: unix time in microseconds, made strictly increasing
//! for every row this connection writes, so "the newest N rows" is well defined even
//! inside one batch. A file of the seed design (version 0, `updated_at` a text
//! `TIMESTAMP`) is migrated in place without losing rows.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{ffi::ErrorCode, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::storage::{Batch, Row, Storage, StorageError, StorageErrorKind};

/// The schema version this host creates and understands.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS cache_storage (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, key));
CREATE INDEX IF NOT EXISTS idx_cache_storage_recency ON cache_storage (namespace, updated_at);
CREATE TABLE IF NOT EXISTS chat_settings (chat_id INTEGER NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (chat_id, key));
CREATE TABLE IF NOT EXISTS user_data (chat_id INTEGER NOT NULL, user_id INTEGER NOT NULL, key TEXT NOT NULL, data TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (chat_id, user_id, key));
";

/// Rebuilds a seed-design `cache_storage` (text or nullable `updated_at`) into the v1
/// shape. Timestamps become unix microseconds: text through `unixepoch` (millisecond precision), numbers by
/// their magnitude (seconds, milliseconds or already microseconds), anything else 0.
const MIGRATE_SEED_SQL: &str = "
CREATE TABLE cache_storage_v1 (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, updated_at INTEGER NOT NULL, PRIMARY KEY (namespace, key));
INSERT OR REPLACE INTO cache_storage_v1 (namespace, key, value, updated_at)
SELECT CAST(namespace AS TEXT), CAST(key AS TEXT), COALESCE(CAST(value AS TEXT), ''),
    CASE
        WHEN typeof(updated_at) IN ('integer', 'real') THEN
            CASE
                WHEN abs(updated_at) < 100000000000 THEN CAST(updated_at * 1000000 AS INTEGER)
                WHEN abs(updated_at) < 100000000000000 THEN CAST(updated_at * 1000 AS INTEGER)
                ELSE CAST(updated_at AS INTEGER)
            END
        WHEN typeof(updated_at) = 'text' AND unixepoch(updated_at) IS NOT NULL THEN
            unixepoch(updated_at) * 1000000
                + CAST(round((unixepoch(updated_at, 'subsec') - unixepoch(updated_at)) * 1000000) AS INTEGER)
        ELSE 0
    END
FROM cache_storage
WHERE namespace IS NOT NULL AND key IS NOT NULL
ORDER BY rowid;
DROP TABLE cache_storage;
ALTER TABLE cache_storage_v1 RENAME TO cache_storage;
";

const SQL_LOAD: &str =
    "SELECT key, value FROM cache_storage WHERE namespace = ?1 ORDER BY updated_at DESC LIMIT ?2";
const SQL_GET: &str = "SELECT value FROM cache_storage WHERE namespace = ?1 AND key = ?2";
const SQL_CLEAR: &str = "DELETE FROM cache_storage WHERE namespace = ?1";
const SQL_DELETE: &str = "DELETE FROM cache_storage WHERE namespace = ?1 AND key = ?2";
const SQL_UPSERT: &str = "INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT(namespace, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
const SQL_GET_CHAT_SETTINGS: &str =
    "SELECT key, value FROM chat_settings WHERE chat_id = ?1 ORDER BY key";
const SQL_SET_CHAT_SETTING: &str = "INSERT INTO chat_settings (chat_id, key, value, updated_at) VALUES (?1, ?2, ?3, ?4) \
     ON CONFLICT(chat_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at";
const SQL_GET_USER_DATA: &str =
    "SELECT key, data FROM user_data WHERE chat_id = ?1 AND user_id = ?2 ORDER BY key";
const SQL_ADD_USER_DATA: &str = "INSERT INTO user_data (chat_id, user_id, key, data, updated_at) VALUES (?1, ?2, ?3, ?4, ?5) \
     ON CONFLICT(chat_id, user_id, key) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at";

/// Every statement the storage runs after open; prepared once at open so a file whose
/// tables have the wrong shape is refused with a clear message instead of failing later.
const ALL_STATEMENTS: [&str; 9] = [
    SQL_LOAD,
    SQL_GET,
    SQL_CLEAR,
    SQL_DELETE,
    SQL_UPSERT,
    SQL_GET_CHAT_SETTINGS,
    SQL_SET_CHAT_SETTING,
    SQL_GET_USER_DATA,
    SQL_ADD_USER_DATA,
];

/// How [`SqliteStorage::open_with`] opens the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// How long a statement waits for another connection's lock before failing with
    /// [`StorageErrorKind::Busy`]. Default 5 s.
    pub busy_timeout: Duration,
    /// Open the file read-only: reads work, every write fails with
    /// [`StorageErrorKind::ReadOnly`]. The file must already exist at schema version 1.
    /// Default `false`.
    pub read_only: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_secs(5),
            read_only: false,
        }
    }
}

/// Rows and bytes stored for one namespace of `cache_storage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceUsage {
    /// The namespace.
    pub namespace: String,
    /// Number of rows.
    pub rows: u64,
    /// Bytes of keys plus values (UTF-8).
    pub bytes: u64,
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

/// The SQLite [`Storage`]: one connection in WAL mode with `synchronous = NORMAL`,
/// prepared statements cached, every batch written in one `IMMEDIATE` transaction.
///
/// Every SQLite failure becomes a [`StorageError`] naming the file and what to do;
/// nothing here panics.
#[derive(Debug)]
pub struct SqliteStorage {
    conn: Connection,
    path: PathBuf,
    busy_timeout: Duration,
    /// The last `updated_at` this connection wrote (or the file's maximum at open).
    last_written: i64,
}

impl SqliteStorage {
    /// Opens (creating if needed) the database at `path` with default options, and
    /// creates or migrates its schema to version 1.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StorageError> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// Opens the database at `path` with `options`, and creates or migrates its schema
    /// to version 1 (a no-op, with no write, if it is already there).
    pub fn open_with(
        path: impl AsRef<Path>,
        options: &SqliteOptions,
    ) -> Result<Self, StorageError> {
        let path = path.as_ref().to_path_buf();
        let flags = if options.read_only {
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
        } else {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        };
        let err = |op: &str, e: rusqlite::Error| map_error(&path, options.busy_timeout, op, e);
        let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| err("open", e))?;
        conn.busy_timeout(options.busy_timeout)
            .map_err(|e| err("set busy_timeout", e))?;
        conn.set_prepared_statement_cache_capacity(32);
        if !options.read_only {
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(|e| err("switch to WAL mode", e))?;
            if !mode.eq_ignore_ascii_case("wal") {
                tracing::warn!(path = %path.display(), %mode, "SQLite did not switch to WAL mode");
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(|e| err("set synchronous", e))?;
        migrate(&mut conn).map_err(|e| match e {
            MigrateError::Sqlite(e) => err("migrate the schema", e),
            MigrateError::Newer(v) => StorageError::new(
                StorageErrorKind::Schema,
                format!(
                    "{} has schema version {v}, newer than the {SCHEMA_VERSION} this host understands; \
                     use a newer cache-host",
                    path.display()
                ),
            ),
        })?;
        for sql in ALL_STATEMENTS {
            conn.prepare_cached(sql).map_err(|e| {
                let base = err("check the tables", e);
                StorageError::new(
                    StorageErrorKind::Schema,
                    format!(
                        "{base}; the tables of {} do not have the expected columns (see the schema in the cache-host docs)",
                        path.display()
                    ),
                )
            })?;
        }
        let last_written: Option<i64> = conn
            .query_row(
                "SELECT max(m) FROM (SELECT max(CAST(updated_at AS INTEGER)) AS m FROM cache_storage \
                 UNION ALL SELECT max(CAST(updated_at AS INTEGER)) FROM chat_settings \
                 UNION ALL SELECT max(CAST(updated_at AS INTEGER)) FROM user_data)",
                [],
                |r| r.get(0),
            )
            .map_err(|e| err("read the last write sequence", e))?;
        tracing::debug!(path = %path.display(), read_only = options.read_only, "opened SQLite storage");
        Ok(Self {
            conn,
            path,
            busy_timeout: options.busy_timeout,
            last_written: last_written.unwrap_or(0),
        })
    }

    /// The path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection, for inspection and maintenance outside the cache's
    /// contract (tests use it to simulate failures). Writes made through it bypass the
    /// write sequence.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Rows and sizes stored per namespace, plus the row counts of the bot tables.
    pub fn usage(&self) -> Result<StorageUsage, StorageError> {
        let run = || -> rusqlite::Result<StorageUsage> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT namespace, count(*), coalesce(sum(length(CAST(key AS BLOB)) + length(CAST(value AS BLOB))), 0) \
                 FROM cache_storage GROUP BY namespace ORDER BY namespace",
            )?;
            let namespaces = stmt
                .query_map([], |r| {
                    Ok(NamespaceUsage {
                        namespace: r.get(0)?,
                        rows: r.get::<_, i64>(1)?.max(0) as u64,
                        bytes: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let count = |table: &str| -> rusqlite::Result<u64> {
                let n: i64 =
                    self.conn
                        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))?;
                Ok(n.max(0) as u64)
            };
            Ok(StorageUsage {
                namespaces,
                chat_settings_rows: count("chat_settings")?,
                user_data_rows: count("user_data")?,
            })
        };
        run().map_err(|e| self.error("read usage", e))
    }

    fn error(&self, op: &str, e: rusqlite::Error) -> StorageError {
        map_error(&self.path, self.busy_timeout, op, e)
    }
}

/// Gives the next write sequence value: `max(now_us, last + 1)`.
fn next_seq(last: &mut i64) -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0);
    let next = now.max(last.saturating_add(1));
    *last = next;
    next
}

enum MigrateError {
    Sqlite(rusqlite::Error),
    Newer(i64),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sqlite(e)
    }
}

/// Brings the schema to [`SCHEMA_VERSION`]; writes nothing if it is already there.
fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(MigrateError::Newer(version));
    }
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Another process may have migrated while we waited for the lock.
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(MigrateError::Newer(version));
    }
    if version < SCHEMA_VERSION {
        let updated_at_type: Option<String> = tx
            .query_row(
                "SELECT type FROM pragma_table_info('cache_storage') WHERE name = 'updated_at'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let has_table: bool = tx.query_row(
            "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'cache_storage'",
            [],
            |r| r.get(0),
        )?;
        let needs_rebuild =
            has_table && !updated_at_type.is_some_and(|t| t.eq_ignore_ascii_case("INTEGER"));
        if needs_rebuild {
            let rows: i64 = tx.query_row("SELECT count(*) FROM cache_storage", [], |r| r.get(0))?;
            tracing::info!(
                rows,
                "migrating a seed-design cache_storage table to schema version 1"
            );
            tx.execute_batch(MIGRATE_SEED_SQL)?;
        }
        tx.execute_batch(SCHEMA_SQL)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}

/// Turns a SQLite error into a [`StorageError`] that says what failed, on which file,
/// and what a person can do about it.
fn map_error(path: &Path, busy_timeout: Duration, op: &str, e: rusqlite::Error) -> StorageError {
    let p = path.display();
    let (kind, message) = match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let detail = msg.clone().unwrap_or_else(|| f.to_string());
            match f.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => (
                    StorageErrorKind::Busy,
                    format!(
                        "cannot {op}: database {p} is locked by another connection and stayed locked for {busy_timeout:?} \
                         (SQLite: {detail}); stop the other writer or raise the busy timeout, then retry"
                    ),
                ),
                ErrorCode::ReadOnly => (
                    StorageErrorKind::ReadOnly,
                    format!(
                        "cannot {op}: database {p} is read-only (SQLite: {detail}); make the file and its directory \
                         writable by this process, then retry"
                    ),
                ),
                ErrorCode::DiskFull => (
                    StorageErrorKind::Full,
                    format!(
                        "cannot {op}: the disk holding {p} is full (SQLite: {detail}); free some space, then retry"
                    ),
                ),
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => (
                    StorageErrorKind::Corrupt,
                    format!(
                        "cannot {op}: {p} is damaged or is not a SQLite database (SQLite: {detail}); restore it from a \
                         backup, or move it away to start with an empty cache"
                    ),
                ),
                ErrorCode::CannotOpen | ErrorCode::PermissionDenied => (
                    StorageErrorKind::CannotOpen,
                    format!(
                        "cannot {op}: cannot open {p} (SQLite: {detail}); check that its directory exists and is \
                         writable by this process"
                    ),
                ),
                ErrorCode::SystemIoFailure => (
                    StorageErrorKind::Io,
                    format!(
                        "cannot {op}: I/O error on {p} (SQLite: {detail}); check the disk and the file system"
                    ),
                ),
                _ => (
                    StorageErrorKind::Other,
                    format!("cannot {op} on {p}: SQLite: {detail}"),
                ),
            }
        }
        other => (
            StorageErrorKind::Other,
            format!("cannot {op} on {p}: {other}"),
        ),
    };
    StorageError::new(kind, message)
}

impl Storage for SqliteStorage {
    fn load(&mut self, namespace: &str, limit: u32) -> Result<Vec<Row>, StorageError> {
        let run = || -> rusqlite::Result<Vec<Row>> {
            let mut stmt = self.conn.prepare_cached(SQL_LOAD)?;
            let mut rows = stmt
                .query_map((namespace, i64::from(limit)), |r| {
                    Ok(Row {
                        namespace: namespace.to_string(),
                        key: r.get(0)?,
                        value: r.get(1)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.reverse();
            Ok(rows)
        };
        run().map_err(|e| self.error(&format!("load namespace {namespace:?}"), e))
    }

    fn get(&mut self, namespace: &str, key: &str) -> Result<Option<String>, StorageError> {
        let run = || -> rusqlite::Result<Option<String>> {
            let mut stmt = self.conn.prepare_cached(SQL_GET)?;
            stmt.query_row((namespace, key), |r| r.get(0)).optional()
        };
        run().map_err(|e| self.error(&format!("read {namespace:?}/{key:?}"), e))
    }

    fn write(&mut self, batch: &Batch) -> Result<(), StorageError> {
        if batch.clear.is_empty() && batch.delete.is_empty() && batch.upsert.is_empty() {
            return Ok(());
        }
        let mut last = self.last_written;
        let result = (|| -> rusqlite::Result<()> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                if !batch.clear.is_empty() {
                    let mut stmt = tx.prepare_cached(SQL_CLEAR)?;
                    for ns in &batch.clear {
                        stmt.execute((ns,))?;
                    }
                }
                if !batch.delete.is_empty() {
                    let mut stmt = tx.prepare_cached(SQL_DELETE)?;
                    for k in &batch.delete {
                        stmt.execute((&k.namespace, &k.key))?;
                    }
                }
                if !batch.upsert.is_empty() {
                    let mut stmt = tx.prepare_cached(SQL_UPSERT)?;
                    for r in &batch.upsert {
                        stmt.execute((&r.namespace, &r.key, &r.value, next_seq(&mut last)))?;
                    }
                }
            }
            tx.commit()
        })();
        // Sequence values stay consumed even on failure: still strictly increasing.
        self.last_written = last;
        result.map_err(|e| {
            self.error(
                &format!(
                    "write a batch ({} clear, {} delete, {} upsert)",
                    batch.clear.len(),
                    batch.delete.len(),
                    batch.upsert.len()
                ),
                e,
            )
        })
    }

    fn get_chat_settings(&mut self, chat_id: i64) -> Result<Vec<(String, String)>, StorageError> {
        let run = || -> rusqlite::Result<Vec<(String, String)>> {
            let mut stmt = self.conn.prepare_cached(SQL_GET_CHAT_SETTINGS)?;
            let rows = stmt
                .query_map((chat_id,), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        };
        run().map_err(|e| self.error(&format!("read the settings of chat {chat_id}"), e))
    }

    fn set_chat_settings(
        &mut self,
        chat_id: i64,
        settings: &[(String, String)],
    ) -> Result<(), StorageError> {
        if settings.is_empty() {
            return Ok(());
        }
        let mut last = self.last_written;
        let result = (|| -> rusqlite::Result<()> {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(SQL_SET_CHAT_SETTING)?;
                for (key, value) in settings {
                    stmt.execute((chat_id, key, value, next_seq(&mut last)))?;
                }
            }
            tx.commit()
        })();
        self.last_written = last;
        result.map_err(|e| self.error(&format!("write the settings of chat {chat_id}"), e))
    }

    fn get_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let run = || -> rusqlite::Result<Vec<(String, String)>> {
            let mut stmt = self.conn.prepare_cached(SQL_GET_USER_DATA)?;
            let rows = stmt
                .query_map((chat_id, user_id), |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        };
        run().map_err(|e| {
            self.error(
                &format!("read the data of user {user_id} in chat {chat_id}"),
                e,
            )
        })
    }

    fn add_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &str,
    ) -> Result<(), StorageError> {
        let seq = next_seq(&mut self.last_written);
        let run = || -> rusqlite::Result<usize> {
            let mut stmt = self.conn.prepare_cached(SQL_ADD_USER_DATA)?;
            stmt.execute((chat_id, user_id, key, value, seq))
        };
        run().map(|_| ()).map_err(|e| {
            self.error(
                &format!("write data {key:?} of user {user_id} in chat {chat_id}"),
                e,
            )
        })
    }

    fn stored_namespaces(&mut self) -> Result<Vec<(String, u64)>, StorageError> {
        let run = || -> rusqlite::Result<Vec<(String, u64)>> {
            let mut stmt = self.conn.prepare_cached(
                "SELECT namespace, count(*) FROM cache_storage GROUP BY namespace ORDER BY namespace",
            )?;
            let rows = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        };
        run().map_err(|e| self.error("list the stored namespaces", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::RowKey;

    fn row(ns: &str, key: &str, value: &str) -> Row {
        Row {
            namespace: ns.into(),
            key: key.into(),
            value: value.into(),
        }
    }

    fn upserts(rows: Vec<Row>) -> Batch {
        Batch {
            clear: vec![],
            delete: vec![],
            upsert: rows,
        }
    }

    fn keys(rows: &[Row]) -> Vec<&str> {
        rows.iter().map(|r| r.key.as_str()).collect()
    }

    fn user_version(s: &SqliteStorage) -> i64 {
        s.connection()
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn creates_schema_in_wal_and_reopens_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut s = SqliteStorage::open(&path).unwrap();
        assert_eq!(user_version(&s), 1);
        let mode: String = s
            .connection()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        s.write(&upserts(vec![row("chats", "1", "{}")])).unwrap();
        drop(s);
        let mut s = SqliteStorage::open(&path).unwrap();
        assert_eq!(user_version(&s), 1);
        assert_eq!(s.get("chats", "1").unwrap().as_deref(), Some("{}"));
    }

    #[test]
    fn load_returns_newest_rows_oldest_first_even_within_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStorage::open(dir.path().join("c.db")).unwrap();
        s.write(&upserts(
            (0..10).map(|i| row("ns", &format!("k{i}"), "1")).collect(),
        ))
        .unwrap();
        s.write(&upserts(vec![row("other", "x", "1")])).unwrap();
        // Re-writing k2 makes it the newest.
        s.write(&upserts(vec![row("ns", "k2", "2")])).unwrap();
        let rows = s.load("ns", 3).unwrap();
        assert_eq!(keys(&rows), ["k8", "k9", "k2"]);
        assert_eq!(rows[2].value, "2");
        assert!(rows.iter().all(|r| r.namespace == "ns"));
        assert_eq!(s.load("ns", 100).unwrap().len(), 10);
        assert!(s.load("missing", 5).unwrap().is_empty());
        assert!(s.load("ns", 0).unwrap().is_empty());
    }

    #[test]
    fn write_sequence_survives_reopen_and_clock_going_backwards() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let s = SqliteStorage::open(&path).unwrap();
        // A row from "the future": later writes must still sort after it.
        s.connection()
            .execute(
                "INSERT INTO cache_storage VALUES ('ns', 'future', '1', 9000000000000000)",
                [],
            )
            .unwrap();
        drop(s);
        let mut s = SqliteStorage::open(&path).unwrap();
        s.write(&upserts(vec![row("ns", "a", "1"), row("ns", "b", "1")]))
            .unwrap();
        assert_eq!(keys(&s.load("ns", 2).unwrap()), ["a", "b"]);
    }

    #[test]
    fn load_is_served_by_the_recency_index() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStorage::open(dir.path().join("c.db")).unwrap();
        let mut stmt = s
            .connection()
            .prepare(&format!("EXPLAIN QUERY PLAN {SQL_LOAD}"))
            .unwrap();
        let plan: Vec<String> = stmt
            .query_map(("ns", 5), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("idx_cache_storage_recency"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[test]
    fn batch_applies_clear_then_delete_then_upsert() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStorage::open(dir.path().join("c.db")).unwrap();
        s.write(&upserts(vec![
            row("a", "1", "1"),
            row("a", "2", "1"),
            row("b", "1", "1"),
            row("b", "2", "1"),
        ]))
        .unwrap();
        s.write(&Batch {
            clear: vec!["a".into()],
            delete: vec![RowKey {
                namespace: "b".into(),
                key: "1".into(),
            }],
            upsert: vec![row("a", "3", "3"), row("b", "1", "new")],
        })
        .unwrap();
        assert_eq!(keys(&s.load("a", 10).unwrap()), ["3"]);
        let b = s.load("b", 10).unwrap();
        assert_eq!(keys(&b), ["2", "1"]);
        assert_eq!(b[1].value, "new");
    }

    #[test]
    fn failed_batch_applies_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStorage::open(dir.path().join("c.db")).unwrap();
        s.write(&upserts(vec![row("a", "keep", "1")])).unwrap();
        s.connection()
            .execute_batch(
                "CREATE TRIGGER boom BEFORE INSERT ON cache_storage WHEN NEW.key = 'boom' \
                 BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END;",
            )
            .unwrap();
        let err = s
            .write(&Batch {
                clear: vec!["a".into()],
                delete: vec![],
                upsert: vec![row("a", "fine", "1"), row("a", "boom", "1")],
            })
            .unwrap_err();
        assert!(err.message().contains("refused by trigger"), "{err}");
        assert_eq!(keys(&s.load("a", 10).unwrap()), ["keep"]);
    }

    #[test]
    fn chat_settings_and_user_data_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStorage::open(dir.path().join("c.db")).unwrap();
        s.set_chat_settings(
            -100,
            &[("b".into(), "two".into()), ("a".into(), "1".into())],
        )
        .unwrap();
        s.set_chat_settings(-100, &[("a".into(), "one".into())])
            .unwrap();
        assert_eq!(
            s.get_chat_settings(-100).unwrap(),
            [("a".into(), "one".into()), ("b".into(), "two".into())]
        );
        assert!(s.get_chat_settings(5).unwrap().is_empty());
        s.add_user_data(1, 2, "k", "[1]").unwrap();
        s.add_user_data(1, 2, "k", "[2]").unwrap();
        s.add_user_data(1, 3, "k", "[3]").unwrap();
        assert_eq!(s.get_user_data(1, 2).unwrap(), [("k".into(), "[2]".into())]);
    }

    #[test]
    fn migrates_a_seed_file_keeping_rows_and_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.db");
        {
            let c = Connection::open(&path).unwrap();
            c.execute_batch(
                "CREATE TABLE cache_storage (namespace TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
                     updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (namespace, key));
                 CREATE INDEX idx_cache_namespace ON cache_storage(namespace);
                 INSERT INTO cache_storage VALUES ('chats', 'old', '{\"a\":1}', '2024-01-01 10:00:00');
                 INSERT INTO cache_storage VALUES ('chats', 'new', '{\"a\":2}', '2024-06-01 10:00:00.5');
                 INSERT INTO cache_storage VALUES ('chats', 'mid', '{\"a\":3}', 1709287200);
                 INSERT INTO cache_storage VALUES ('chatUsers', '1:2', '{}', 'garbage');
                 INSERT INTO cache_storage (namespace, key, value) VALUES ('chatUsers', '1:3', '{}');",
            )
            .unwrap();
        }
        let mut s = SqliteStorage::open(&path).unwrap();
        assert_eq!(user_version(&s), 1);
        assert_eq!(keys(&s.load("chats", 10).unwrap()), ["old", "mid", "new"]);
        assert_eq!(s.load("chatUsers", 10).unwrap().len(), 2);
        let non_int: i64 = s
            .connection()
            .query_row(
                "SELECT count(*) FROM cache_storage WHERE typeof(updated_at) != 'integer'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(non_int, 0);
        let old_ts: i64 = s
            .connection()
            .query_row(
                "SELECT updated_at FROM cache_storage WHERE key = 'old'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(old_ts, 1_704_103_200_000_000);
        // New writes sort after every migrated row.
        s.write(&upserts(vec![row("chats", "newest", "1")]))
            .unwrap();
        assert_eq!(keys(&s.load("chats", 1).unwrap()), ["newest"]);
        drop(s);
        // Re-opening is a no-op.
        let mut s = SqliteStorage::open(&path).unwrap();
        assert_eq!(s.load("chats", 10).unwrap().len(), 4);
    }

    #[test]
    fn refuses_a_newer_schema_and_a_non_database() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newer.db");
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", 7).unwrap();
        }
        let err = SqliteStorage::open(&path).unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::Schema);
        assert!(err.message().contains("schema version 7"), "{err}");

        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![0x5au8; 8192]).unwrap();
        let err = SqliteStorage::open(&junk).unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::Corrupt, "{err}");
        assert!(err.message().contains("junk.db"), "{err}");
    }

    #[test]
    fn locked_database_gives_a_busy_error_and_reads_still_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut s = SqliteStorage::open_with(
            &path,
            &SqliteOptions {
                busy_timeout: Duration::from_millis(50),
                ..Default::default()
            },
        )
        .unwrap();
        s.write(&upserts(vec![row("ns", "a", "1")])).unwrap();
        let other = Connection::open(&path).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        let err = s.write(&upserts(vec![row("ns", "b", "1")])).unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::Busy, "{err}");
        assert!(err.message().contains("locked"), "{err}");
        let err = s.add_user_data(1, 1, "k", "1").unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::Busy, "{err}");
        assert_eq!(s.get("ns", "a").unwrap().as_deref(), Some("1"));
        other.execute_batch("ROLLBACK").unwrap();
        s.write(&upserts(vec![row("ns", "b", "1")])).unwrap();
        assert_eq!(s.load("ns", 10).unwrap().len(), 2);
    }

    #[test]
    fn read_only_database_serves_reads_and_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let mut s = SqliteStorage::open(&path).unwrap();
        s.write(&upserts(vec![row("ns", "a", "1")])).unwrap();
        drop(s);
        let mut ro = SqliteStorage::open_with(
            &path,
            &SqliteOptions {
                read_only: true,
                ..Default::default()
            },
        )
        .unwrap();
        let err = ro.write(&upserts(vec![row("ns", "b", "1")])).unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::ReadOnly, "{err}");
        assert!(err.message().contains("read-only"), "{err}");
        let err = ro
            .set_chat_settings(1, &[("a".into(), "b".into())])
            .unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::ReadOnly, "{err}");
        assert_eq!(keys(&ro.load("ns", 10).unwrap()), ["a"]);
    }

    #[test]
    fn missing_directory_is_a_cannot_open_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = SqliteStorage::open(dir.path().join("no/such/dir/c.db")).unwrap_err();
        assert_eq!(err.kind(), StorageErrorKind::CannotOpen, "{err}");
        assert!(err.message().contains("directory"), "{err}");
    }

    #[test]
    fn usage_counts_rows_and_bytes_per_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = SqliteStorage::open(dir.path().join("c.db")).unwrap();
        s.write(&upserts(vec![
            row("a", "k1", "12"),
            row("a", "k2", "é"),
            row("b", "x", "1"),
        ]))
        .unwrap();
        s.add_user_data(1, 2, "k", "1").unwrap();
        let u = s.usage().unwrap();
        assert_eq!(
            u.namespaces,
            [
                NamespaceUsage {
                    namespace: "a".into(),
                    rows: 2,
                    bytes: 8
                },
                NamespaceUsage {
                    namespace: "b".into(),
                    rows: 1,
                    bytes: 2
                },
            ]
        );
        assert_eq!(u.user_data_rows, 1);
        assert_eq!(u.chat_settings_rows, 0);
    }
}
