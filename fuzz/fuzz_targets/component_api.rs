//! `component_api`: the differential check of `cache_fuzz_harness::component_api`.
#![no_main]

use cache_fuzz_harness::component_api::{run, Input};

libfuzzer_sys::fuzz_target!(|input: Input| run(input));
