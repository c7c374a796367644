//! The seven Rust measurements (rows 1 to 7 of `BENCHMARKS.md`).

use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{anyhow, bail, ensure, Context, Result};
use cache_host::{
    CacheService, NamespaceConfig, Persistence, Policy, Runtime, SqliteStorage, WriteBack,
};
use rusqlite::{Connection, TransactionBehavior};

use crate::measure::{interleaved, interleaved_timed, Body, Rounds, TimedBody};
use crate::raw::{RawCache, RawNoop};
use crate::report::{ns, Goal, Line, Report};
use crate::workload::{self, PythonWorkload, Size};
use crate::Args;

/// Entries of the hot namespaces (the seed's per-namespace size).
const HOT_ENTRIES: usize = 1000;
/// Operations per timed round of the hot measurements.
const HOT_OPS: usize = 10_000;
/// Keys per `get-many` / `set-many` call.
const BATCH: usize = 100;
/// Rows of the persistence and cold-start measurements.
const BULK_ROWS: usize = 100_000;
/// Entries of the scaling measurement.
const SCALES: [usize; 3] = [1_000, 100_000, 1_000_000];

/// The host's own upsert and load statements (schema/sqlite/queries).
use cache_host::storage::sqlite::queries::{ROWS_LOAD as SQL_LOAD, ROWS_UPSERT as SQL_UPSERT};

/// Paths every measurement uses.
struct Paths {
    wasm: PathBuf,
    noop: PathBuf,
    python: PathBuf,
    tmp: tempfile::TempDir,
}

fn ns_config(name: &str, max_entries: usize, persistence: Persistence) -> NamespaceConfig {
    NamespaceConfig {
        name: name.to_owned(),
        max_entries: u32::try_from(max_entries).unwrap_or(u32::MAX),
        persistence,
    }
}

fn hot_namespaces() -> Vec<NamespaceConfig> {
    Size::ALL
        .iter()
        .map(|s| ns_config(s.namespace(), HOT_ENTRIES, Persistence::MemoryOnly))
        .collect()
}

/// Stores `entries` in `namespace` with `set-many` calls of `chunk` entries.
fn fill(svc: &CacheService, namespace: &str, n: usize, size: Size, chunk: usize) -> Result<()> {
    let mut i = 0;
    while i < n {
        let end = (i + chunk).min(n);
        let entries: Vec<(String, String)> = (i..end)
            .map(|j| (workload::key(j), workload::value(j, size)))
            .collect();
        svc.set_many(namespace, &entries)?;
        i = end;
    }
    Ok(())
}

/// Runs every measurement.
pub fn run_all(args: &Args) -> Result<Report> {
    let root = crate::root();
    let paths = Paths {
        wasm: root.join("target/cache.wasm"),
        noop: root.join("target/bench-noop.wasm"),
        python: root.join("bench/python/lru_bench.py"),
        tmp: tempfile::tempdir().context("creating a temporary directory")?,
    };
    for (p, how) in [
        (&paths.wasm, "just build"),
        (&paths.noop, "bench/build-noop"),
    ] {
        if !p.is_file() {
            bail!("{} is missing: run `{how}` first", p.display());
        }
    }
    let hot = if args.quick {
        Rounds { warmup: 1, reps: 5 }
    } else {
        Rounds {
            warmup: 5,
            reps: 31,
        }
    };
    let bulk = if args.quick {
        Rounds { warmup: 0, reps: 1 }
    } else {
        Rounds { warmup: 1, reps: 5 }
    };

    let runtime = Runtime::load(&paths.wasm)?;
    let mut report = Report {
        lines: Vec::new(),
        notes: Vec::new(),
        machine: machine_info(),
        callgrind: Err("skipped (--no-callgrind)".into()),
    };
    report.notes.push(format!(
        "Component `target/cache.wasm` loaded by `cache_host::Runtime` ({:?}); rows 1, 3–7 go through \
         `cache_host::CacheService` over `SqliteStorage` (the real host path: mutex, epoch deadline, typed bindings); \
         row 2 calls both components through wasmtime's generated bindings, each on a `cache_host::Runtime` engine (the host's configuration).",
        runtime.artifact_source()
    ));

    eprintln!("cache-bench: 1/7 hot get/set vs CPython");
    hot_vs_python(&paths, &runtime, hot, &mut report)?;
    eprintln!("cache-bench: 2/7 get vs no-op");
    get_vs_noop(&paths, &runtime, hot, &mut report)?;
    eprintln!("cache-bench: 3/7 get-many/set-many vs lru + Mutex");
    batch_vs_lru(&paths, &runtime, hot, &mut report)?;
    eprintln!("cache-bench: 4/7 + 5/7 persist-all and cold start vs rusqlite");
    persist_and_cold_start(&paths, &runtime, bulk, &mut report)?;
    eprintln!("cache-bench: 6/7 + 7/7 scaling and memory per entry");
    scaling_and_memory(&paths, &runtime, hot, args.quick, &mut report)?;
    eprintln!("cache-bench: Python rows (the gromozeka_cache package)");
    crate::python_rows::python_package(&root, paths.tmp.path(), args.quick, &mut report)?;
    crate::python_async_rows::python_async(&root, paths.tmp.path(), args.quick, &mut report)?;
    if !args.no_callgrind {
        eprintln!("cache-bench: callgrind instruction counts");
        report.callgrind = crate::profile::callgrind_all(args.quick);
    }
    Ok(report)
}

/// A `CacheService` over a fresh SQLite file in the temporary directory.
fn service(
    paths: &Paths,
    runtime: &Runtime,
    db: &str,
    namespaces: Vec<NamespaceConfig>,
) -> Result<CacheService> {
    let policy = Policy::new(namespaces).map_err(|e| anyhow!(e))?;
    // The default guest memory limit, which follows the namespace table. No
    // write-back: row 4 times one `persist-all` of entries that are all pending.
    Ok(CacheService::builder(&paths.wasm)
        .runtime(runtime.clone())
        .policy(policy)
        .write_back(WriteBack::NEVER)
        .load_on_start(false)
        .open_sqlite(paths.tmp.path().join(db))?)
}

/// Row 1: hot `get` and `set` through the component vs the seed's LRUCache in CPython.
fn hot_vs_python(
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

/// Row 2: hot `get` vs a no-op component call of the same signature.
fn get_vs_noop(
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

/// Row 3: `get-many` / `set-many` with 100 keys per call vs `lru` behind a `Mutex`.
fn batch_vs_lru(
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
        let bodies: Vec<Body<'_>> = vec![
            Box::new(|| {
                for b in &key_batches {
                    black_box(svc.get_many(ns_name, b)?);
                }
                Ok(ops)
            }),
            Box::new(|| {
                for b in &key_batches {
                    let mut guard = native.lock().map_err(|_| anyhow!("poisoned"))?;
                    let found: Vec<Option<String>> =
                        b.iter().map(|k| guard.get(k).cloned()).collect();
                    drop(guard);
                    black_box(found);
                }
                Ok(ops)
            }),
            Box::new(|| {
                for b in &entry_batches {
                    svc.set_many(ns_name, b)?;
                }
                Ok(ops)
            }),
            Box::new(|| {
                for b in &entry_batches {
                    let mut guard = native.lock().map_err(|_| anyhow!("poisoned"))?;
                    for (k, v) in b {
                        guard.put(k.clone(), v.clone());
                    }
                }
                Ok(ops)
            }),
        ];
        let m = interleaved(rounds, bodies)?;
        for (op, c, n) in [("get-many", m[0], m[1]), ("set-many", m[2], m[3])] {
            report.lines.push(Line {
                row: "3",
                what: format!(
                    "`{op}`, {BATCH} keys/call, {}: component ÷ `lru` + `Mutex` (per key)",
                    size.label()
                ),
                subject: format!("{} /key", ns(c)),
                baseline: format!("{} /key", ns(n)),
                value: c / n,
                unit: "×",
                goal: Goal::AtMost(3.0),
            });
        }
    }
    report.notes.push(format!(
        "Row 3: native side is `lru::LruCache<String, String>` in a `std::sync::Mutex`, locked once per {BATCH} keys, \
         cloning each value out (`get`) or each key and value in (`put`), as the component's calls return or take owned copies."
    ));
    Ok(())
}

/// A bare rusqlite connection set up like `SqliteStorage` (WAL, synchronous NORMAL)
/// on a file with the same schema.
fn bare_sqlite(path: &Path) -> Result<Connection> {
    drop(SqliteStorage::open(path)?); // creates the identical schema
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Row 4 once: median ns of `persist-all` of `rows` (all dirty) and of the bare upsert.
fn persist_once(
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
fn persist_and_cold_start(
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

/// Rows 6 and 7: hot `get` at 1k, 100k, 1M entries, and guest memory per entry.
fn scaling_and_memory(
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

/// CPU, cores, kernel, toolchain.
fn machine_info() -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(cpu) = std::fs::read_to_string("/proc/cpuinfo") {
        if let Some(model) = cpu
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
        {
            out.push(model.trim().to_owned());
        }
    }
    out.push(format!(
        "{} logical CPUs",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    ));
    if let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") {
        out.push(format!("Linux {}", release.trim()));
    }
    if let Ok(lock) = std::fs::read_to_string(crate::root().join("Cargo.lock")) {
        let mut lines = lock.lines();
        while let Some(l) = lines.next() {
            if l == "name = \"wasmtime\"" {
                if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = ")) {
                    out.push(format!("wasmtime {}", v.trim_matches('"')));
                }
                break;
            }
        }
    }
    out
}
