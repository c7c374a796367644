//! The Rust measurements of `just bench` (rows 1 to 7 of `BENCHMARKS.md`), one
//! file each, and the Python ones (`python.rs`, `python_async.rs`). `run_all`
//! takes them in order into one report.

mod batch;
mod crossing;
mod hot;
mod persistence;
pub(crate) mod python;
mod python_async;
mod scaling;

use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use cache_host::{CacheService, NamespaceConfig, Persistence, Policy, Runtime, WriteBack};

use crate::measure::Rounds;
use crate::report::Report;
use crate::workload::{self, Size};
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
    hot::hot_vs_python(&paths, &runtime, hot, &mut report)?;
    eprintln!("cache-bench: 2/7 get vs no-op");
    crossing::get_vs_noop(&paths, &runtime, hot, &mut report)?;
    eprintln!("cache-bench: 3/7 get-many/set-many vs lru + Mutex");
    batch::batch_vs_lru(&paths, &runtime, hot, &mut report)?;
    eprintln!("cache-bench: 4/7 + 5/7 persist-all and cold start vs rusqlite");
    persistence::persist_and_cold_start(&paths, &runtime, bulk, &mut report)?;
    eprintln!("cache-bench: 6/7 + 7/7 scaling and memory per entry");
    scaling::scaling_and_memory(&paths, &runtime, hot, args.quick, &mut report)?;
    eprintln!("cache-bench: Python rows (the gromozeka_cache package)");
    python::python_package(&root, paths.tmp.path(), args.quick, &mut report)?;
    python_async::python_async(&root, paths.tmp.path(), args.quick, &mut report)?;
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
