//! The writer process of a chaos trial, and the line it prints per acknowledged
//! write: `<kind> <chat> <seq> <unix-micros>`, printed only after the call returned.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cache_host::storage::sqlite::SqliteStorage;
use cache_host::{CacheService, Error, WriteBack};

use crate::stall::Stalling;

/// The user whose data the on-change writes set.
const USER: i64 = 1;
/// The field both kinds of write carry.
const SEQ: &str = "seq";

/// Which persistence a write had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `set-user-data` (the user-data table, written before the call returns).
    OnChange,
    /// `set-chat-info` (the `chats` namespace, written back later).
    OnShutdown,
}

/// One acknowledged write, as the writer printed it.
#[derive(Debug, Clone)]
pub struct Ack {
    /// Its persistence.
    pub kind: Kind,
    /// The chat written.
    pub chat: i64,
    /// The sequence number written (increasing within one writer).
    pub seq: u64,
    /// When the call returned, in microseconds since the Unix epoch.
    pub at_micros: u64,
}

impl Ack {
    /// Parses one line the writer printed; `None` for anything else (a line cut by
    /// the kill).
    pub fn parse(line: &str) -> Option<Ack> {
        let mut parts = line.split(' ');
        let kind = match parts.next()? {
            "c" => Kind::OnChange,
            "s" => Kind::OnShutdown,
            _ => return None,
        };
        let chat = parts.next()?.parse().ok()?;
        let seq = parts.next()?.parse().ok()?;
        let at_micros = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(Ack {
            kind,
            chat,
            seq,
            at_micros,
        })
    }
}

/// The writer's arguments.
#[derive(Debug, clap::Args)]
pub struct WriterArgs {
    #[arg(long)]
    db: PathBuf,
    #[arg(long)]
    wasm: PathBuf,
    #[arg(long)]
    seed: u64,
    #[arg(long)]
    write_back_age: f64,
    #[arg(long)]
    write_back_pending: u32,
    #[arg(long)]
    keys: u32,
    #[arg(long)]
    pace_us: u64,
    #[arg(long, default_value_t = 0.0)]
    stall_rate: f64,
    #[arg(long, default_value_t = 0)]
    stall_ms: u64,
    #[arg(long, default_value_t = 10_000)]
    call_time_ms: u64,
}

/// Microseconds since the Unix epoch (both processes read the same clock).
pub fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Writes until killed.
pub fn run(args: &WriterArgs) -> Result<(), String> {
    let write_back = WriteBack {
        max_age: WriteBack::age_from_secs(args.write_back_age)?,
        max_pending: WriteBack::pending_from_count(args.write_back_pending),
    };
    let opening = |e: &dyn std::fmt::Display| format!("writer: opening {}: {e}", args.db.display());
    let storage = SqliteStorage::open(&args.db).map_err(|e| opening(&e))?;
    // Every storage call may stall far longer than the guest's CPU bound.
    let cache = CacheService::builder(&args.wasm)
        .write_back(write_back)
        .call_time_limit(Duration::from_millis(args.call_time_ms))
        .build(Stalling::new(
            storage,
            args.seed,
            args.stall_rate,
            Duration::from_millis(args.stall_ms),
        ))
        .map_err(|e| opening(&e))?;
    let mut rng = fastrand::Rng::with_seed(args.seed);
    let mut out = std::io::stdout().lock();
    let keys = i64::from(args.keys.max(1));
    for seq in 1u64.. {
        let chat = rng.i64(0..keys);
        let kind = if rng.bool() {
            Kind::OnChange
        } else {
            Kind::OnShutdown
        };
        match kind {
            Kind::OnChange => cache.set_user_data(chat, USER, SEQ, &seq.to_string()),
            Kind::OnShutdown => cache.set_chat_info(chat, &format!(r#"{{"{SEQ}":{seq}}}"#)),
        }
        .map_err(|e| format!("writer: write {seq} failed: {e}"))?;
        let tag = if kind == Kind::OnChange { "c" } else { "s" };
        writeln!(out, "{tag} {chat} {seq} {}", now_micros())
            .and_then(|()| out.flush())
            .map_err(|e| format!("writer: stdout: {e}"))?;
        if args.pace_us > 0 {
            std::thread::sleep(Duration::from_micros(args.pace_us));
        }
    }
    Ok(())
}

/// The sequence number storage holds for `chat` (0 if none).
pub fn stored_seq<S: cache_host::ServiceStorage>(
    cache: &CacheService<S>,
    kind: Kind,
    chat: i64,
) -> Result<u64, Error> {
    let text = match kind {
        Kind::OnChange => Some(cache.get_user_data(chat, USER)?),
        Kind::OnShutdown => cache.get_chat_info(chat)?,
    };
    let Some(text) = text else {
        return Ok(0);
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| Error::InvalidJson(format!("chat {chat}: {e}")))?;
    Ok(match &value[SEQ] {
        serde_json::Value::Number(n) => n.as_u64().unwrap_or(0),
        // User data items are JSON text per item; `seq` was stored as a number.
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    })
}
