//! The fuzz targets as plain functions: what each one drives and checks, and
//! the inputs they share (mostly meaningful: known namespaces, JSON that
//! parses; sometimes arbitrary text).
//!
//! Two runners call them. `cargo fuzz` (`fuzz/fuzz_targets/`, libFuzzer,
//! coverage-guided, `just fuzz`) and the ordinary test `tests/replay.rs`, which
//! replays every committed seed and a fixed set of mutations of them in the
//! workspace's own release build (`just test`). One body per target, so the two
//! check the same invariants.
//!
//! A target panics where an invariant breaks; every other outcome is a pass.

use std::cell::Cell;

use arbitrary::Arbitrary;

#[cfg(feature = "host")]
pub mod component_api;
#[cfg(feature = "host")]
pub mod db_cells;
#[cfg(feature = "host")]
mod host;
#[cfg(feature = "host")]
pub mod native;
#[cfg(feature = "host")]
pub use host::{assert_typed, case, component_path, runtime};

/// `core_ops`: random operation sequences on `cache_core::Cache` and `BotCache`
/// over a failing `MockStorage`, checked step by step against the reference
/// model (`cache_core::model`, the same one `core/tests/model.rs` runs).
pub mod core_ops {
    /// Runs one input; panics if the cache diverges from the model.
    pub fn run(data: &[u8]) {
        if let Err(divergence) = cache_core::model::run_bytes(data) {
            panic!("the cache diverged from the model: {divergence}");
        }
    }
}

/// A namespace name: one of the seed's, or any text.
#[derive(Arbitrary, Clone, Debug)]
pub enum NsName {
    /// `chats`, `chatUsers`, `users`, or `""`.
    Known(u8),
    /// Any text.
    Raw(String),
}

impl NsName {
    /// The name.
    pub fn text(&self) -> String {
        match self {
            NsName::Known(n) => ["chats", "chatUsers", "users", ""][usize::from(n % 4)].to_owned(),
            NsName::Raw(s) => s.clone(),
        }
    }
}

/// A key or data key: one of a few, or any text, or one around the size limit.
#[derive(Arbitrary, Clone, Debug)]
pub enum Text {
    /// One of a few short keys.
    Small(u8),
    /// Any text.
    Raw(String),
    /// `1022 + n % 4` bytes.
    Long(u8),
}

impl Text {
    /// The text.
    pub fn text(&self) -> String {
        match self {
            Text::Small(n) => {
                ["a", "b", "-1", "settings", "data", ""][usize::from(n % 6)].to_owned()
            }
            Text::Raw(s) => s.clone(),
            Text::Long(n) => "k".repeat(1022 + usize::from(n % 4)),
        }
    }
}

thread_local! {
    /// How many more [`JsonText::Big`] values this input may make.
    static BIG_LEFT: Cell<u32> = const { Cell::new(0) };
}

/// Values of about 1 MiB an input may make: enough to cross the size limits,
/// few enough that the cache (capacities in entries, not bytes) stays far from
/// the guest's memory limit. Called at the start of every input.
pub fn reset_big_budget() {
    BIG_LEFT.set(8);
}

/// Takes one value of about 1 MiB from this input's budget; `false` when spent.
pub fn take_big() -> bool {
    let left = BIG_LEFT.get();
    BIG_LEFT.set(left.saturating_sub(1));
    left > 0
}

/// A JSON value as the caller passes it: interesting fixed texts, any JSON the
/// fuzzer builds, or any text.
#[derive(Arbitrary, Clone, Debug)]
pub enum JsonText {
    /// One of a list of edge cases.
    Fixed(u8),
    /// A JSON object of string pairs (what settings and info look like).
    Object(Vec<(String, String)>),
    /// A JSON string.
    Quoted(String),
    /// Any text.
    Raw(String),
    /// A JSON string of `1 MiB - 4 + n % 8` bytes.
    Big(u8),
}

const FIXED: [&str; 16] = [
    "{}",
    "null",
    " null ",
    "[]",
    "1",
    "1e400",
    "-0",
    "\"\"",
    "{\"settings\":{}}",
    "{\"data\":{\"a\":1}}",
    "{\"info\":{\"t\":\"x\"}}",
    "{\"a\":\"b\",\"a\":\"c\"}",
    "{\"a\":1}",
    "\"\\ud800\"",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "",
];

impl JsonText {
    /// The text.
    pub fn text(&self) -> String {
        match self {
            JsonText::Fixed(n) => FIXED[usize::from(*n) % FIXED.len()].to_owned(),
            JsonText::Object(pairs) => serde_json::Value::Object(
                pairs
                    .iter()
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect(),
            )
            .to_string(),
            JsonText::Quoted(s) => serde_json::Value::String(s.clone()).to_string(),
            JsonText::Raw(s) => s.clone(),
            JsonText::Big(n) => {
                if !take_big() {
                    return "{}".to_owned();
                }
                format!("\"{}\"", "x".repeat((1 << 20) - 6 + usize::from(n % 8)))
            }
        }
    }
}

/// A chat or user id: one of a few, or any.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Id {
    /// -1, 0, 1, `i64::MIN` or `i64::MAX`.
    Small(u8),
    /// Any id.
    Raw(i64),
}

impl Id {
    /// The id.
    pub fn get(self) -> i64 {
        match self {
            Id::Small(n) => [-1, 0, 1, i64::MIN, i64::MAX][usize::from(n % 5)],
            Id::Raw(id) => id,
        }
    }
}
