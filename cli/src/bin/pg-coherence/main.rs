//! `pg-coherence`: several real processes, each with its own [`CacheService`] (the
//! real component in wasmtime) over one PostgreSQL database, kept coherent by the
//! service's coherence thread. It measures, and checks:
//!
//! - lost updates: N processes increment shared counters in an on-change namespace
//!   (read-modify-write through their caches, retried on `conflict`) and add their
//!   own keys to one chat's settings and one user's data; every acknowledged
//!   increment and key must be stored;
//! - staleness: one process overwrites rows, chat settings and user data that every
//!   other process holds cached; once a reader's service has applied the change
//!   ("delivered": its listener received the NOTIFY and the coherence thread dropped
//!   the copy), a read must return the new value. The window from the writer's
//!   acknowledgement to delivery is reported;
//! - on-shutdown write-back: processes holding stale pending changes of rows another
//!   process has since committed must not overwrite them when they close, whether
//!   the notification reached them (the copy is forgotten) or not (`--deaf`: the
//!   write-back meets `conflict`, forgets the rows and writes the rest);
//! - write throughput of N processes writing at once.
//!
//! `pg-coherence run --url URL [--processes N] [--seconds S]` starts the children
//! and prints one summary; it exits non-zero on any failed check.

mod child;
mod run;

#[path = "../cache-host/component.rs"]
#[allow(dead_code)]
mod component;

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use cache_host::storage::postgres::{parse_url, shared_options, PostgresStorage};
use cache_host::{
    CacheService, CacheServiceBuilder, NamespaceConfig, Persistence, Policy, RuntimeOptions,
    ServiceStorage, WriteBack,
};
use clap::{Args, Parser, Subcommand};

/// Several processes with a cache component each over one PostgreSQL database:
/// lost updates, stale reads after delivery, on-shutdown clobbers, throughput.
#[derive(Debug, Parser)]
#[command(name = "pg-coherence")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs every scenario with N processes and prints the summary.
    Run(run::RunArgs),
    /// (child) Increments shared counters and adds keys to shared settings and data.
    #[command(hide = true)]
    Counter(child::CounterArgs),
    /// (child) Overwrites the probes one by one; prints `ack KIND J MICROS`.
    #[command(hide = true)]
    ProbeWriter(child::ProbeArgs),
    /// (child) Caches the probes, then reads each one its service was told changed.
    #[command(hide = true)]
    ProbeReader(child::ProbeArgs),
    /// (child) Holds stale pending on-shutdown changes until stdin says `go`, then closes.
    #[command(hide = true)]
    ShutdownHolder(child::HolderArgs),
    /// (child) Commits newer values of the rows the holders hold.
    #[command(hide = true)]
    ShutdownWriter(child::HolderArgs),
    /// (child) Writes distinct rows for a while; prints `writes N`.
    #[command(hide = true)]
    Throughput(child::ThroughputArgs),
}

/// What every process is given: the server, and the schema the run owns.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The database, `postgres://user@host:port/db`.
    #[arg(long)]
    url: String,
    /// The schema the run's tables are in (created and dropped by `run`).
    #[arg(long)]
    schema: String,
    /// The cache component (.wasm); default: $CACHE_HOST_WASM, else the embedded one.
    #[arg(long)]
    wasm: Option<std::path::PathBuf>,
}

impl Common {
    /// The arguments that give a child the same.
    fn to_args(&self) -> Vec<String> {
        let mut args = vec![
            "--url".to_owned(),
            self.url.clone(),
            "--schema".to_owned(),
            self.schema.clone(),
        ];
        if let Some(wasm) = &self.wasm {
            args.push("--wasm".to_owned());
            args.push(wasm.display().to_string());
        }
        args
    }

    /// The URL with the run's schema as the search path.
    fn db_url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}",
            self.url, self.schema
        )
    }

    /// A service builder with the run's namespaces and the component.
    fn builder(&self, write_back: WriteBack) -> CacheServiceBuilder {
        let runtime = component::Source::choose(self.wasm.as_ref())
            .and_then(|s| s.load(&RuntimeOptions::default()))
            .unwrap_or_else(|e| die(e));
        let mut namespaces = Policy::default().namespaces().to_vec();
        for (name, persistence) in [
            ("counters", Persistence::OnChange),
            ("probes", Persistence::OnChange),
            ("throughput", Persistence::OnChange),
            ("shutdown", Persistence::OnShutdown),
        ] {
            namespaces.push(NamespaceConfig {
                name: name.to_owned(),
                max_entries: 10_000,
                persistence,
            });
        }
        let policy = Policy::new(namespaces).unwrap_or_else(|e| die(e));
        CacheService::builder("(runtime given)")
            .runtime(runtime)
            .policy(policy)
            .write_back(write_back)
    }

    /// This process's service over the database, listening to the others.
    fn open(
        &self,
        write_back: WriteBack,
        observer: Option<cache_host::service::ChangeObserver>,
    ) -> CacheService<Box<dyn ServiceStorage>> {
        let mut builder = self.builder(write_back);
        if let Some(observer) = observer {
            builder = builder.on_remote_change(observer);
        }
        builder.open(&self.db_url()).unwrap_or_else(|e| die(e))
    }

    /// A service that hears nobody: it listens on a channel of its own, so only the
    /// storage's stale-row check protects the rows it holds.
    fn open_deaf(&self, write_back: WriteBack) -> CacheService<Box<dyn ServiceStorage>> {
        let config = parse_url(&self.db_url()).unwrap_or_else(|e| die(e));
        let mut options = shared_options(false);
        options.channel = Some(format!("{}_deaf", self.schema));
        let storage = PostgresStorage::from_config(config, options).unwrap_or_else(|e| die(e));
        self.builder(write_back)
            .build(Box::new(storage) as Box<dyn ServiceStorage>)
            .unwrap_or_else(|e| die(e))
    }
}

/// Microseconds since the Unix epoch (the processes share the machine's clock).
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Prints the error and exits with 2.
pub fn die(message: impl std::fmt::Display) -> ! {
    eprintln!("pg-coherence: {message}");
    std::process::exit(2)
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Run(args) => return run::run(&args),
        Command::Counter(args) => child::counter(&args),
        Command::ProbeWriter(args) => child::probe_writer(&args),
        Command::ProbeReader(args) => child::probe_reader(&args),
        Command::ShutdownHolder(args) => child::shutdown_holder(&args),
        Command::ShutdownWriter(args) => child::shutdown_writer(&args),
        Command::Throughput(args) => child::throughput(&args),
    }
    ExitCode::SUCCESS
}
