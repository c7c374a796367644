//! Row 1: hot `get` and `set` through the component against the seed's LRUCache in CPython.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::Command;

use anyhow::{anyhow, bail, ensure, Context, Result};
use cache_host::Runtime;

use crate::measure::{interleaved, Rounds};
use crate::report::{ns, Goal, Line, Report};
use crate::workload::{self, PythonWorkload, Size};

use super::*;

/// Row 1: hot `get` and `set` through the component vs the seed's LRUCache in CPython.
pub(super) fn hot_vs_python(
    paths: &Paths,
    runtime: &Runtime,
    rounds: Rounds,
    report: &mut Report,
) -> Result<()> {
    let keys: Vec<String> = (0..HOT_ENTRIES).map(workload::key).collect();
    let values: BTreeMap<Size, Vec<String>> = Size::ALL
        .iter()
        .map(|&s| (s, (0..HOT_ENTRIES).map(|i| workload::value(i, s)).collect()))
        .collect();
    let pattern = workload::pattern(HOT_OPS, HOT_ENTRIES);

    // Python first, alone on the machine.
    let work = PythonWorkload {
        keys: &keys,
        values: Size::ALL
            .iter()
            .map(|s| (s.suffix(), values[s].as_slice()))
            .collect(),
        pattern: &pattern,
        warmup: rounds.warmup,
        reps: rounds.reps,
    };
    let work_path = paths.tmp.path().join("python-workload.json");
    std::fs::write(&work_path, serde_json::to_vec(&work)?)?;
    let out = Command::new("python3")
        .arg(&paths.python)
        .arg(&work_path)
        .output()
        .context("running python3 (is it installed?)")?;
    if !out.status.success() {
        bail!(
            "python3 {} failed: {}",
            paths.python.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let py: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing the Python script's output")?;
    let py_ns = |name: &str| -> Result<f64> {
        py.get(name)
            .and_then(serde_json::Value::as_f64)
            .ok_or_else(|| anyhow!("the Python script did not report {name}"))
    };
    report.machine.push(format!(
        "CPython {}",
        py.get("python").and_then(|v| v.as_str()).unwrap_or("?")
    ));

    let svc = service(paths, runtime, "hot.db", hot_namespaces())?;
    for size in Size::ALL {
        fill(&svc, size.namespace(), HOT_ENTRIES, size, 100)?;
    }
    for size in Size::ALL {
        let ns_name = size.namespace();
        let seq: Vec<&str> = pattern.iter().map(|&i| keys[i].as_str()).collect();
        let vals = &values[&size];
        ensure!(
            svc.get(ns_name, seq[0])?.as_deref() == Some(vals[pattern[0]].as_str()),
            "the hot get returned a wrong value"
        );
        let get = || -> Result<u64> {
            for k in &seq {
                black_box(svc.get(ns_name, k)?);
            }
            Ok(seq.len() as u64)
        };
        let set = || -> Result<u64> {
            for &i in &pattern {
                svc.set(ns_name, &keys[i], &vals[i])?;
            }
            Ok(pattern.len() as u64)
        };
        let m = interleaved(rounds, vec![Box::new(get), Box::new(set)])?;
        let (py_get, py_set) = (
            py_ns(&format!("get{}", size.suffix()))?,
            py_ns(&format!("set{}", size.suffix()))?,
        );
        report.lines.push(Line {
            row: "1",
            what: format!(
                "hot `get`, {}: CPython LRUCache time ÷ component time",
                size.label()
            ),
            subject: format!("{} /get", ns(m[0])),
            baseline: format!("{} /get", ns(py_get)),
            value: py_get / m[0],
            unit: "×",
            goal: Goal::AtLeast(4.0),
        });
        report.lines.push(Line {
            row: "1",
            what: format!(
                "hot `set`, {}: CPython LRUCache time ÷ component time",
                size.label()
            ),
            subject: format!("{} /set", ns(m[1])),
            baseline: format!("{} /set", ns(py_set)),
            value: py_set / m[1],
            unit: "×",
            goal: Goal::Info,
        });
    }
    report.notes.push(format!(
        "Row 1: {HOT_ENTRIES} keys per namespace (memory-only, max {HOT_ENTRIES}), {HOT_OPS} operations per round in a fixed \
         pseudo-random order, the same keys, values and order in `bench/python/lru_bench.py` (the seed's class verbatim, \
         values stored as parsed dicts as the seed does). The component's `set` validates the JSON text; the seed's stores a reference."
    ));
    Ok(())
}
