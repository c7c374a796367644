//! Property test: random operation sequences on `Cache` and `BotCache`, with
//! storage calls failing at random, against the reference model
//! (`cache_core::model`, shared with the `core_ops` fuzz target).
//!
//! Scenarios are built from random bytes with `arbitrary`, exactly as the
//! fuzzer builds them, so a crash file from `fuzz/artifacts/core_ops/` replays
//! here with `cache_core::model::run_bytes`.

use cache_core::model::{
    run, run_bytes, BotOp, FailSpec, GenericOp, Id, Json, Key, Ns, Scenario, Settings,
};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn matches_the_reference_model(data in prop::collection::vec(any::<u8>(), 0..2048)) {
        run_bytes(&data).map_err(TestCaseError::fail)?;
    }
}

/// Writes fail from the start: every on-change set is refused, and storage
/// still ends up with exactly what was acknowledged.
#[test]
fn failing_writes_then_healing() {
    let always = FailSpec {
        kind: 1,
        times: None,
        only: None,
    };
    let ops = vec![
        GenericOp::FailWrites(Some(always)),
        GenericOp::Set(Ns(1), Key::Small(0), Json::Step),
        GenericOp::Set(Ns(2), Key::Small(1), Json::Step),
        GenericOp::Set(Ns(2), Key::Small(2), Json::Step),
        GenericOp::Set(Ns(2), Key::Small(3), Json::Step),
        GenericOp::FailWrites(None),
        GenericOp::Persist,
        GenericOp::Get(Ns(2), Key::Small(1)),
    ];
    run(&Scenario::Generic(ops)).expect("matches the model");
}

/// The bot's API with a failing read-through in the middle.
#[test]
fn bot_with_failing_reads() {
    let once = FailSpec {
        kind: 0,
        times: Some(1),
        only: None,
    };
    let ops = vec![
        BotOp::SetInfo(Id::Small(1), Settings::Raw(r#"{"t":"a"}"#.into())),
        BotOp::Persist,
        BotOp::SetInfo(Id::Small(2), Settings::Raw(r#"{"t":"b"}"#.into())),
        BotOp::SetInfo(Id::Small(0), Settings::Raw(r#"{"t":"c"}"#.into())),
        BotOp::FailReads(Some(once)),
        BotOp::GetInfo(Id::Small(1)),
        BotOp::GetInfo(Id::Small(1)),
        BotOp::SetData(
            Id::Small(1),
            Id::Small(1),
            Key::Small(0),
            Json::Quoted("x".into()),
        ),
        BotOp::GetData(Id::Small(1), Id::Small(1)),
    ];
    run(&Scenario::Bot(ops)).expect("matches the model");
}
