//! The precompiled artifact cache and instantiation speed.

mod common;

use std::time::Duration;

use cache_host::{ArtifactSource, CacheService, Runtime};

#[test]
fn artifact_is_reused_and_invalidated_by_a_changed_wasm() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("cache.wasm");
    std::fs::copy(common::wasm_path(), &wasm).unwrap();

    let first = Runtime::load(&wasm).unwrap();
    let saved = match first.artifact_source() {
        ArtifactSource::Compiled { saved_to: Some(p) } => p.clone(),
        other => panic!("expected a fresh compile, got {other:?}"),
    };
    assert!(saved.is_file());
    drop(first);

    let second = Runtime::load(&wasm).unwrap();
    assert_eq!(
        second.artifact_source(),
        &ArtifactSource::Cached(saved.clone())
    );
    let cache = CacheService::builder(&wasm)
        .runtime(second)
        .load_on_start(false)
        .open_sqlite(dir.path().join("c.db"))
        .unwrap();
    let t = cache.last_start_timing().unwrap();
    eprintln!("instantiate from the artifact: {:?}", t.instantiate);
    assert!(t.instantiate < Duration::from_millis(20), "{t:?}");
    cache.set("chatUsers", "k", "1").unwrap();
    cache.close().unwrap();

    // A changed .wasm (a custom section appended) gets a new key: recompiled, and the
    // stale artifact is removed.
    let mut bytes = std::fs::read(&wasm).unwrap();
    bytes.extend_from_slice(&[0, 5, 4, b't', b'e', b's', b't']);
    std::fs::write(&wasm, &bytes).unwrap();
    let third = Runtime::load(&wasm).unwrap();
    match third.artifact_source() {
        ArtifactSource::Compiled { saved_to: Some(p) } => assert_ne!(p, &saved),
        other => panic!("expected a recompile, got {other:?}"),
    }
    assert!(!saved.exists(), "stale artifact left behind");

    // A damaged artifact is not fatal: recompiled.
    let current = match third.artifact_source() {
        ArtifactSource::Compiled { saved_to: Some(p) } => p.clone(),
        _ => unreachable!(),
    };
    drop(third);
    std::fs::write(&current, b"garbage").unwrap();
    let fourth = Runtime::load(&wasm).unwrap();
    assert!(matches!(
        fourth.artifact_source(),
        ArtifactSource::Compiled { .. }
    ));
}

#[test]
fn missing_component_is_a_clear_error() {
    let err = Runtime::load("/nonexistent/cache.wasm").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent/cache.wasm") && msg.contains("just build"),
        "{msg}"
    );
}
