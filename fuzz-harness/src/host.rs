//! The component's runtime and the checks on what the host API returns.

use std::path::PathBuf;
use std::sync::OnceLock;

use cache_host::{Error, Runtime, RuntimeOptions};

/// The component under test: `target/cache.wasm` of the main workspace (built by
/// `scripts/build-component`), or `$CACHE_FUZZ_WASM`.
pub fn component_path() -> PathBuf {
    std::env::var_os("CACHE_FUZZ_WASM").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/cache.wasm"),
        PathBuf::from,
    )
}

/// The runtime (engine and compiled component), compiled once per process and
/// never cached on disk.
pub fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        let path = component_path();
        let options = RuntimeOptions {
            artifact_dir: None,
            ..RuntimeOptions::default()
        };
        Runtime::load_with(&path, &options).unwrap_or_else(|e| {
            panic!(
                "cannot load {} (run scripts/build-component): {e}",
                path.display()
            )
        })
    })
}

/// Panics on what the API must never return for any input: a trap, or an
/// error that is not one of the component's typed errors.
pub fn assert_typed<T: std::fmt::Debug>(what: &str, result: &Result<T, Error>) {
    match result {
        Ok(_)
        | Err(Error::UnknownNamespace(_))
        | Err(Error::InvalidJson(_))
        | Err(Error::InvalidConfig(_))
        | Err(Error::TooLarge(_))
        | Err(Error::InvalidKey(_))
        | Err(Error::Storage(_)) => {}
        Err(e) => panic!("{what}: untyped failure {e:?}"),
    }
}

/// The WIT case of an error, for comparing the component with the native core.
pub fn case(e: &Error) -> &'static str {
    match e {
        Error::UnknownNamespace(_) => "unknown-namespace",
        Error::InvalidJson(_) => "invalid-json",
        Error::InvalidConfig(_) => "invalid-config",
        Error::TooLarge(_) => "too-large",
        Error::InvalidKey(_) => "invalid-key",
        Error::Storage(_) => "storage",
        _ => "other",
    }
}
