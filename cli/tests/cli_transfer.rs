//! `cache-host export` and `import`: JSON Lines that round-trip byte for byte, and an
//! import that is validated like `set` and stores all of its lines or none.

use crate::cli_common;

use std::path::Path;

use cli_common::{assert_code, one_line_failure, run, run_with_stdin, text, ABSENT, FAILED, USAGE};

/// Values that a lossy JSON round trip would change: big and precise numbers, key
/// order, escapes, non-ASCII text, spacing.
const VALUES: &[(&str, &str, &str)] = &[
    (
        "chats",
        "-100",
        r#"{"z":1,"a":123456789012345678901234567890,"f":0.1000000000000000055511151231257827}"#,
    ),
    (
        "chats",
        "-200",
        r#"{ "title" : "Чат \"quoted\"\n" , "e": "😀" }"#,
    ),
    ("chatUsers", "1:2", r#"[1,2,{"deep":{"er":true}}]"#),
    ("chatUsers", "key with spaces", r#""just a string""#),
];

fn populate(db: &Path) {
    for (ns, key, value) in VALUES {
        assert_code(&run(db, &["set", ns, key, value]), 0);
    }
}

#[test]
fn export_then_import_round_trips_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    populate(&a);
    let out = run(&a, &["export"]);
    assert_code(&out, 0);
    let export = text(&out.stdout);
    assert_eq!(export.lines().count(), VALUES.len(), "{export}");
    for line in export.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys.len(), 3, "{line}");
    }

    let b = dir.path().join("b.db");
    let out = run_with_stdin(&b, &["import", "-"], export.as_bytes());
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains(&format!("imported {} entries", VALUES.len())));
    for (ns, key, value) in VALUES {
        let out = run(&b, &["get", ns, key]);
        assert_code(&out, 0);
        assert_eq!(text(&out.stdout).trim_end_matches('\n'), *value);
    }
    // And the second export is the same as the first (import from a file this time).
    let file = dir.path().join("export.jsonl");
    std::fs::write(&file, &export).unwrap();
    let c = dir.path().join("c.db");
    assert_code(&run(&c, &["import", file.to_str().unwrap()]), 0);
    assert_eq!(text(&run(&c, &["export"]).stdout), export);
}

/// Asserts that importing `lines` fails with `code`, naming `line_no` and `why`, and
/// that nothing of it was stored.
fn assert_import_refused(lines: &[String], code: i32, line_no: usize, why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("target.db");
    assert_code(&run(&db, &["set", "chatUsers", "existing", "1"]), 0);
    let input = lines.join("\n");
    let out = run_with_stdin(&db, &["import", "-"], input.as_bytes());
    let err = one_line_failure(&out, code);
    assert!(err.contains(&format!("line {line_no}")), "{err}");
    assert!(err.contains(why), "{err} lacks {why:?}");
    assert!(err.contains("nothing was"), "{err}");
    let export = text(&run(&db, &["export"]).stdout);
    assert_eq!(
        export.lines().count(),
        1,
        "something was imported: {export}"
    );
}

fn line(ns: &str, key: &str, value: &str) -> String {
    serde_json::json!({"namespace": ns, "key": key, "value": value}).to_string()
}

#[test]
fn import_is_all_or_nothing_and_validated_like_set() {
    let good = || {
        vec![
            line("chats", "-1", r#"{"a":1}"#),
            line("chatUsers", "1:1", r#"{"b":2}"#),
            line("chats", "-2", r#"{"c":3}"#),
        ]
    };
    let mut bad_json = good();
    bad_json.push(line("chatUsers", "1:2", "{not json"));
    assert_import_refused(&bad_json, USAGE, 4, "JSON");

    let mut null = good();
    null.insert(1, line("chats", "-3", "null"));
    assert_import_refused(&null, USAGE, 2, "null");

    let mut too_large = good();
    too_large.push(line("chats", "-4", &format!("\"{}\"", "x".repeat(1 << 20))));
    assert_import_refused(&too_large, USAGE, 4, "too large");

    let mut long_key = good();
    long_key.push(line("chats", &"k".repeat(1025), "1"));
    assert_import_refused(&long_key, USAGE, 4, "key");

    // A NUL in a key: no storage could hold it (PostgreSQL's text cannot), so
    // every host refuses it the same way, as bad input.
    let mut nul_key = good();
    nul_key.push(line("chats", "a\0b", "1"));
    assert_import_refused(&nul_key, USAGE, 4, "invalid key");

    let mut unknown = good();
    unknown.push(line("nosuch", "k", "1"));
    assert_import_refused(&unknown, USAGE, 4, "nosuch");

    let mut memory_only = good();
    memory_only.push(line("users", "k", "1"));
    assert_import_refused(&memory_only, USAGE, 4, "memory-only");

    let mut malformed = good();
    malformed.insert(2, r#"{"namespace":"chats","key":"-9"}"#.to_string());
    assert_import_refused(&malformed, USAGE, 3, "not an export line");

    let mut extra_field = good();
    extra_field.push(r#"{"namespace":"chats","key":"-9","value":"1","ttl":5}"#.to_string());
    assert_import_refused(&extra_field, USAGE, 4, "not an export line");
}

#[test]
fn import_under_a_held_write_lock_fails_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(&run(&db, &["set", "chatUsers", "existing", "1"]), 0);
    let input = [line("chats", "-1", "1"), line("chatUsers", "1:1", "2")].join("\n");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let out = run_with_stdin(&db, &["import", "-"], input.as_bytes());
    one_line_failure(&out, FAILED);
    drop(conn);
    assert_code(&run(&db, &["get", "chats", "-1"]), ABSENT);
    assert_code(&run(&db, &["get", "chatUsers", "1:1"]), ABSENT);
}

#[test]
fn export_of_a_missing_database_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("typo.db");
    one_line_failure(&run(&db, &["export"]), USAGE);
    assert!(!db.exists());
}
