//! `cache-host` read commands (get, stats, inspect) never create, migrate or change a
//! database: a missing file is an error, a foreign file stays as it was.

use crate::cli_common;

use std::path::Path;

use cli_common::{assert_code, one_line_failure, run, FAILED, USAGE};

fn snapshot(path: &Path) -> (Vec<u8>, std::time::SystemTime) {
    (
        std::fs::read(path).unwrap(),
        std::fs::metadata(path).unwrap().modified().unwrap(),
    )
}

#[test]
fn a_read_command_on_a_missing_database_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo.db");
    for args in [&["stats"][..], &["get", "chats", "1"], &["inspect"]] {
        let err = one_line_failure(&run(&db, args), USAGE);
        assert!(err.contains("does not exist"), "{args:?}: {err}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{args:?} created {left:?}");
    }
}

#[test]
fn read_commands_do_not_change_a_cache_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(&run(&db, &["set", "chats", "-1", r#"{"a":1}"#]), 0);
    assert_code(&run(&db, &["set", "chatUsers", "1:2", r#"{"b":2}"#]), 0);
    // Fold the WAL into the main file, so the file alone holds the data.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")
        .unwrap();
    drop(conn);
    let before = snapshot(&db);
    std::thread::sleep(std::time::Duration::from_millis(20));
    for args in [
        &["get", "chats", "-1"][..],
        &["get", "chats", "-404"],
        &["stats"],
        &["inspect"],
    ] {
        let out = run(&db, args);
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "{args:?}: {out:?}"
        );
        assert_eq!(snapshot(&db), before, "{args:?} changed the database");
    }
}

#[test]
fn read_commands_do_not_migrate_or_convert_a_foreign_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("foreign.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes VALUES (1, 'x');")
        .unwrap();
    drop(conn);
    let before = snapshot(&db);
    for args in [&["inspect"][..], &["stats"], &["get", "chats", "1"]] {
        let out = run(&db, args);
        let err = one_line_failure(&out, FAILED);
        assert!(err.contains("foreign.db"), "{args:?}: {err}");
        assert_eq!(snapshot(&db), before, "{args:?} changed the database");
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "switched to {mode}");
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1, "tables were created");
}
