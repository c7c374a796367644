//! Rows 6 and 7: hot `get` at 1k, 100k and 1M entries, and guest memory per entry.

use std::hint::black_box;

use anyhow::{ensure, Result};
use cache_host::{Persistence, Runtime};

use crate::measure::{interleaved, Body, Rounds};
use crate::report::{ns, Goal, Line, Report};
use crate::workload::{self, Size};

use super::*;

/// Rows 6 and 7: hot `get` at 1k, 100k, 1M entries, and guest memory per entry.
pub(super) fn scaling_and_memory(
    paths: &Paths,
    runtime: &Runtime,
    rounds: Rounds,
    quick: bool,
    report: &mut Report,
) -> Result<()> {
    const NS: &str = "s";
    let size = Size::Small;
    let scales: Vec<usize> = if quick {
        vec![1_000, 100_000]
    } else {
        SCALES.to_vec()
    };
    let mut services = Vec::new();
    for &n in &scales {
        let svc = service(
            paths,
            runtime,
            &format!("scale-{n}.db"),
            vec![ns_config(NS, n, Persistence::MemoryOnly)],
        )?;
        let before = svc.guest_memory_bytes();
        fill(&svc, NS, n, size, 1000)?;
        let after = svc.guest_memory_bytes();
        let payload: usize = (0..n).map(|i| workload::key(i).len() + size.bytes()).sum();
        let per_entry = (after - before) as f64 / n as f64 - payload as f64 / n as f64;
        report.lines.push(Line {
            row: "7",
            what: format!("guest memory per entry at {n} entries ({} values): linear-memory growth ÷ entries − key and value bytes", size.label()),
            subject: format!("{:.1} MiB growth", (after - before) as f64 / (1u64 << 20) as f64),
            baseline: format!("{:.1} B key+value", payload as f64 / n as f64),
            value: per_entry,
            unit: "B",
            goal: if n >= 100_000 { Goal::AtMost(96.0) } else { Goal::Info },
        });
        let pattern = workload::pattern(HOT_OPS, n);
        let seq: Vec<String> = pattern.iter().map(|&i| workload::key(i)).collect();
        ensure!(svc.get(NS, &seq[0])?.is_some(), "scaling get missed");
        services.push((n, svc, seq));
    }
    let bodies: Vec<Body<'_>> = services
        .iter()
        .map(|(_, svc, seq)| {
            Box::new(move || {
                for k in seq {
                    black_box(svc.get(NS, k)?);
                }
                Ok(seq.len() as u64)
            }) as Body<'_>
        })
        .collect();
    let m = interleaved(rounds, bodies)?;
    for (i, (n, _, _)) in services.iter().enumerate().skip(1) {
        report.lines.push(Line {
            row: "6",
            what: format!(
                "hot `get` at {n} entries ÷ at {} entries ({} values, uniform random keys)",
                services[0].0,
                size.label()
            ),
            subject: format!("{} /get", ns(m[i])),
            baseline: format!("{} /get", ns(m[0])),
            value: m[i] / m[0],
            unit: "×",
            goal: if *n >= 1_000_000 {
                Goal::AtMost(2.0)
            } else {
                Goal::Info
            },
        });
    }
    // The same access pattern on the native `lru` crate (one process, no Wasm): how
    // much of row 6's growth is the memory hierarchy alone.
    type NativeLru = std::sync::Mutex<lru::LruCache<String, String>>;
    let natives: Vec<(usize, NativeLru, &Vec<String>)> = services
        .iter()
        .map(|(n, _, seq)| {
            let mut cache = lru::LruCache::unbounded();
            for i in 0..*n {
                cache.put(workload::key(i), workload::value(i, size));
            }
            (*n, std::sync::Mutex::new(cache), seq)
        })
        .collect();
    let native_bodies: Vec<Body<'_>> = natives
        .iter()
        .map(|(_, cache, seq)| {
            Box::new(move || {
                let mut cache = cache
                    .lock()
                    .map_err(|_| anyhow::anyhow!("lru mutex poisoned"))?;
                for k in seq.iter() {
                    black_box(cache.get(k.as_str()).cloned());
                }
                Ok(seq.len() as u64)
            }) as Body<'_>
        })
        .collect();
    let nm = interleaved(rounds, native_bodies)?;
    for (i, (n, _, _)) in natives.iter().enumerate().skip(1) {
        report.lines.push(Line {
            row: "6",
            what: format!(
                "baseline: native `lru` + `Mutex` `get` at {n} entries ÷ at {} entries (same keys, values and order)",
                natives[0].0
            ),
            subject: format!("{} /get", ns(nm[i])),
            baseline: format!("{} /get", ns(nm[0])),
            value: nm[i] / nm[0],
            unit: "×",
            goal: Goal::Info,
        });
    }
    // Row 7 lines were pushed before row 6's; keep the table in issue order.
    report.lines.sort_by_key(|l| l.row);
    Ok(())
}
