//! Timing: warm-up rounds, then repeated timed rounds, medians; pairs of
//! measurements are interleaved (A, B, A, B, ...) so drift of a shared machine
//! hits both sides alike.

use std::time::Instant;

use anyhow::Result;

/// How many untimed and timed rounds a measurement runs.
#[derive(Clone, Copy, Debug)]
pub struct Rounds {
    /// Untimed rounds first.
    pub warmup: usize,
    /// Timed rounds; the median is reported.
    pub reps: usize,
}

/// The median of `samples` (0 for none).
pub fn median(samples: &mut [f64]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    let mid = samples.len() / 2;
    if samples.len() % 2 == 1 {
        samples[mid]
    } else {
        (samples[mid - 1] + samples[mid]) / 2.0
    }
}

/// Times one round of `f`, which returns how many operations it performed:
/// nanoseconds per operation.
fn once(f: &mut impl FnMut() -> Result<u64>) -> Result<f64> {
    let start = Instant::now();
    let ops = f()?;
    let ns = start.elapsed().as_nanos() as f64;
    Ok(ns / ops.max(1) as f64)
}

/// A measured body: performs some operations and returns how many.
pub type Body<'a> = Box<dyn FnMut() -> Result<u64> + 'a>;

/// A body that times itself (to leave its own setup out): returns ns per operation.
pub type TimedBody<'a> = Box<dyn FnMut() -> Result<f64> + 'a>;

/// Median ns per operation of each body, the bodies run in turn every round.
pub fn interleaved(rounds: Rounds, mut bodies: Vec<Body<'_>>) -> Result<Vec<f64>> {
    let timed: Vec<TimedBody<'_>> = bodies
        .iter_mut()
        .map(|body| Box::new(move || once(body)) as TimedBody<'_>)
        .collect();
    interleaved_timed(rounds, timed)
}

/// Like [`interleaved`] for bodies that time themselves.
pub fn interleaved_timed(rounds: Rounds, mut bodies: Vec<TimedBody<'_>>) -> Result<Vec<f64>> {
    for _ in 0..rounds.warmup {
        for body in bodies.iter_mut() {
            body()?;
        }
    }
    let mut samples = vec![Vec::with_capacity(rounds.reps); bodies.len()];
    for _ in 0..rounds.reps {
        for (body, s) in bodies.iter_mut().zip(samples.iter_mut()) {
            s.push(body()?);
        }
    }
    Ok(samples.iter_mut().map(|s| median(s)).collect())
}
