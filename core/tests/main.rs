//! The core's integration tests, one module per file, in one test binary: one
//! link instead of one per file. `cargo test --release -p cache-core --test core
//! <module>::` runs one file's tests.

mod support;

mod bot;
mod bot_fuzz_findings;
mod configure_and_counters;
mod expiry;
mod forget;
mod load_and_pending;
mod mock_storage;
mod model;
mod names_and_validation;
mod nul_keys;
mod pending_requests;
mod read_path;
mod records_and_mirrors;
mod storage_kit;
mod value_depth;
