//! `cache-host` write commands tell the truth: exit 0 means stored, any failure means
//! nothing was stored (not even later, by the persist at drop); a failed start says
//! only what failed.

use crate::cli_common;

use std::time::Duration;

use cli_common::{assert_code, one_line_failure, run, text, ABSENT, FAILED, USAGE};

/// Holds SQLite's write lock on `db` (an open `BEGIN IMMEDIATE`) until dropped.
fn hold_write_lock(db: &std::path::Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[test]
fn set_under_a_held_write_lock_fails_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(&run(&db, &["set", "chatUsers", "seed", "1"]), 0);
    // chats is on-shutdown (written by the command's final persist), chatUsers
    // on-change (written by the set itself): both must fail and store nothing.
    for (ns, key) in [("chats", "-7"), ("chatUsers", "7:7")] {
        let lock = hold_write_lock(&db);
        let err = one_line_failure(&run(&db, &["set", ns, key, r#"{"x":1}"#]), FAILED);
        assert!(err.contains("cache.db"), "{err}");
        drop(lock);
        std::thread::sleep(Duration::from_millis(50));
        let out = run(&db, &["get", ns, key]);
        assert_code(&out, ABSENT);
    }
    // And once the lock is gone, the same command succeeds and stores.
    assert_code(&run(&db, &["set", "chats", "-7", r#"{"x":1}"#]), 0);
    assert_eq!(
        text(&run(&db, &["get", "chats", "-7"]).stdout).trim(),
        r#"{"x":1}"#
    );
}

#[test]
fn a_failed_start_reports_only_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    // 1 MiB of guest memory cannot hold the default namespace table.
    let out = cli_common::command(
        &db,
        &["--memory-limit-mib", "1", "set", "chatUsers", "a", "1"],
    )
    .env("RUST_LOG", "warn")
    .output()
    .unwrap();
    assert_code(&out, USAGE);
    let err = text(&out.stderr);
    assert!(err.contains("memory limit of 1 MiB"), "{err}");
    assert!(err.contains("needs up to 3019 MiB"), "{err}");
    assert!(!err.contains("persist-all"), "misleading message: {err}");
    assert!(!err.contains("panic"), "{err}");
}

#[test]
fn write_back_options_are_checked_and_used() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    for bad in [
        &["--write-back-age=-1"][..],
        &["--write-back-age", "NaN"],
        &["--write-back-age", "1e9"],
        &["--write-back-pending=-3"],
    ] {
        let mut args = bad.to_vec();
        args.extend(["set", "chats", "1", "{}"]);
        let out = run(&db, &args);
        assert_code(&out, USAGE);
        let err = text(&out.stderr);
        assert!(
            err.contains("write-back") || err.contains("argument"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[[namespace]]\nname = \"chats\"\nmax_entries = 5\npersistence = \"on-shutdown\"\n\
         [write_back]\nmax_age_secs = -2\n",
    )
    .unwrap();
    let policy_arg = policy.to_str().unwrap();
    let err = one_line_failure(
        &run(&db, &["--policy", policy_arg, "set", "chats", "1", "{}"]),
        USAGE,
    );
    assert!(err.contains("out of range"), "{err}");
    // Valid options are accepted, and a set is stored as before.
    let out = run(
        &db,
        &[
            "--write-back-age",
            "0.5",
            "--write-back-pending",
            "0",
            "set",
            "chats",
            "1",
            r#"{"a":1}"#,
        ],
    );
    assert_code(&out, 0);
    assert_eq!(
        text(&run(&db, &["get", "chats", "1"]).stdout).trim(),
        r#"{"a":1}"#
    );
}
