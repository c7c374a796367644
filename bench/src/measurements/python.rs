//! The Python rows: the bot's calls through the `gromozeka_cache` package, the
//! seed's pure-Python `CacheService`, `cachetools` and `diskcache`, measured side by
//! side in one run by `bench/python/service_bench.py` (in `target/py-venv`, where
//! `just bench` installs the wheel).

use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};

use crate::report::{ns, Goal, Line, Report};

/// Per-call times recorded for the first Python package, a wasmtime-py host this
/// one replaced (µs): `getUserState`, `getChatSettings`.
const OLD_PACKAGE_US: [(&str, f64); 2] = [("getUserState", 48.0), ("getChatSettings", 35.0)];

/// Runs `bench/python/<script>` in `target/py-venv` and parses the one JSON
/// object it prints.
pub fn run_script(root: &Path, script: &str, tmp: &Path, quick: bool) -> Result<serde_json::Value> {
    let python = root.join("target/py-venv/bin/python");
    if !python.is_file() {
        bail!(
            "{} is missing: `just bench` creates it (recipe py-venv)",
            python.display()
        );
    }
    let mut cmd = Command::new(&python);
    cmd.arg(root.join("bench/python").join(script));
    if quick {
        cmd.arg("--quick");
    }
    let out = cmd
        .arg(tmp)
        .output()
        .with_context(|| format!("running bench/python/{script}"))?;
    if !out.status.success() {
        bail!(
            "bench/python/{script} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("parsing {script}'s output"))
}

/// `v[call][implementation]` as a number.
pub fn figure(v: &serde_json::Value, call: &str, implementation: &str) -> Result<f64> {
    v.get(call)
        .and_then(|c| c.get(implementation))
        .and_then(serde_json::Value::as_f64)
        .ok_or_else(|| anyhow!("the bench did not report {call}/{implementation}"))
}

/// Runs the Python bench and adds its rows to `report`.
pub fn python_package(root: &Path, tmp: &Path, quick: bool, report: &mut Report) -> Result<()> {
    let v = run_script(root, "service_bench.py", tmp, quick)?;
    let get = |call: &str, implementation: &str| figure(&v, call, implementation);
    for call in ["getUserState", "setUserState", "getChatSettings"] {
        let (pkg, seed) = (get(call, "gromozeka_cache")?, get(call, "seed")?);
        let (ct, dc) = (get(call, "cachetools")?, get(call, "diskcache")?);
        let hot_read = call != "setUserState";
        report.lines.push(Line {
            row: "Py",
            what: format!(
                "`{call}` from Python{}: package time ÷ the seed's pure-Python time",
                if hot_read { " (hot)" } else { "" }
            ),
            subject: format!("{} /call", ns(pkg)),
            baseline: format!(
                "seed {}; cachetools+RLock {}; diskcache {}",
                ns(seed),
                ns(ct),
                ns(dc)
            ),
            value: pkg / seed,
            unit: "×",
            goal: if hot_read {
                Goal::AtMost(1.0)
            } else {
                Goal::Info
            },
        });
    }
    for (call, what, goal) in [
        ("getUserStateWarm", "`getUserState` hit, warm (nothing else in the rounds)", 1.0),
        ("getChatSettingsWarm", "`getChatSettings` hit, warm (nothing else in the rounds)", 1.0),
        ("getUserStateShared", "`getUserState` hit, `shareValues(\"users\")` (the cache's own object, as the seed returns its own)", 0.3),
        ("getChatSettingsShared", "`getChatSettings` hit, `shareValues(\"chats\")`", 0.3),
        ("getUserStateSharedBusy", "`getUserState` hit, `shareValues(\"users\")`, after other work (diskcache in the rounds, as in the first rows)", 0.3),
        ("getChatSettingsSharedBusy", "`getChatSettings` hit, `shareValues(\"chats\")`, after other work", 0.3),
        ("getUserStateReplayed", "`getUserState` hit with its replay (every hit of another entry, each round's 1000 replayed into the component at its end; warm)", 1.0),
        ("getChatSettingsReplayed", "`getChatSettings` hit with its replay (as above)", 1.0),
        ("getUserStateSharedReplayed", "`getUserState` hit with its replay, `shareValues(\"users\")`", 0.3),
        ("getChatSettingsSharedReplayed", "`getChatSettings` hit with its replay, `shareValues(\"chats\")`", 0.3),
    ] {
        let (pkg, seed) = (get(call, "gromozeka_cache")?, get(call, "seed")?);
        report.lines.push(Line {
            row: "Py",
            what: format!("{what}: package time ÷ the seed's pure-Python time"),
            subject: format!("{} /call", ns(pkg)),
            baseline: format!("seed {}", ns(seed)),
            value: pkg / seed,
            unit: "×",
            goal: Goal::AtMost(goal),
        });
    }
    let small = get("size64", "copy")?;
    let small_shared = get("size64", "shared")?;
    let small_seed = get("size64", "seed")?;
    for size in [64, 512, 2048, 16384] {
        let call = format!("size{size}");
        let (copied, deep, shared, seed) = (
            get(&call, "copy")?,
            get(&call, "deepcopy")?,
            get(&call, "shared")?,
            get(&call, "seed")?,
        );
        report.lines.push(Line {
            row: "Py-size",
            what: format!(
                "`getUserState` hit of a {size} B dict (a fresh copy): its time ÷ (the 64 B hit + `copy.deepcopy` of the value)"
            ),
            subject: format!("{} /call", ns(copied)),
            baseline: format!("64 B hit {} + deepcopy {}", ns(small), ns(deep)),
            value: copied / (small + deep),
            unit: "×",
            goal: Goal::AtMost(1.0),
        });
        report.lines.push(Line {
            row: "Py-size",
            what: format!(
                "`getUserState` hit of a {size} B dict, shared: its time ÷ the 64 B shared hit"
            ),
            subject: format!("{} /call", ns(shared)),
            baseline: format!(
                "64 B shared hit {}; the seed's hit of this value ÷ of the 64 B one: {:.2}×",
                ns(small_shared),
                seed / small_seed
            ),
            value: shared / small_shared,
            unit: "×",
            goal: Goal::AtMost(1.2),
        });
    }
    for (call, old_us) in OLD_PACKAGE_US {
        let pkg = get(call, "gromozeka_cache")?;
        report.lines.push(Line {
            row: "Py",
            what: format!("`{call}`: the first Python package's time (wasmtime-py, since removed) ÷ package time"),
            subject: format!("{} /call", ns(pkg)),
            baseline: format!("{old_us} µs /call (recorded, the host is removed)"),
            value: old_us * 1000.0 / pkg,
            unit: "×",
            goal: Goal::AtLeast(30.0),
        });
    }
    let (pkg, dc, seed) = (
        get("setUserData", "gromozeka_cache")?,
        get("setUserData", "diskcache")?,
        get("setUserData", "seed")?,
    );
    report.lines.push(Line {
        row: "Py",
        what: "`setUserData` (on-change, SQLite file): package time ÷ `diskcache.Cache.set` time"
            .into(),
        subject: format!("{} /call", ns(pkg)),
        baseline: format!("diskcache {}; seed over sqlite3 {}", ns(dc), ns(seed)),
        value: pkg / dc,
        unit: "×",
        goal: Goal::AtMost(1.0),
    });
    let (released, kept) = (get("gilProbe", "released")?, get("gilProbe", "kept")?);
    report.lines.push(Line {
        row: "Py",
        what: "the cheapest call through the cache's lock: GIL released ÷ GIL kept (what releasing costs)".into(),
        subject: format!("{} /call released", ns(released)),
        baseline: format!("{} /call kept", ns(kept)),
        value: released / kept,
        unit: "×",
        goal: Goal::Info,
    });
    report.notes.push(format!(
        "Rows Py: `bench/python/service_bench.py` under CPython {} with the wheel installed in `target/py-venv`; \
         1000 users or chats with a distinct value each, each call timed over all of them per round; the \
         implementations' rounds are interleaved (every round runs each once, in a rotating order) and each \
         loop calls the bound method directly, so load from other processes and the harness's overhead fall on \
         all alike; median of the rounds. The seed is `bench/python/seed_cache_service.py` (its code verbatim; its database object over sqlite3 for `setUserData`); \
         cachetools is `LRUCache` + `RLock`; diskcache is `Cache` on a file. A hit is served from the host's \
         read path (README, \"The read path\": no crossing into the component; replayed into it in batches, \
         included in the time) under the GIL; the Python objects are kept per copy and copied per hit (or, \
         with `shareValues`, returned as they are), see bindings/python/src/memo.rs. Rows Py-size: the same \
         1000 users, one dict of the given JSON size each (about 32 B per field).",
        v.pointer("/python/version").and_then(|x| x.as_str()).unwrap_or("?")
    ));
    Ok(())
}
