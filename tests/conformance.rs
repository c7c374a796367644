//! Runs `conformance/scenarios.json` (format: `conformance/README.md`) against
//! the real component in wasmtime over the mock storage. Each scenario gets a
//! fresh instance; every failing scenario is reported, then the run fails.

use anyhow::{anyhow, bail, ensure, Context, Result};
use cache_tests::{call_json, FailRule, Harness, MockStorage, StorageError, StorageErrorKind};
use serde_json::{json, Map, Value};

fn main() -> Result<()> {
    signatures_are_current()?;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../conformance/scenarios.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path)?)
        .with_context(|| format!("parsing {path}"))?;
    ensure!(
        file["format"] == json!(2),
        "{path}: unsupported format {}",
        file["format"]
    );
    let scenarios = file["scenarios"].as_array().context("no scenarios array")?;
    let filter = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let mut failed = Vec::new();
    let mut covered = std::collections::BTreeSet::new();
    let mut ran = 0;
    for scenario in scenarios {
        let name = scenario["name"].as_str().unwrap_or("<unnamed>");
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        ran += 1;
        for n in scenario["covers"].as_array().into_iter().flatten() {
            covered.insert(n.as_u64().unwrap_or(0));
        }
        match run_scenario(scenario) {
            Ok(()) => println!("ok    {name}"),
            Err(e) => {
                println!("FAIL  {name}: {e:#}");
                failed.push(name.to_owned());
            }
        }
    }
    println!("{ran} scenarios, {} failed", failed.len());
    if filter.is_none() {
        let missing: Vec<u64> = (1..=12).filter(|n| !covered.contains(n)).collect();
        ensure!(
            missing.is_empty(),
            "semantics not covered by any scenario: {missing:?}"
        );
    }
    ensure!(failed.is_empty(), "failed scenarios: {failed:?}");
    Ok(())
}

/// `conformance/signatures.json` (the runners in other languages convert by it)
/// says what the component exports.
fn signatures_are_current() -> Result<()> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../conformance/signatures.json"
    );
    let described = cache_tests::runtime().contract().describe_text();
    let written = std::fs::read_to_string(path).unwrap_or_default();
    ensure!(
        written == described,
        "{path} does not describe target/cache.wasm: regenerate it with `just signatures`"
    );
    println!("ok    signatures.json describes the component");
    Ok(())
}

fn run_scenario(s: &Value) -> Result<()> {
    let obj = s.as_object().context("scenario is not an object")?;
    for key in obj.keys() {
        ensure!(
            [
                "name",
                "covers",
                "description",
                "configure",
                "storage",
                "steps"
            ]
            .contains(&key.as_str()),
            "unknown scenario key {key:?}"
        );
    }
    let mut mock = MockStorage::new();
    if let Some(storage) = obj.get("storage") {
        seed(&mut mock, storage)?;
    }
    let mut h = Harness::with_storage(mock)?;
    if let Some(configure) = obj.get("configure") {
        call(&mut h, "cache.configure", std::slice::from_ref(configure))?
            .map_err(|e| anyhow!("initial configure failed: {e:?}"))?;
        h.storage().calls.clear();
    }
    for (i, step) in obj
        .get("steps")
        .and_then(Value::as_array)
        .context("no steps")?
        .iter()
        .enumerate()
    {
        run_step(&mut h, step).with_context(|| format!("step {i} {step}"))?;
    }
    Ok(())
}

fn seed(mock: &mut MockStorage, storage: &Value) -> Result<()> {
    for row in storage["rows"].as_array().into_iter().flatten() {
        let (namespace, key) = (text(&row["namespace"])?, text(&row["key"])?);
        match row.get("unreadable") {
            Some(reason) => mock.put_unreadable_row(namespace, key, text(reason)?),
            None => mock.put_row(namespace, key, text(&row["value"])?),
        }
    }
    for row in storage["chat_settings"].as_array().into_iter().flatten() {
        mock.chat_settings.insert(
            (int(&row["chat_id"])?, text(&row["key"])?.to_owned()),
            text(&row["value"])?.to_owned(),
        );
    }
    for row in storage["user_data"].as_array().into_iter().flatten() {
        mock.user_data.insert(
            (
                int(&row["chat_id"])?,
                int(&row["user_id"])?,
                text(&row["key"])?.to_owned(),
            ),
            text(&row["data"])?.to_owned(),
        );
    }
    Ok(())
}

fn text(v: &Value) -> Result<&str> {
    v.as_str()
        .ok_or_else(|| anyhow!("expected a string, got {v}"))
}

/// An s64 given as a JSON integer or a decimal string.
fn int(v: &Value) -> Result<i64> {
    match v {
        Value::Number(n) => n.as_i64().ok_or_else(|| anyhow!("not an s64: {n}")),
        Value::String(s) => s.parse().map_err(|_| anyhow!("not an s64: {s:?}")),
        _ => bail!("expected an integer, got {v}"),
    }
}

/// A string argument, possibly generated (`repeat`/`concat`).
fn string(v: &Value) -> Result<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Object(o) if o.contains_key("repeat") => {
            let times = o
                .get("times")
                .and_then(Value::as_u64)
                .context("repeat without times")?;
            Ok(string(&o["repeat"])?.repeat(usize::try_from(times)?))
        }
        Value::Object(o) if o.contains_key("concat") => o["concat"]
            .as_array()
            .context("concat is not a list")?
            .iter()
            .map(string)
            .collect(),
        _ => bail!("expected a string argument, got {v}"),
    }
}

fn strings(v: &Value) -> Result<Vec<String>> {
    v.as_array()
        .context("expected a list")?
        .iter()
        .map(string)
        .collect()
}

/// Arguments with every generated string expanded; the rest as written.
fn expand(v: &Value) -> Result<Value> {
    Ok(match v {
        Value::Object(o) if o.contains_key("repeat") || o.contains_key("concat") => {
            Value::String(string(v)?)
        }
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| Ok((k.clone(), expand(v)?)))
                .collect::<Result<_>>()?,
        ),
        Value::Array(items) => Value::Array(items.iter().map(expand).collect::<Result<_>>()?),
        other => other.clone(),
    })
}

/// A failed call: its case, message, and the kind of a storage error.
type Failure = (String, String, Option<String>);

/// The case, message and storage-error kind of a `cache-error` answer.
fn failure(err: &Value) -> Result<Failure> {
    let (case, payload) = err
        .as_object()
        .and_then(|o| o.iter().next())
        .with_context(|| format!("not a cache-error: {err}"))?;
    Ok(match payload {
        Value::String(message) => (case.clone(), message.clone(), None),
        record => (
            case.clone(),
            text(&record["message"])?.to_owned(),
            Some(text(&record["kind"])?.to_owned()),
        ),
    })
}

/// Calls `name` by its WIT name (the types come from the component: no table here).
fn call(
    h: &mut Harness,
    name: &str,
    args: &[Value],
) -> Result<std::result::Result<Value, Failure>> {
    let args = args.iter().map(expand).collect::<Result<Vec<_>>>()?;
    match h.call_by_name(name, &args)? {
        Ok(value) => Ok(Ok(value)),
        Err(err) => Ok(Err(failure(&err)?)),
    }
}

fn run_step(h: &mut Harness, step: &Value) -> Result<()> {
    let o = step.as_object().context("step is not an object")?;
    if let Some(mock) = o.get("mock") {
        return mock_step(h, text(mock)?, o);
    }
    let name = text(o.get("call").context("step has neither call nor mock")?)?;
    for key in o.keys() {
        ensure!(
            [
                "call",
                "args",
                "ok",
                "err",
                "err_contains",
                "err_kind",
                "outcome",
                "storage_calls",
                "storage_calls_include",
                "note"
            ]
            .contains(&key.as_str()),
            "unknown step key {key:?}"
        );
    }
    let args = o
        .get("args")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    h.storage().calls.clear();
    let actual = call(h, name, &args).context("the call trapped or could not be made")?;
    match (o.get("ok"), o.get("err"), o.get("outcome")) {
        (Some(expected), None, None) => match &actual {
            Ok(value) => compare_ok(name, expected, value)?,
            Err((case, msg, _)) => bail!("expected ok {expected}, got err {case}({msg:?})"),
        },
        (None, Some(expected), None) => match &actual {
            Ok(value) => bail!("expected err {expected}, got ok {value}"),
            Err((case, msg, kind)) => {
                ensure!(
                    expected == case.as_str(),
                    "expected err {expected}, got {case}({msg:?})"
                );
                if let Some(part) = o.get("err_contains") {
                    let part = text(part)?;
                    ensure!(msg.contains(part), "error message {msg:?} lacks {part:?}");
                }
                if let Some(want) = o.get("err_kind") {
                    ensure!(
                        kind.as_deref() == Some(text(want)?),
                        "expected a storage error of kind {want}, got {kind:?} ({msg:?})"
                    );
                }
            }
        },
        (None, None, Some(any)) => ensure!(any == "any", "outcome must be \"any\""),
        _ => bail!("a call step needs exactly one of ok, err, outcome"),
    }
    let calls: Vec<Value> = h.storage().calls.iter().map(call_json).collect();
    if let Some(expected) = o.get("storage_calls") {
        let expected = expected.as_array().context("storage_calls is not a list")?;
        ensure!(
            expected.len() == calls.len()
                && expected.iter().zip(&calls).all(|(e, a)| call_matches(e, a)),
            "storage calls differ:\n  expected {expected:?}\n  actual   {calls:?}"
        );
    }
    if let Some(expected) = o.get("storage_calls_include") {
        let mut actual = calls.iter();
        for e in expected
            .as_array()
            .context("storage_calls_include is not a list")?
        {
            ensure!(
                actual.any(|a| call_matches(e, a)),
                "storage call {e} not found in order in {calls:?}"
            );
        }
    }
    Ok(())
}

fn mock_step(h: &mut Harness, kind: &str, o: &Map<String, Value>) -> Result<()> {
    let rule = || -> Result<FailRule> {
        let kind = match o.get("kind") {
            None => StorageErrorKind::Other,
            Some(k) => StorageErrorKind::from_name(text(k)?)
                .with_context(|| format!("unknown kind {k}"))?,
        };
        Ok(FailRule {
            error: StorageError::new(kind, text(o.get("message").context("message")?)?),
            times: o
                .get("times")
                .map(|t| t.as_u64().context("times"))
                .transpose()?,
            functions: o.get("fns").map(strings).transpose()?,
        })
    };
    match kind {
        "fail-writes" => h.storage().fail_writes = Some(rule()?),
        "fail-reads" => h.storage().fail_reads = Some(rule()?),
        "heal" => {
            h.storage().fail_writes = None;
            h.storage().fail_reads = None;
        }
        "expect-storage" => {
            let m = h.storage();
            if let Some(rows) = o.get("rows") {
                let actual: Vec<Value> = m
                    .rows()
                    .map(|(ns, k, v)| json!({"namespace": ns, "key": k, "value": v}))
                    .collect();
                ensure_multiset(rows, &actual, "rows")?;
            }
            if let Some(settings) = o.get("chat_settings") {
                let actual: Vec<Value> = m
                    .chat_settings
                    .iter()
                    .map(|((c, k), v)| json!({"chat_id": c, "key": k, "value": v}))
                    .collect();
                ensure_multiset(settings, &actual, "chat_settings")?;
            }
            if let Some(data) = o.get("user_data") {
                let actual: Vec<Value> = m
                    .user_data
                    .iter()
                    .map(|((c, u, k), v)| json!({"chat_id": c, "user_id": u, "key": k, "data": v}))
                    .collect();
                ensure_multiset(data, &actual, "user_data")?;
            }
        }
        other => bail!("unknown mock step {other:?}"),
    }
    Ok(())
}

/// JSON-equal texts (plain equality when either is not JSON).
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) => match (
            serde_json::from_str::<Value>(x),
            serde_json::from_str::<Value>(y),
        ) {
            (Ok(x), Ok(y)) => x == y,
            _ => x == y,
        },
        _ => a == b,
    }
}

/// Field-wise equality with JSON-equal `value`/`data` fields and integer ids.
fn record_eq(e: &Value, a: &Value) -> bool {
    let (Some(e), Some(a)) = (e.as_object(), a.as_object()) else {
        return e == a;
    };
    e.len() == a.len()
        && e.iter().all(|(k, ev)| {
            a.get(k).is_some_and(|av| match k.as_str() {
                "value" | "data" => json_eq(ev, av),
                "chat_id" | "user_id" | "chat-id" | "user-id" => int(ev).ok() == int(av).ok(),
                _ => ev == av,
            })
        })
}

fn multiset_eq(expected: &[Value], actual: &[Value], eq: impl Fn(&Value, &Value) -> bool) -> bool {
    if expected.len() != actual.len() {
        return false;
    }
    let mut used = vec![false; actual.len()];
    expected.iter().all(|e| {
        let found = actual
            .iter()
            .enumerate()
            .find(|(i, a)| !used[*i] && eq(e, a))
            .map(|(i, _)| i);
        found.map(|i| used[i] = true).is_some()
    })
}

fn ensure_multiset(expected: &Value, actual: &[Value], what: &str) -> Result<()> {
    let expected = expected
        .as_array()
        .with_context(|| format!("{what} is not a list"))?;
    ensure!(
        multiset_eq(expected, actual, record_eq),
        "{what} differ:\n  expected {expected:?}\n  actual   {actual:?}"
    );
    Ok(())
}

fn call_matches(e: &Value, a: &Value) -> bool {
    let (Some(eo), Some(ao)) = (e.as_object(), a.as_object()) else {
        return false;
    };
    if eo.len() != ao.len() || eo.get("fn") != ao.get("fn") {
        return false;
    }
    eo.iter().all(|(k, ev)| {
        let Some(av) = ao.get(k) else { return false };
        match k.as_str() {
            "batch" => ["clear", "delete", "upsert"].iter().all(|part| {
                match (ev[part].as_array(), av[part].as_array()) {
                    (Some(x), Some(y)) => multiset_eq(x, y, record_eq),
                    _ => false,
                }
            }),
            "change" => match (ev.as_object(), av.as_object()) {
                (Some(x), Some(y)) => {
                    x.len() == 1
                        && y.len() == 1
                        && x.iter().all(|(case, e)| {
                            y.get(case)
                                .is_some_and(|a| match (e.as_array(), a.as_array()) {
                                    (Some(e), Some(a)) => multiset_eq(e, a, |p, q| p == q),
                                    _ => e == a,
                                })
                        })
                }
                _ => false,
            },
            "value" => json_eq(ev, av),
            "chat-id" | "user-id" => int(ev).ok() == int(av).ok(),
            _ => ev == av,
        }
    })
}

/// Compares an `ok` answer (`conformance/README.md`): by the rule of [`matches`],
/// with the one freedom the contract leaves, the order of a load report's
/// skipped rows (compared as a multiset, and each must give a reason).
fn compare_ok(name: &str, expected: &Value, actual: &Value) -> Result<()> {
    let (mut expected, mut actual) = (expected.clone(), actual.clone());
    if name == "cache.load-from-storage" {
        let skipped = actual["skipped"].as_array().into_iter().flatten();
        ensure!(
            skipped
                .clone()
                .all(|v| v["reason"].as_str().is_some_and(|r| !r.is_empty())),
            "a skipped row without a reason: {actual}"
        );
        for report in [&mut expected, &mut actual] {
            if let Some(rows) = report["skipped"].as_array_mut() {
                rows.sort_by_key(|v| (v["namespace"].to_string(), v["key"].to_string()));
            }
        }
    }
    ensure!(
        matches(&expected, &actual),
        "expected ok {expected}, got ok {actual}"
    );
    Ok(())
}

/// Whether `actual` answers `expected`: strings equal or JSON-equal, arrays
/// element-wise, objects on the fields `expected` names; anything else exactly.
fn matches(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::String(_), Value::String(_)) => json_eq(expected, actual),
        (Value::Array(e), Value::Array(a)) => {
            e.len() == a.len() && e.iter().zip(a).all(|(e, a)| matches(e, a))
        }
        (Value::Object(e), Value::Object(a)) => e
            .iter()
            .all(|(k, e)| a.get(k).is_some_and(|a| matches(e, a))),
        _ => expected == actual,
    }
}
