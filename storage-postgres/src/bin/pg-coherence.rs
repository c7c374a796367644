//! `pg-coherence`: several real processes on one PostgreSQL database, each with
//! its own cache of rows kept coherent by [`Listener`] notifications and the
//! storage's stale-row check. It measures, and checks:
//!
//! - lost updates: N processes increment shared counters (read-modify-write
//!   through their caches, retried on `conflict`); the stored sums must equal
//!   the acknowledged increments;
//! - staleness: one process overwrites rows every other process holds cached;
//!   each reader, once the notification is delivered, must read the new value,
//!   and the window from the writer's acknowledgement to delivery is reported;
//! - write throughput of N processes writing at once.
//!
//! `pg-coherence run --url URL [--processes N] [--seconds S]` orchestrates the
//! children (`counter`, `probe-writer`, `probe-reader`, `throughput`) and prints
//! one summary; it exits non-zero on a lost update or a stale read.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cache_core::{Batch, Row, Storage, StorageErrorKind};
use cache_storage_postgres::{
    parse_url, Change, Coherence, Listener, ListenerEvent, PostgresOptions, PostgresStorage,
};

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as i64)
        .unwrap_or(0)
}

fn die(message: impl std::fmt::Debug) -> ! {
    eprintln!("pg-coherence: {message:?}");
    std::process::exit(2)
}

/// Command-line flags as `--name value` pairs.
struct Flags(HashMap<String, String>);

impl Flags {
    fn parse(args: &[String]) -> Flags {
        let mut map = HashMap::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let Some(name) = a.strip_prefix("--") else {
                die(format!("unexpected argument {a:?}"))
            };
            let Some(value) = it.next() else {
                die(format!("--{name} needs a value"))
            };
            map.insert(name.to_owned(), value.clone());
        }
        Flags(map)
    }
    fn text(&self, name: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| die(format!("--{name} is required")))
    }
    fn num(&self, name: &str, default: u64) -> u64 {
        match self.0.get(name) {
            None => default,
            Some(v) => v
                .parse()
                .unwrap_or_else(|_| die(format!("--{name} must be a number"))),
        }
    }
}

/// One process's cache: rows held in memory over its storage, one lock for
/// both, and a listener that drops what other processes change.
struct Node {
    state: Arc<Mutex<NodeState>>,
    coherence: Arc<Coherence>,
    _listener: Listener,
}

struct NodeState {
    storage: PostgresStorage,
    cache: HashMap<(String, String), String>,
    /// Keys the listener dropped, with the time the notification was handled.
    dropped: Vec<(String, i64)>,
}

fn lock(m: &Mutex<NodeState>) -> MutexGuard<'_, NodeState> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Node {
    fn open(flags: &Flags) -> Node {
        let schema = flags.text("schema");
        let mut config = parse_url(&flags.text("url")).unwrap_or_else(|e| die(e));
        config.options(&format!("-c search_path={schema}"));
        let coherence = Arc::new(Coherence::new());
        let storage = PostgresStorage::from_config(
            config.clone(),
            PostgresOptions {
                channel: Some(schema.clone()),
                coherence: Some(coherence.clone()),
                ..PostgresOptions::default()
            },
        )
        .unwrap_or_else(|e| die(e));
        let state = Arc::new(Mutex::new(NodeState {
            storage,
            cache: HashMap::new(),
            dropped: Vec::new(),
        }));
        let (s, c) = (state.clone(), coherence.clone());
        // The host's part: apply each change under the lock the storage is used under.
        let listener = Listener::spawn(config, &schema, coherence.clone(), move |event| {
            let mut st = lock(&s);
            match event {
                ListenerEvent::Change(change) => {
                    c.changed(&change);
                    match change {
                        Change::Row { namespace, key } => {
                            st.cache.remove(&(namespace, key.clone()));
                            st.dropped.push((key, now_us()));
                        }
                        Change::Namespace(namespace) => {
                            st.cache.retain(|(ns, _), _| *ns != namespace)
                        }
                        Change::ChatSettings(_) | Change::UserData { .. } => {}
                    }
                }
                ListenerEvent::Reconnected => st.cache.clear(),
            }
        })
        .unwrap_or_else(|e| die(e));
        Node {
            state,
            coherence,
            _listener: listener,
        }
    }
}

impl NodeState {
    /// The value of a row: from memory, else read through storage and cached.
    fn get(&mut self, ns: &str, key: &str) -> Option<String> {
        let k = (ns.to_owned(), key.to_owned());
        if let Some(v) = self.cache.get(&k) {
            return Some(v.clone());
        }
        let v = self.storage.get(ns, key).unwrap_or_else(|e| die(e))?;
        self.cache.insert(k, v.clone());
        Some(v)
    }

    /// Writes one row (and caches it); `false` on `conflict` (the stale copy is dropped).
    fn set(&mut self, ns: &str, key: &str, value: &str, coherence: &Coherence) -> bool {
        let batch = Batch {
            upsert: vec![Row {
                namespace: ns,
                key,
                value: value.into(),
            }],
            ..Batch::default()
        };
        match self.storage.write(&batch) {
            Ok(()) => {
                self.cache
                    .insert((ns.to_owned(), key.to_owned()), value.to_owned());
                true
            }
            Err(e) if e.kind == StorageErrorKind::Conflict => {
                for k in coherence.take_conflicts() {
                    self.cache.remove(&k);
                }
                false
            }
            Err(e) => die(e),
        }
    }
}

/// Increments random counters `ops` times; prints `acked <key> <n>` per key.
fn counter(flags: &Flags) {
    let node = Node::open(flags);
    let keys = flags.num("keys", 4);
    let ops = flags.num("ops", 200);
    let id = flags.num("id", 0);
    let mut acked = vec![0u64; keys as usize];
    let mut conflicts = 0u64;
    let mut seed = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for _ in 0..ops {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let k = (seed % keys) as usize;
        let key = format!("c{k}");
        loop {
            let mut st = lock(&node.state);
            let current: u64 = st
                .get("counters", &key)
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if st.set(
                "counters",
                &key,
                &(current + 1).to_string(),
                &node.coherence,
            ) {
                acked[k] += 1;
                break;
            }
            conflicts += 1;
        }
    }
    let mut out = std::io::stdout().lock();
    for (k, n) in acked.iter().enumerate() {
        let _ = writeln!(out, "acked c{k} {n}");
    }
    let _ = writeln!(out, "conflicts {conflicts}");
}

/// Overwrites `probe-j` with `new-j`, one by one; prints `ack j <µs>`.
fn probe_writer(flags: &Flags) {
    let node = Node::open(flags);
    let probes = flags.num("probes", 50);
    let gap = Duration::from_millis(flags.num("gap-ms", 20));
    std::thread::sleep(Duration::from_millis(flags.num("delay-ms", 500)));
    for j in 0..probes {
        let key = format!("probe-{j}");
        let mut st = lock(&node.state);
        st.get("probes", &key);
        if !st.set("probes", &key, &format!("new-{j}"), &node.coherence) {
            die("the probe writer met a conflict; nothing else writes probes");
        }
        drop(st);
        println!("ack {j} {}", now_us());
        std::thread::sleep(gap);
    }
}

/// Caches every probe, then for `seconds` reads each probe whose change was
/// delivered; prints `recv j <µs> fresh|stale`.
fn probe_reader(flags: &Flags) {
    let node = Node::open(flags);
    let probes = flags.num("probes", 50);
    {
        let mut st = lock(&node.state);
        for j in 0..probes {
            if st.get("probes", &format!("probe-{j}")).is_none() {
                die("the probes were not seeded");
            }
        }
    }
    println!("ready");
    let deadline = Instant::now() + Duration::from_secs(flags.num("seconds", 5));
    let mut done = 0;
    while Instant::now() < deadline && done < probes {
        let dropped = std::mem::take(&mut lock(&node.state).dropped);
        for (key, at) in dropped {
            let Some(j) = key
                .strip_prefix("probe-")
                .and_then(|j| j.parse::<u64>().ok())
            else {
                continue;
            };
            // After delivery, a read through this process's cache must be fresh.
            let value = lock(&node.state).get("probes", &key);
            let fresh = value.as_deref() == Some(&format!("new-{j}"));
            println!("recv {j} {at} {}", if fresh { "fresh" } else { "stale" });
            done += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Writes distinct rows for `seconds`; prints `writes <n>`.
fn throughput(flags: &Flags) {
    let node = Node::open(flags);
    let id = flags.num("id", 0);
    let deadline = Instant::now() + Duration::from_secs(flags.num("seconds", 3));
    let mut n = 0u64;
    while Instant::now() < deadline {
        let key = format!("w{id}-{}", n % 1000);
        let mut st = lock(&node.state);
        if st.set("throughput", &key, &n.to_string(), &node.coherence) {
            n += 1;
        }
    }
    println!("writes {n}");
}

fn spawn(
    exe: &std::path::Path,
    mode: &str,
    common: &[String],
    extra: &[String],
) -> std::process::Child {
    Command::new(exe)
        .arg(mode)
        .args(common)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| die(format!("cannot start a child process: {e}")))
}

fn output(child: std::process::Child) -> String {
    let out = child.wait_with_output().unwrap_or_else(|e| die(e));
    if !out.status.success() {
        die(format!("a child process failed: {}", out.status));
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// The orchestrator: prints the summary, fails on a lost update or a stale read.
fn run(flags: &Flags) -> ExitCode {
    let url = flags.text("url");
    let processes = flags.num("processes", 3).max(2);
    let seconds = flags.num("seconds", 3);
    let ops = flags.num("ops", 300);
    let probes = flags.num("probes", 40);
    let schema = flags
        .0
        .get("schema")
        .cloned()
        .unwrap_or_else(|| format!("coherence_{}", std::process::id()));
    let exe = std::env::current_exe().unwrap_or_else(|e| die(e));
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap_or_else(|e| die(e));
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap_or_else(|e| die(e));
    let common = vec![
        "--url".to_owned(),
        url.clone(),
        "--schema".to_owned(),
        schema.clone(),
    ];
    let mut failed = false;

    // 1. Lost updates.
    let started = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|i| {
            spawn(
                &exe,
                "counter",
                &common,
                &[
                    "--id".into(),
                    i.to_string(),
                    "--ops".into(),
                    ops.to_string(),
                ],
            )
        })
        .collect();
    let mut acked: HashMap<String, u64> = HashMap::new();
    let mut conflicts = 0u64;
    for child in children {
        for line in output(child).lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["acked", key, n] => {
                    *acked.entry((*key).to_owned()).or_default() += n.parse::<u64>().unwrap_or(0)
                }
                ["conflicts", n] => conflicts += n.parse::<u64>().unwrap_or(0),
                _ => {}
            }
        }
    }
    let elapsed = started.elapsed();
    let mut lost = 0i64;
    for (key, n) in &acked {
        let stored: i64 = admin
            .query_opt(&format!("SELECT value FROM {schema}.cache_storage WHERE namespace = 'counters' AND key = $1"), &[key])
            .unwrap_or_else(|e| die(e))
            .map(|r| r.get::<_, String>(0).parse().unwrap_or(-1))
            .unwrap_or(0);
        lost += *n as i64 - stored;
    }
    let total: u64 = acked.values().sum();
    println!(
        "counters: {processes} processes, {total} acknowledged increments in {:.2} s, {conflicts} conflicts retried, lost updates: {lost}",
        elapsed.as_secs_f64()
    );
    failed |= lost != 0 || total != processes * ops;

    // 2. Staleness: seed the probes, start the readers, then the writer.
    let seed: Vec<String> = (0..probes)
        .map(|j| format!("('probes', 'probe-{j}', 'old', now())"))
        .collect();
    admin
        .batch_execute(&format!(
            "INSERT INTO {schema}.cache_storage VALUES {}",
            seed.join(", ")
        ))
        .unwrap_or_else(|e| die(e));
    let readers: Vec<_> = (0..processes - 1)
        .map(|_| {
            spawn(
                &exe,
                "probe-reader",
                &common,
                &[
                    "--probes".into(),
                    probes.to_string(),
                    "--seconds".into(),
                    (seconds + 5).to_string(),
                ],
            )
        })
        .collect();
    // Every reader holds every probe cached before the writer starts.
    let readers: Vec<_> = readers
        .into_iter()
        .map(|mut child| {
            let mut out = BufReader::new(
                child
                    .stdout
                    .take()
                    .unwrap_or_else(|| die("no child stdout")),
            );
            let mut line = String::new();
            while line.trim() != "ready" {
                line.clear();
                if out.read_line(&mut line).unwrap_or(0) == 0 {
                    die("a probe reader ended before it was ready");
                }
            }
            (child, out)
        })
        .collect();
    let writer = spawn(
        &exe,
        "probe-writer",
        &common,
        &[
            "--probes".into(),
            probes.to_string(),
            "--delay-ms".into(),
            "0".into(),
        ],
    );
    let mut acks: HashMap<u64, i64> = HashMap::new();
    for line in output(writer).lines() {
        if let ["ack", j, at] = line.split(' ').collect::<Vec<_>>().as_slice() {
            acks.insert(j.parse().unwrap_or(u64::MAX), at.parse().unwrap_or(0));
        }
    }
    let mut windows = Vec::new();
    let (mut stale, mut delivered) = (0u64, 0u64);
    for (child, mut out) in readers {
        let mut text = String::new();
        if let Err(e) = out.read_to_string(&mut text) {
            die(e);
        }
        output(child);
        for line in text.lines() {
            if let ["recv", j, at, verdict] = line.split(' ').collect::<Vec<_>>().as_slice() {
                delivered += 1;
                if *verdict != "fresh" {
                    stale += 1;
                }
                if let (Some(ack), Ok(at)) =
                    (acks.get(&j.parse().unwrap_or(u64::MAX)), at.parse::<i64>())
                {
                    windows.push(at - ack);
                }
            }
        }
    }
    windows.sort_unstable();
    let expected = probes * (processes - 1);
    println!(
        "staleness: {delivered}/{expected} changes delivered, stale reads after delivery: {stale}; \
         delivery after the writer's acknowledgement: p50 {} µs, p99 {} µs, max {} µs (negative: delivered before the ack returned)",
        percentile(&windows, 0.5),
        percentile(&windows, 0.99),
        windows.last().copied().unwrap_or(0)
    );
    failed |= stale != 0 || delivered != expected;

    // 3. Throughput.
    let children: Vec<_> = (0..processes)
        .map(|i| {
            spawn(
                &exe,
                "throughput",
                &common,
                &[
                    "--id".into(),
                    i.to_string(),
                    "--seconds".into(),
                    seconds.to_string(),
                ],
            )
        })
        .collect();
    let writes: u64 = children
        .into_iter()
        .flat_map(|c| {
            output(c)
                .lines()
                .filter_map(|l| {
                    l.strip_prefix("writes ")
                        .and_then(|n| n.parse::<u64>().ok())
                })
                .collect::<Vec<_>>()
        })
        .sum();
    println!(
        "throughput: {processes} processes, {writes} single-row writes in {seconds} s = {:.0} writes/s (each one transaction with its notification)",
        writes as f64 / seconds.max(1) as f64
    );
    let _ = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
    if failed {
        eprintln!("pg-coherence: FAILED");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = args.split_first() else {
        eprintln!("usage: pg-coherence run --url postgres://... [--processes N] [--seconds S] [--ops N] [--probes N]");
        return ExitCode::from(2);
    };
    let flags = Flags::parse(rest);
    match mode.as_str() {
        "run" => return run(&flags),
        "counter" => counter(&flags),
        "probe-writer" => probe_writer(&flags),
        "probe-reader" => probe_reader(&flags),
        "throughput" => throughput(&flags),
        other => die(format!("unknown mode {other:?}")),
    }
    ExitCode::SUCCESS
}
