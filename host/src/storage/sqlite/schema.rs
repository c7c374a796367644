//! The SQL of `schema/sqlite/`, compiled in, and the migration runner.
//! [`queries`] is public so that benchmarks run the very statements the host runs.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

macro_rules! query {
    ($name:literal) => {
        include_str!(concat!("../../../../schema/sqlite/queries/", $name, ".sql"))
    };
}

/// The statements the storage runs, one per file of `schema/sqlite/queries/`.
pub mod queries {
    /// One statement of `schema/sqlite/queries/`.
    pub const ROWS_LOAD: &str = query!("rows_load");
    /// One statement of `schema/sqlite/queries/`.
    pub const ROWS_GET: &str = query!("rows_get");
    /// One statement of `schema/sqlite/queries/`.
    pub const ROWS_CLEAR: &str = query!("rows_clear");
    /// One statement of `schema/sqlite/queries/`.
    pub const ROWS_DELETE: &str = query!("rows_delete");
    /// One statement of `schema/sqlite/queries/`.
    pub const ROWS_UPSERT: &str = query!("rows_upsert");
    /// One statement of `schema/sqlite/queries/`.
    pub const ROWS_NAMESPACES: &str = query!("rows_namespaces");
    /// One statement of `schema/sqlite/queries/`.
    pub const SETTINGS_GET: &str = query!("settings_get");
    /// One statement of `schema/sqlite/queries/`.
    pub const SETTINGS_KEYS: &str = query!("settings_keys");
    /// One statement of `schema/sqlite/queries/`.
    pub const SETTINGS_UPSERT: &str = query!("settings_upsert");
    /// One statement of `schema/sqlite/queries/`.
    pub const SETTINGS_DELETE: &str = query!("settings_delete");
    /// One statement of `schema/sqlite/queries/`.
    pub const USER_DATA_GET: &str = query!("user_data_get");
    /// One statement of `schema/sqlite/queries/`.
    pub const USER_DATA_UPSERT: &str = query!("user_data_upsert");
    /// One statement of `schema/sqlite/queries/`.
    pub const TABLE_ROWS: &str = query!("table_rows");
    /// One statement of `schema/sqlite/queries/`.
    pub const LAST_WRITTEN: &str = query!("last_written");
}
pub(super) use queries::*;

const VERSION_TABLE: &str = query!("schema_version_table");
const VERSION_EXISTS: &str = query!("schema_version_exists");
const VERSION_GET: &str = query!("schema_version_get");
const VERSION_SET: &str = query!("schema_version_set");

/// The migrations, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: [&str; 1] = [include_str!(
    "../../../../schema/sqlite/migrations/0001_tables.sql"
)];

/// The schema version this host creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Every statement the storage runs after open: prepared at open, so a file
/// whose tables have the wrong shape is refused with a clear message at once.
pub const ALL_STATEMENTS: [&str; 14] = [
    ROWS_LOAD,
    ROWS_GET,
    ROWS_CLEAR,
    ROWS_DELETE,
    ROWS_UPSERT,
    ROWS_NAMESPACES,
    SETTINGS_GET,
    SETTINGS_KEYS,
    SETTINGS_UPSERT,
    SETTINGS_DELETE,
    USER_DATA_GET,
    USER_DATA_UPSERT,
    TABLE_ROWS,
    LAST_WRITTEN,
];

/// Why the schema could not be brought up to date.
pub(super) enum MigrateError {
    Sqlite(rusqlite::Error),
    /// The file's schema version is newer than this host's.
    Newer(i64),
}

impl From<rusqlite::Error> for MigrateError {
    fn from(e: rusqlite::Error) -> Self {
        MigrateError::Sqlite(e)
    }
}

/// The schema version of the file: 0 when the cache never migrated it.
pub(super) fn version(conn: &Connection) -> rusqlite::Result<i64> {
    let exists: i64 = conn.query_row(VERSION_EXISTS, [], |r| r.get(0))?;
    if exists == 0 {
        return Ok(0);
    }
    conn.query_row(VERSION_GET, [], |r| r.get(0))
}

/// Applies the missing migrations in one transaction. Writes nothing when the
/// file is already at [`SCHEMA_VERSION`].
pub(super) fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let current = version(conn)?;
    if current > SCHEMA_VERSION {
        return Err(MigrateError::Newer(current));
    }
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(VERSION_TABLE)?;
    // Another process may have migrated while this one waited for the lock.
    let current: i64 = tx
        .query_row(VERSION_GET, [], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    if current > SCHEMA_VERSION {
        return Err(MigrateError::Newer(current));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tracing::info!(version = i + 1, "migrating the cache schema");
        tx.execute_batch(sql)?;
        tx.execute(VERSION_SET, (i as i64 + 1,))?;
    }
    tx.commit()?;
    Ok(())
}
