//! The SQL of `schema/postgres/`, compiled in, and the migration runner.

use postgres::Client;

macro_rules! query {
    ($name:literal) => {
        include_str!(concat!("../../schema/postgres/queries/", $name, ".sql"))
    };
}

pub(crate) const ROWS_LOAD: &str = query!("rows_load");
pub(crate) const ROWS_GET: &str = query!("rows_get");
pub(crate) const ROWS_CLEAR: &str = query!("rows_clear");
pub(crate) const ROWS_DELETE: &str = query!("rows_delete");
pub(crate) const ROWS_KEY_LOCK: &str = query!("rows_key_lock");
pub(crate) const ROWS_LOCK: &str = query!("rows_lock");
pub(crate) const ROWS_UPSERT: &str = query!("rows_upsert");
pub(crate) const ROWS_NAMESPACES: &str = query!("rows_namespaces");
pub(crate) const SETTINGS_GET: &str = query!("settings_get");
pub(crate) const SETTINGS_DELETE: &str = query!("settings_delete");
pub(crate) const SETTINGS_DELETE_OTHERS: &str = query!("settings_delete_others");
pub(crate) const SETTINGS_UPSERT: &str = query!("settings_upsert");
pub(crate) const USER_DATA_GET: &str = query!("user_data_get");
pub(crate) const USER_DATA_UPSERT: &str = query!("user_data_upsert");
pub(crate) const TABLE_ROWS: &str = query!("table_rows");
pub(crate) const NOTIFY: &str = query!("notify");
pub(crate) const ROWS_REMOVED: &str = query!("rows_removed");
pub(crate) const TOMBSTONES_PURGE: &str = query!("tombstones_purge");
const VERSION_TABLE: &str = query!("schema_version_table");
const VERSION_EXISTS: &str = query!("schema_version_exists");
const VERSION_GET: &str = query!("schema_version_get");
const VERSION_SET: &str = query!("schema_version_set");
const MIGRATE_LOCK: &str = query!("schema_migrate_lock");

/// The migrations, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: [&str; 2] = [
    include_str!("../../schema/postgres/migrations/0001_tables.sql"),
    include_str!("../../schema/postgres/migrations/0002_tombstones.sql"),
];

/// The schema version this backend creates and understands.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Every statement the storage runs after open: prepared at open, so tables of
/// the wrong shape are refused at once with a clear message.
pub(crate) const ALL_STATEMENTS: [&str; 17] = [
    ROWS_LOAD,
    ROWS_GET,
    ROWS_CLEAR,
    ROWS_DELETE,
    ROWS_KEY_LOCK,
    ROWS_LOCK,
    ROWS_UPSERT,
    ROWS_NAMESPACES,
    SETTINGS_GET,
    SETTINGS_DELETE,
    SETTINGS_DELETE_OTHERS,
    SETTINGS_UPSERT,
    USER_DATA_GET,
    USER_DATA_UPSERT,
    TABLE_ROWS,
    NOTIFY,
    ROWS_REMOVED,
];

/// The statements only writes run: a read-only open does not prepare them, so it
/// works on a schema an older version migrated (its writes are refused first).
pub(crate) const WRITE_STATEMENTS: [&str; 10] = [
    ROWS_CLEAR,
    ROWS_DELETE,
    ROWS_KEY_LOCK,
    ROWS_LOCK,
    ROWS_UPSERT,
    SETTINGS_DELETE,
    SETTINGS_DELETE_OTHERS,
    SETTINGS_UPSERT,
    USER_DATA_UPSERT,
    ROWS_REMOVED,
];

/// Why the schema could not be brought up to date.
pub(crate) enum MigrateError {
    Postgres(postgres::Error),
    /// The database's schema version is newer than this backend's.
    Newer(i64),
}

impl From<postgres::Error> for MigrateError {
    fn from(e: postgres::Error) -> Self {
        MigrateError::Postgres(e)
    }
}

/// The cache schema version of the connection's schema: 0 when never migrated.
pub(crate) fn version(client: &mut Client) -> Result<i64, postgres::Error> {
    let exists: bool = client.query_one(VERSION_EXISTS, &[])?.try_get(0)?;
    if !exists {
        return Ok(0);
    }
    client.query_one(VERSION_GET, &[])?.try_get(0)
}

/// Applies the missing migrations in one transaction, under an advisory lock
/// so that processes opening at once migrate once. Writes nothing when the
/// schema is already at [`SCHEMA_VERSION`].
pub(crate) fn migrate(client: &mut Client) -> Result<(), MigrateError> {
    let current = version(client)?;
    if current > SCHEMA_VERSION {
        return Err(MigrateError::Newer(current));
    }
    if current == SCHEMA_VERSION {
        return Ok(());
    }
    let mut tx = client.transaction()?;
    tx.execute(MIGRATE_LOCK, &[])?;
    tx.batch_execute(VERSION_TABLE)?;
    // Another process may have migrated while this one waited for the lock.
    let current: i64 = tx.query_one(VERSION_GET, &[])?.try_get(0)?;
    if current > SCHEMA_VERSION {
        return Err(MigrateError::Newer(current));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tracing::info!(version = i + 1, "migrating the cache schema (PostgreSQL)");
        tx.batch_execute(sql)?;
        tx.execute(VERSION_SET, &[&(i as i64 + 1)])?;
    }
    tx.commit()?;
    Ok(())
}
