//! The `cache-host` binary: `run` on fresh and reused files, get/set round-trip, and
//! one-line errors with a non-zero exit on bad input.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn cache_host(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cache-host"))
        .arg("--db")
        .arg(db)
        .arg("--wasm")
        .arg(common::wasm_path())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run cache-host")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts a failure: non-zero exit, exactly one line on stderr, and returns it.
fn one_line_failure(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure; stdout: {}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}

#[test]
fn run_succeeds_on_a_fresh_and_on_a_reused_file() {
    let (_dir, db) = common::temp_db();
    let small = ["run", "--ops", "4000", "--chats", "1500", "--users", "300"];
    for attempt in 0..2 {
        let out = cache_host(&db, &small);
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
    let (_dir, db) = common::temp_db();
    for (ns, key, json) in [
        ("chats", "-100", r#"{"info":{"title":"t"}}"#),
        ("chatUsers", "1:2", r#"{"note":{"k":1}}"#),
    ] {
        let out = cache_host(&db, &["set", ns, key, json]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let out = cache_host(&db, &["get", ns, key]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), json);
    }
    let out = cache_host(&db, &["delete", "chatUsers", "1:2"]);
    assert!(out.status.success());
    let out = cache_host(&db, &["get", "chatUsers", "1:2"]);
    assert!(!out.status.success());

    let out = cache_host(&db, &["inspect"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success());
    assert!(stdout.lines().any(|l| l.starts_with("chats ")), "{stdout}");
    for cmd in ["stats", "persist"] {
        let out = cache_host(&db, &[cmd]);
        assert!(out.status.success(), "{cmd}: {}", text(&out.stderr));
    }
}

#[test]
fn bad_input_gives_one_line_and_a_non_zero_exit() {
    let (_dir, db) = common::temp_db();
    let err = one_line_failure(&cache_host(&db, &["set", "chats", "1", "{not json"]));
    assert!(err.contains("JSON"), "{err}");
    let err = one_line_failure(&cache_host(&db, &["set", "nosuch", "1", "{}"]));
    assert!(err.contains("nosuch"), "{err}");
    one_line_failure(&cache_host(&db, &["frobnicate"]));
    one_line_failure(&cache_host(&db, &["set", "chats"]));
    one_line_failure(&cache_host(&db, &["run", "--ops", "many"]));
    let err = one_line_failure(&cache_host(
        &db,
        &["--policy", "/nonexistent.toml", "stats"],
    ));
    assert!(err.contains("/nonexistent.toml"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_cache-host"))
        .args(["--db"])
        .arg(&db)
        .args(["--wasm", "/nonexistent/cache.wasm", "stats"])
        .output()
        .unwrap();
    let err = one_line_failure(&out);
    assert!(err.contains("/nonexistent/cache.wasm"), "{err}");
    // Nothing was stored by the failed commands.
    let out = cache_host(&db, &["get", "chats", "1"]);
    assert!(!out.status.success());
}
