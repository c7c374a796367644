//! `core_ops`: the reference-model check of `cache_fuzz_harness::core_ops`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| cache_fuzz_harness::core_ops::run(data));
