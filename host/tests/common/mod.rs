//! Shared helpers of the host's integration tests: the real component, the real
//! runtime, and SQLite files in temp dirs.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use cache_host::{CacheService, CacheServiceBuilder, Runtime};

/// The component under test: `$CACHE_HOST_WASM`, else `target/cache.wasm` of the
/// workspace (built by `just build`).
pub fn wasm_path() -> PathBuf {
    if let Some(p) = std::env::var_os("CACHE_HOST_WASM") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/cache.wasm")
}

/// One runtime (engine + compiled component) per test binary.
pub fn runtime() -> Runtime {
    static RT: OnceLock<Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        let path = wasm_path();
        assert!(
            path.is_file(),
            "{} is missing: build the component first (`just build`)",
            path.display()
        );
        Runtime::load(&path).expect("load the cache component")
    })
    .clone()
}

/// A builder on the shared runtime.
pub fn builder() -> CacheServiceBuilder {
    CacheService::builder(wasm_path()).runtime(runtime())
}

/// A temp dir and a database path inside it.
pub fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("cache.db");
    (dir, db)
}

/// Runs `f` on another thread and fails the test if it does not finish in `limit`
/// (a deadlock guard).
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("did not finish within {limit:?}: deadlock?")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!("the worker panicked"),
    }
}

/// The test PostgreSQL server's URL from `GROMOZEKA_TEST_PG_URL` (`scripts/postgres
/// start` prints it). Under CI (`CI=true`) a missing URL fails the test; elsewhere
/// the test is skipped with a loud message.
pub fn pg_url() -> Option<String> {
    match std::env::var("GROMOZEKA_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "GROMOZEKA_TEST_PG_URL is not set under CI: .ci/run must start PostgreSQL"
            );
            eprintln!("\n!!! SKIPPED: no PostgreSQL server; run `eval \"$(scripts/postgres start)\"` !!!\n");
            None
        }
    }
}

/// A fresh schema `name` on the server at `url` (dropped first if it exists), and
/// the URL whose connections use it.
pub fn pg_schema(url: &str, name: &str) -> String {
    let mut admin = postgres::Client::connect(url, postgres::NoTls).expect("admin connection");
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"
        ))
        .expect("create the test schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{name}&application_name={name}")
}
