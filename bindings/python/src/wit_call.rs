//! `NativeCache._wit_call(name, args)`: any export of the component by its WIT name,
//! with JSON *text* in and out, for the conformance scenarios
//! (`conformance/scenarios.json`, run by `tests/test_conformance.py`).
//!
//! The scenarios speak the WIT: they pass values as JSON text, including text that
//! is deliberately not JSON, which the Python API (Python objects in, converted in
//! Rust) cannot express. This entry point takes the same route as every public
//! method (the gate, the GIL released, the same `CacheService`, the same storage,
//! the same error classes) and skips only the Python ⇄ JSON conversion, which
//! `tests/test_api.py` covers.

use cache_host::{CacheService, Error, NamespaceConfig, SettingsMode};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::args::{load_report, parse_persistence, persistence_name};
use crate::storage::AnyStorage;

type Service = CacheService<AnyStorage>;

/// An argument list converted before the call (with the GIL held).
pub enum Args {
    /// `configure`: the namespace table.
    Configure(Vec<NamespaceConfig>),
    /// Strings, integers, an optional string, a list of strings, or pairs, in WIT order.
    Values(Vec<Arg>),
}

/// One argument of a WIT call.
pub enum Arg {
    /// `string`
    Str(String),
    /// `s64`
    Int(i64),
    /// `option<string>`: `None` is `none`.
    OptStr(Option<String>),
    /// `list<string>`
    List(Vec<String>),
    /// `list<tuple<string, string>>`
    Pairs(Vec<(String, String)>),
}

/// What a call returned, before it becomes a Python object.
pub enum Out {
    Unit,
    Bool(bool),
    Count(u32),
    Text(String),
    OptText(Option<String>),
    Texts(Vec<Option<String>>),
    Load(cache_host::LoadReport),
    Persist(cache_host::PersistReport),
    Stats(Vec<cache_host::NamespaceStats>),
    Pending(cache_host::Pending),
}

/// The argument kinds of each WIT function, or `None` for an unknown name.
fn signature(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "cache.configure" => &["configs"],
        "cache.get" | "cache.delete" | "cache.forget" => &["str", "str"],
        "cache.set" => &["str", "str", "str"],
        "cache.get-many" => &["str", "list"],
        "cache.set-many" => &["str", "pairs"],
        "cache.clear-namespace" | "cache.forget-namespace" | "cache.pending-changes" => &["str"],
        "cache.load-from-storage" | "cache.persist-all" | "cache.stats" | "cache.forget-all" => &[],
        "bot.forget-chat-settings" | "bot.get-chat-settings" | "bot.get-chat-info" => &["int"],
        "bot.forget-user-data" | "bot.get-user-data" => &["int", "int"],
        "bot.set-chat-settings" => &["int", "str", "str"],
        "bot.unset-chat-setting" | "bot.set-chat-info" | "bot.get-user-state" => &["int", "str"],
        "bot.set-user-data" => &["int", "int", "str", "str"],
        "bot.set-user-state" => &["int", "str", "str"],
        "bot.clear-user-state" => &["int", "optstr"],
        _ => return None,
    })
}

/// Converts `args` for the WIT function `name` (checked before the call).
pub fn parse(name: &str, args: &Bound<'_, PyList>) -> PyResult<Args> {
    let kinds = signature(name)
        .ok_or_else(|| PyValueError::new_err(format!("no WIT function {name:?}")))?;
    if args.len() != kinds.len() {
        return Err(PyTypeError::new_err(format!(
            "{name} takes {} arguments, not {}",
            kinds.len(),
            args.len()
        )));
    }
    if name == "cache.configure" {
        let mut table = Vec::new();
        for item in args.get_item(0)?.try_iter()? {
            let item = item?;
            let persistence: String = item.get_item("persistence")?.extract()?;
            table.push(NamespaceConfig {
                name: item.get_item("name")?.extract()?,
                max_entries: item.get_item("max-entries")?.extract()?,
                persistence: parse_persistence(&persistence)?,
            });
        }
        return Ok(Args::Configure(table));
    }
    let mut out = Vec::with_capacity(kinds.len());
    for (kind, value) in kinds.iter().zip(args.iter()) {
        out.push(match *kind {
            "str" => Arg::Str(value.extract()?),
            "int" => Arg::Int(value.extract()?),
            "optstr" => Arg::OptStr(value.extract()?),
            "list" => Arg::List(value.extract()?),
            _ => Arg::Pairs(value.extract()?),
        });
    }
    Ok(Args::Values(out))
}

fn s(args: &[Arg], i: usize) -> &str {
    match args.get(i) {
        Some(Arg::Str(v)) => v,
        _ => "",
    }
}

fn n(args: &[Arg], i: usize) -> i64 {
    match args.get(i) {
        Some(Arg::Int(v)) => *v,
        _ => 0,
    }
}

/// Runs the WIT function `name` on the service (with the GIL released; `parse`
/// checked the name and the arguments' kinds).
pub fn call(service: &Service, name: &str, args: &Args) -> Result<Out, Error> {
    let a = match args {
        Args::Configure(table) => return service.configure(table).map(|()| Out::Unit),
        Args::Values(a) => a.as_slice(),
    };
    Ok(match name {
        "cache.get" => Out::OptText(service.get(s(a, 0), s(a, 1))?),
        "cache.set" => service.set(s(a, 0), s(a, 1), s(a, 2)).map(|()| Out::Unit)?,
        "cache.delete" => Out::Bool(service.delete(s(a, 0), s(a, 1))?),
        "cache.get-many" => {
            let keys = match a.get(1) {
                Some(Arg::List(keys)) => keys.as_slice(),
                _ => &[],
            };
            Out::Texts(service.get_many(s(a, 0), keys)?)
        }
        "cache.set-many" => {
            let pairs = match a.get(1) {
                Some(Arg::Pairs(pairs)) => pairs.as_slice(),
                _ => &[],
            };
            service.set_many(s(a, 0), pairs).map(|()| Out::Unit)?
        }
        "cache.clear-namespace" => service.clear_namespace(s(a, 0)).map(|()| Out::Unit)?,
        "cache.load-from-storage" => Out::Load(service.load_from_storage()?),
        "cache.persist-all" => Out::Persist(service.persist_all()?),
        "cache.stats" => Out::Stats(service.stats()?),
        "cache.forget" => Out::Bool(service.forget(s(a, 0), s(a, 1))?),
        "cache.forget-namespace" => Out::Count(service.forget_namespace(s(a, 0))?),
        "cache.forget-all" => Out::Count(service.forget_all()?),
        "cache.pending-changes" => Out::Pending(service.pending_changes(s(a, 0))?),
        "bot.forget-chat-settings" => Out::Bool(service.forget_chat_settings(n(a, 0))?),
        "bot.forget-user-data" => Out::Bool(service.forget_user_data(n(a, 0), n(a, 1))?),
        "bot.get-chat-settings" => Out::Text(service.get_chat_settings(n(a, 0))?),
        "bot.set-chat-settings" => {
            let mode = match s(a, 2) {
                "rewrite" => SettingsMode::Rewrite,
                "merge" => SettingsMode::Merge,
                other => {
                    return Err(Error::InvalidConfig(format!(
                        "settings mode {other:?}: use \"merge\" or \"rewrite\""
                    )))
                }
            };
            service
                .set_chat_settings(n(a, 0), s(a, 1), mode)
                .map(|()| Out::Unit)?
        }
        "bot.unset-chat-setting" => service
            .unset_chat_setting(n(a, 0), s(a, 1))
            .map(|()| Out::Unit)?,
        "bot.get-chat-info" => Out::OptText(service.get_chat_info(n(a, 0))?),
        "bot.set-chat-info" => service
            .set_chat_info(n(a, 0), s(a, 1))
            .map(|()| Out::Unit)?,
        "bot.get-user-data" => Out::Text(service.get_user_data(n(a, 0), n(a, 1))?),
        "bot.set-user-data" => service
            .set_user_data(n(a, 0), n(a, 1), s(a, 2), s(a, 3))
            .map(|()| Out::Unit)?,
        "bot.get-user-state" => Out::OptText(service.get_user_state(n(a, 0), s(a, 1))?),
        "bot.set-user-state" => service
            .set_user_state(n(a, 0), s(a, 1), s(a, 2))
            .map(|()| Out::Unit)?,
        "bot.clear-user-state" => {
            let key = match a.get(1) {
                Some(Arg::OptStr(key)) => key.as_deref(),
                _ => None,
            };
            service.clear_user_state(n(a, 0), key).map(|()| Out::Unit)?
        }
        other => {
            return Err(Error::InvalidConfig(format!("no WIT function {other:?}")));
        }
    })
}

/// The Python form of a result: JSON text stays text; records become dicts with
/// the WIT's kebab-case field names.
pub fn to_py<'py>(py: Python<'py>, out: Out) -> PyResult<Bound<'py, PyAny>> {
    Ok(match out {
        Out::Unit => py.None().into_bound(py),
        Out::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Out::Count(c) => c.into_pyobject(py)?.into_any(),
        Out::Text(t) => t.into_pyobject(py)?.into_any(),
        Out::OptText(t) => t.into_pyobject(py)?,
        Out::Texts(t) => t.into_pyobject(py)?,
        Out::Load(report) => load_report(py, &report)?.into_any(),
        Out::Persist(report) => {
            let d = PyDict::new(py);
            d.set_item("written", report.written)?;
            d.set_item("deleted", report.deleted)?;
            d.into_any()
        }
        Out::Stats(stats) => {
            let list = PyList::empty(py);
            for s in stats {
                let d = PyDict::new(py);
                d.set_item("name", s.name)?;
                d.set_item("persistence", persistence_name(s.persistence))?;
                d.set_item("size", s.size)?;
                d.set_item("max-entries", s.max_entries)?;
                d.set_item("dirty", s.dirty)?;
                d.set_item("hits", s.hits)?;
                d.set_item("misses", s.misses)?;
                d.set_item("evictions", s.evictions)?;
                list.append(d)?;
            }
            list.into_any()
        }
        Out::Pending(pending) => {
            let d = PyDict::new(py);
            d.set_item("keys", pending.keys)?;
            d.set_item("cleared", pending.cleared)?;
            d.into_any()
        }
    })
}
