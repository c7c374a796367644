//! The `cache-host` binary is self-contained: copied alone into an empty directory,
//! with no `.wasm` anywhere it could look, it runs `set`, `get` and `run` with the
//! component embedded at build time.

use crate::cli_common;

use std::process::Command;

use cli_common::text;

#[test]
fn the_binary_copied_to_an_empty_directory_runs_get_set_and_run() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("cache-host");
    std::fs::copy(env!("CARGO_BIN_EXE_cache-host"), &bin).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let cache_home = dir.path().join("xdg");
    let cmd = |args: &[&str]| {
        Command::new(&bin)
            .args(args)
            .current_dir(&work)
            .env_remove("CACHE_HOST_WASM")
            .env_remove("RUST_LOG")
            .env("XDG_CACHE_HOME", &cache_home)
            .output()
            .unwrap()
    };
    let out = cmd(&["set", "chats", "-1", r#"{"a":1}"#]);
    assert!(out.status.success(), "set: {}", text(&out.stderr));
    let out = cmd(&["get", "chats", "-1"]);
    assert!(out.status.success(), "get: {}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), r#"{"a":1}"#);
    let out = cmd(&["run", "--ops", "2000", "--chats", "300", "--users", "100"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "run: {stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("OK: every acknowledged write survived"),
        "{stdout}"
    );
    // The restart of `run` used the artifact saved in the private cache directory.
    assert!(
        stdout.contains("restart (precompiled artifact)"),
        "{stdout}"
    );
    let artifacts: Vec<_> = std::fs::read_dir(cache_home.join("gromozeka-cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        artifacts.len() == 1 && artifacts[0].starts_with("embedded-cache.wasm."),
        "{artifacts:?}"
    );
    // Only the database was created in the working directory.
    let mut created: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    created.sort();
    assert!(
        created.iter().all(|n| n.starts_with("cache.db")),
        "{created:?}"
    );
}
