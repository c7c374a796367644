//! `db_cells`: the corrupt-cell check of `cache_fuzz_harness::db_cells`.
#![no_main]

use cache_fuzz_harness::db_cells::{run, Input};

libfuzzer_sys::fuzz_target!(|input: Input| run(input));
