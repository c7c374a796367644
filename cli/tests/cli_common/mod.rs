//! Running the real `cache-host` binary in the CLI tests.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The exit codes documented in `cache-host --help`.
pub const ABSENT: i32 = 1;
/// Usage error.
pub const USAGE: i32 = 2;
/// Storage or component failure.
pub const FAILED: i32 = 3;

/// The component the tests pass with `--wasm`: `$CACHE_HOST_WASM`, else the
/// workspace's `target/cache.wasm`.
pub fn wasm_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CACHE_HOST_WASM") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/cache.wasm")
}

/// `cache-host --db DB --wasm <component> ARGS`, without `RUST_LOG`.
pub fn command(db: &Path, args: &[&str]) -> Command {
    let mut cmd = bare(db, &[]);
    cmd.arg("--wasm").arg(wasm_path()).args(args);
    cmd
}

/// `cache-host --db DB ARGS` (no `--wasm`), without `RUST_LOG` and `CACHE_HOST_WASM`.
pub fn bare(db: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cache-host"));
    cmd.arg("--db")
        .arg(db)
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("CACHE_HOST_WASM")
        .stdin(Stdio::null());
    cmd
}

/// Runs `cache-host` and collects its output.
pub fn run(db: &Path, args: &[&str]) -> Output {
    command(db, args).output().expect("run cache-host")
}

/// Runs `cache-host` with `input` on stdin.
pub fn run_with_stdin(db: &Path, args: &[&str], input: &[u8]) -> Output {
    let mut child = command(db, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cache-host");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("wait for cache-host");
    writer.join().expect("stdin writer").expect("write stdin");
    out
}

/// Text of captured output.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the exit code, with the output in the message.
#[track_caller]
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Asserts a failure with `code` and exactly one line on stderr (no panic); returns it.
#[track_caller]
pub fn one_line_failure(out: &Output, code: i32) -> String {
    assert_code(out, code);
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "stderr: {err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
    err
}
