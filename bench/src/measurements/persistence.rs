//! Rows 4 and 5: `persist-all` of 100k dirty entries, and a cold start loading them, against bare rusqlite.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use anyhow::{anyhow, ensure, Result};
use cache_host::{CacheService, Persistence, Policy, Runtime, SqliteStorage};
use rusqlite::{Connection, TransactionBehavior};

use crate::measure::{interleaved_timed, Rounds, TimedBody};
use crate::report::{ns, Goal, Line, Report};
use crate::workload::{self, Size};

use super::*;

/// A bare rusqlite connection set up like `SqliteStorage` (WAL, synchronous NORMAL)
/// on a file with the same schema.
pub(super) fn bare_sqlite(path: &Path) -> Result<Connection> {
    drop(SqliteStorage::open(path)?); // creates the identical schema
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Row 4 once: median ns of `persist-all` of `rows` (all dirty) and of the bare upsert.
pub(super) fn persist_once(
    paths: &Paths,
    runtime: &Runtime,
    rounds: Rounds,
    size: Size,
    rows: &[(String, String)],
) -> Result<(f64, f64)> {
    const NS: &str = "p";
    let n = rows.len();
    let db_name = format!("persist-{}-{n}.db", size.suffix());
    let svc = service(
        paths,
        runtime,
        &db_name,
        vec![ns_config(NS, n, Persistence::OnShutdown)],
    )?;
    let bare_path = paths
        .tmp
        .path()
        .join(format!("bare-{}-{n}.db", size.suffix()));
    let mut bare = bare_sqlite(&bare_path)?;
    let mut seq: i64 = 0;
    let component: TimedBody<'_> = Box::new(|| {
        for chunk in rows.chunks(1000) {
            svc.set_many(NS, chunk)?;
        }
        let t = Instant::now();
        let r = svc.persist_all()?;
        let took = t.elapsed().as_nanos() as f64;
        ensure!(
            r.written as usize == n,
            "persist-all wrote {} rows",
            r.written
        );
        Ok(took)
    });
    let baseline: TimedBody<'_> = Box::new(|| {
        let t = Instant::now();
        let tx = bare.transaction_with_behavior(TransactionBehavior::Immediate)?;
        {
            let mut stmt = tx.prepare_cached(SQL_UPSERT)?;
            for (k, v) in rows {
                seq += 1;
                stmt.execute((NS, k, v, seq))?;
            }
        }
        tx.commit()?;
        Ok(t.elapsed().as_nanos() as f64)
    });
    let m = interleaved_timed(rounds, vec![component, baseline])?;
    Ok((m[0], m[1]))
}

/// Rows 4 and 5: `persist-all` of 100k dirty entries, and a cold start loading them.
pub(super) fn persist_and_cold_start(
    paths: &Paths,
    runtime: &Runtime,
    rounds: Rounds,
    report: &mut Report,
) -> Result<()> {
    const NS: &str = "p";
    for size in Size::ALL {
        let namespaces = vec![ns_config(NS, BULK_ROWS, Persistence::OnShutdown)];
        let rows: Vec<(String, String)> = (0..BULK_ROWS)
            .map(|i| (workload::key(i), workload::value(i, size)))
            .collect();
        // Large values: 100k x 2 KiB is more than wasmtime's default hostcall fuel
        // (128 MiB per guest-to-host call); if persist-all traps, say so and
        // measure at half the rows.
        for n in [BULK_ROWS, BULK_ROWS / 2] {
            match persist_once(paths, runtime, rounds, size, &rows[..n]) {
                Ok((c, b)) => {
                    report.lines.push(Line {
                        row: "4",
                        what: format!("`persist-all` of {n} dirty entries, {}: component ÷ bare rusqlite upsert in one transaction", size.label()),
                        subject: ns(c),
                        baseline: ns(b),
                        value: c / b,
                        unit: "×",
                        goal: if n == BULK_ROWS { Goal::AtMost(1.25) } else { Goal::Info },
                    });
                    break;
                }
                Err(e) => {
                    let bytes: usize = rows[..n].iter().map(|(k, v)| k.len() + v.len()).sum();
                    report.lines.push(Line {
                        row: "4",
                        what: format!("`persist-all` of {n} dirty entries, {}: component ÷ bare rusqlite upsert in one transaction", size.label()),
                        subject: "**failed**".into(),
                        baseline: "—".into(),
                        value: f64::NAN,
                        unit: "×",
                        goal: Goal::AtMost(1.25),
                    });
                    report.notes.push(format!(
                        "Row 4, {n} × {}: `persist-all` FAILED ({:.0} MiB of keys and values in one `storage.write`; wasmtime's \
                         default hostcall fuel, `Store::set_hostcall_fuel`, allows 128 MiB per guest-to-host call, and the host \
                         log above names the cause): {}",
                        size.label(),
                        bytes as f64 / (1u64 << 20) as f64,
                        format!("{e:#}").lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with(|c: char| c.is_ascii_digit())).collect::<Vec<_>>().join(" ")
                    ));
                }
            }
        }

        // Row 5: cold start over a file holding BULK_ROWS rows of the namespace.
        let db_path = paths.tmp.path().join(format!("cold-{}.db", size.suffix()));
        {
            let mut conn = bare_sqlite(&db_path)?;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            {
                let mut stmt = tx.prepare_cached(SQL_UPSERT)?;
                for (i, (k, v)) in rows.iter().enumerate() {
                    stmt.execute((NS, k, v, i as i64 + 1))?;
                }
            }
            tx.commit()?;
        }
        let policy = Policy::new(namespaces.clone()).map_err(|e| anyhow!(e))?;
        let mut parts: Vec<[f64; 4]> = Vec::new();
        let component: TimedBody<'_> = Box::new(|| {
            let t = Instant::now();
            let rt = Runtime::load(&paths.wasm)?;
            let artifact = t.elapsed().as_nanos() as f64;
            let svc = CacheService::builder(&paths.wasm)
                .runtime(rt)
                .policy(policy.clone())
                .open_sqlite(&db_path)?;
            let total = t.elapsed().as_nanos() as f64;
            let loaded = svc.last_start_report().map(|r| r.loaded).unwrap_or(0);
            ensure!(
                loaded as usize == BULK_ROWS,
                "cold start loaded {loaded} rows"
            );
            if let Some(timing) = svc.last_start_timing() {
                parts.push([
                    artifact,
                    timing.instantiate.as_nanos() as f64,
                    timing.configure.as_nanos() as f64,
                    timing.load.as_nanos() as f64,
                ]);
            }
            drop(svc);
            Ok(total)
        });
        let baseline: TimedBody<'_> = Box::new(|| {
            let t = Instant::now();
            let conn = Connection::open(&db_path)?;
            let mut stmt = conn.prepare(SQL_LOAD)?;
            let parsed = stmt
                .query_map((NS, BULK_ROWS as i64), |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                })?
                .map(|row| -> Result<(String, serde_json::Value)> {
                    let (k, v) = row?;
                    Ok((k, serde_json::from_str(&v)?))
                })
                .collect::<Result<Vec<_>>>()?;
            let took = t.elapsed().as_nanos() as f64;
            ensure!(parsed.len() == BULK_ROWS, "read {} rows", parsed.len());
            black_box(parsed);
            Ok(took)
        });
        let m = interleaved_timed(rounds, vec![component, baseline])?;
        let med = |i: usize| {
            let mut v: Vec<f64> = parts.iter().map(|p| p[i]).collect();
            crate::measure::median(&mut v)
        };
        report.lines.push(Line {
            row: "5",
            what: format!("cold start, {BULK_ROWS} rows of {}: (artifact + instantiate + configure + `load-from-storage`) ÷ rusqlite read + `serde_json` parse", size.label()),
            subject: ns(m[0]),
            baseline: ns(m[1]),
            value: m[0] / m[1],
            unit: "×",
            goal: Goal::AtMost(1.5),
        });
        report.lines.push(Line {
            row: "5",
            what: format!(
                "instantiate alone (store + instance from the precompiled component), {}",
                size.label()
            ),
            subject: ns(med(1)),
            baseline: "—".into(),
            value: med(1) / 1e6,
            unit: "ms",
            goal: Goal::AtMost(1.0),
        });
        report.notes.push(format!(
            "Row 5, {}: cold start medians — engine + deserialize precompiled artifact {}, instantiate {}, configure {}, \
             load-from-storage {} (includes the SQLite query inside the host's storage.load); total {} vs bare {}.",
            size.label(), ns(med(0)), ns(med(1)), ns(med(2)), ns(med(3)), ns(m[0]), ns(m[1])
        ));
    }
    report.notes.push(format!(
        "Rows 4–5: one on-shutdown namespace of max {BULK_ROWS}; before each timed `persist-all` the same {BULK_ROWS} entries are \
         set again (untimed) so all are dirty. The bare side runs the host's upsert statement (same SQL, same schema, WAL, \
         synchronous=NORMAL) in one IMMEDIATE transaction with a cached prepared statement."
    ));
    Ok(())
}
