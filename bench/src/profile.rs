//! Instruction counts per call with callgrind: `cache-bench --profile <workload>
//! --calls N` sets a workload up and runs N calls inside [`measured_loop`], and
//! [`callgrind_all`] runs that under `valgrind --tool=callgrind
//! --toggle-collect=*measured_loop*`, so only the calls are counted.

use std::hint::black_box;
use std::process::Command;
use std::sync::Mutex;

use anyhow::{anyhow, bail, Context, Result};
use cache_host::{CacheService, NamespaceConfig, Persistence, Policy, Runtime, WriteBack};

use crate::raw::{RawCache, RawNoop};
use crate::workload::{self, Size};

/// The workloads, with what one call is.
pub const WORKLOADS: [(&str, &str); 11] = [
    ("noop64", "no-op component `get`, 64 B value, bare bindings"),
    ("get64", "cache `get` hit, 64 B value, bare bindings"),
    (
        "noop2k",
        "no-op component `get`, 2 KiB value, bare bindings",
    ),
    ("get2k", "cache `get` hit, 2 KiB value, bare bindings"),
    (
        "service-get64",
        "cache `get` hit, 64 B, through `CacheService`",
    ),
    ("service-set64", "cache `set`, 64 B, through `CacheService`"),
    (
        "service-get-many64",
        "`get-many` of 100 keys, 64 B, through `CacheService`",
    ),
    ("lru-get-many64", "native `lru` + `Mutex`, 100 gets, 64 B"),
    (
        "service-set-many64",
        "`set-many` of 100 entries, 64 B, through `CacheService`",
    ),
    (
        "core-set-many64",
        "`set_many` of 100 entries, 64 B, native `cache_core::Cache` (no sandbox)",
    ),
    (
        "lru-set-many64",
        "native `lru` + `Mutex`, 100 puts, 64 B (row 3's baseline)",
    ),
];

/// Runs `calls` times `call`; the only function callgrind collects in.
#[inline(never)]
fn measured_loop(calls: u64, call: &mut dyn FnMut(usize) -> Result<()>) -> Result<()> {
    for i in 0..calls {
        call(i as usize)?;
    }
    Ok(())
}

fn namespaces() -> Vec<NamespaceConfig> {
    Size::ALL
        .iter()
        .map(|s| NamespaceConfig {
            name: s.namespace().into(),
            max_entries: 1000,
            persistence: Persistence::MemoryOnly,
        })
        .collect()
}

/// A service over SQLite in a new temporary folder (dropped with it), with one
/// namespace of `n` entries of 64 B, all set.
fn filled_service(
    wasm: &std::path::Path,
    namespace: &str,
    n: usize,
    persistence: Persistence,
) -> Result<(CacheService, tempfile::TempDir)> {
    let tmp = tempfile::tempdir()?;
    let policy = Policy::new(vec![NamespaceConfig {
        name: namespace.into(),
        max_entries: n as u32,
        persistence,
    }])
    .map_err(|e| anyhow!(e))?;
    let svc = CacheService::builder(wasm)
        .policy(policy)
        .write_back(WriteBack::NEVER)
        .load_on_start(false)
        .open_sqlite(tmp.path().join("profile.db"))?;
    let rows: Vec<(String, String)> = (0..n)
        .map(|i| (workload::key(i), workload::value(i, Size::Small)))
        .collect();
    for c in rows.chunks(1000) {
        svc.set_many(namespace, c)?;
    }
    Ok((svc, tmp))
}

/// Profile mode: one workload, `calls` calls.
pub fn run(workload: &str, calls: u64) -> Result<()> {
    let root = crate::root();
    let wasm = root.join("target/cache.wasm");
    let keys: Vec<String> = (0..1000).map(workload::key).collect();
    let pattern = workload::pattern(1000, 1000);
    let entries = |size: Size| -> Vec<(String, String)> {
        (0..1000)
            .map(|i| (keys[i].clone(), workload::value(i, size)))
            .collect()
    };
    let batches: Vec<Vec<String>> = pattern
        .chunks(100)
        .map(|c| c.iter().map(|&i| keys[i].clone()).collect())
        .collect();
    let key_at = |i: usize| keys[pattern[i % pattern.len()]].as_str();
    let small = entries(Size::Small);
    let entry_batches: Vec<&[(String, String)]> = small.chunks(100).collect();
    match workload {
        "noop64" | "noop2k" => {
            let rt = Runtime::load(root.join("target/bench-noop.wasm"))?;
            let mut noop = RawNoop::new(&rt)?;
            let ns = if workload == "noop64" { "v64" } else { "v2k" };
            measured_loop(calls, &mut |i| {
                black_box(noop.get(ns, key_at(i))?);
                Ok(())
            })
        }
        "get64" | "get2k" => {
            let rt = Runtime::load(&wasm)?;
            let mut cache = RawCache::new(&rt, &namespaces())?;
            let size = if workload == "get64" {
                Size::Small
            } else {
                Size::Large
            };
            for chunk in entries(size).chunks(100) {
                cache.set_many(size.namespace(), chunk)?;
            }
            measured_loop(calls, &mut |i| {
                black_box(cache.get(size.namespace(), key_at(i))?);
                Ok(())
            })
        }
        "debug-persist" => {
            let rt = Runtime::load(&wasm)?;
            let n = calls as usize;
            let mut cache = RawCache::new(
                &rt,
                &[NamespaceConfig {
                    name: "p".into(),
                    max_entries: n as u32,
                    persistence: Persistence::OnShutdown,
                }],
            )?;
            let rows: Vec<(String, String)> = (0..n)
                .map(|i| (workload::key(i), workload::value(i, Size::Small)))
                .collect();
            for c in rows.chunks(1000) {
                cache.set_many("p", c)?;
            }
            println!("persisted {}", cache.persist_all()?);
            Ok(())
        }
        "debug-persist-service" => {
            let _ = tracing_subscriber::fmt()
                .with_writer(std::io::stderr)
                .try_init();
            let (svc, _tmp) = filled_service(&wasm, "p", calls as usize, Persistence::OnShutdown)?;
            println!("persisted {:?}", svc.persist_all()?);
            Ok(())
        }
        "debug-scale-get" => {
            // Row 6's hot `get` at 100k entries (10k uniform random keys read
            // in a loop), for a cache simulation of what a replayed hit misses.
            let n = 100_000;
            let (svc, _tmp) = filled_service(&wasm, "s", n, Persistence::MemoryOnly)?;
            let seq: Vec<String> = workload::pattern(10_000, n)
                .into_iter()
                .map(workload::key)
                .collect();
            for k in &seq {
                black_box(svc.get("s", k)?);
            }
            measured_loop(calls, &mut |i| {
                black_box(svc.get("s", &seq[i % seq.len()])?);
                Ok(())
            })
        }
        "debug-replayed-get" => {
            // Hot `get`s of 2000 entries in turn: every hit is of an entry not
            // yet pending, so each is replayed (a `sync` per 1024), all warm.
            let n = 2000;
            let (svc, _tmp) = filled_service(&wasm, "s", n, Persistence::MemoryOnly)?;
            let keys: Vec<String> = (0..n).map(workload::key).collect();
            for k in &keys {
                black_box(svc.get("s", k)?);
            }
            measured_loop(calls, &mut |i| {
                black_box(svc.get("s", &keys[i % n])?);
                Ok(())
            })
        }
        "lru-get-many64" => {
            let native = Mutex::new(lru::LruCache::<String, String>::unbounded());
            for (k, v) in &small {
                native
                    .lock()
                    .map_err(|_| anyhow!("poisoned"))?
                    .put(k.clone(), v.clone());
            }
            measured_loop(calls, &mut |i| {
                let b = &batches[i % batches.len()];
                let mut guard = native.lock().map_err(|_| anyhow!("poisoned"))?;
                let found: Vec<Option<String>> = b.iter().map(|k| guard.get(k).cloned()).collect();
                black_box(found);
                Ok(())
            })
        }
        "core-set-many64" => {
            // The cache's own logic, natively: what `set-many` costs before any
            // crossing (the entries are cloned, as the guest's are lifted).
            let mut cache = cache_core::Cache::new(cache_core::MemoryStorage::new());
            cache
                .configure(namespaces())
                .map_err(|e| anyhow!("configure: {e}"))?;
            measured_loop(calls, &mut |i| {
                let batch = entry_batches[i % entry_batches.len()].to_vec();
                cache
                    .set_many("v64", batch)
                    .map_err(|e| anyhow!("set_many: {e}"))
            })
        }
        "core-replay64" => {
            // The component's replay, natively: 1000 entries replayed one
            // call at a time, as `debug-replayed-get`'s batches carry them.
            let mut cache = cache_core::Cache::new(cache_core::MemoryStorage::new());
            cache
                .configure(namespaces())
                .map_err(|e| anyhow!("configure: {e}"))?;
            let keys: Vec<String> = (0..1000).map(workload::key).collect();
            for c in keys.chunks(100) {
                let rows = c
                    .iter()
                    .map(|k| (k.clone(), workload::value(0, Size::Small)));
                cache
                    .set_many("v64", rows.collect())
                    .map_err(|e| anyhow!("set_many: {e}"))?;
            }
            let batch: Vec<_> = keys
                .iter()
                .map(|k| (0, cache_core::Named::Key(k.as_str()), 1))
                .collect();
            measured_loop(calls, &mut |i| {
                black_box(cache.replay(&["v64"], &batch[i % batch.len()..][..1]));
                Ok(())
            })
        }
        "lru-set-many64" => {
            let native = Mutex::new(lru::LruCache::<String, String>::unbounded());
            measured_loop(calls, &mut |i| {
                let mut guard = native.lock().map_err(|_| anyhow!("poisoned"))?;
                for (k, v) in entry_batches[i % entry_batches.len()] {
                    guard.put(k.clone(), v.clone());
                }
                Ok(())
            })
        }
        _ => {
            let tmp = tempfile::tempdir()?;
            let policy = Policy::new(namespaces()).map_err(|e| anyhow!(e))?;
            let svc = CacheService::builder(&wasm)
                .policy(policy)
                .write_back(WriteBack::NEVER)
                .load_on_start(false)
                .open_sqlite(tmp.path().join("profile.db"))?;
            svc.set_many("v64", &small)?;
            match workload {
                "service-get64" => measured_loop(calls, &mut |i| {
                    black_box(svc.get("v64", key_at(i))?);
                    Ok(())
                }),
                "service-set64" => measured_loop(calls, &mut |i| {
                    let (k, v) = &small[pattern[i % pattern.len()]];
                    svc.set("v64", k, v)?;
                    Ok(())
                }),
                "service-get-many64" => measured_loop(calls, &mut |i| {
                    black_box(svc.get_many("v64", &batches[i % batches.len()])?);
                    Ok(())
                }),
                "service-set-many64" => measured_loop(calls, &mut |i| {
                    svc.set_many("v64", entry_batches[i % entry_batches.len()])?;
                    Ok(())
                }),
                other => bail!(
                    "unknown workload {other:?}; one of {:?}",
                    WORKLOADS.map(|w| w.0)
                ),
            }
        }
    }
}

/// Instructions per call of every workload, or why they could not be counted.
pub fn callgrind_all(quick: bool) -> Result<Vec<(String, f64)>, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let calls: u64 = if quick { 200 } else { 2000 };
    let mut out = Vec::new();
    for (name, what) in WORKLOADS {
        let count = callgrind_one(&exe, tmp.path(), name, calls).map_err(|e| format!("{e:#}"))?;
        out.push((format!("`{name}` — {what}"), count / calls as f64));
    }
    Ok(out)
}

fn callgrind_one(
    exe: &std::path::Path,
    dir: &std::path::Path,
    name: &str,
    calls: u64,
) -> Result<f64> {
    let output = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg("--toggle-collect=*measured_loop*")
        .arg(format!(
            "--callgrind-out-file={}/callgrind.%p",
            dir.display()
        ))
        .arg(exe)
        .args(["--profile", name, "--calls", &calls.to_string()])
        .output()
        .context("running valgrind (apt-get install valgrind)")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        bail!(
            "valgrind on {name} failed: {}",
            stderr.lines().rev().take(5).collect::<Vec<_>>().join(" / ")
        );
    }
    let collected = stderr
        .lines()
        .find_map(|l| l.split("Collected :").nth(1))
        .ok_or_else(|| anyhow!("no `Collected :` line in callgrind's output for {name}"))?;
    collected
        .trim()
        .replace(',', "")
        .parse::<f64>()
        .with_context(|| format!("parsing callgrind's count {collected:?}"))
}
