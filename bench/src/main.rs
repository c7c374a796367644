//! `just bench`: measures the cache component against what users would use
//! instead, as ratios measured side by side in one run, and writes the table to
//! `BENCHMARKS.md` (the method and the analysis of each row: `bench/ANALYSIS.md`).
//!
//! ```text
//! cache-bench [--out BENCHMARKS.md] [--quick] [--no-callgrind]
//! cache-bench --profile <get64|noop64|get2k|noop2k|getmany64|setmany64> --calls N
//! ```

mod measure;
mod measurements;
mod profile;
mod raw;
mod report;
mod workload;

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Parser;

/// Measures the cache component against what users would use instead, and
/// writes the table of ratios.
#[derive(Parser)]
#[command(version, about)]
pub struct Args {
    /// Where the report goes.
    #[arg(long, default_value = "BENCHMARKS.md")]
    pub out: PathBuf,
    /// Fewer rounds (for a smoke run).
    #[arg(long)]
    pub quick: bool,
    /// Skip the callgrind instruction counts.
    #[arg(long)]
    pub no_callgrind: bool,
    /// Profile mode: run only this workload (for callgrind; see profile.rs).
    #[arg(long)]
    pub profile: Option<String>,
    /// Calls in profile mode.
    #[arg(long, default_value_t = 0, requires = "profile")]
    pub calls: u64,
}

/// The workspace root (the bench crate's parent directory).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn main() -> Result<()> {
    let args = Args::parse();
    // The host logs through `tracing`: show its warnings and errors (RUST_LOG overrides).
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    if let Some(workload) = &args.profile {
        return profile::run(workload, args.calls);
    }
    let started = std::time::Instant::now();
    let report = measurements::run_all(&args)?;
    let text = report::render(&report, started.elapsed());
    std::fs::write(&args.out, &text).with_context(|| format!("writing {}", args.out.display()))?;
    println!("{text}");
    eprintln!("cache-bench: wrote {}", args.out.display());
    // A measurement that could not be taken is a broken bench, not a result.
    let failed: Vec<&str> = report
        .lines
        .iter()
        .filter(|l| l.value.is_nan())
        .map(|l| l.what.as_str())
        .collect();
    if !failed.is_empty() {
        anyhow::bail!(
            "{} measurement(s) failed (see the notes in {}): {}",
            failed.len(),
            args.out.display(),
            failed.join("; ")
        );
    }
    Ok(())
}
