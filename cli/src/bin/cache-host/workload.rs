//! `cache-host run`: a bot workload, a graceful stop, a restart, and a durability check.
//!
//! The workload drives the `bot` interface the way the bot does: settings reads and
//! writes, chat info, user data, user state, over more chats and users than the cache
//! holds, so entries are evicted (dirty on-shutdown chats included). It remembers every
//! write that was acknowledged, then closes the service (persist-all), loads the
//! component again from its precompiled artifact, reopens the same file and checks
//! that every acknowledged write is there and memory-only state is not.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cache_host::{ArtifactSource, Error, RuntimeOptions, SettingsMode};
use serde_json::{json, Value};

use crate::exit::{self, Failure};
use crate::out::outln;
use crate::Cli;

/// Sizes of the `run` workload.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Number of distinct chats (more than the 1000-entry capacity forces evictions).
    #[arg(long, default_value_t = 5000)]
    chats: i64,
    /// Number of distinct users.
    #[arg(long, default_value_t = 3000)]
    users: i64,
    /// Number of bot operations.
    #[arg(long, default_value_t = 100_000)]
    ops: u64,
    /// Seed of the pseudo-random workload.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// A small deterministic generator (SplitMix64), enough to spread keys.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `1..=n` (n >= 1).
    fn id(&mut self, n: i64) -> i64 {
        1 + (self.next() % n.max(1) as u64) as i64
    }
    /// A skewed pick: half the time among the first tenth (hot chats and users).
    fn skewed(&mut self, n: i64) -> i64 {
        if self.next().is_multiple_of(2) {
            self.id((n / 10).max(1))
        } else {
            self.id(n)
        }
    }
}

#[derive(Default, Clone, Copy)]
struct OpStats {
    count: u64,
    total: Duration,
    max: Duration,
    errors: u64,
}

#[derive(Default)]
struct Expected {
    /// chat -> settings object (string values only, so they round-trip through the
    /// plain-text `chat_settings` table unchanged).
    settings: HashMap<i64, Value>,
    /// chat -> info object (on-shutdown `chats` namespace only).
    info: HashMap<i64, Value>,
    /// (chat, user) -> key -> value.
    user_data: HashMap<(i64, i64), BTreeMap<String, Value>>,
    /// Users with memory-only state set in this run.
    state_users: Vec<i64>,
}

const OPS: [&str; 9] = [
    "get-chat-settings",
    "set-chat-settings",
    "get-chat-info",
    "set-chat-info",
    "get-user-data",
    "set-user-data",
    "get-user-state",
    "set-user-state",
    "clear-user-state",
];

pub fn run(cli: &Cli, args: &RunArgs) -> Result<u8, Failure> {
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        if let Err(e) = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst)) {
            tracing::warn!(error = %e, "cannot install the SIGINT/SIGTERM handler");
        }
    }
    let source = crate::component::Source::choose(cli.wasm.as_ref())?;
    let total = Instant::now();

    // ---- phase 1: start, workload, graceful stop ----
    let t = Instant::now();
    let runtime = source.load(&RuntimeOptions::default())?;
    let runtime_load_1 = t.elapsed();
    let source_1 = runtime.artifact_source().clone();
    let t = Instant::now();
    let builder = crate::configured(cli)?.runtime(runtime.clone());
    let cache = crate::open_db(builder, cli, &crate::read_write(cli))?;
    let open_1 = t.elapsed();
    let start_1 = cache.last_start_timing();
    let loaded_1 = cache.last_start_report().map(|r| r.loaded).unwrap_or(0);

    let mut rng = Rng(args.seed);
    let mut expected = Expected::default();
    let mut stats = [OpStats::default(); OPS.len()];
    let mut mismatches: Vec<String> = Vec::new();
    let t = Instant::now();
    let mut done = 0u64;
    for i in 0..args.ops {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        step(
            &cache,
            &mut rng,
            args,
            i,
            &mut expected,
            &mut stats,
            &mut mismatches,
        );
        done += 1;
    }
    let workload_time = t.elapsed();
    let stats_before_close = cache.stats()?;
    let t = Instant::now();
    let persisted = cache.close()?;
    let close_time = t.elapsed();
    drop(cache);
    drop(runtime);
    if stop.load(Ordering::Relaxed) {
        eprintln!(
            "cache-host: interrupted after {done} operations; persisted {} entries and stopped",
            persisted.written
        );
        return Ok(exit::INTERRUPTED);
    }

    // ---- phase 2: restart from the same file and check ----
    let t = Instant::now();
    let runtime = source.load(&RuntimeOptions::default())?;
    let runtime_load_2 = t.elapsed();
    let source_2 = runtime.artifact_source().clone();
    let t = Instant::now();
    let builder = crate::configured(cli)?.runtime(runtime.clone());
    let cache = crate::open_db(builder, cli, &crate::read_write(cli))?;
    let open_2 = t.elapsed();
    let start_2 = cache.last_start_timing();
    let report_2 = cache.last_start_report();

    let t = Instant::now();
    let (checked, lost) = verify(&cache, &expected)?;
    let verify_time = t.elapsed();
    cache.close()?;

    // ---- report ----
    let evictions: u64 = stats_before_close.iter().map(|s| s.evictions).sum();
    let errors: u64 = stats.iter().map(|s| s.errors).sum();
    outln!(
        "cache-host run: {} ({} ops, {} chats, {} users)",
        cli.db.display(),
        done,
        args.chats,
        args.users
    );
    outln!();
    outln!(
        "{:<22} {:>10} {:>12} {:>12} {:>8}",
        "operation",
        "count",
        "mean µs",
        "max µs",
        "errors"
    );
    for (name, s) in OPS.iter().zip(stats.iter()) {
        let mean = if s.count > 0 {
            s.total.as_secs_f64() * 1e6 / s.count as f64
        } else {
            0.0
        };
        outln!(
            "{:<22} {:>10} {:>12.2} {:>12.1} {:>8}",
            name,
            s.count,
            mean,
            s.max.as_secs_f64() * 1e6,
            s.errors
        );
    }
    outln!();
    outln!("{:<40} {:>12}", "namespace (before close)", "size/evicted");
    for s in &stats_before_close {
        outln!(
            "{:<40} {:>12}",
            s.name,
            format!("{}/{}", s.size, s.evictions)
        );
    }
    outln!();
    let ms = |d: Duration| format!("{:.3} ms", d.as_secs_f64() * 1e3);
    let src = |s: &ArtifactSource| match s {
        ArtifactSource::Cached(_) => "precompiled artifact",
        ArtifactSource::Compiled { .. } => "compiled",
    };
    let row = |k: &str, v: String| outln!("{k:<46} {v:>24}");
    row(
        &format!("runtime load, 1st start ({})", src(&source_1)),
        ms(runtime_load_1),
    );
    row(
        &format!("runtime load, restart ({})", src(&source_2)),
        ms(runtime_load_2),
    );
    if let Some(s) = start_1 {
        row("instantiate, 1st start", ms(s.instantiate));
    }
    if let Some(s) = start_2 {
        row("instantiate, restart", ms(s.instantiate));
        row("load-from-storage, restart", ms(s.load));
    }
    row("open service, 1st start", ms(open_1));
    row("open service, restart", ms(open_2));
    row(
        "rows loaded at start (1st / restart)",
        format!(
            "{} / {}",
            loaded_1,
            report_2.as_ref().map(|r| r.loaded).unwrap_or(0)
        ),
    );
    row(
        "workload",
        format!(
            "{} ({:.0} ops/s)",
            ms(workload_time),
            done as f64 / workload_time.as_secs_f64().max(1e-9)
        ),
    );
    row(
        "close (persist-all)",
        format!("{} ({} written)", ms(close_time), persisted.written),
    );
    row("verify after restart", ms(verify_time));
    row("evictions", evictions.to_string());
    row("operation errors", errors.to_string());
    row("acknowledged writes checked", checked.to_string());
    row("lost or wrong after restart", lost.len().to_string());
    row("mismatches during workload", mismatches.len().to_string());
    row("total", ms(total.elapsed()));
    for m in lost.iter().chain(mismatches.iter()).take(10) {
        eprintln!("cache-host: {m}");
    }
    if !lost.is_empty() || !mismatches.is_empty() || errors > 0 {
        eprintln!(
            "cache-host: FAILED: {} lost, {} mismatches, {} errors",
            lost.len(),
            mismatches.len(),
            errors
        );
        return Ok(exit::FAILED);
    }
    outln!("\nOK: every acknowledged write survived the restart");
    Ok(exit::OK)
}

fn timed<T>(stats: &mut OpStats, f: impl FnOnce() -> Result<T, Error>) -> Option<T> {
    let t = Instant::now();
    let r = f();
    let d = t.elapsed();
    stats.count += 1;
    stats.total += d;
    stats.max = stats.max.max(d);
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            stats.errors += 1;
            tracing::error!(error = %e, "operation failed");
            None
        }
    }
}

fn step(
    cache: &crate::Service,
    rng: &mut Rng,
    args: &RunArgs,
    i: u64,
    expected: &mut Expected,
    stats: &mut [OpStats; OPS.len()],
    mismatches: &mut Vec<String>,
) {
    let chat = -(1_000_000 + rng.skewed(args.chats));
    let user = rng.skewed(args.users);
    let roll = rng.next() % 100;
    match roll {
        0..=24 => {
            if let Some(text) = timed(&mut stats[0], || cache.get_chat_settings(chat)) {
                if let Some(want) = expected.settings.get(&chat) {
                    if !contains(&text, want) {
                        mismatches.push(format!("chat {chat}: settings {text} lack {want}"));
                    }
                }
            }
        }
        25..=32 => {
            let lang = ["en", "ru", "de"][(rng.next() % 3) as usize];
            let settings = json!({
                "lang": lang,
                "model": format!("model-{}", rng.next() % 5),
                "rev": i.to_string(),
            });
            let text = settings.to_string();
            if timed(&mut stats[1], || {
                cache.set_chat_settings(chat, &text, SettingsMode::Rewrite)
            })
            .is_some()
            {
                expected.settings.insert(chat, settings);
            }
        }
        33..=42 => {
            if let Some(got) = timed(&mut stats[2], || cache.get_chat_info(chat)) {
                if let Some(want) = expected.info.get(&chat) {
                    let ok = got
                        .as_deref()
                        .and_then(|t| serde_json::from_str::<Value>(t).ok())
                        .is_some_and(|v| &v == want);
                    if !ok {
                        mismatches.push(format!("chat {chat}: info {got:?}, expected {want}"));
                    }
                }
            }
        }
        43..=50 => {
            let info =
                json!({"title": format!("chat {chat}"), "members": rng.next() % 500, "rev": i});
            let text = info.to_string();
            if timed(&mut stats[3], || cache.set_chat_info(chat, &text)).is_some() {
                expected.info.insert(chat, info);
            }
        }
        51..=65 => {
            if let Some(text) = timed(&mut stats[4], || cache.get_user_data(chat, user)) {
                if let Some(want) = expected.user_data.get(&(chat, user)) {
                    let want = Value::Object(want.clone().into_iter().collect());
                    if !contains(&text, &want) {
                        mismatches
                            .push(format!("chat {chat} user {user}: data {text} lack {want}"));
                    }
                }
            }
        }
        66..=75 => {
            let key = ["karma", "nickname", "lastSeen"][(rng.next() % 3) as usize];
            let value = match key {
                "karma" => json!(rng.next() % 1000),
                "nickname" => json!(format!("user-{user}-{i}")),
                _ => json!({"ts": i, "chat": chat}),
            };
            let text = value.to_string();
            if timed(&mut stats[5], || {
                cache.set_user_data(chat, user, key, &text)
            })
            .is_some()
            {
                expected
                    .user_data
                    .entry((chat, user))
                    .or_default()
                    .insert(key.to_string(), value);
            }
        }
        76..=87 => {
            timed(&mut stats[6], || cache.get_user_state(user, "step"));
        }
        88..=96 => {
            let value = json!({"step": rng.next() % 7, "at": i}).to_string();
            if timed(&mut stats[7], || cache.set_user_state(user, "step", &value)).is_some() {
                expected.state_users.push(user);
            }
        }
        _ => {
            timed(&mut stats[8], || cache.clear_user_state(user, None));
        }
    }
}

/// Whether the JSON object `text` has every key of `want` with the same value.
fn contains(text: &str, want: &Value) -> bool {
    let Ok(Value::Object(got)) = serde_json::from_str::<Value>(text) else {
        return false;
    };
    match want {
        Value::Object(want) => want.iter().all(|(k, v)| got.get(k) == Some(v)),
        _ => false,
    }
}

/// Checks every acknowledged write of the run; returns (checked, problems).
fn verify(cache: &crate::Service, expected: &Expected) -> Result<(u64, Vec<String>), Error> {
    let mut checked = 0u64;
    let mut lost = Vec::new();
    for (chat, want) in &expected.settings {
        checked += 1;
        let got = cache.get_chat_settings(*chat)?;
        if !contains(&got, want) {
            lost.push(format!(
                "chat {chat}: settings after restart {got}, expected {want}"
            ));
        }
    }
    for (chat, want) in &expected.info {
        checked += 1;
        let got = cache.get_chat_info(*chat)?;
        let ok = got
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .is_some_and(|v| &v == want);
        if !ok {
            lost.push(format!(
                "chat {chat}: info after restart {got:?}, expected {want}"
            ));
        }
    }
    for ((chat, user), want) in &expected.user_data {
        checked += 1;
        let got = cache.get_user_data(*chat, *user)?;
        let want = Value::Object(want.clone().into_iter().collect());
        if !contains(&got, &want) {
            lost.push(format!(
                "chat {chat} user {user}: data after restart {got}, expected {want}"
            ));
        }
    }
    for user in expected.state_users.iter().take(200) {
        if let Some(state) = cache.get_user_state(*user, "step")? {
            lost.push(format!(
                "user {user}: memory-only state survived the restart: {state}"
            ));
        }
    }
    Ok((checked, lost))
}
