//! `component_api`: every function the component exports, called by its WIT
//! name with arguments generated from its WIT types (read from the component:
//! no list of calls here), in wasmtime through `cache_host::CacheService` over a
//! failing `MockStorage`, and on the native `BotCache` through
//! [`native`](crate::native).
//!
//! The host's read path is on or off, as the input's first field says.
//!
//! Invariants, checked after every call:
//! - no trap and no panic: every failure is one of the typed errors;
//! - the component answers exactly as the native `BotCache` does on the same
//!   calls (answers as JSON, error cases, stats, and the storage calls it made);
//! - a call that fails changes nothing observable: stored rows, settings, user
//!   data and each namespace's pending changes are as before (it may have
//!   cached a row it read through storage).
use crate::{assert_typed, case, native, reset_big_budget, runtime, Id, JsonText, NsName, Text};
use arbitrary::{Arbitrary, Unstructured};
use cache_core::{BotCache, FailRule, MockStorage, StorageError, StorageErrorKind};
use cache_host::contract::Type;
use cache_host::CacheService;
use serde_json::{json, Value};

/// Functions left out, with the reason: `sync` is the read path's own replay
/// (driven by the read path, on in half the inputs); the time functions follow
/// the host's wall clock, which the native core does not share (the host's
/// expiry tests cover them).
const NOT_CALLED: [&str; 4] = [
    "cache.sync",
    "cache.set-time",
    "cache.expire-after-write",
    "cache.get-fresh",
];

/// One step of an input.
#[derive(Debug)]
pub enum Step {
    /// A call of an exported function, arguments as JSON in WIT order.
    Call(String, Vec<Value>),
    /// Index into `StorageErrorKind::ALL`, and how many calls fail (`None`: all).
    FailWrites(Option<(u8, Option<u8>)>),
    /// The same for reads.
    FailReads(Option<(u8, Option<u8>)>),
}

impl<'a> Arbitrary<'a> for Step {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        Ok(match u.int_in_range(0..=11u8)? {
            0 => Step::FailWrites(u.arbitrary()?),
            1 => Step::FailReads(u.arbitrary()?),
            _ => {
                let contract = runtime().contract();
                let names: Vec<&str> = contract
                    .names()
                    .filter(|n| !NOT_CALLED.contains(n))
                    .collect();
                let name = *u.choose(&names)?;
                let function = contract
                    .function(name)
                    .ok_or(arbitrary::Error::IncorrectFormat)?;
                let args = function
                    .params()
                    .iter()
                    .map(|(param, ty)| value(u, param, ty))
                    .collect::<arbitrary::Result<_>>()?;
                Step::Call(name.to_owned(), args)
            }
        })
    }
}

/// A value of `ty` for the parameter or field `name`: mostly meaningful (known
/// namespaces, JSON that parses, a few ids) by the name's convention in `wit/`,
/// anything of the type otherwise.
fn value(u: &mut Unstructured<'_>, name: &str, ty: &Type) -> arbitrary::Result<Value> {
    if let Type::Option(inner) = ty {
        return if u.arbitrary()? {
            value(u, name, &inner.ty()).map(Some)
        } else {
            Ok(None)
        }
        .map(|v| v.unwrap_or(Value::Null));
    }
    Ok(match (name, ty) {
        // Mostly a few common values, so that calls meet each other's entries.
        ("namespace" | "name", Type::String) if u.ratio(3, 4)? => {
            json!(*u.choose(&["chats", "chatUsers", "users"])?)
        }
        ("key" | "state-key", Type::String) if u.ratio(3, 4)? => json!(*u.choose(&["a", "b"])?),
        ("chat-id" | "user-id", Type::S64) if u.ratio(3, 4)? => json!(*u.choose(&[-1, 1])?),
        ("namespace" | "name", Type::String) => json!(NsName::arbitrary(u)?.text()),
        ("key" | "state-key", Type::String) => json!(Text::arbitrary(u)?.text()),
        ("value" | "info" | "settings", Type::String) => json!(JsonText::arbitrary(u)?.text()),
        ("max-entries", Type::U32) => json!(u8::arbitrary(u)? % 6),
        ("keys", Type::List(l)) => Value::Array(list(u, |u| value(u, "key", &l.ty()))?),
        ("entries", Type::List(_)) => Value::Array(list(u, |u| {
            Ok(json!([
                Text::arbitrary(u)?.text(),
                JsonText::arbitrary(u)?.text()
            ]))
        })?),
        (_, Type::String) => json!(Text::arbitrary(u)?.text()),
        (_, Type::S64) => json!(Id::arbitrary(u)?.get()),
        (_, Type::U32) => json!(u8::arbitrary(u)?),
        (_, Type::Bool) => json!(bool::arbitrary(u)?),
        (_, Type::Enum(e)) => json!(*u.choose(&e.names().collect::<Vec<_>>())?),
        (_, Type::List(l)) => Value::Array(list(u, |u| value(u, name, &l.ty()))?),
        (_, Type::Tuple(t)) => Value::Array(
            t.types()
                .map(|ty| value(u, name, &ty))
                .collect::<arbitrary::Result<_>>()?,
        ),
        (_, Type::Record(r)) => Value::Object(
            r.fields()
                .map(|f| Ok((f.name.to_owned(), value(u, f.name, &f.ty)?)))
                .collect::<arbitrary::Result<_>>()?,
        ),
        _ => return Err(arbitrary::Error::IncorrectFormat),
    })
}

/// Up to 4 items.
fn list(
    u: &mut Unstructured<'_>,
    mut item: impl FnMut(&mut Unstructured<'_>) -> arbitrary::Result<Value>,
) -> arbitrary::Result<Vec<Value>> {
    (0..u.int_in_range(0..=4u8)?).map(|_| item(u)).collect()
}

/// What a call answered, comparable between the component and the native core.
type Outcome = Result<Value, &'static str>;

/// The kinds a failure rule injects: all but `conflict`, the protocol of a
/// storage several processes share, on which the host (not the core) drops the
/// stale copies the storage names and retries `persist-all`; the host's
/// coherence tests cover it.
fn injected(kind: u8) -> StorageErrorKind {
    let kinds: Vec<StorageErrorKind> = StorageErrorKind::ALL
        .into_iter()
        .filter(|k| *k != StorageErrorKind::Conflict)
        .collect();
    kinds[usize::from(kind) % kinds.len()]
}

/// The failure rule a step's spec stands for.
pub fn rule(spec: &Option<(u8, Option<u8>)>) -> Option<FailRule> {
    spec.map(|(kind, times)| FailRule {
        error: StorageError::new(injected(kind), "injected"),
        times: times.map(|n| u64::from(n % 4)),
        functions: None,
    })
}

/// Everything a caller can observe without changing it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    rows: Vec<(String, String, String)>,
    settings: Vec<((i64, String), String)>,
    user_data: Vec<((i64, i64, String), String)>,
    /// (name, pending changes) per namespace.
    pending: Vec<(String, u32)>,
    /// Entries held per namespace. A failed call may change these: a read
    /// through storage caches what storage holds, even if the call then fails.
    sizes: Vec<u32>,
}

impl Snapshot {
    /// Everything a failed call must leave as it was.
    fn data(&self) -> impl PartialEq + std::fmt::Debug + '_ {
        (&self.rows, &self.settings, &self.user_data, &self.pending)
    }
}

fn storage_part(s: &MockStorage) -> Snapshot {
    Snapshot {
        rows: s
            .rows()
            .map(|(n, k, v)| (n.to_owned(), k.to_owned(), v.to_owned()))
            .collect(),
        settings: s.chat_settings.clone().into_iter().collect(),
        user_data: s.user_data.clone().into_iter().collect(),
        pending: Vec::new(),
        sizes: Vec::new(),
    }
}

fn snapshot_native(bot: &BotCache<MockStorage>) -> Snapshot {
    let mut snap = storage_part(bot.cache_ref().storage());
    for s in bot.cache_ref().stats() {
        snap.pending.push((s.name, s.dirty));
        snap.sizes.push(s.size);
    }
    snap
}

fn snapshot_hosted(service: &CacheService<MockStorage>) -> Snapshot {
    let mut snap = service
        .with_storage(|s| storage_part(s))
        .unwrap_or_else(|e| panic!("with_storage: {e:?}"));
    let stats = service.stats();
    assert_typed("stats", &stats);
    for s in stats.unwrap_or_default() {
        snap.pending.push((s.name, s.dirty));
        snap.sizes.push(s.size);
    }
    snap
}

fn apply(
    step: &Step,
    bot: &mut BotCache<MockStorage>,
    svc: &CacheService<MockStorage>,
) -> (Outcome, Outcome) {
    let (name, args) = match step {
        Step::Call(name, args) => (name, args),
        Step::FailWrites(spec) | Step::FailReads(spec) => {
            let writes = matches!(step, Step::FailWrites(_));
            let set = |s: &mut MockStorage| {
                if writes {
                    s.fail_writes = rule(spec);
                } else {
                    s.fail_reads = rule(spec);
                }
            };
            set(bot.cache().storage_mut());
            svc.with_storage(set)
                .unwrap_or_else(|e| panic!("with_storage: {e:?}"));
            return (Ok(Value::Null), Ok(Value::Null));
        }
    };
    let hosted = svc.call_by_name(name, args);
    assert_typed(&format!("{step:?}"), &hosted);
    let (mut n, mut h) = (
        native::call(bot, name, args).map_err(|e| e.case()),
        hosted.map_err(|e| case(&e)),
    );
    if name == "cache.load-from-storage" {
        // The host adds the stored namespaces the table does not cover to
        // `skipped`; compare the rows loaded.
        for report in [&mut n, &mut h].into_iter().flatten() {
            *report = report["loaded"].clone();
        }
    }
    (n, h)
}

/// One input: the read path on or off, then the steps.
pub type Input = (bool, Vec<Step>);

/// Runs one input; panics where an invariant breaks.
pub fn run(input: Input) {
    let (read_path, steps) = input;
    reset_big_budget();
    let service = CacheService::builder("unused")
        .runtime(runtime().clone())
        .read_path(read_path)
        .build(MockStorage::new())
        .unwrap_or_else(|e| panic!("start: {e:?}"));
    let mut bot = BotCache::new(MockStorage::new());
    if let Err(e) = bot.cache().load_from_storage() {
        panic!("native start: {e:?}");
    }
    for call in &steps {
        let (before_native, before_hosted) = (snapshot_native(&bot), snapshot_hosted(&service));
        let (n, h) = apply(call, &mut bot, &service);
        assert_eq!(
            n, h,
            "the component and the native core disagree on {call:?}"
        );
        let (after_native, after_hosted) = (snapshot_native(&bot), snapshot_hosted(&service));
        assert_eq!(after_native, after_hosted, "state differs after {call:?}");
        if h.is_err() {
            assert_eq!(
                before_hosted.data(),
                after_hosted.data(),
                "the failed call {call:?} changed the component's state"
            );
            assert_eq!(
                before_native.data(),
                after_native.data(),
                "the failed call {call:?} changed the native state"
            );
        }
        let calls_hosted = service
            .with_storage(|s| s.calls.clone())
            .unwrap_or_else(|e| panic!("with_storage: {e:?}"));
        assert_eq!(
            bot.cache_ref().storage().calls,
            calls_hosted,
            "storage calls differ after {call:?}"
        );
    }
    assert_eq!(
        service.read_path_stats().stale,
        0,
        "the read path served a stale copy"
    );
    // Closing persists; with storage still failing it may fail, but only typed.
    let closed = service.close();
    assert_typed("close", &closed);
}
