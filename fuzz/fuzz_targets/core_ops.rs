//! `core_ops`: random operation sequences on `cache_core::Cache` and
//! `BotCache` over a failing `MockStorage`, checked step by step against the
//! reference model (`cache_core::model`, the same one `core/tests/model.rs` runs).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(divergence) = cache_core::model::run_bytes(data) {
        panic!("the cache diverged from the model: {divergence}");
    }
});
