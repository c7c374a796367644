//! Loading the runtime (the artifact cache has its own tests in `artifact.rs`).

use cache_host::Runtime;

#[test]
fn missing_component_is_a_clear_error() {
    let err = Runtime::load("/nonexistent/cache.wasm").unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("/nonexistent/cache.wasm") && msg.contains("just build"),
        "{msg}"
    );
}
