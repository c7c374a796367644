//! The SQLite backend: the storage kit, plus what only SQLite has (the schema,
//! adopting the bot's and the seed's tables, read-only opens, text timestamps).

use super::*;
use cache_core::Row;
use cache_storage_kit::{Backend, BadCell};
use rusqlite::params;

/// The storage kit's constructor for SQLite files in a temporary directory.
struct Sqlite {
    dir: tempfile::TempDir,
    next: u32,
    /// A second connection holding the write lock, for the busy case.
    locker: Option<Connection>,
}

impl Sqlite {
    fn new() -> Self {
        Sqlite {
            dir: tempfile::tempdir().expect("temp dir"),
            next: 0,
            locker: None,
        }
    }
}

impl Backend for Sqlite {
    type Storage = SqliteStorage;

    fn open(&mut self) -> SqliteStorage {
        self.next += 1;
        let path = self.dir.path().join(format!("kit{}.db", self.next));
        SqliteStorage::open_with(
            path,
            &SqliteOptions {
                busy_timeout: Duration::from_millis(50),
                ..SqliteOptions::default()
            },
        )
        .expect("open")
    }

    fn reopen(&mut self, storage: SqliteStorage) -> Option<SqliteStorage> {
        let path = storage.path().to_path_buf();
        drop(storage);
        Some(SqliteStorage::open(path).expect("reopen"))
    }

    fn put_bad_cell(
        &mut self,
        s: &mut SqliteStorage,
        namespace: &str,
        key: &str,
        cell: BadCell,
    ) -> bool {
        let sql = "INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES (?1, ?2, ?3, '2020-01-01 00:00:00')";
        let conn = s.connection();
        match cell {
            BadCell::Blob => conn.execute(sql, params![namespace, key, vec![0u8, 159, 146, 150]]),
            BadCell::InvalidUtf8 => conn.execute(
                "INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES (?1, ?2, CAST(X'C328' AS TEXT), '2020-01-01 00:00:00')",
                params![namespace, key],
            ),
            // The bot's and the seed's `value` columns are NOT NULL; a NULL can
            // still arrive in a table declared without it.
            BadCell::Null => {
                conn.execute_batch(NULLABLE_VALUE_DDL)
                    .expect("relax NOT NULL");
                conn.execute(
                    "INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES (?1, ?2, NULL, '2020-01-01 00:00:00')",
                    params![namespace, key],
                )
            }
        }
        .expect("insert a bad cell");
        true
    }

    fn provoke(&mut self, s: &mut SqliteStorage, kind: StorageErrorKind, key: &str) -> bool {
        let conn = s.connection();
        match kind {
            StorageErrorKind::Busy => {
                let other = Connection::open(s.path()).expect("second connection");
                other.execute_batch("BEGIN IMMEDIATE").expect("take the write lock");
                self.locker = Some(other);
            }
            StorageErrorKind::Constraint => conn
                .execute_batch(&format!(
                    "CREATE TRIGGER kit_refuse BEFORE INSERT ON cache_storage WHEN NEW.key = '{key}' \
                     BEGIN SELECT RAISE(ABORT, 'refused by the kit'); END;"
                ))
                .expect("trigger"),
            StorageErrorKind::ReadOnly => conn.pragma_update(None, "query_only", true).expect("query_only"),
            StorageErrorKind::Full => {
                let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0)).expect("page_count");
                conn.pragma_update(None, "max_page_count", pages).expect("max_page_count");
                // The batch must need new pages: make the failing row big.
                conn.execute_batch(&format!(
                    "CREATE TRIGGER kit_grow BEFORE INSERT ON cache_storage WHEN NEW.key = '{key}' \
                     BEGIN INSERT INTO cache_storage VALUES ('kit-pad', 'pad', hex(randomblob(200000)), '2000-01-01'); END;"
                ))
                .expect("growth trigger");
            }
            _ => return false,
        }
        true
    }

    fn heal(&mut self, s: &mut SqliteStorage) {
        if let Some(other) = self.locker.take() {
            other.execute_batch("ROLLBACK").expect("release the lock");
        }
        let conn = s.connection();
        conn.execute_batch(
            "DROP TRIGGER IF EXISTS kit_refuse; DROP TRIGGER IF EXISTS kit_grow; \
             PRAGMA query_only = 0; PRAGMA max_page_count = 4294967294;",
        )
        .expect("heal");
    }
}

#[test]
fn passes_the_storage_kit() {
    let ran = cache_storage_kit::run(&mut Sqlite::new());
    for expected in [
        "load-newest-n-oldest-first",
        "batch-order",
        "absent-is-not-an-error",
        "reopen-keeps-everything",
        "bad-cell-Blob",
        "bad-cell-InvalidUtf8",
        "bad-cell-Null",
        "typed-error-busy",
        "typed-error-full",
        "typed-error-read-only",
        "typed-error-constraint",
        "settings-merge-rewrite-unset",
        "user-data",
    ] {
        assert!(
            ran.iter().any(|r| r == expected),
            "{expected} did not run: {ran:?}"
        );
    }
}

fn upsert(s: &mut SqliteStorage, namespace: &str, key: &str, value: &str) {
    s.write(&Batch {
        upsert: vec![Row {
            namespace,
            key,
            value: value.into(),
        }],
        ..Batch::default()
    })
    .expect("write");
}

fn cache_version(path: &Path) -> i64 {
    let c = Connection::open(path).expect("open");
    schema::version(&c).expect("version")
}

/// `cache_storage` rebuilt to accept a NULL value (schema/sqlite/fixtures), shared
/// with the Node storage-kit backend.
const NULLABLE_VALUE_DDL: &str = include_str!("../../schema/sqlite/fixtures/nullable_value.sql");

/// The bot's database (schema/sqlite/fixtures), shared by every host's tests.
const BOT_DDL: &str = include_str!("../../schema/sqlite/fixtures/bot_database.sql");

/// The seed design's database (schema/sqlite/fixtures), shared by every host's tests.
const SEED_DDL: &str = include_str!("../../schema/sqlite/fixtures/seed_database.sql");

#[test]
fn adopts_the_bots_tables_without_altering_them_and_fills_its_columns() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bot.db");
    Connection::open(&path)
        .expect("create")
        .execute_batch(BOT_DDL)
        .expect("bot ddl");
    let columns = |c: &Connection, table: &str| -> Vec<String> {
        c.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<rusqlite::Result<_>>()
            .expect("columns")
    };
    let before: Vec<Vec<String>> = {
        let c = Connection::open(&path).expect("open");
        ["chat_settings", "user_data", "cache_storage"]
            .iter()
            .map(|t| columns(&c, t))
            .collect()
    };
    let mut s = SqliteStorage::open(&path).expect("open the bot's file");
    // Rows written the bot's way load, in order: text timestamps, ties by key.
    let rows = s.load("chats", 10).expect("load");
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["a", "b", "-100"]);
    assert_eq!(
        s.get_chat_settings(-100).expect("settings"),
        [("lang".to_owned(), "ru".to_owned())]
    );
    assert_eq!(
        s.get_user_data(-100, 5).expect("data"),
        [("karma".to_owned(), "3".to_owned())]
    );
    // Writes succeed and fill the bot's NOT NULL columns.
    s.write_chat_settings(
        -100,
        &SettingsChange::Merge(vec![("model".into(), "gpt".into())]),
    )
    .expect("merge a setting");
    s.set_user_data(-100, 6, "k", "\"v\"")
        .expect("set user data");
    upsert(&mut s, "chats", "-101", "{}");
    let c = s.connection();
    let (created, updated): (String, String) = c
        .query_row(
            "SELECT created_at, updated_at FROM chat_settings WHERE key = 'model'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("timestamps");
    assert_eq!(created, updated);
    assert_eq!(
        created.len(),
        "2025-06-01 12:00:00.000000".len(),
        "{created}"
    );
    assert!(created.as_str() > "2025-06-01 12:00:01", "{created}");
    let kept: (Option<i64>, String) = c
        .query_row(
            "SELECT updated_by, created_at FROM chat_settings WHERE key = 'lang'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the bot's row");
    assert_eq!(
        kept,
        (Some(7), "2025-06-01 12:00:00".to_owned()),
        "the bot's columns are kept"
    );
    let user_version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .expect("user_version");
    assert_eq!(
        user_version, 42,
        "PRAGMA user_version belongs to the bot's migrations"
    );
    let after: Vec<Vec<String>> = ["chat_settings", "user_data", "cache_storage"]
        .iter()
        .map(|t| columns(c, t))
        .collect();
    // New rows are the newest.
    let rows = s.load("chats", 1).expect("load newest");
    assert_eq!(rows[0].key, "-101");
    assert_eq!(before, after, "no column was altered");
    assert_eq!(cache_version(&path), SCHEMA_VERSION);
}

#[test]
fn adopts_a_seed_design_file() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("seed.db");
    Connection::open(&path)
        .expect("create")
        .execute_batch(&format!(
            "{SEED_DDL}
             DELETE FROM cache_storage;
             INSERT INTO cache_storage VALUES ('chats', 'old', '{{\"a\":1}}', '2024-01-01 10:00:00');
             INSERT INTO cache_storage VALUES ('chats', 'new', '{{\"a\":2}}', '2024-06-01 10:00:00.5');
             INSERT INTO cache_storage (namespace, key, value) VALUES ('chatUsers', '1:3', '{{}}');",
        ))
        .expect("seed ddl");
    let mut s = SqliteStorage::open(&path).expect("open");
    let keys: Vec<String> = s
        .load("chats", 10)
        .expect("load")
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, ["old", "new"]);
    assert_eq!(s.load("chatUsers", 10).expect("load").len(), 1);
    upsert(&mut s, "chats", "newest", "1");
    assert_eq!(s.load("chats", 1).expect("load")[0].key, "newest");
    s.set_user_data(1, 2, "k", "1")
        .expect("the bot tables were created");
}

/// A file `name` in `dir` made by `ddl`, its bytes, and a read-only open of it.
fn read_only_file(
    dir: &std::path::Path,
    name: &str,
    ddl: &str,
) -> (std::path::PathBuf, Vec<u8>, SqliteStorage) {
    let path = dir.join(name);
    Connection::open(&path)
        .expect("create")
        .execute_batch(ddl)
        .expect("ddl");
    let bytes = std::fs::read(&path).expect("read");
    let ro = SqliteStorage::open_with(
        &path,
        &SqliteOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .expect("read-only open");
    (path, bytes, ro)
}

#[test]
fn a_read_only_open_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, bytes, mut ro) = read_only_file(dir.path(), "foreign.db", BOT_DDL);
    assert_eq!(ro.load("chats", 10).expect("load").len(), 3);
    let err = ro
        .write_chat_settings(1, &SettingsChange::Unset("x".into()))
        .expect_err("write");
    assert_eq!(err.kind, StorageErrorKind::ReadOnly, "{err}");
    drop(ro);
    assert_eq!(
        std::fs::read(&path).expect("read"),
        bytes,
        "the file is byte for byte the same"
    );
    assert!(
        !dir.path().join("foreign.db-wal").exists(),
        "no WAL was started"
    );
    assert_eq!(cache_version(&path), 0, "no migration");
    let missing = SqliteStorage::open_with(
        dir.path().join("typo.db"),
        &SqliteOptions {
            read_only: true,
            ..Default::default()
        },
    )
    .expect_err("a missing file");
    assert_eq!(missing.kind, StorageErrorKind::Unavailable, "{missing}");
    assert!(!dir.path().join("typo.db").exists());
}

/// A seed-design file (only `cache_storage`) opened read-only: its rows load,
/// the bot's tables it lacks read as empty, and the file is not written.
#[test]
fn a_read_only_open_of_a_seed_file_stands_in_for_the_missing_tables() {
    let dir = tempfile::tempdir().expect("dir");
    let (path, bytes, mut ro) = read_only_file(dir.path(), "seed.db", SEED_DDL);
    assert_eq!(ro.load("chats", 10).expect("load").len(), 3);
    assert_eq!(ro.get_chat_settings(-100).expect("settings"), []);
    assert_eq!(ro.get_user_data(-100, 5).expect("user data"), []);
    drop(ro);
    assert_eq!(std::fs::read(&path).expect("read"), bytes, "not written");
    assert_eq!(cache_version(&path), 0, "no migration");
}

#[test]
fn creates_its_schema_in_wal_and_reopens_without_writing() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("c.db");
    let s = SqliteStorage::open(&path).expect("open");
    let mode: String = s
        .connection()
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    drop(s);
    let c = Connection::open(&path).expect("open");
    let changes_before: i64 = c
        .query_row("SELECT total_changes()", [], |r| r.get(0))
        .expect("changes");
    drop(c);
    assert_eq!(changes_before, 0);
    let s = SqliteStorage::open(&path).expect("reopen");
    let changes: i64 = s
        .connection()
        .query_row("SELECT total_changes()", [], |r| r.get(0))
        .expect("changes");
    assert_eq!(changes, 0, "reopening an up-to-date file writes nothing");
}

#[test]
fn refuses_a_newer_schema_and_a_non_database() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("newer.db");
    SqliteStorage::open(&path).expect("create");
    Connection::open(&path)
        .expect("open")
        .execute(
            "INSERT INTO gromozeka_cache_schema (version) VALUES (99)",
            [],
        )
        .expect("bump");
    let err = SqliteStorage::open(&path).expect_err("newer");
    assert_eq!(err.kind, StorageErrorKind::Schema);
    assert!(err.message.contains("version 99"), "{err}");

    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![0x5au8; 8192]).expect("junk");
    let err = SqliteStorage::open(&junk).expect_err("junk");
    assert_eq!(err.kind, StorageErrorKind::Corrupt, "{err}");
    assert!(err.message.contains("junk.db"), "{err}");
}

#[test]
fn load_is_served_by_the_recency_index() {
    let dir = tempfile::tempdir().expect("dir");
    let s = SqliteStorage::open(dir.path().join("c.db")).expect("open");
    let plan: Vec<String> = s
        .connection()
        .prepare(&format!("EXPLAIN QUERY PLAN {}", schema::ROWS_LOAD))
        .expect("prepare")
        .query_map(("ns", 5), |r| r.get::<_, String>(3))
        .expect("plan")
        .collect::<Result<_, _>>()
        .expect("rows");
    let plan = plan.join("\n");
    assert!(plan.contains("idx_cache_storage_recency"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

#[test]
fn later_writes_sort_after_rows_from_the_future() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("c.db");
    let s = SqliteStorage::open(&path).expect("open");
    s.connection()
        .execute(
            "INSERT INTO cache_storage VALUES ('ns', 'future', '1', '2999-01-01 00:00:00')",
            [],
        )
        .expect("future row");
    drop(s);
    let mut s = SqliteStorage::open(&path).expect("reopen");
    upsert(&mut s, "ns", "a", "1");
    upsert(&mut s, "ns", "b", "1");
    let keys: Vec<String> = s
        .load("ns", 2)
        .expect("load")
        .into_iter()
        .map(|r| r.key)
        .collect();
    assert_eq!(keys, ["a", "b"]);
}
