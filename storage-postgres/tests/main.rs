//! The PostgreSQL backend's integration tests against a real server, one module
//! per file, in one test binary: one link instead of one per file.
//! `cargo test --release -p cache-storage-postgres --test postgres <module>::`
//! runs one file's tests.

mod common;

mod adopt;
mod kit;
mod time_limits;
