//! `cache-chaos` (`just chaos`): kills a real writer process with SIGKILL at random
//! points, many times, and reports what an operator needs to trust the cache:
//! acknowledged writes, lost on-change writes (must be 0), and lost on-shutdown
//! writes against the write-back bound ([`cache_host::WriteBack`]).
//!
//! Each trial starts a writer (this binary, `writer` subcommand) on a fresh SQLite
//! file. The writer sets chat info (`chats`, on-shutdown) and user data (`chatUsers`,
//! on-change) with an increasing sequence number and prints one line per
//! acknowledged write. After a random time the trial SIGKILLs it, reopens the file
//! and compares. A tool people run, like the benchmarks, not a timed test.

mod stall;
mod writer;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use cache_host::{CacheService, WriteBack};
use clap::{Parser, Subcommand};

use crate::writer::{now_micros, Ack, Kind, WriterArgs};

/// SIGKILL a writer process at random points and count lost writes.
#[derive(Debug, Parser)]
#[command(name = "cache-chaos", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Sub {
    /// The writer process (started by the trials; not for direct use).
    #[command(hide = true)]
    Writer(WriterArgs),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    /// How many writers to kill.
    #[arg(long, default_value_t = 20)]
    trials: u32,
    /// The writer's write-back age bound in seconds (0 = never by age). Default: the
    /// host's default.
    #[arg(long, default_value_t = WriteBack::DEFAULT_MAX_AGE.as_secs_f64())]
    write_back_age: f64,
    /// The writer's write-back count bound (0 = never by count). Default: the host's
    /// default.
    #[arg(long, default_value_t = WriteBack::DEFAULT_MAX_PENDING)]
    write_back_pending: u32,
    /// Each writer is killed at a uniformly random time up to this many seconds.
    #[arg(long, default_value_t = 12.0)]
    max_run: f64,
    /// Distinct chats written (on-shutdown entries can be pending for each).
    #[arg(long, default_value_t = 400)]
    keys: u32,
    /// Pause between two writes, in microseconds.
    #[arg(long, default_value_t = 200)]
    pace_us: u64,
    /// Scheduling allowance on the age bound, in milliseconds: a write-back is due at
    /// the bound and takes this long at most to land on a loaded machine.
    #[arg(long, default_value_t = 250)]
    slack_ms: u64,
    /// The first trial's seed (trial i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Stalled storage: the share of the writer's storage calls (0 to 1) that first
    /// sleep `--stall-ms`, far past the writer's CPU bound (`--call-time-ms`). A
    /// storage wait is not guest time: no write may fail, and the loss bound grows
    /// by two stalls (a write-back can wait for one call's stall, then stall itself).
    #[arg(long, default_value_t = 0.0)]
    stall_rate: f64,
    /// How long a stalled storage call sleeps, in milliseconds.
    #[arg(long, default_value_t = 300)]
    stall_ms: u64,
    /// The writer's CPU bound per call, in milliseconds.
    #[arg(long, default_value_t = 100)]
    call_time_ms: u64,
    /// The cache component. Default: $CACHE_HOST_WASM, else target/cache.wasm.
    #[arg(long)]
    wasm: Option<PathBuf>,
}

/// What one trial found.
#[derive(Debug, Default)]
struct Trial {
    acked_on_change: u64,
    acked_on_shutdown: u64,
    lost_on_change: u64,
    lost_on_shutdown: u64,
    /// Chats whose newest acknowledged on-shutdown write was lost.
    lost_entries: u64,
    /// Age at the kill of the oldest lost on-shutdown write, in ms.
    oldest_lost_ms: Option<f64>,
    /// Writes in flight at the kill that landed anyway (allowed).
    landed_in_flight: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Sub::Writer(args)) => writer::run(&args).map(|()| ExitCode::SUCCESS),
        None => run(&cli.run),
    };
    result.unwrap_or_else(|e| {
        eprintln!("cache-chaos: {e}");
        ExitCode::from(2)
    })
}

fn wasm_path(args: &RunArgs) -> PathBuf {
    args.wasm
        .clone()
        .or_else(|| std::env::var_os("CACHE_HOST_WASM").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/cache.wasm"))
}

fn run(args: &RunArgs) -> Result<ExitCode, String> {
    let age = WriteBack::age_from_secs(args.write_back_age)?;
    let pending = WriteBack::pending_from_count(args.write_back_pending);
    if !(args.max_run.is_finite() && args.max_run > 0.0) {
        return Err(format!("--max-run {} must be positive", args.max_run));
    }
    if !(0.0..=1.0).contains(&args.stall_rate) {
        return Err(format!(
            "--stall-rate {} must be within 0 and 1",
            args.stall_rate
        ));
    }
    let wasm = wasm_path(args);
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    println!(
        "cache-chaos: {} trials, write-back age {}, pending {}, kill within {} s, {} chats",
        args.trials,
        age.map_or("off".into(), |a| format!("{a:?}")),
        pending.map_or("off".into(), |p| p.to_string()),
        args.max_run,
        args.keys
    );
    if args.stall_rate > 0.0 {
        println!(
            "cache-chaos: stalled storage: {:.1} % of storage calls sleep {} ms; CPU bound {} ms per call",
            args.stall_rate * 100.0,
            args.stall_ms,
            args.call_time_ms
        );
    }
    let mut trials = Vec::new();
    for i in 0..args.trials {
        let seed = args.seed.wrapping_add(u64::from(i));
        let trial = one_trial(args, &exe, &wasm, seed)?;
        println!(
            "trial {i:>3}: acked {:>6} on-change, {:>6} on-shutdown; lost {} on-change, {} on-shutdown \
             ({} entries, oldest {}){}",
            trial.acked_on_change,
            trial.acked_on_shutdown,
            trial.lost_on_change,
            trial.lost_on_shutdown,
            trial.lost_entries,
            trial
                .oldest_lost_ms
                .map_or("-".into(), |ms| format!("{ms:.0} ms")),
            if trial.landed_in_flight > 0 {
                format!("; {} in-flight landed", trial.landed_in_flight)
            } else {
                String::new()
            }
        );
        trials.push(trial);
    }
    Ok(summary(args, age, pending, &trials))
}

/// Prints the totals and whether every trial kept within the bound; the exit code
/// says so too (1 if an on-change write was lost or the bound was exceeded).
fn summary(
    args: &RunArgs,
    age: Option<Duration>,
    pending: Option<u32>,
    trials: &[Trial],
) -> ExitCode {
    let sum = |f: fn(&Trial) -> u64| trials.iter().map(f).sum::<u64>();
    let oldest = trials
        .iter()
        .filter_map(|t| t.oldest_lost_ms)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let max_entries = trials.iter().map(|t| t.lost_entries).max().unwrap_or(0);
    let stalls_ms = if args.stall_rate > 0.0 {
        2.0 * args.stall_ms as f64
    } else {
        0.0
    };
    let age_bound_ms = age.map(|a| a.as_secs_f64() * 1000.0 + args.slack_ms as f64 + stalls_ms);
    let age_ok = match (age_bound_ms, oldest) {
        (Some(bound), Some(o)) => o <= bound,
        _ => true,
    };
    let count_ok = pending.is_none_or(|p| max_entries < u64::from(p));
    let lost_on_change = sum(|t| t.lost_on_change);
    println!("trials:                       {}", trials.len());
    println!(
        "acknowledged writes:          {} ({} on-change, {} on-shutdown)",
        sum(|t| t.acked_on_change) + sum(|t| t.acked_on_shutdown),
        sum(|t| t.acked_on_change),
        sum(|t| t.acked_on_shutdown)
    );
    println!("lost on-change writes:        {lost_on_change} (must be 0)");
    println!(
        "lost on-shutdown writes:      {} in all, oldest {} at the kill (age bound {}), at most {} entries in one trial (count bound {})",
        sum(|t| t.lost_on_shutdown),
        oldest.map_or("-".into(), |o| format!("{o:.0} ms")),
        age_bound_ms.map_or("none".into(), |b| format!("{b:.0} ms incl. {} ms slack and {stalls_ms:.0} ms of stalls", args.slack_ms)),
        max_entries,
        pending.map_or("none".into(), |p| format!("fewer than {p}")),
    );
    println!(
        "in-flight writes that landed: {}",
        sum(|t| t.landed_in_flight)
    );
    let ok = lost_on_change == 0 && age_ok && count_ok;
    println!(
        "result:                       {}",
        if ok {
            "within the bound"
        } else {
            "BOUND EXCEEDED"
        }
    );
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn one_trial(
    args: &RunArgs,
    exe: &std::path::Path,
    wasm: &std::path::Path,
    seed: u64,
) -> Result<Trial, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let db = dir.path().join("chaos.db");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut child = Command::new(exe)
        .arg("writer")
        .arg("--db")
        .arg(&db)
        .arg("--wasm")
        .arg(wasm)
        .args(["--seed", &seed.to_string()])
        .args(["--write-back-age", &args.write_back_age.to_string()])
        .args(["--write-back-pending", &args.write_back_pending.to_string()])
        .args(["--keys", &args.keys.to_string()])
        .args(["--pace-us", &args.pace_us.to_string()])
        .args(["--stall-rate", &args.stall_rate.to_string()])
        .args(["--stall-ms", &args.stall_ms.to_string()])
        .args(["--call-time-ms", &args.call_time_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the writer: {e}"))?;
    let stdout = child.stdout.take().ok_or("the writer has no stdout")?;
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .filter_map(|line| Ack::parse(&line))
            .collect::<Vec<Ack>>()
    });
    std::thread::sleep(Duration::from_secs_f64(rng.f64() * args.max_run));
    // A writer that stopped by itself failed a write (a trap, a storage error): the
    // trial is void and the run fails loudly.
    if let Ok(Some(status)) = child.try_wait() {
        return Err(format!(
            "the writer (seed {seed}) stopped before the kill: {status}"
        ));
    }
    let killed_at = now_micros();
    child
        .kill()
        .map_err(|e| format!("cannot SIGKILL the writer: {e}"))?;
    let _ = child.wait();
    let acks = reader.join().map_err(|_| "the reader thread panicked")?;
    check(&db, wasm, &acks, killed_at)
}

/// Reopens the file and compares it with the acknowledgements.
fn check(
    db: &std::path::Path,
    wasm: &std::path::Path,
    acks: &[Ack],
    killed_at: u64,
) -> Result<Trial, String> {
    let cache = CacheService::builder(wasm)
        .open_sqlite(db)
        .map_err(|e| format!("reopening {} after the kill: {e}", db.display()))?;
    let mut by_key: BTreeMap<(Kind, i64), Vec<&Ack>> = BTreeMap::new();
    for ack in acks {
        by_key.entry((ack.kind, ack.chat)).or_default().push(ack);
    }
    let mut trial = Trial::default();
    for ((kind, chat), writes) in &by_key {
        let stored = writer::stored_seq(&cache, *kind, *chat).map_err(|e| e.to_string())?;
        let lost: Vec<&&Ack> = writes.iter().filter(|a| a.seq > stored).collect();
        let newest = writes.iter().map(|a| a.seq).max().unwrap_or(0);
        if stored > newest {
            trial.landed_in_flight += 1;
        }
        match kind {
            Kind::OnChange => {
                trial.acked_on_change += writes.len() as u64;
                trial.lost_on_change += lost.len() as u64;
            }
            Kind::OnShutdown => {
                trial.acked_on_shutdown += writes.len() as u64;
                trial.lost_on_shutdown += lost.len() as u64;
                if !lost.is_empty() {
                    trial.lost_entries += 1;
                }
                for a in lost {
                    let age_ms = killed_at.saturating_sub(a.at_micros) as f64 / 1000.0;
                    trial.oldest_lost_ms =
                        Some(trial.oldest_lost_ms.map_or(age_ms, |m| m.max(age_ms)));
                }
            }
        }
    }
    // Reopening must not have written anything for the check's sake.
    cache.close().map_err(|e| e.to_string())?;
    Ok(trial)
}
