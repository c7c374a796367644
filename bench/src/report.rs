//! The report: measured lines, each with its goal, rendered as BENCHMARKS.md.

use std::fmt::Write as _;
use std::time::Duration;

/// What a measured value must satisfy.
#[derive(Clone, Copy, Debug)]
pub enum Goal {
    /// The value must be at least this.
    AtLeast(f64),
    /// The value must be at most this.
    AtMost(f64),
    /// Reported for context only.
    Info,
}

impl Goal {
    /// `Some(met)` for a goal, `None` for context.
    pub fn met(self, value: f64) -> Option<bool> {
        match self {
            Goal::AtLeast(g) => Some(value >= g),
            Goal::AtMost(g) => Some(value <= g),
            Goal::Info => None,
        }
    }
}

/// One row of the table.
#[derive(Clone, Debug)]
pub struct Line {
    /// The row number (`1`..`7`).
    pub row: &'static str,
    /// What was measured.
    pub what: String,
    /// The component side, e.g. `312 ns/op`.
    pub subject: String,
    /// The baseline side.
    pub baseline: String,
    /// The measured value the goal applies to.
    pub value: f64,
    /// Unit of `value`: `×`, `ms`, `B`.
    pub unit: &'static str,
    /// The goal.
    pub goal: Goal,
}

/// Everything one run measured.
#[derive(Debug)]
pub struct Report {
    /// Table rows.
    pub lines: Vec<Line>,
    /// Breakdowns and remarks, one bullet each.
    pub notes: Vec<String>,
    /// Machine and toolchain facts.
    pub machine: Vec<String>,
    /// Callgrind instruction counts per call: (workload, instructions), or why absent.
    pub callgrind: Result<Vec<(String, f64)>, String>,
}

/// `1234.5` as `1234` ns, `12.3` as `12.3` ns.
pub fn ns(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{:.1} ms", v / 1_000_000.0)
    } else if v >= 10_000.0 {
        format!("{:.1} µs", v / 1000.0)
    } else if v >= 100.0 {
        format!("{v:.0} ns")
    } else {
        format!("{v:.1} ns")
    }
}

fn value(v: f64, unit: &str) -> String {
    if v.is_nan() {
        return "failed".into();
    }
    match unit {
        "×" => format!("{v:.2}×"),
        "ms" => format!("{v:.3} ms"),
        _ => format!("{v:.1} {unit}"),
    }
}

fn goal(g: Goal, unit: &str) -> String {
    match g {
        Goal::AtLeast(x) => format!("≥ {}", value(x, unit)),
        Goal::AtMost(x) => format!("≤ {}", value(x, unit)),
        Goal::Info => "—".into(),
    }
}

/// The whole BENCHMARKS.md.
pub fn render(report: &Report, took: Duration) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmarks\n");
    let _ = writeln!(
        s,
        "Written by `just bench` (`bench/run`: builds the no-op component and the workspace, then `target/release/cache-bench --out BENCHMARKS.md`) \
         in {:.0} s. Every ratio compares two measurements taken in the same run, interleaved \
         round by round; each side is the median of its timed rounds after warm-up rounds. \
         Absolute times are for orientation only: they drift on a shared machine, the ratios much less.\n",
        took.as_secs_f64()
    );
    let _ = writeln!(s, "Machine: {}\n", report.machine.join("; "));
    let _ = writeln!(
        s,
        "| # | Measurement | Component | Baseline | Measured | Goal | Met |\n|---|---|---|---|---|---|---|"
    );
    for l in &report.lines {
        let met = match l.goal.met(l.value) {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            l.row,
            l.what,
            l.subject,
            l.baseline,
            value(l.value, l.unit),
            goal(l.goal, l.unit),
            met
        );
    }
    let _ = writeln!(s, "\n## Details of this run\n");
    for n in &report.notes {
        let _ = writeln!(s, "- {n}");
    }
    let _ = writeln!(s, "\n## Instructions per call (callgrind)\n");
    match &report.callgrind {
        Ok(counts) => {
            let _ = writeln!(
                s,
                "`valgrind --tool=callgrind --toggle-collect='*measured_loop*' target/release/cache-bench --profile <workload> --calls N`: \
                 instructions collected inside the loop of N calls, divided by N. Counts every instruction \
                 of the call: host bindings, wasmtime trampolines, guest code. Stable on a noisy machine.\n"
            );
            let _ = writeln!(s, "| Workload | Instructions per call |\n|---|---|");
            for (w, n) in counts {
                let _ = writeln!(s, "| {w} | {n:.0} |");
            }
        }
        Err(why) => {
            let _ = writeln!(s, "Not measured in this run: {why}");
        }
    }
    let analysis = crate::root().join("bench/ANALYSIS.md");
    if let Ok(text) = std::fs::read_to_string(&analysis) {
        let _ = writeln!(s, "\n{}", text.trim_end());
    }
    s
}
