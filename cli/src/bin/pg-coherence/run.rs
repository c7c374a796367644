//! `pg-coherence run`: creates the run's schema, seeds it through a service, starts
//! the children of each scenario, checks what they report against the database, and
//! prints the summary.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, ExitCode, Stdio};
use std::time::Instant;

use cache_host::{SettingsMode, WriteBack};
use clap::Args;

use crate::child::{DATA_PROBE_CHAT, SETTINGS_PROBE_BASE, SHARED_CHAT, SHARED_USER};
use crate::{die, Common};

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The database, `postgres://user@host:port/db`.
    #[arg(long)]
    url: String,
    /// The schema to run in (created, and dropped at the end); default one per run.
    #[arg(long)]
    schema: Option<String>,
    /// The cache component (.wasm); default: $CACHE_HOST_WASM, else the embedded one.
    #[arg(long)]
    wasm: Option<std::path::PathBuf>,
    /// Processes per scenario (at least 2).
    #[arg(long, default_value_t = 3)]
    processes: u64,
    /// Seconds of the throughput scenario.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
    /// Operations of each counter process.
    #[arg(long, default_value_t = 300)]
    ops: u64,
    /// Probes of each kind in the staleness scenario.
    #[arg(long, default_value_t = 40)]
    probes: u64,
}

fn spawn(mode: &str, common: &Common, extra: &[String], stdin: bool) -> Child {
    let exe = std::env::current_exe().unwrap_or_else(|e| die(e));
    Command::new(exe)
        .arg(mode)
        .args(common.to_args())
        .args(extra)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| die(format!("cannot start a child process: {e}")))
}

fn output(child: Child) -> String {
    let out = child.wait_with_output().unwrap_or_else(|e| die(e));
    if !out.status.success() {
        die(format!("a child process failed: {}", out.status));
    }
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Reads the child's stdout up to the line `word`.
fn wait_for(child: &mut Child, word: &str) -> BufReader<ChildStdout> {
    let stdout = child
        .stdout
        .take()
        .unwrap_or_else(|| die("no child stdout"));
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    while line.trim() != word {
        line.clear();
        if reader.read_line(&mut line).unwrap_or_else(|e| die(e)) == 0 {
            die(format!("a child ended before it printed {word:?}"));
        }
    }
    reader
}

fn num<T: std::str::FromStr>(text: &str) -> T {
    text.parse()
        .unwrap_or_else(|_| die(format!("a child printed {text:?}, not a number")))
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn count(
    admin: &mut postgres::Client,
    sql: &str,
    params: &[&(dyn postgres::types::ToSql + Sync)],
) -> i64 {
    admin
        .query_one(sql, params)
        .and_then(|r| r.try_get(0))
        .unwrap_or_else(|e| die(e))
}

/// The orchestrator: prints the summary; fails on a lost update, a stale read after
/// delivery, an undelivered change or a clobbered row.
pub fn run(args: &RunArgs) -> ExitCode {
    let processes = args.processes.max(2);
    let schema = args
        .schema
        .clone()
        .unwrap_or_else(|| format!("coherence_{}", std::process::id()));
    if !schema
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        die(format!("--schema {schema:?}: use letters, digits and _"));
    }
    let common = Common {
        url: args.url.clone(),
        schema: schema.clone(),
        wasm: args.wasm.clone(),
    };
    let mut admin =
        postgres::Client::connect(&args.url, postgres::NoTls).unwrap_or_else(|e| die(e));
    admin
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
        ))
        .unwrap_or_else(|e| die(e));
    seed(&common, args.probes);
    let mut failed = false;
    failed |= counters(&common, &mut admin, processes, args.ops);
    failed |= staleness(&common, processes, args.probes);
    failed |= shutdown(&common, &mut admin);
    throughput(&common, processes, args.seconds);
    if let Err(e) = admin.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")) {
        eprintln!("pg-coherence: cannot drop schema {schema}: {e}");
    }
    if failed {
        eprintln!("pg-coherence: FAILED");
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Creates the tables and the probes' old values, through a service.
fn seed(common: &Common, probes: u64) {
    let cache = common.open(WriteBack::NEVER, None);
    let checked = |r: Result<(), cache_host::Error>| r.unwrap_or_else(|e| die(e));
    for j in 0..probes {
        checked(cache.set("probes", &format!("probe-{j}"), &format!("\"old-{j}\"")));
        let json = format!(r#"{{"v":"old-{j}"}}"#);
        checked(cache.set_chat_settings(
            SETTINGS_PROBE_BASE + j as i64,
            &json,
            SettingsMode::Merge,
        ));
        checked(cache.set_user_data(DATA_PROBE_CHAT, j as i64, "v", &format!("\"old-{j}\"")));
    }
    for prefix in ["h", "d"] {
        for k in 0..SHUTDOWN_KEYS {
            checked(cache.set("shutdown", &format!("{prefix}{k}"), "\"seed\""));
        }
    }
    if let Err(e) = cache.close() {
        die(e);
    }
}

/// Scenario 1, lost updates: counters, settings keys and data keys of N processes at once.
fn counters(common: &Common, admin: &mut postgres::Client, processes: u64, ops: u64) -> bool {
    let started = Instant::now();
    let children: Vec<_> = (0..processes)
        .map(|i| {
            let extra = [
                "--id".into(),
                i.to_string(),
                "--ops".into(),
                ops.to_string(),
            ];
            spawn("counter", common, &extra, false)
        })
        .collect();
    let mut acked: HashMap<String, i64> = HashMap::new();
    let (mut settings, mut data, mut conflicts) = (0i64, 0i64, 0u64);
    for child in children {
        for line in output(child).lines() {
            match line.split(' ').collect::<Vec<_>>().as_slice() {
                ["acked", "counter", key, n] => {
                    *acked.entry((*key).to_owned()).or_default() += num::<i64>(n)
                }
                ["acked", "settings", n] => settings += num::<i64>(n),
                ["acked", "data", n] => data += num::<i64>(n),
                ["conflicts", n] => conflicts += num::<u64>(n),
                _ => {}
            }
        }
    }
    let elapsed = started.elapsed();
    let schema = &common.schema;
    let mut lost = 0i64;
    for (key, n) in &acked {
        let stored: i64 = admin
            .query_opt(
                &format!("SELECT value FROM {schema}.cache_storage WHERE namespace = 'counters' AND key = $1"),
                &[key],
            )
            .unwrap_or_else(|e| die(e))
            .map(|r| r.try_get::<_, String>(0).map_or(-1, |v| v.parse().unwrap_or(-1)))
            .unwrap_or(0);
        lost += n - stored;
    }
    let stored_settings = count(
        admin,
        &format!("SELECT count(*) FROM {schema}.chat_settings WHERE chat_id = $1"),
        &[&SHARED_CHAT],
    );
    let stored_data = count(
        admin,
        &format!("SELECT count(*) FROM {schema}.user_data WHERE chat_id = $1 AND user_id = $2"),
        &[&SHARED_CHAT, &SHARED_USER],
    );
    let increments: i64 = acked.values().sum();
    let lost_keys = (settings - stored_settings) + (data - stored_data);
    println!(
        "lost updates: {processes} processes in {:.2} s: {increments} counter increments (on-change, \
         read-modify-write), {settings} chat-settings keys, {data} user-data keys acknowledged; \
         {conflicts} conflicts retried; lost increments: {lost}, lost keys: {lost_keys}",
        elapsed.as_secs_f64()
    );
    lost != 0 || lost_keys != 0 || (increments + settings + data) as u64 != processes * ops
}

/// Scenario 2, staleness: N-1 readers hold every probe; one writer overwrites them.
fn staleness(common: &Common, processes: u64, probes: u64) -> bool {
    let extra = ["--probes".into(), probes.to_string()];
    let mut readers: Vec<_> = (0..processes - 1)
        .map(|_| spawn("probe-reader", common, &extra, false))
        .collect();
    let outs: Vec<_> = readers.iter_mut().map(|c| wait_for(c, "ready")).collect();
    let writer = spawn("probe-writer", common, &extra, false);
    let mut acks: HashMap<(String, u64), i64> = HashMap::new();
    for line in output(writer).lines() {
        if let ["ack", kind, j, at] = line.split(' ').collect::<Vec<_>>().as_slice() {
            acks.insert(((*kind).to_owned(), num(j)), num(at));
        }
    }
    let mut windows = Vec::new();
    let (mut stale, mut delivered) = (0u64, 0u64);
    for (child, mut out) in readers.into_iter().zip(outs) {
        let mut text = String::new();
        if let Err(e) = out.read_to_string(&mut text) {
            die(e);
        }
        output(child);
        for line in text.lines() {
            if let ["recv", kind, j, at, verdict] = line.split(' ').collect::<Vec<_>>().as_slice() {
                delivered += 1;
                if *verdict != "fresh" {
                    stale += 1;
                }
                if let Some(ack) = acks.get(&((*kind).to_owned(), num(j))) {
                    windows.push(num::<i64>(at) - ack);
                }
            }
        }
    }
    windows.sort_unstable();
    let expected = probes * 3 * (processes - 1);
    println!(
        "staleness: {delivered}/{expected} changes delivered (rows, chat settings, user data), \
         stale reads after delivery: {stale}; delivery after the writer's acknowledgement: \
         p50 {} µs, p99 {} µs, max {} µs (negative: applied before the writer's call returned)",
        percentile(&windows, 0.5),
        percentile(&windows, 0.99),
        windows.last().copied().unwrap_or(0)
    );
    stale != 0 || delivered != expected
}

/// Rows per holder in the on-shutdown scenario.
const SHUTDOWN_KEYS: u64 = 20;

/// Scenario 3, on-shutdown write-back: two holders (one hearing the others, one
/// deaf) hold stale pending changes; a writer commits newer values; the holders close.
fn shutdown(common: &Common, admin: &mut postgres::Client) -> bool {
    let keys = ["--keys".into(), SHUTDOWN_KEYS.to_string()];
    let holder = |prefix: &str, deaf: bool| {
        let mut extra = vec!["--prefix".into(), prefix.to_owned()];
        extra.extend(keys.iter().cloned());
        if deaf {
            extra.push("--deaf".into());
        }
        let mut child = spawn("shutdown-holder", common, &extra, true);
        let out = wait_for(&mut child, "pending");
        (child, out)
    };
    let holders = [holder("h", false), holder("d", true)];
    for prefix in ["h", "d"] {
        let mut extra = vec!["--prefix".into(), prefix.to_owned()];
        extra.extend(keys.iter().cloned());
        output(spawn("shutdown-writer", common, &extra, false));
    }
    let mut written = Vec::new();
    for (mut child, mut out) in holders {
        let mut stdin = child.stdin.take().unwrap_or_else(|| die("no child stdin"));
        if let Err(e) = writeln!(stdin, "go") {
            die(format!("cannot signal a holder: {e}"));
        }
        drop(stdin);
        let mut text = String::new();
        if let Err(e) = out.read_to_string(&mut text) {
            die(e);
        }
        output(child);
        written.push(
            text.lines()
                .find_map(|l| l.strip_prefix("closed written "))
                .map_or(-1, num::<i64>),
        );
    }
    let schema = &common.schema;
    let clobbered = count(
        admin,
        &format!(
            "SELECT count(*) FROM {schema}.cache_storage WHERE namespace = 'shutdown' \
             AND key ~ '^[hd][0-9]+$' AND value NOT LIKE '\"newer-%'"
        ),
        &[],
    );
    let own = count(
        admin,
        &format!(
            "SELECT count(*) FROM {schema}.cache_storage WHERE namespace = 'shutdown' \
             AND key LIKE '%-own' AND value LIKE '\"own-%'"
        ),
        &[],
    );
    println!(
        "on-shutdown write-back: 2 holders x {SHUTDOWN_KEYS} stale pending rows, committed newer by another \
         process; clobbered rows: {clobbered}; the holders' other pending rows written at close: {} and {} \
         (of {SHUTDOWN_KEYS} each; the deaf holder's write-back met `conflict`), stored: {own}",
        written[0], written[1]
    );
    let expected = SHUTDOWN_KEYS as i64;
    clobbered != 0 || own != 2 * expected || written.iter().any(|w| *w != expected)
}

/// Scenario 4, throughput: N processes writing distinct rows at once.
fn throughput(common: &Common, processes: u64, seconds: u64) {
    let children: Vec<_> = (0..processes)
        .map(|i| {
            let extra = [
                "--id".into(),
                i.to_string(),
                "--seconds".into(),
                seconds.to_string(),
            ];
            spawn("throughput", common, &extra, false)
        })
        .collect();
    let writes: u64 = children
        .into_iter()
        .flat_map(|c| {
            output(c)
                .lines()
                .filter_map(|l| l.strip_prefix("writes ").map(num::<u64>))
                .collect::<Vec<_>>()
        })
        .sum();
    println!(
        "throughput: {processes} processes, {writes} on-change `set` calls in {seconds} s = {:.0} writes/s \
         (each one transaction with its notification, through the component)",
        writes as f64 / seconds.max(1) as f64
    );
}
