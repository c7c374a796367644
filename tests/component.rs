//! The component as a whole, in wasmtime: its world imports nothing but the
//! storage interfaces, and random call sequences over every exported function
//! (with hostile inputs and failing storage) give the same answers and the same
//! storage calls as the native core over the same storage semantics: the WIT
//! adapter adds nothing and loses nothing, and no input traps.
//!
//! The calls are `component_api`'s (the fuzz target's generator, typed by the
//! contract), made here on a bare instance: no service, read path or write-back
//! between the test and the component.

use arbitrary::{Arbitrary, Unstructured};
use cache_core::{BotCache, MockStorage};
use cache_fuzz_harness::component_api::{rule, Step};
use cache_fuzz_harness::native;
use cache_tests::{runtime, Harness};
use proptest::prelude::*;

#[test]
fn the_world_imports_only_storage() {
    let engine = runtime().engine();
    let component =
        wasmtime::component::Component::from_file(engine, cache_tests::component_path())
            .expect("the component compiles");
    let ty = component.component_type();
    let mut imports: Vec<String> = ty
        .imports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    imports.sort();
    assert_eq!(
        imports,
        [
            "gromozeka:cache/bot-storage@0.3.0",
            "gromozeka:cache/rows@0.3.0"
        ]
    );
    let mut exports: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    exports.sort();
    assert_eq!(
        exports,
        [
            "gromozeka:cache/bot@0.3.0",
            "gromozeka:cache/cache@0.3.0",
            "gromozeka:cache/types@0.3.0"
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn component_agrees_with_the_native_core(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), 1..40)) {
        cache_fuzz_harness::reset_big_budget();
        // One step per chunk of bytes, so that every case is a sequence of calls.
        let steps: Vec<Step> = chunks
            .iter()
            .filter_map(|chunk| Step::arbitrary(&mut Unstructured::new(chunk)).ok())
            .collect();
        let mut h = Harness::new().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let mut bot = BotCache::new(MockStorage::new());
        for (i, step) in steps.iter().enumerate() {
            let (name, args) = match step {
                Step::Call(name, args) => (name, args),
                Step::FailWrites(spec) => {
                    h.storage().fail_writes = rule(spec);
                    bot.cache().storage_mut().fail_writes = rule(spec);
                    continue;
                }
                Step::FailReads(spec) => {
                    h.storage().fail_reads = rule(spec);
                    bot.cache().storage_mut().fail_reads = rule(spec);
                    continue;
                }
            };
            let wasm = h
                .call_by_name(name, args)
                .map_err(|e| TestCaseError::fail(format!("step {i} {step:?} trapped: {e:#}")))?
                .map_err(|err| err.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default());
            let native = native::call(&mut bot, name, args).map_err(|e| e.case().to_owned());
            prop_assert_eq!(&wasm, &native, "step {} {:?}", i, step);
            prop_assert_eq!(&h.storage().calls, &bot.cache_ref().storage().calls, "storage calls after step {} {:?}", i, step);
        }
    }
}
