//! The `cache-host` binary: `run` on fresh and reused files, get/set round-trip, and
//! the documented exit codes with one-line errors.

use crate::cli_common;

use cli_common::{assert_code, one_line_failure, run, text, ABSENT, FAILED, USAGE};

#[test]
fn run_succeeds_on_a_fresh_and_on_a_reused_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let small = ["run", "--ops", "4000", "--chats", "1500", "--users", "300"];
    for attempt in 0..2 {
        let out = run(&db, &small);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "attempt {attempt}: {stdout}\n{}",
            text(&out.stderr)
        );
        assert!(stdout.contains("lost or wrong after restart"), "{stdout}");
        assert!(
            stdout.contains("OK: every acknowledged write survived"),
            "{stdout}"
        );
    }
}

#[test]
fn set_then_get_round_trips_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    for (ns, key, json) in [
        ("chats", "-100", r#"{"info":{"title":"t"}}"#),
        ("chatUsers", "1:2", r#"{"note":{"k":1}}"#),
    ] {
        let out = run(&db, &["set", ns, key, json]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = run(&db, &["get", ns, key]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), json);
    }
    let out = run(&db, &["delete", "chatUsers", "1:2"]);
    assert!(out.status.success());
    assert_code(&run(&db, &["get", "chatUsers", "1:2"]), ABSENT);

    let out = run(&db, &["inspect"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.lines().any(|l| l.starts_with("chats ")), "{stdout}");
    for cmd in ["stats", "persist"] {
        let out = run(&db, &[cmd]);
        assert!(out.status.success(), "{cmd}: {}", text(&out.stderr));
    }
}

#[test]
fn help_documents_the_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(&dir.path().join("c.db"), &["--help"]);
    assert_code(&out, 0);
    let help = text(&out.stdout);
    for needle in ["Exit codes:", "  1 ", "  2 ", "  3 ", "stored nothing"] {
        assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
    }
}

#[test]
fn an_absent_key_exits_1_and_prints_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(&run(&db, &["set", "chatUsers", "a", "1"]), 0);
    let out = run(&db, &["get", "chatUsers", "b"]);
    let err = one_line_failure(&out, ABSENT);
    assert!(err.contains("not set"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_input_is_a_usage_error_with_one_line_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let err = one_line_failure(&run(&db, &["set", "chats", "1", "{not json"]), USAGE);
    assert!(err.contains("JSON"), "{err}");
    let err = one_line_failure(&run(&db, &["set", "chats", "1", "null"]), USAGE);
    assert!(err.contains("null"), "{err}");
    let err = one_line_failure(&run(&db, &["set", "nosuch", "1", "{}"]), USAGE);
    assert!(err.contains("nosuch"), "{err}");
    let big = format!("\"{}\"", "x".repeat(1_100_000));
    let path = dir.path().join("big.json");
    std::fs::write(&path, &big).unwrap();
    let at = format!("@{}", path.display());
    let err = one_line_failure(&run(&db, &["set", "chats", "1", &at]), USAGE);
    assert!(err.contains("too large"), "{err}");
    one_line_failure(&run(&db, &["frobnicate"]), USAGE);
    one_line_failure(&run(&db, &["set", "chats"]), USAGE);
    one_line_failure(&run(&db, &["run", "--ops", "many"]), USAGE);
    let err = one_line_failure(
        &run(&db, &["--policy", "/nonexistent.toml", "stats"]),
        USAGE,
    );
    assert!(err.contains("/nonexistent.toml"), "{err}");
    // Nothing was stored by the failed commands.
    assert_code(&run(&db, &["get", "chats", "1"]), ABSENT);
}

#[test]
fn storage_and_component_failures_exit_3() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    // Not a database at all.
    std::fs::write(&db, vec![0x5a; 8192]).unwrap();
    for args in [
        &["get", "chats", "1"][..],
        &["set", "chats", "1", "{}"],
        &["stats"],
    ] {
        let err = one_line_failure(&run(&db, args), FAILED);
        assert!(err.contains(&db.display().to_string()), "{args:?}: {err}");
    }
    // A missing component.
    let good = dir.path().join("good.db");
    assert_code(&run(&good, &["set", "chatUsers", "a", "1"]), 0);
    let out = cli_common::bare(
        &good,
        &["--wasm", "/nonexistent/cache.wasm", "get", "chatUsers", "a"],
    )
    .output()
    .unwrap();
    let err = one_line_failure(&out, FAILED);
    assert!(err.contains("/nonexistent/cache.wasm"), "{err}");
}

#[test]
fn stored_names_reach_the_terminal_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(&run(&db, &["set", "chats", "1", r#"{"a":1}"#]), 0);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        for name in ["red\u{1b}[31m", "nul\0x", "\u{202e}txt.exe", "line\nbreak"] {
            conn.execute(
                "INSERT INTO cache_storage (namespace, key, value, updated_at) VALUES (?1, 'k', '1', 1)",
                [name],
            )
            .unwrap();
        }
    }
    let out = run(&db, &["inspect"]);
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    for raw in ['\u{1b}', '\0', '\u{202e}'] {
        assert!(
            !stdout.contains(raw),
            "{raw:?} reached the terminal: {stdout:?}"
        );
    }
    for shown in [
        r"red\u{1b}[31m",
        r"nul\u{0}x",
        r"\u{202e}txt.exe",
        r"line\u{a}break",
    ] {
        assert!(stdout.contains(shown), "{shown} missing: {stdout}");
    }
    assert_eq!(
        stdout.lines().count(),
        8,
        "one line per namespace: {stdout}"
    );
}

#[test]
fn call_runs_any_export_by_its_wit_name_and_contract_lists_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let out = run(
        &db,
        &["call", "bot.set-user-data", r#"[-100, 42, "karma", "1"]"#],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "null");
    // Another process reads it back: the call was stored before exit.
    let out = run(&db, &["call", "bot.get-user-data", "[-100, 42]"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), r#""{\"karma\":1}""#);

    let err = one_line_failure(&run(&db, &["call", "bot.nosuch", "[]"]), USAGE);
    assert!(err.contains("bot.nosuch"), "{err}");
    let err = one_line_failure(&run(&db, &["call", "cache.get", r#"["chats"]"#]), USAGE);
    assert!(err.contains("takes 2 arguments"), "{err}");
    let err = one_line_failure(
        &run(&db, &["call", "cache.set", r#"["nosuch", "k", "1"]"#]),
        USAGE,
    );
    assert!(err.contains("nosuch"), "{err}");

    let out = run(&db, &["contract"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let contract: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(
        contract["functions"]["cache.get"]["params"],
        serde_json::json!([["namespace", "string"], ["key", "string"]])
    );
}
