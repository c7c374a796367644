//! `cache-host`: run the cache component over a SQLite file from the command line.
//!
//! `run` is a realistic bot workload with a restart and a durability check; the other
//! subcommands read and write single entries, show stats, persist, and inspect the file.
//! Errors are one line on stderr and a non-zero exit; logs go to stderr by `RUST_LOG`.

mod component;
mod workload;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cache_host::storage::sqlite::{SqliteOptions, SqliteStorage};
use cache_host::{CacheService, CacheServiceBuilder, Error, Persistence, Runtime, RuntimeOptions};
use clap::{Parser, Subcommand};

/// Run the WebAssembly cache component over a SQLite file.
#[derive(Debug, Parser)]
#[command(name = "cache-host", version, about)]
struct Cli {
    /// The SQLite database file (created if missing).
    #[arg(long, global = true, default_value = "./cache.db")]
    db: PathBuf,
    /// The cache component (.wasm). Default: $CACHE_HOST_WASM, else the component
    /// embedded in this binary.
    #[arg(long, global = true)]
    wasm: Option<PathBuf>,
    /// A TOML namespace policy (default: chats on-shutdown, chatUsers on-change, users
    /// memory-only, 1000 entries each).
    #[arg(long, global = true)]
    policy: Option<PathBuf>,
    /// Guest memory limit in MiB.
    #[arg(long, global = true, default_value_t = 256)]
    memory_limit_mib: usize,
    /// CPU bound of one guest call, in milliseconds.
    #[arg(long, global = true, default_value_t = 10_000)]
    call_time_limit_ms: u64,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A bot workload (thousands of chats and users), a graceful stop, a restart from
    /// the same file, and a check that every acknowledged write is there.
    Run(workload::RunArgs),
    /// Print the JSON value of a key (nothing and exit 1 if absent).
    Get {
        /// Namespace, e.g. chats.
        namespace: String,
        /// Key within the namespace (may start with '-', e.g. a chat id).
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
    /// Store a JSON value under a key (persisted as the namespace's policy says; the
    /// command persists on exit).
    Set {
        /// Namespace, e.g. chats.
        namespace: String,
        /// Key within the namespace (may start with '-', e.g. a chat id).
        #[arg(allow_hyphen_values = true)]
        key: String,
        /// The value, as JSON text.
        #[arg(allow_hyphen_values = true)]
        json: String,
    },
    /// Delete a key (in storage too for persisted namespaces).
    Delete {
        /// Namespace, e.g. chats.
        namespace: String,
        /// Key within the namespace (may start with '-', e.g. a chat id).
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
    /// Per-namespace statistics after loading from storage.
    Stats,
    /// Load from storage and run persist-all.
    Persist,
    /// Rows in storage per namespace, with sizes (no component needed).
    Inspect,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                // Help and version are not errors.
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let text = e.to_string();
            let line = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments");
            eprintln!(
                "cache-host: {} (see cache-host --help)",
                line.trim_start_matches("error: ")
            );
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("cache-host: {}", one_line(&e.to_string()));
            ExitCode::FAILURE
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Loads the runtime of the chosen component (see [`component::Source`]).
fn runtime(cli: &Cli) -> Result<Runtime, Error> {
    component::Source::choose(cli.wasm.as_ref())?.load(&RuntimeOptions::default())
}

/// A service builder with the command line's limits and policy; the caller gives it
/// a runtime.
fn configured(cli: &Cli) -> Result<CacheServiceBuilder, Error> {
    let mut b = CacheService::builder("(runtime given)")
        .memory_limit(cli.memory_limit_mib.saturating_mul(1 << 20))
        .call_time_limit(Duration::from_millis(cli.call_time_limit_ms));
    if let Some(policy) = &cli.policy {
        b = b.policy_file(policy)?;
    }
    Ok(b)
}

fn open(cli: &Cli) -> Result<CacheService, Error> {
    configured(cli)?.runtime(runtime(cli)?).open_sqlite(&cli.db)
}

fn run(cli: &Cli) -> Result<ExitCode, Error> {
    match &cli.command {
        Command::Run(args) => workload::run(cli, args),
        Command::Get { namespace, key } => {
            let cache = open(cli)?;
            let value = cache.get(namespace, key)?;
            cache.close()?;
            match value {
                Some(v) => {
                    println!("{v}");
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("cache-host: {namespace}/{key} is not set");
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::Set {
            namespace,
            key,
            json,
        } => {
            let cache = open(cli)?;
            cache.set(namespace, key, json)?;
            let persistence = cache
                .namespaces()
                .iter()
                .find(|n| &n.name == namespace)
                .map(|n| n.persistence);
            cache.close()?;
            if persistence == Some(Persistence::MemoryOnly) {
                eprintln!(
                    "cache-host: note: {namespace} is memory-only, so the value is gone when this command exits"
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Delete { namespace, key } => {
            let cache = open(cli)?;
            let held = cache.delete(namespace, key)?;
            cache.close()?;
            println!(
                "{}",
                if held {
                    "deleted"
                } else {
                    "not held in memory; storage row (if any) deleted"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats => {
            let cache = open(cli)?;
            print_stats(&cache)?;
            cache.close()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Persist => {
            let cache = open(cli)?;
            let report = cache.persist_all()?;
            cache.close()?;
            println!("written {}, deleted {}", report.written, report.deleted);
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect => {
            inspect(&cli.db)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn persistence_name(p: Persistence) -> &'static str {
    match p {
        Persistence::MemoryOnly => "memory-only",
        Persistence::OnChange => "on-change",
        Persistence::OnShutdown => "on-shutdown",
    }
}

fn print_stats(cache: &CacheService) -> Result<(), Error> {
    println!(
        "{:<14} {:<12} {:>8} {:>8} {:>7} {:>10} {:>10} {:>10}",
        "namespace", "persistence", "size", "max", "dirty", "hits", "misses", "evictions"
    );
    for s in cache.stats()? {
        println!(
            "{:<14} {:<12} {:>8} {:>8} {:>7} {:>10} {:>10} {:>10}",
            s.name,
            persistence_name(s.persistence),
            s.size,
            s.max_entries,
            s.dirty,
            s.hits,
            s.misses,
            s.evictions
        );
    }
    Ok(())
}

fn inspect(db: &Path) -> Result<(), Error> {
    if !db.exists() {
        return Err(Error::OpenStorage(cache_host::StorageError::new(
            cache_host::StorageErrorKind::Unavailable,
            format!("{} does not exist", db.display()),
        )));
    }
    let mut storage = SqliteStorage::open_with(
        db,
        &SqliteOptions {
            read_only: true,
            ..SqliteOptions::default()
        },
    )?;
    let usage = storage.usage()?;
    println!("{:<20} {:>10} {:>14}", "namespace", "rows", "bytes");
    for ns in &usage.namespaces {
        println!("{:<20} {:>10} {:>14}", ns.namespace, ns.rows, ns.bytes);
    }
    println!("{:<20} {:>10}", "(chat_settings)", usage.chat_settings_rows);
    println!("{:<20} {:>10}", "(user_data)", usage.user_data_rows);
    Ok(())
}
