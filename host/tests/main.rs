//! The host's integration tests, one module per file, in one test binary: each
//! binary links wasmtime, so one binary instead of one per file saves CI a link
//! per file. `cargo test --release --test host <module>::` runs one file's tests.

mod common;

mod artifact;
mod by_name;
mod concurrency;
mod crash;
mod durability;
mod embed;
mod expiry;
mod failures;
mod pg_coherence;
mod postgres;
mod private_files;
mod runtime;
mod write_back;
