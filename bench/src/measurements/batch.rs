//! Row 3: `get-many` / `set-many` with 100 keys per call against `lru` behind a `Mutex`.

use std::hint::black_box;
use std::sync::Mutex;

use anyhow::{anyhow, ensure, Result};
use cache_host::Runtime;

use crate::measure::{interleaved, Body, Rounds};
use crate::report::{ns, Goal, Line, Report};
use crate::workload::{self, Size};

use super::*;

/// Row 3: `get-many` / `set-many` with 100 keys per call vs `lru` behind a `Mutex`.
pub(super) fn batch_vs_lru(
    paths: &Paths,
    runtime: &Runtime,
    rounds: Rounds,
    report: &mut Report,
) -> Result<()> {
    let svc = service(paths, runtime, "batch.db", hot_namespaces())?;
    let keys: Vec<String> = (0..HOT_ENTRIES).map(workload::key).collect();
    let pattern = workload::pattern(HOT_OPS, HOT_ENTRIES);
    for size in Size::ALL {
        let ns_name = size.namespace();
        let values: Vec<String> = (0..HOT_ENTRIES).map(|i| workload::value(i, size)).collect();
        fill(&svc, ns_name, HOT_ENTRIES, size, BATCH)?;
        let native = Mutex::new(lru::LruCache::<String, String>::unbounded());
        {
            let mut guard = native.lock().map_err(|_| anyhow!("poisoned"))?;
            for (k, v) in keys.iter().zip(&values) {
                guard.put(k.clone(), v.clone());
            }
        }
        let key_batches: Vec<Vec<String>> = pattern
            .chunks(BATCH)
            .map(|c| c.iter().map(|&i| keys[i].clone()).collect())
            .collect();
        let entry_batches: Vec<Vec<(String, String)>> = pattern
            .chunks(BATCH)
            .map(|c| {
                c.iter()
                    .map(|&i| (keys[i].clone(), values[i].clone()))
                    .collect()
            })
            .collect();
        let first = svc.get_many(ns_name, &key_batches[0])?;
        ensure!(
            first
                .iter()
                .all(|v| v.as_ref().map(String::len) == Some(size.bytes())),
            "get-many missed"
        );
        let ops = pattern.len() as u64;
        let get_many = || -> Body<'_> {
            Box::new(|| {
                for b in &key_batches {
                    black_box(svc.get_many(ns_name, b)?);
                }
                Ok(ops)
            })
        };
        let lru_get = || -> Body<'_> {
            Box::new(|| {
                for b in &key_batches {
                    let mut guard = native.lock().map_err(|_| anyhow!("poisoned"))?;
                    let found: Vec<Option<String>> =
                        b.iter().map(|k| guard.get(k).cloned()).collect();
                    drop(guard);
                    black_box(found);
                }
                Ok(ops)
            })
        };
        let set_many = || -> Body<'_> {
            Box::new(|| {
                for b in &entry_batches {
                    svc.set_many(ns_name, b)?;
                }
                Ok(ops)
            })
        };
        let lru_put = || -> Body<'_> {
            Box::new(|| {
                for b in &entry_batches {
                    let mut guard = native.lock().map_err(|_| anyhow!("poisoned"))?;
                    for (k, v) in b {
                        guard.put(k.clone(), v.clone());
                    }
                }
                Ok(ops)
            })
        };
        // Hot: nothing but reads, so every round after the first is served
        // from the read path's copies, as hot `get`s are (rows 2 and 6).
        let hot = interleaved(rounds, vec![get_many(), lru_get()])?;
        // With writes of the same keys between the rounds: every get-many
        // round starts with no valid copy, and most calls enter the component.
        let mixed = interleaved(rounds, vec![get_many(), lru_get(), set_many(), lru_put()])?;
        let lines = [
            ("`get-many`, hot", hot[0], hot[1], Goal::AtMost(3.0)),
            (
                "`get-many` after a `set-many` of the same keys",
                mixed[0],
                mixed[1],
                Goal::Info,
            ),
            ("`set-many`", mixed[2], mixed[3], Goal::AtMost(3.0)),
        ];
        for (op, c, n, goal) in lines {
            report.lines.push(Line {
                row: "3",
                what: format!(
                    "{op}, {BATCH} keys/call, {}: component ÷ `lru` + `Mutex` (per key)",
                    size.label()
                ),
                subject: format!("{} /key", ns(c)),
                baseline: format!("{} /key", ns(n)),
                value: c / n,
                unit: "×",
                goal,
            });
        }
    }
    report.notes.push(format!(
        "Row 3: native side is `lru::LruCache<String, String>` in a `std::sync::Mutex`, locked once per {BATCH} keys, \
         cloning each value out (`get`) or each key and value in (`put`), as the component's calls return or take owned copies."
    ));
    Ok(())
}
