//! The reference model (feature `model`): random operation sequences on
//! [`Cache`](crate::Cache) and [`BotCache`](crate::BotCache) over a failing
//! [`MockStorage`](crate::MockStorage), checked step by step against a
//! deliberately naive model. One copy, used by the property test
//! (`core/tests/model.rs`) and by the `core_ops` fuzz target (`fuzz/`).
//!
//! The model:
//! - a memory-only namespace is a `Vec` in recency order (exact LRU behaviour);
//! - a persisted namespace is the map of acknowledged values, which the cache
//!   must always return (through read-through after evictions), which storage
//!   must hold exactly after a final `persist_all` (on-change: after every step),
//!   and which a fresh cache must load back;
//! - chat settings and user data are the maps the bot's storage must hold after
//!   every step;
//! - a call that fails changes nothing: an error is either the one the model
//!   predicts from the input (too large, invalid JSON, unknown namespace) or a
//!   storage error of the kind a failure rule injects, and only while one is set.
//!
//! Scenarios are built with [`arbitrary`] from raw bytes, so a fuzzer and a
//! property test drive the same code: [`run_bytes`].

mod bot;
mod generic;

use arbitrary::{Arbitrary, Unstructured};

use crate::{CacheError, FailRule, MockStorage, StorageErrorKind, MAX_KEY_BYTES, MAX_VALUE_BYTES};

pub use bot::{BotOp, Setting, Settings};
pub use generic::{GenericOp, Ns};

/// One operation sequence, on the generic cache or on the bot's cache.
#[derive(Arbitrary, Clone, Debug)]
pub enum Scenario {
    /// Generic operations on three namespaces, one of each persistence.
    Generic(Vec<GenericOp>),
    /// The bot's operations on the seed's namespaces, with small capacities.
    Bot(Vec<BotOp>),
}

/// Runs `scenario` against the model; `Err` describes the first divergence.
pub fn run(scenario: &Scenario) -> Result<(), String> {
    match scenario {
        Scenario::Generic(ops) => generic::run(ops),
        Scenario::Bot(ops) => bot::run(ops),
    }
}

/// Builds a [`Scenario`] from `data` and runs it. Input the builder cannot use
/// is `Ok`: there is nothing to check.
pub fn run_bytes(data: &[u8]) -> Result<(), String> {
    match Scenario::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(scenario) => run(&scenario),
        Err(_) => Ok(()),
    }
}

/// A key: mostly one of a few short ones (so operations meet), sometimes any
/// text, sometimes one around the size limit.
#[derive(Arbitrary, Clone, Debug)]
pub enum Key {
    /// `k0` .. `k5`.
    Small(u8),
    /// Any text.
    Raw(String),
    /// `MAX_KEY_BYTES - 2 + n % 4` bytes: just under, at and over the limit.
    Long(u8),
}

impl Key {
    /// The key's text.
    pub fn text(&self) -> String {
        match self {
            Key::Small(n) => format!("k{}", n % 6),
            Key::Raw(s) => s.clone(),
            Key::Long(n) => "k".repeat(MAX_KEY_BYTES - 2 + usize::from(n % 4)),
        }
    }
}

/// A value: valid JSON made from the step, a JSON string, or any text.
#[derive(Arbitrary, Clone, Debug)]
pub enum Json {
    /// `{"v":<step>}`.
    Step,
    /// A JSON string holding the text.
    Quoted(String),
    /// Any text (mostly not JSON).
    Raw(String),
    /// A JSON string of `MAX_VALUE_BYTES - 4 + n % 8` bytes: around the limit.
    Big(u8),
}

impl Json {
    /// The value's text at step `step`.
    pub fn text(&self, step: usize) -> String {
        match self {
            Json::Step => format!("{{\"v\":{step}}}"),
            Json::Quoted(s) => serde_json::Value::String(s.clone()).to_string(),
            Json::Raw(s) => s.clone(),
            Json::Big(n) => {
                let len = MAX_VALUE_BYTES - 4 + usize::from(n % 8);
                format!("\"{}\"", "x".repeat(len.saturating_sub(2)))
            }
        }
    }
}

/// A chat or user id: mostly one of three, sometimes any.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Id {
    /// -1, 0 or 1.
    Small(u8),
    /// Any id.
    Raw(i64),
}

impl Id {
    /// The id.
    pub fn get(self) -> i64 {
        match self {
            Id::Small(n) => i64::from(n % 3) - 1,
            Id::Raw(id) => id,
        }
    }
}

/// A storage function a failure rule may be restricted to.
#[derive(Arbitrary, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageFn {
    /// `rows.load`.
    Load,
    /// `rows.get`.
    Get,
    /// `rows.write`.
    Write,
    /// `bot-storage.get-chat-settings`.
    GetChatSettings,
    /// `bot-storage.write-chat-settings`.
    WriteChatSettings,
    /// `bot-storage.get-user-data`.
    GetUserData,
    /// `bot-storage.set-user-data`.
    SetUserData,
}

impl StorageFn {
    /// The WIT name, as [`FailRule::functions`] holds it.
    pub fn name(self) -> &'static str {
        match self {
            StorageFn::Load => "load",
            StorageFn::Get => "get",
            StorageFn::Write => "write",
            StorageFn::GetChatSettings => "get-chat-settings",
            StorageFn::WriteChatSettings => "write-chat-settings",
            StorageFn::GetUserData => "get-user-data",
            StorageFn::SetUserData => "set-user-data",
        }
    }
}

/// A failure rule: which error, how many times, for which functions.
#[derive(Arbitrary, Clone, Debug)]
pub struct FailSpec {
    /// Index into [`StorageErrorKind::FAILURES`] (a mock storage fails; `pending`
    /// is a host's protocol, tested on its own).
    pub kind: u8,
    /// `None`: every matching call; `Some(n)`: the next `n % 4` matching calls.
    pub times: Option<u8>,
    /// Restricts the rule to these functions.
    pub only: Option<Vec<StorageFn>>,
}

impl FailSpec {
    /// The error kind the rule injects.
    pub fn error_kind(&self) -> StorageErrorKind {
        let kinds = StorageErrorKind::FAILURES;
        kinds[usize::from(self.kind) % kinds.len()]
    }

    fn rule(&self) -> FailRule {
        FailRule {
            error: crate::StorageError::new(self.error_kind(), "injected failure"),
            times: self.times.map(|n| u64::from(n % 4)),
            functions: self
                .only
                .as_ref()
                .map(|fns| fns.iter().map(|f| f.name().to_owned()).collect()),
        }
    }

    /// Whether every call of `function` fails while the rule is set.
    fn always_fails(&self, function: StorageFn) -> bool {
        self.times.is_none() && self.only.as_ref().is_none_or(|fns| fns.contains(&function))
    }
}

/// The failure rules currently set on the mock.
#[derive(Default)]
struct Faults {
    writes: Option<FailSpec>,
    reads: Option<FailSpec>,
}

impl Faults {
    /// Sets the rules on the mock and remembers them.
    fn set<S>(&mut self, storage: &mut MockStorage<S>, writes: bool, spec: Option<FailSpec>) {
        let rule = spec.as_ref().map(FailSpec::rule);
        if writes {
            storage.fail_writes = rule;
            self.writes = spec;
        } else {
            storage.fail_reads = rule;
            self.reads = spec;
        }
    }

    /// Whether a storage error of `kind` may be injected now.
    fn allows(&self, kind: StorageErrorKind) -> bool {
        [&self.writes, &self.reads]
            .into_iter()
            .flatten()
            .any(|spec| spec.error_kind() == kind)
    }

    /// Whether a call that must write with `function` must fail now.
    fn write_always_fails(&self, function: StorageFn) -> bool {
        self.writes
            .as_ref()
            .is_some_and(|spec| spec.always_fails(function))
    }
}

/// The error case the model predicts for an input, or `None` if valid.
type Expected = Option<&'static str>;

/// Checks a call's result against the model's prediction `expected` (a
/// validation error case, or `None`). `Ok(true)`: the call was acknowledged and
/// the model should apply it; `Ok(false)`: it failed as allowed.
fn check<T: std::fmt::Debug>(
    what: &str,
    result: &Result<T, CacheError>,
    expected: Expected,
    faults: &Faults,
) -> Result<bool, String> {
    match (result, expected) {
        (Ok(_), None) => Ok(true),
        (Err(CacheError::Storage(e)), None) if faults.allows(e.kind) => Ok(false),
        (Err(e), Some(case)) if e.case() == case => Ok(false),
        (r, expected) => Err(format!("{what}: got {r:?}, expected {expected:?}")),
    }
}

/// The model's JSON check: parses as a JSON value other than `null`.
fn json_error(text: &str) -> Expected {
    if text.len() > MAX_VALUE_BYTES {
        return Some("too-large");
    }
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(serde_json::Value::Null) | Err(_) => Some("invalid-json"),
        Ok(_) => None,
    }
}

/// `too-large` for a key over the limit, `invalid-key` for one holding NUL.
fn key_error(key: &str) -> Expected {
    if key.len() > MAX_KEY_BYTES {
        Some("too-large")
    } else if key.contains('\0') {
        Some("invalid-key")
    } else {
        None
    }
}
