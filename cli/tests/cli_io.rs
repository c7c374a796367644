//! `cache-host` input and output: values from stdin (`-`) and files (`@path`) of any
//! size, no panic when stdout is closed or full, no ANSI colour in logs that do not go
//! to a terminal.

use crate::cli_common;

use std::process::Stdio;

use cli_common::{assert_code, command, one_line_failure, run, run_with_stdin, text, FAILED};

/// A JSON value far over the OS argument limit (~128 KiB per argument).
fn big_value() -> String {
    format!(r#"{{"blob":"{}","n":1}}"#, "y".repeat(600_000))
}

#[test]
fn a_value_from_stdin_is_stored_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let value = big_value();
    let out = run_with_stdin(
        &db,
        &["set", "chatUsers", "big", "-"],
        format!("{value}\n").as_bytes(),
    );
    assert_code(&out, 0);
    let out = run(&db, &["get", "chatUsers", "big"]);
    assert_code(&out, 0);
    assert_eq!(text(&out.stdout).trim_end(), value);
}

#[test]
fn a_value_from_a_file_is_stored_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let value = big_value();
    let path = dir.path().join("value.json");
    std::fs::write(&path, format!("{value}\n")).unwrap();
    let at = format!("@{}", path.display());
    assert_code(&run(&db, &["set", "chats", "-5", &at]), 0);
    let out = run(&db, &["get", "chats", "-5"]);
    assert_code(&out, 0);
    assert_eq!(text(&out.stdout).trim_end(), value);
    // A missing file is a usage error, and stores nothing.
    let missing = format!("@{}", dir.path().join("nope.json").display());
    let err = one_line_failure(
        &run(&db, &["set", "chats", "-6", &missing]),
        cli_common::USAGE,
    );
    assert!(err.contains("nope.json"), "{err}");
    assert_code(&run(&db, &["get", "chats", "-6"]), cli_common::ABSENT);
}

#[test]
fn a_negative_number_is_a_value_not_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(&run(&db, &["set", "chatUsers", "n", "-1"]), 0);
    assert_eq!(
        text(&run(&db, &["get", "chatUsers", "n"]).stdout).trim(),
        "-1"
    );
}

#[test]
fn a_closed_stdout_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(
        &run(
            &db,
            &[
                "set",
                "chatUsers",
                "big",
                &format!("\"{}\"", "z".repeat(100_000)),
            ],
        ),
        0,
    );
    for args in [&["get", "chatUsers", "big"][..], &["stats"], &["inspect"]] {
        // A pipe whose read end is closed before the command starts: closing it
        // after the spawn could race with other tests' spawns, whose forked
        // children hold a copy of it until they exec.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let child = command(&db, args)
            .stdout(writer)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.wait_with_output().unwrap();
        let err = one_line_failure(&out, FAILED);
        assert!(err.contains("stdout"), "{args:?}: {err}");
    }
}

#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    assert_code(&run(&db, &["set", "chatUsers", "k", "1"]), 0);
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = command(&db, &["get", "chatUsers", "k"])
        .stdout(full)
        .output()
        .unwrap();
    let err = one_line_failure(&out, FAILED);
    assert!(err.contains("stdout"), "{err}");
}

#[test]
fn logs_to_a_pipe_carry_no_colour() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let out = command(&db, &["set", "chatUsers", "k", "1"])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    assert_code(&out, 0);
    let err = text(&out.stderr);
    assert!(
        err.contains("DEBUG") || err.contains("INFO"),
        "no logs to check: {err}"
    );
    assert!(!err.contains('\u{1b}'), "ANSI escape in logs: {err:?}");
}

#[test]
fn a_value_over_the_limit_is_refused_without_reading_all_of_stdin() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cache.db");
    let mut child = command(&db, &["set", "chatUsers", "big", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cache-host");
    let mut stdin = child.stdin.take().expect("stdin");
    // 64 MiB: far over the 1 MiB a value may take.
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'y'; 1 << 20];
        (0..64).try_for_each(|_| stdin.write_all(&chunk))
    });
    let out = child.wait_with_output().expect("wait for cache-host");
    let err = one_line_failure(&out, cli_common::USAGE);
    assert!(err.contains("too large"), "{err}");
    let written = writer.join().expect("stdin writer");
    assert!(
        matches!(&written, Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe),
        "cache-host read all of stdin: {written:?}"
    );
    assert!(
        !db.exists(),
        "nothing was stored: the database was not even created"
    );
}
