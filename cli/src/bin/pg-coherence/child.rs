//! The child processes of `pg-coherence run`: each opens its own `CacheService`
//! over the run's schema and prints what it did, one line per fact, on stdout.

use std::io::{BufRead, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cache_host::storage::{FeedEvent, RemoteChange};
use cache_host::{Error, SettingsMode, StorageErrorKind, WriteBack};
use clap::Args;

use crate::{die, now_us, Common};

/// The chat whose settings every counter process adds keys to.
pub const SHARED_CHAT: i64 = -1;
/// The user (in [`SHARED_CHAT`]) whose data every counter process adds keys to.
pub const SHARED_USER: i64 = 7;
/// The chats of the settings probes are `SETTINGS_PROBE_BASE + j`.
pub const SETTINGS_PROBE_BASE: i64 = 1000;
/// The chat of the user-data probes (user `j`).
pub const DATA_PROBE_CHAT: i64 = 2000;

/// Arguments of `counter`.
#[derive(Debug, Args)]
pub struct CounterArgs {
    #[command(flatten)]
    common: Common,
    /// This process's number.
    #[arg(long)]
    id: u64,
    /// Operations: a third each of counter increments, settings keys, data keys.
    #[arg(long, default_value_t = 300)]
    ops: u64,
    /// How many shared counters.
    #[arg(long, default_value_t = 4)]
    keys: u64,
}

/// Arguments of the probe writer and readers.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    common: Common,
    /// Probes of each kind (row, chat settings, user data).
    #[arg(long, default_value_t = 40)]
    probes: u64,
    /// The writer's pause between probes, in milliseconds.
    #[arg(long, default_value_t = 5)]
    gap_ms: u64,
    /// How long a reader waits for every change, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
}

/// Arguments of the shutdown holder and writer.
#[derive(Debug, Args)]
pub struct HolderArgs {
    #[command(flatten)]
    common: Common,
    /// The key prefix of the rows (`PREFIX0`..).
    #[arg(long)]
    prefix: String,
    /// How many rows.
    #[arg(long, default_value_t = 20)]
    keys: u64,
    /// Hear no other process (only the stale-row check protects the rows).
    #[arg(long)]
    deaf: bool,
}

/// Arguments of `throughput`.
#[derive(Debug, Args)]
pub struct ThroughputArgs {
    #[command(flatten)]
    common: Common,
    /// This process's number.
    #[arg(long)]
    id: u64,
    /// How long to write, in seconds.
    #[arg(long, default_value_t = 3)]
    seconds: u64,
}

fn out(line: std::fmt::Arguments<'_>) {
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        die(format!("cannot write to stdout: {e}"));
    }
}

fn is_conflict(e: &Error) -> bool {
    e.storage_kind() == Some(StorageErrorKind::Conflict)
}

/// Retries `f` while storage says `conflict` (the service dropped the stale copy);
/// returns the result and how many conflicts it met.
fn retrying<T>(mut f: impl FnMut() -> Result<T, Error>) -> (T, u64) {
    let mut conflicts = 0;
    loop {
        match f() {
            Ok(v) => return (v, conflicts),
            Err(e) if is_conflict(&e) => conflicts += 1,
            Err(e) => die(e),
        }
    }
}

/// Increments shared counters and adds this process's keys to one chat's settings
/// and one user's data; prints `acked counter cK N`, `acked settings N`,
/// `acked data N` and `conflicts N`.
pub fn counter(args: &CounterArgs) {
    let cache = args.common.open(WriteBack::default(), None);
    let keys = args.keys.max(1);
    let mut acked = vec![0u64; keys as usize];
    let (mut settings, mut data, mut conflicts) = (0u64, 0u64, 0u64);
    let mut seed = args.id.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for n in 0..args.ops {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        match n % 3 {
            0 => {
                let k = (seed % keys) as usize;
                let key = format!("c{k}");
                let ((), c) = retrying(|| {
                    let current: u64 = match cache.get("counters", &key)? {
                        Some(v) => v
                            .parse()
                            .unwrap_or_else(|_| die(format!("counter {key} holds {v:?}"))),
                        None => 0,
                    };
                    cache.set("counters", &key, &(current + 1).to_string())
                });
                conflicts += c;
                acked[k] += 1;
            }
            1 => {
                let json = format!(r#"{{"p{}-{n}":"1"}}"#, args.id);
                let ((), c) =
                    retrying(|| cache.set_chat_settings(SHARED_CHAT, &json, SettingsMode::Merge));
                conflicts += c;
                settings += 1;
            }
            _ => {
                let key = format!("p{}-{n}", args.id);
                let ((), c) = retrying(|| cache.set_user_data(SHARED_CHAT, SHARED_USER, &key, "1"));
                conflicts += c;
                data += 1;
            }
        }
    }
    if let Err(e) = cache.close() {
        die(e);
    }
    for (k, n) in acked.iter().enumerate() {
        out(format_args!("acked counter c{k} {n}"));
    }
    out(format_args!("acked settings {settings}"));
    out(format_args!("acked data {data}"));
    out(format_args!("conflicts {conflicts}"));
}

/// Overwrites each probe (row, chat settings, user data) with `new-J`; prints
/// `ack KIND J MICROS` once each call returned.
pub fn probe_writer(args: &ProbeArgs) {
    let cache = args.common.open(WriteBack::default(), None);
    for j in 0..args.probes {
        let new = format!("new-{j}");
        let checked = |r: Result<(), Error>| r.unwrap_or_else(|e| die(e));
        checked(cache.set("probes", &format!("probe-{j}"), &format!("\"{new}\"")));
        out(format_args!("ack r {j} {}", now_us()));
        let json = format!(r#"{{"v":"{new}"}}"#);
        checked(cache.set_chat_settings(
            SETTINGS_PROBE_BASE + j as i64,
            &json,
            SettingsMode::Merge,
        ));
        out(format_args!("ack s {j} {}", now_us()));
        checked(cache.set_user_data(DATA_PROBE_CHAT, j as i64, "v", &format!("\"{new}\"")));
        out(format_args!("ack u {j} {}", now_us()));
        std::thread::sleep(Duration::from_millis(args.gap_ms));
    }
    if let Err(e) = cache.close() {
        die(e);
    }
}

/// The probe (kind, number) an event is about, if it is one.
fn probe_of(event: &FeedEvent) -> Option<(char, u64)> {
    match event {
        FeedEvent::Change(RemoteChange::Row { namespace, key, .. }) if namespace == "probes" => key
            .strip_prefix("probe-")
            .and_then(|j| j.parse().ok())
            .map(|j| ('r', j)),
        FeedEvent::Change(RemoteChange::ChatSettings(chat)) => (chat - SETTINGS_PROBE_BASE)
            .try_into()
            .ok()
            .map(|j| ('s', j)),
        FeedEvent::Change(RemoteChange::UserData { chat_id, user_id })
            if *chat_id == DATA_PROBE_CHAT =>
        {
            (*user_id).try_into().ok().map(|j| ('u', j))
        }
        _ => None,
    }
}

/// Caches every probe, prints `ready`, then for each probe change its service
/// applied reads the probe through the cache; prints `recv KIND J MICROS fresh|stale`
/// (MICROS: when the change was applied).
pub fn probe_reader(args: &ProbeArgs) {
    let delivered: Arc<Mutex<Vec<(char, u64, i64)>>> = Arc::default();
    let sink = Arc::clone(&delivered);
    let observer = Arc::new(move |event: &FeedEvent| {
        let at = now_us();
        if let Some((kind, j)) = probe_of(event) {
            sink.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((kind, j, at));
        }
    });
    let cache = args.common.open(WriteBack::default(), Some(observer));
    let read = |kind: char, j: u64| -> String {
        let r = match kind {
            'r' => cache
                .get("probes", &format!("probe-{j}"))
                .map(|v| v.unwrap_or_default()),
            's' => cache.get_chat_settings(SETTINGS_PROBE_BASE + j as i64),
            _ => cache.get_user_data(DATA_PROBE_CHAT, j as i64),
        };
        r.unwrap_or_else(|e| die(e))
    };
    for j in 0..args.probes {
        for kind in ['r', 's', 'u'] {
            if !read(kind, j).contains(&format!("old-{j}")) {
                die(format!("probe {kind} {j} was not seeded"));
            }
        }
    }
    out(format_args!("ready"));
    let expected = args.probes * 3;
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut done = 0;
    while Instant::now() < deadline && done < expected {
        let batch = std::mem::take(&mut *delivered.lock().unwrap_or_else(|p| p.into_inner()));
        for (kind, j, at) in batch {
            // Delivered: a read through this process's cache must be fresh.
            let fresh = read(kind, j).contains(&format!("new-{j}"));
            out(format_args!(
                "recv {kind} {j} {at} {}",
                if fresh { "fresh" } else { "stale" }
            ));
            done += 1;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if let Err(e) = cache.close() {
        die(e);
    }
}

/// Reads each row `PREFIXk` (caching it), sets it to `"stale-k"` and `PREFIXk-own`
/// to `"own-k"` in the on-shutdown namespace (write-back off), prints `pending`,
/// waits for `go` on stdin, then closes; prints `closed written N`.
pub fn shutdown_holder(args: &HolderArgs) {
    let cache = if args.deaf {
        args.common.open_deaf(WriteBack::NEVER)
    } else {
        args.common.open(WriteBack::NEVER, None)
    };
    let p = &args.prefix;
    for k in 0..args.keys {
        let checked = |r: Result<(), Error>| r.unwrap_or_else(|e| die(e));
        if let Err(e) = cache.get("shutdown", &format!("{p}{k}")) {
            die(e);
        }
        checked(cache.set("shutdown", &format!("{p}{k}"), &format!("\"stale-{k}\"")));
        checked(cache.set("shutdown", &format!("{p}{k}-own"), &format!("\"own-{k}\"")));
    }
    out(format_args!("pending"));
    let mut line = String::new();
    if let Err(e) = std::io::stdin().lock().read_line(&mut line) {
        die(format!("cannot read stdin: {e}"));
    }
    if line.trim() != "go" {
        die(format!("expected `go` on stdin, got {line:?}"));
    }
    match cache.close() {
        Ok(report) => out(format_args!("closed written {}", report.written)),
        Err(e) => die(e),
    }
}

/// Sets each row `PREFIXk` to `"newer-k"` in the on-shutdown namespace and closes
/// (persist-all); prints `acked`.
pub fn shutdown_writer(args: &HolderArgs) {
    let cache = args.common.open(WriteBack::NEVER, None);
    for k in 0..args.keys {
        let key = format!("{}{k}", args.prefix);
        if let Err(e) = cache.set("shutdown", &key, &format!("\"newer-{k}\"")) {
            die(e);
        }
    }
    if let Err(e) = cache.close() {
        die(e);
    }
    out(format_args!("acked"));
}

/// Writes distinct rows of an on-change namespace for the given time; prints
/// `writes N`.
pub fn throughput(args: &ThroughputArgs) {
    let cache = args.common.open(WriteBack::default(), None);
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let mut n = 0u64;
    while Instant::now() < deadline {
        let key = format!("w{}-{}", args.id, n % 1000);
        if let Err(e) = cache.set("throughput", &key, &n.to_string()) {
            die(e);
        }
        n += 1;
    }
    if let Err(e) = cache.close() {
        die(e);
    }
    out(format_args!("writes {n}"));
}
