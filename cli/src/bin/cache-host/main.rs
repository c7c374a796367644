//! `cache-host`: run the cache component over a SQLite file or a PostgreSQL database
//! from the command line.
//!
//! `run` is a realistic bot workload with a restart and a durability check; the other
//! subcommands read and write single entries, show stats, persist, inspect, export and
//! import. Errors are one line on stderr and an exit code from [`exit`]; logs go to
//! stderr by `RUST_LOG`, coloured only when stderr is a terminal.

mod component;
mod exit;
mod out;
mod transfer;
mod value;
mod workload;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cache_host::storage::postgres::{self, PostgresOptions, PostgresStorage};
use cache_host::storage::sqlite::{SqliteOptions, SqliteStorage};
use cache_host::{
    CacheService, CacheServiceBuilder, Inspect, OwnerWait, Persistence, Policy, Runtime,
    RuntimeOptions, ServiceStorage, WriteBack,
};
use clap::{Parser, Subcommand};

use crate::exit::Failure;
use crate::out::outln;

/// Run the WebAssembly cache component over a SQLite file or a PostgreSQL database.
#[derive(Debug, Parser)]
#[command(name = "cache-host", version, about, after_help = exit::HELP)]
struct Cli {
    /// The SQLite database file, or a PostgreSQL URL (postgres://user@host:port/db;
    /// add ?options=-c%20search_path%3Dmyschema for another schema). Write commands
    /// create the file or the tables if missing; read commands (get, stats, inspect,
    /// export) open it read-only and never create, migrate or change anything.
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
    /// A fixed guest memory limit in MiB. Default: what the namespace table holds when
    /// full (1 KiB key + 1 MiB value per entry, plus 16 MiB), at most 4096. A fixed
    /// limit below that is refused (exit 2), naming both numbers.
    #[arg(long, global = true)]
    memory_limit_mib: Option<usize>,
    /// Write pending on-shutdown changes back once the oldest is this many seconds
    /// old; 0 = never by age. Default: the policy file's [write_back], else 5.
    #[arg(long, global = true, value_name = "SECONDS")]
    write_back_age: Option<f64>,
    /// Write pending on-shutdown changes back once this many are pending; 0 = never
    /// by count. Default: the policy file's [write_back], else 256.
    #[arg(long, global = true, value_name = "CHANGES")]
    write_back_pending: Option<u32>,
    /// CPU bound of one guest call, in milliseconds.
    #[arg(long, global = true, default_value_t = 10_000)]
    call_time_limit_ms: u64,
    /// When another process owns the database (has it open for writing), wait for it
    /// to let go: without a value as long as it takes, with one up to that many
    /// seconds. Without --wait a write command fails at once, naming the owner.
    #[arg(long, global = true, value_name = "SECONDS", num_args = 0..=1, require_equals = true)]
    wait: Option<Option<u64>>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// A bot workload (thousands of chats and users), a graceful stop, a restart from
    /// the same file, and a check that every acknowledged write is there.
    Run(workload::RunArgs),
    /// Print the JSON value of a key (exit 1 if it is not set). Read-only.
    Get {
        /// Namespace, e.g. chats.
        namespace: String,
        /// Key within the namespace (may start with '-', e.g. a chat id).
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
    /// Store a JSON value under a key and persist it before exiting: exit 0 means it
    /// is stored, any other exit that nothing was.
    Set {
        /// Namespace, e.g. chats.
        namespace: String,
        /// Key within the namespace (may start with '-', e.g. a chat id).
        #[arg(allow_hyphen_values = true)]
        key: String,
        /// The value as JSON text; `-` reads it from stdin, `@PATH` from a file.
        #[arg(allow_hyphen_values = true)]
        value: String,
    },
    /// Delete a key (in storage too for persisted namespaces).
    Delete {
        /// Namespace, e.g. chats.
        namespace: String,
        /// Key within the namespace (may start with '-', e.g. a chat id).
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
    /// Call any function the component exports by its WIT name (cache.get-many,
    /// bot.set-user-data, ...) with its arguments as one JSON array in WIT order
    /// (encoding: `cache-host contract`); prints the answer as JSON and persists
    /// before exiting, like `set`.
    Call {
        /// The function, `interface.function` as in the WIT.
        function: String,
        /// The arguments, a JSON array, e.g. '[-100123, 42]'; `-` reads it from
        /// stdin, `@PATH` from a file.
        #[arg(allow_hyphen_values = true, default_value = "[]")]
        args: String,
    },
    /// Print every function the component exports with its WIT types, as JSON (the
    /// format of conformance/signatures.json). Needs no database.
    Contract,
    /// Per-namespace statistics after loading from storage. Read-only.
    Stats,
    /// Load from storage and run persist-all.
    Persist,
    /// Rows in storage per namespace, with sizes (no component needed). Read-only.
    Inspect,
    /// Every stored row as JSON Lines on stdout:
    /// {"namespace":..,"key":..,"value":"<JSON text>"}. Read-only.
    Export,
    /// Store the rows of an export (JSON Lines), validated like `set`, all in one
    /// batch: exit 0 means every line is stored, any other exit that none is.
    Import {
        /// The JSON Lines file, or `-` for stdin.
        #[arg(allow_hyphen_values = true)]
        source: String,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                // Help and version are not errors; stdout may still be closed.
                outln!("{}", e.render().to_string().trim_end());
                return finish(exit::OK);
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
            return ExitCode::from(exit::USAGE);
        }
    };
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_ansi(color)
        .with_writer(std::io::stderr)
        .init();
    match run(&cli) {
        Ok(code) => finish(code),
        Err(failure) => {
            eprintln!("cache-host: {}", one_line(&failure.message));
            failure.exit_code()
        }
    }
}

/// Flushes stdout and exits with `code`, or with [`exit::FAILED`] if stdout could not
/// be written (the output is incomplete).
fn finish(code: u8) -> ExitCode {
    match out::finish() {
        Ok(()) => ExitCode::from(code),
        Err(e) => {
            eprintln!("cache-host: cannot write to stdout: {e}");
            ExitCode::from(exit::FAILED)
        }
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Loads the runtime of the chosen component (see [`component::Source`]).
fn runtime(cli: &Cli) -> Result<Runtime, Failure> {
    Ok(component::Source::choose(cli.wasm.as_ref())?.load(&RuntimeOptions::default())?)
}

/// A service builder with the loaded runtime and the command line's limits and policy.
fn builder(cli: &Cli) -> Result<CacheServiceBuilder, Failure> {
    Ok(configured(cli)?.runtime(runtime(cli)?))
}

/// A service builder with the command line's limits and policy; the caller gives it
/// a runtime.
fn configured(cli: &Cli) -> Result<CacheServiceBuilder, Failure> {
    let mut b = CacheService::builder("(runtime given)")
        .call_time_limit(Duration::from_millis(cli.call_time_limit_ms));
    if let Some(mib) = cli.memory_limit_mib {
        b = b.memory_limit(mib.saturating_mul(1 << 20));
    }
    let mut write_back = match &cli.policy {
        Some(path) => {
            let policy = Policy::from_file(path)?;
            let write_back = policy.write_back();
            b = b.policy(policy);
            write_back
        }
        None => WriteBack::default(),
    };
    if let Some(secs) = cli.write_back_age {
        write_back.max_age = WriteBack::age_from_secs(secs).map_err(Failure::usage)?;
    }
    if let Some(count) = cli.write_back_pending {
        write_back.max_pending = WriteBack::pending_from_count(count);
    }
    Ok(b.write_back(write_back))
}

/// The service of every command: over SQLite or PostgreSQL, behind one trait object.
pub type Service = CacheService<Box<dyn ServiceStorage>>;

/// `--db` as a PostgreSQL URL, if it is one.
fn postgres_url(db: &Path) -> Option<&str> {
    db.to_str().filter(|s| postgres::is_url(s))
}

/// Builds `builder` over `--db` with `options`: a PostgreSQL URL (shared with other
/// processes; only `read_only` of the options applies) or a SQLite file.
fn open_db(
    builder: CacheServiceBuilder,
    cli: &Cli,
    options: &SqliteOptions,
) -> Result<Service, Failure> {
    match postgres_url(&cli.db) {
        Some(url) => Ok(builder.open_with(url, options)?),
        None => {
            let storage = SqliteStorage::open_with(&cli.db, options)
                .map_err(cache_host::Error::OpenStorage)?;
            Ok(builder.build(Box::new(storage) as Box<dyn ServiceStorage>)?)
        }
    }
}

/// The storage alone, read-only (for `inspect` and `export`: no component).
fn open_storage_read_only(db: &Path) -> Result<Box<dyn ServiceStorage>, Failure> {
    let opened: Result<Box<dyn ServiceStorage>, _> = match postgres_url(db) {
        Some(url) => {
            let options = PostgresOptions {
                read_only: true,
                ..PostgresOptions::default()
            };
            PostgresStorage::open_with(url, options).map(|s| Box::new(s) as _)
        }
        None => SqliteStorage::open_with(db, &read_only(db)?).map(|s| Box::new(s) as _),
    };
    opened.map_err(|e| Failure::from(cache_host::Error::OpenStorage(e)))
}

/// The service over the database, read-write (created and migrated if needed); for
/// SQLite as its one owner (see `--wait`).
fn open(cli: &Cli) -> Result<Service, Failure> {
    open_db(builder(cli)?, cli, &read_write(cli))
}

/// The options of a read-write open: the owner wait of `--wait`.
fn read_write(cli: &Cli) -> SqliteOptions {
    let owner_wait = match cli.wait {
        None => OwnerWait::No,
        Some(None) => OwnerWait::Forever,
        Some(Some(secs)) => OwnerWait::Up(Duration::from_secs(secs)),
    };
    SqliteOptions {
        owner_wait,
        ..SqliteOptions::default()
    }
}

/// The options of a read-only open of an existing database; a missing file is a usage
/// error (read commands never create a database).
fn read_only(db: &Path) -> Result<SqliteOptions, Failure> {
    if postgres_url(db).is_none() && !db.is_file() {
        return Err(Failure::usage(format!(
            "{} does not exist (read commands never create a database; check --db)",
            db.display()
        )));
    }
    Ok(SqliteOptions {
        read_only: true,
        ..SqliteOptions::default()
    })
}

/// The service over the existing database, read-only: nothing is created, migrated or
/// written.
fn open_read_only(cli: &Cli, load: bool) -> Result<Service, Failure> {
    let options = read_only(&cli.db)?;
    open_db(builder(cli)?.load_on_start(load), cli, &options)
}

/// Closes a service of a write command: persist-all, then stop. If that fails, exits
/// through [`exit_without_storing`].
fn close_or_exit(cache: Service) {
    if let Err(e) = cache.close() {
        exit_without_storing(Failure::from(e));
    }
}

/// Reports `failure` (adding that nothing was stored) and exits at once with its code,
/// without running destructors: the service's drop would retry the persist and could
/// store the change after the command reported that it failed.
fn exit_without_storing(failure: Failure) -> ! {
    eprintln!(
        "cache-host: {} (nothing was stored)",
        one_line(&failure.message)
    );
    if let Err(e) = out::finish() {
        eprintln!("cache-host: cannot write to stdout: {e}");
    }
    std::process::exit(i32::from(failure.code))
}

fn run(cli: &Cli) -> Result<u8, Failure> {
    match &cli.command {
        Command::Run(args) => workload::run(cli, args),
        Command::Get { namespace, key } => {
            let cache = open_read_only(cli, false)?;
            let value = cache.get(namespace, key)?;
            cache.close()?;
            match value {
                Some(v) => {
                    outln!("{v}");
                    Ok(exit::OK)
                }
                None => {
                    eprintln!("cache-host: {namespace}/{key} is not set");
                    Ok(exit::ABSENT)
                }
            }
        }
        Command::Set {
            namespace,
            key,
            value,
        } => {
            let value = value::read(value)?;
            let cache = open(cli)?;
            cache.set(namespace, key, &value)?;
            let persistence = cache
                .namespaces()
                .iter()
                .find(|n| &n.name == namespace)
                .map(|n| n.persistence);
            close_or_exit(cache);
            if persistence == Some(Persistence::MemoryOnly) {
                eprintln!(
                    "cache-host: note: {namespace} is memory-only, so the value is gone when this command exits"
                );
            }
            Ok(exit::OK)
        }
        Command::Delete { namespace, key } => {
            let cache = open(cli)?;
            let held = cache.delete(namespace, key)?;
            close_or_exit(cache);
            outln!(
                "{}",
                if held {
                    "deleted"
                } else {
                    "not held in memory; storage row (if any) deleted"
                }
            );
            Ok(exit::OK)
        }
        Command::Stats => {
            let cache = open_read_only(cli, true)?;
            print_stats(&cache)?;
            cache.close()?;
            Ok(exit::OK)
        }
        Command::Persist => {
            let cache = open(cli)?;
            let report = cache.persist_all()?;
            close_or_exit(cache);
            outln!("written {}, deleted {}", report.written, report.deleted);
            Ok(exit::OK)
        }
        Command::Call { function, args } => {
            let args = value::read(args)?;
            let args: Vec<serde_json::Value> = serde_json::from_str(&args)
                .map_err(|e| Failure::usage(format!("the arguments are not a JSON array: {e}")))?;
            let cache = open(cli)?;
            let answer = cache.call_by_name(function, &args);
            let answer = match answer {
                Ok(answer) => answer,
                Err(e) => exit_without_storing(Failure::from(e)),
            };
            close_or_exit(cache);
            outln!("{answer}");
            Ok(exit::OK)
        }
        Command::Contract => {
            outln!("{}", runtime(cli)?.contract().describe_text().trim_end());
            Ok(exit::OK)
        }
        Command::Inspect => {
            inspect(&cli.db)?;
            Ok(exit::OK)
        }
        Command::Export => transfer::export(&cli.db),
        Command::Import { source } => transfer::import(cli, source),
    }
}

fn print_stats(cache: &Service) -> Result<(), Failure> {
    outln!(
        "{:<14} {:<12} {:>8} {:>8} {:>7} {:>10} {:>10} {:>10}",
        "namespace",
        "persistence",
        "size",
        "max",
        "dirty",
        "hits",
        "misses",
        "evictions"
    );
    for s in cache.stats()? {
        outln!(
            "{:<14} {:<12} {:>8} {:>8} {:>7} {:>10} {:>10} {:>10}",
            out::shown(&s.name),
            s.persistence.name(),
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

fn inspect(db: &Path) -> Result<(), Failure> {
    let storage_error = |e| Failure::from(cache_host::Error::OpenStorage(e));
    let (namespaces, chat_settings_rows, user_data_rows) = match postgres_url(db) {
        Some(url) => {
            let options = PostgresOptions {
                read_only: true,
                ..PostgresOptions::default()
            };
            let mut storage = PostgresStorage::open_with(url, options).map_err(storage_error)?;
            let namespaces = storage
                .stored_namespaces()
                .map_err(storage_error)?
                .into_iter()
                .map(|n| (n.namespace, n.rows, n.bytes))
                .collect::<Vec<_>>();
            let (settings, data) = storage.table_rows().map_err(storage_error)?;
            (namespaces, settings, data)
        }
        None => {
            let mut storage =
                SqliteStorage::open_with(db, &read_only(db)?).map_err(storage_error)?;
            let usage = storage.usage().map_err(storage_error)?;
            let namespaces = usage
                .namespaces
                .into_iter()
                .map(|n| (n.namespace, n.rows, n.bytes))
                .collect();
            (namespaces, usage.chat_settings_rows, usage.user_data_rows)
        }
    };
    outln!("{:<20} {:>10} {:>14}", "namespace", "rows", "bytes");
    for (namespace, rows, bytes) in &namespaces {
        outln!("{:<20} {:>10} {:>14}", out::shown(namespace), rows, bytes);
    }
    outln!("{:<20} {:>10}", "(chat_settings)", chat_settings_rows);
    outln!("{:<20} {:>10}", "(user_data)", user_data_rows);
    Ok(())
}
