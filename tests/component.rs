//! The component as a whole, in wasmtime: its world imports nothing but the
//! storage interfaces, and random operation sequences (with hostile inputs and failing
//! storage) give the same answers and the same storage calls as the native
//! core over the same storage semantics: the WIT adapter adds nothing and
//! loses nothing, and no input traps.

use cache_core::{BotCache, MockStorage, SettingsMode, StorageError, StorageErrorKind};
use cache_tests::{error_case, runtime, trap, FailRule, Harness};
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

#[derive(Clone, Debug)]
enum Op {
    Get(String, String),
    Set(String, String, String),
    Delete(String, String),
    SetMany(String, Vec<(String, String)>),
    Clear(String),
    Persist,
    Load,
    SetUserData(i64, i64, String, String),
    SetChatSettings(i64, String, bool),
    UnsetChatSetting(i64, String),
    GetChatSettings(i64),
    FailWrites(bool),
}

fn namespace() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("chats".to_owned()),
        Just("chatUsers".to_owned()),
        Just("users".to_owned()),
        Just("nope".to_owned()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (0u8..4).prop_map(|k| format!("k{k}")),
        1 => Just("x".repeat(1025)),
        1 => ".{0,4}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (0u32..100).prop_map(|n| format!("{{\"n\":{n}}}")),
        1 => Just("null".to_owned()),
        1 => Just(String::new()),
        1 => ".{0,6}",
        1 => Just("[1,{\"a\":\"\\u00e9\"}]".to_owned()),
    ]
}

fn settings() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::btree_map(key(), (0u8..3).prop_map(|n| format!("v{n}")), 0..3)
            .prop_map(|m| serde_json::to_string(&m).unwrap_or_default()),
        1 => value(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (namespace(), key()).prop_map(|(n, k)| Op::Get(n, k)),
        4 => (namespace(), key(), value()).prop_map(|(n, k, v)| Op::Set(n, k, v)),
        2 => (namespace(), key()).prop_map(|(n, k)| Op::Delete(n, k)),
        1 => (namespace(), prop::collection::vec((key(), value()), 0..4)).prop_map(|(n, e)| Op::SetMany(n, e)),
        1 => namespace().prop_map(Op::Clear),
        1 => Just(Op::Persist),
        1 => Just(Op::Load),
        1 => (0i64..3, 0i64..3, key(), value()).prop_map(|(c, u, k, v)| Op::SetUserData(c, u, k, v)),
        1 => (0i64..3, settings(), any::<bool>()).prop_map(|(c, v, r)| Op::SetChatSettings(c, v, r)),
        1 => (0i64..3, key()).prop_map(|(c, k)| Op::UnsetChatSetting(c, k)),
        1 => (0i64..3).prop_map(Op::GetChatSettings),
        1 => any::<bool>().prop_map(Op::FailWrites),
    ]
}

/// One answer, reduced to what both sides can express: `Ok(debug text)` or
/// the error's case name.
type Answer = Result<String, &'static str>;

fn mode(rewrite: bool) -> SettingsMode {
    if rewrite {
        SettingsMode::Rewrite
    } else {
        SettingsMode::Merge
    }
}

fn wit_mode(rewrite: bool) -> cache_tests::SettingsMode {
    if rewrite {
        cache_tests::SettingsMode::Rewrite
    } else {
        cache_tests::SettingsMode::Merge
    }
}

fn native(bot: &mut BotCache<MockStorage>, op: &Op) -> Answer {
    let case = |e: cache_core::CacheError| e.case();
    let unit = |()| "()".to_owned();
    match op {
        Op::SetUserData(c, u, k, v) => bot.set_user_data(*c, *u, k, v).map(unit).map_err(case),
        Op::SetChatSettings(c, v, r) => bot
            .set_chat_settings(*c, v, mode(*r))
            .map(unit)
            .map_err(case),
        Op::UnsetChatSetting(c, k) => bot.unset_chat_setting(*c, k).map(unit).map_err(case),
        Op::GetChatSettings(c) => bot.get_chat_settings(*c).map_err(case),
        Op::Get(n, k) => bot
            .cache()
            .get(n, k)
            .map(|v| format!("{v:?}"))
            .map_err(case),
        Op::Set(n, k, v) => bot
            .cache()
            .set(n, k.clone(), v.clone())
            .map(unit)
            .map_err(case),
        Op::Delete(n, k) => bot
            .cache()
            .delete(n, k)
            .map(|b| b.to_string())
            .map_err(case),
        Op::SetMany(n, e) => bot.cache().set_many(n, e.clone()).map(unit).map_err(case),
        Op::Clear(n) => bot.cache().clear_namespace(n).map(unit).map_err(case),
        Op::Persist => bot
            .cache()
            .persist_all()
            .map(|r| format!("{}/{}", r.written, r.deleted))
            .map_err(case),
        Op::Load => bot
            .cache()
            .load_from_storage()
            .map(|r| format!("{}/{}", r.loaded, r.skipped.len()))
            .map_err(case),
        Op::FailWrites(on) => {
            bot.cache().storage_mut().fail_writes = on.then(disk_full);
            Ok("()".into())
        }
    }
}

fn disk_full() -> FailRule {
    FailRule::always(StorageError::new(StorageErrorKind::Full, "disk full"))
}

fn component(h: &mut Harness, op: &Op) -> anyhow::Result<Answer> {
    let case = |e: cache_tests::CacheError| error_case(&e).0;
    let (service, st) = h.parts();
    let cache = service.gromozeka_cache_cache();
    let bot = service.gromozeka_cache_bot();
    let unit = |()| "()".to_owned();
    Ok(match op {
        Op::Get(n, k) => cache
            .call_get(&mut *st, n, k)
            .map_err(trap)?
            .map(|v| format!("{v:?}"))
            .map_err(case),
        Op::Set(n, k, v) => cache
            .call_set(&mut *st, n, k, v)
            .map_err(trap)?
            .map(unit)
            .map_err(case),
        Op::Delete(n, k) => cache
            .call_delete(&mut *st, n, k)
            .map_err(trap)?
            .map(|b| b.to_string())
            .map_err(case),
        Op::SetMany(n, e) => cache
            .call_set_many(&mut *st, n, e)
            .map_err(trap)?
            .map(unit)
            .map_err(case),
        Op::Clear(n) => cache
            .call_clear_namespace(&mut *st, n)
            .map_err(trap)?
            .map(unit)
            .map_err(case),
        Op::Persist => cache
            .call_persist_all(&mut *st)
            .map_err(trap)?
            .map(|r| format!("{}/{}", r.written, r.deleted))
            .map_err(case),
        Op::Load => cache
            .call_load_from_storage(&mut *st)
            .map_err(trap)?
            .map(|r| format!("{}/{}", r.loaded, r.skipped.len()))
            .map_err(case),
        Op::SetUserData(c, u, k, v) => bot
            .call_set_user_data(&mut *st, *c, *u, k, v)
            .map_err(trap)?
            .map(unit)
            .map_err(case),
        Op::SetChatSettings(c, v, r) => bot
            .call_set_chat_settings(&mut *st, *c, v, wit_mode(*r))
            .map_err(trap)?
            .map(unit)
            .map_err(case),
        Op::UnsetChatSetting(c, k) => bot
            .call_unset_chat_setting(&mut *st, *c, k)
            .map_err(trap)?
            .map(unit)
            .map_err(case),
        Op::GetChatSettings(c) => bot
            .call_get_chat_settings(&mut *st, *c)
            .map_err(trap)?
            .map_err(case),
        Op::FailWrites(on) => {
            st.data_mut().storage.fail_writes = on.then(disk_full);
            Ok("()".into())
        }
    })
}

/// The calls with each batch's deletes and clears sorted: their order inside a
/// batch is not part of the contract (a hash set's order differs between the
/// wasm and native builds); upserts keep their order, which is recency.
fn normalized(calls: &[cache_core::Call]) -> Vec<cache_core::Call> {
    calls
        .iter()
        .cloned()
        .map(|mut call| {
            if let cache_core::Call::Write { clear, delete, .. } = &mut call {
                clear.sort();
                delete.sort();
            }
            call
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn component_agrees_with_the_native_core(ops in prop::collection::vec(op(), 1..40)) {
        let mut h = Harness::new().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let mut cache = BotCache::new(MockStorage::new());
        for (i, op) in ops.iter().enumerate() {
            let wasm = component(&mut h, op).map_err(|e| TestCaseError::fail(format!("step {i} {op:?} trapped: {e:#}")))?;
            let native = native(&mut cache, op);
            prop_assert_eq!(&wasm, &native, "step {} {:?}", i, op);
            prop_assert_eq!(normalized(&h.storage().calls), normalized(&cache.cache_ref().storage().calls), "storage calls after step {} {:?}", i, op);
        }
        let stats = h.stats().map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
        let native_stats = cache.cache_ref().stats();
        prop_assert_eq!(stats.len(), native_stats.len());
        for (w, n) in stats.iter().zip(&native_stats) {
            prop_assert_eq!((w.size, w.dirty, w.hits, w.misses, w.evictions), (n.size, n.dirty, n.hits, n.misses, n.evictions));
        }
    }
}
