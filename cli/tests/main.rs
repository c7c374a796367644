//! The command-line programs' tests (real processes), one module per file, in
//! one test binary (one link instead of one per file). `cargo test --release
//! --test cli <module>::` runs one file's tests.

mod cli_common;
#[path = "../../host/tests/common/mod.rs"]
mod common;

mod bot_database;
mod cli;
mod cli_embedded;
mod cli_io;
mod cli_postgres;
mod cli_read_only;
mod cli_transfer;
mod cli_writes;
mod owner;
mod pg_processes;
mod seed_database;
