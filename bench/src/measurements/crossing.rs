//! Row 2: hot `get` against a no-op component call of the same signature (the crossing's own cost).

use std::hint::black_box;

use anyhow::{ensure, Result};
use cache_host::Runtime;

use crate::measure::{interleaved, Body, Rounds};
use crate::raw::{RawCache, RawNoop};
use crate::report::{ns, Goal, Line, Report};
use crate::workload::{self, Size};

use super::*;

/// Row 2: hot `get` vs a no-op component call of the same signature.
pub(super) fn get_vs_noop(
    paths: &Paths,
    runtime: &Runtime,
    rounds: Rounds,
    report: &mut Report,
) -> Result<()> {
    let mut cache = RawCache::new(runtime, &hot_namespaces())?;
    let noop_runtime = Runtime::load(&paths.noop)?;
    let mut noop = RawNoop::new(&noop_runtime)?;
    let svc = service(paths, runtime, "noop-cmp.db", hot_namespaces())?;
    let keys: Vec<String> = (0..HOT_ENTRIES).map(workload::key).collect();
    let pattern = workload::pattern(HOT_OPS, HOT_ENTRIES);
    let seq: Vec<&str> = pattern.iter().map(|&i| keys[i].as_str()).collect();
    for size in Size::ALL {
        let entries: Vec<(String, String)> = (0..HOT_ENTRIES)
            .map(|i| (workload::key(i), workload::value(i, size)))
            .collect();
        for chunk in entries.chunks(BATCH) {
            cache.set_many(size.namespace(), chunk)?;
        }
        fill(&svc, size.namespace(), HOT_ENTRIES, size, BATCH)?;
        let ns_name = size.namespace();
        ensure!(
            cache.get(ns_name, seq[0])?.map(|v| v.len()) == Some(size.bytes())
                && noop.get(ns_name, seq[0])?.map(|v| v.len()) == Some(size.bytes()),
            "the cache and the no-op must return values of {} bytes",
            size.bytes()
        );
        let bodies: Vec<Body<'_>> = vec![
            Box::new(|| {
                for k in &seq {
                    black_box(cache.get(ns_name, k)?);
                }
                Ok(seq.len() as u64)
            }),
            Box::new(|| {
                for k in &seq {
                    black_box(noop.get(ns_name, k)?);
                }
                Ok(seq.len() as u64)
            }),
            Box::new(|| {
                for k in &seq {
                    black_box(svc.get(ns_name, k)?);
                }
                Ok(seq.len() as u64)
            }),
        ];
        let m = interleaved(rounds, bodies)?;
        report.lines.push(Line {
            row: "2",
            what: format!("hot `get`, {}: cache time ÷ no-op component time (same signature, same value size)", size.label()),
            subject: format!("{} /get", ns(m[0])),
            baseline: format!("{} /call", ns(m[1])),
            value: m[0] / m[1],
            unit: "×",
            goal: Goal::AtMost(1.3),
        });
        report.lines.push(Line {
            row: "2",
            what: format!("hot `get`, {}: `CacheService::get` ÷ bare bindings (host wrapper: mutex, epoch deadline)", size.label()),
            subject: format!("{} /get", ns(m[2])),
            baseline: format!("{} /get", ns(m[0])),
            value: m[2] / m[0],
            unit: "×",
            goal: Goal::Info,
        });
    }
    report.notes.push(
        "Row 2: the no-op is `bench/noop-component` (built by `bench/build-noop`), whose `get` has the cache's \
         exact WIT signature and returns a fixed JSON value of the same size (64 B, or 2 KiB for namespace `v2k`): \
         both calls lower the same two strings and lift the same `result<option<string>>`."
            .into(),
    );
    Ok(())
}
