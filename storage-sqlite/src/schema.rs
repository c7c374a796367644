//! The SQL of `schema/sqlite/`, compiled in, and the migration runner.
//! [`queries`] is public so that benchmarks run the very statements the host runs.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

macro_rules! query {
    ($name:literal) => {
        include_str!(concat!("../../schema/sqlite/queries/", $name, ".sql"))
    };
}

/// The statements the storage runs, one per file of `schema/sqlite/queries/`.
pub mod queries {
    /// The newest `?2` rows of namespace `?1`, newest first (ties by key).
    pub const ROWS_LOAD: &str = query!("rows_load");
    /// The value of row (`?1`, `?2`).
    pub const ROWS_GET: &str = query!("rows_get");
    /// Deletes every row of namespace `?1`.
    pub const ROWS_CLEAR: &str = query!("rows_clear");
    /// Deletes row (`?1`, `?2`).
    pub const ROWS_DELETE: &str = query!("rows_delete");
    /// Inserts or replaces row (`?1`, `?2`) with value `?3`, stamped with write sequence `?4`.
    pub const ROWS_UPSERT: &str = query!("rows_upsert");
    /// Rows and bytes per namespace.
    pub const ROWS_NAMESPACES: &str = query!("rows_namespaces");
    /// The non-NULL settings of chat `?1`, by key.
    pub const SETTINGS_GET: &str = query!("settings_get");
    /// Every setting key of chat `?1`.
    pub const SETTINGS_KEYS: &str = query!("settings_keys");
    /// Inserts or replaces setting `?2` of chat `?1` with `?3`, stamped with `?4` (created_at kept on update).
    pub const SETTINGS_UPSERT: &str = query!("settings_upsert");
    /// Deletes setting `?2` of chat `?1`.
    pub const SETTINGS_DELETE: &str = query!("settings_delete");
    /// The data items of user `?2` in chat `?1`, by key.
    pub const USER_DATA_GET: &str = query!("user_data_get");
    /// Inserts or replaces item `?3` of user `?2` in chat `?1` with `?4`, stamped with `?5`.
    pub const USER_DATA_UPSERT: &str = query!("user_data_upsert");
    /// Row counts of `chat_settings` and `user_data`.
    pub const TABLE_ROWS: &str = query!("table_rows");
    /// The newest timestamp of the three tables, in microseconds.
    pub const LAST_WRITTEN: &str = query!("last_written");
}
pub(super) use queries::*;

const VERSION_TABLE: &str = query!("schema_version_table");
const VERSION_EXISTS: &str = query!("schema_version_exists");
const VERSION_GET: &str = query!("schema_version_get");
const VERSION_SET: &str = query!("schema_version_set");

/// The migrations, in order, by file name; migration `i` brings the schema to
/// version `i + 1`.
const MIGRATIONS: [(&str, &str); 2] = [
    (
        "0001_tables",
        include_str!("../../schema/sqlite/migrations/0001_tables.sql"),
    ),
    (
        "0002_seed_fields",
        include_str!("../../schema/sqlite/migrations/0002_seed_fields.sql"),
    ),
];

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

/// For a read-only open of a file the cache never migrated but that has the seed's
/// `cache_storage` table: an empty stand-in, in the connection's temporary schema,
/// for each other table of the first migration the file lacks. SQLite itself reads
/// that migration (run on an in-memory scratch database) and gives each table's
/// definition; nothing here parses SQL. Every read then works and finds nothing
/// there; the file is not written. A file without `cache_storage` is not the
/// cache's and gets no stand-in (its open fails on the missing tables).
pub(super) fn stand_in_missing_tables(conn: &Connection) -> rusqlite::Result<()> {
    let has = |name: &str| -> rusqlite::Result<bool> {
        conn.query_row(
            "SELECT count(*) > 0 FROM main.sqlite_master WHERE type = 'table' AND name = ?1",
            [name],
            |r| r.get(0),
        )
    };
    if !has("cache_storage")? {
        return Ok(());
    }
    let scratch = Connection::open_in_memory()?;
    scratch.execute_batch(MIGRATIONS[0].1)?;
    let mut tables = scratch.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'table'")?;
    let tables = tables
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (name, definition) in tables {
        // SQLite keeps each definition as the statement that made it, without
        // `IF NOT EXISTS`: the first word after `CREATE` is `TABLE`.
        if !has(&name)? {
            conn.execute_batch(&definition.replacen("TABLE", "TEMP TABLE", 1))?;
        }
    }
    Ok(())
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
    for (i, (name, sql)) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let before = tx.total_changes();
        tx.execute_batch(sql)?;
        // The rows a migration inserted, changed or deleted: what adopting a file
        // moved (0002 moves the seed's settings and user data into the bot's tables).
        let rows = tx.total_changes() - before;
        tracing::info!(
            version = i + 1,
            migration = name,
            rows,
            "migrated the cache schema"
        );
        tx.execute(VERSION_SET, (i as i64 + 1,))?;
    }
    tx.commit()?;
    Ok(())
}
