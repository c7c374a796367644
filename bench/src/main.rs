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

use anyhow::{bail, Context, Result};

/// Parsed command line.
pub struct Args {
    /// Where the report goes.
    pub out: PathBuf,
    /// Fewer rounds (for a smoke run).
    pub quick: bool,
    /// Skip the callgrind instruction counts.
    pub no_callgrind: bool,
    /// Profile mode: run only this workload (for callgrind).
    pub profile: Option<String>,
    /// Calls in profile mode.
    pub calls: u64,
}

fn parse_args() -> Result<Args> {
    let mut args = Args {
        out: PathBuf::from("BENCHMARKS.md"),
        quick: false,
        no_callgrind: false,
        profile: None,
        calls: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--out" => args.out = PathBuf::from(it.next().context("--out needs a path")?),
            "--quick" => args.quick = true,
            "--no-callgrind" => args.no_callgrind = true,
            "--profile" => args.profile = Some(it.next().context("--profile needs a workload")?),
            "--calls" => {
                args.calls = it
                    .next()
                    .context("--calls needs a number")?
                    .parse()
                    .context("--calls needs a number")?
            }
            "-h" | "--help" => {
                println!("usage: cache-bench [--out BENCHMARKS.md] [--quick] [--no-callgrind]");
                println!("       cache-bench --profile <workload> --calls N");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?} (see --help)"),
        }
    }
    Ok(args)
}

/// The workspace root (the bench crate's parent directory).
pub fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn main() -> Result<()> {
    let args = parse_args()?;
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
