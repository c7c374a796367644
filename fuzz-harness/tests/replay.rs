//! The fuzz smoke, in the workspace's ordinary release build: every committed
//! seed of each target (`fuzz/seeds/<target>/`), then a fixed set of mutations
//! of them, through the same bodies `cargo fuzz` runs.
//!
//! The mutations come from a fixed random seed, so every machine replays the
//! same inputs: a red run is a regression that replays, and a green one does
//! not depend on luck. Finding new inputs is guided fuzzing's job (`just fuzz`,
//! instrumented, with overflow checks).
//!
//! A failing input is written to `target/fuzz-replay/<target>/` and named in
//! the failure, so that `cargo fuzz run <target> <file>` replays it too.

use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};
use cache_fuzz_harness::{component_api, core_ops, db_cells};

/// The longest input a mutation makes: libFuzzer's default `-max_len` for these
/// seeds is far below it.
const MAX_LEN: usize = 64 * 1024;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The committed seeds of `target`, in name order.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = workspace().join("fuzz/seeds").join(target);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                bytes,
            )
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// One mutation of a seed: one to four byte-level edits of the kinds libFuzzer
/// makes (bit flips, interesting bytes, inserts, erases, copies, cross-overs).
fn mutate(rng: &mut fastrand::Rng, seeds: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut data = seeds[rng.usize(..seeds.len())].1.clone();
    for _ in 0..rng.usize(1..=4) {
        let len = data.len();
        match rng.u8(..7) {
            0 if len > 0 => {
                let at = rng.usize(..len);
                data[at] ^= 1 << rng.u8(..8);
            }
            1 if len > 0 => {
                let at = rng.usize(..len);
                data[at] = [0, 1, 0x7f, 0x80, 0xff, rng.u8(..)][rng.usize(..6)];
            }
            2 => {
                let at = rng.usize(..=len);
                let bytes: Vec<u8> = (0..rng.usize(1..=8)).map(|_| rng.u8(..)).collect();
                data.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let from = rng.usize(..len);
                let to = (from + rng.usize(1..=16)).min(len);
                data.drain(from..to);
            }
            4 if len > 0 => {
                let from = rng.usize(..len);
                let chunk = data[from..(from + rng.usize(1..=32)).min(len)].to_vec();
                let at = rng.usize(..=len);
                data.splice(at..at, chunk);
            }
            5 => {
                let other = &seeds[rng.usize(..seeds.len())].1;
                let cut = rng.usize(..=len);
                let from = rng.usize(..=other.len());
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            _ if len > 0 => data.truncate(rng.usize(..len)),
            _ => data.push(rng.u8(..)),
        }
    }
    data.truncate(MAX_LEN);
    data
}

/// Decodes an input as libfuzzer-sys's `fuzz_target!` does: too short for the
/// type, or not decodable, is an input the target never sees.
fn decode<T: for<'a> Arbitrary<'a>>(bytes: &[u8]) -> Option<T> {
    if bytes.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

/// Runs every seed, then `mutations` mutations; on the first failure, saves the
/// input and fails naming it.
fn replay(target: &str, mutations: usize, run: impl Fn(&[u8])) {
    let seeds = seeds(target);
    let mut rng = fastrand::Rng::with_seed(1);
    let inputs = seeds
        .iter()
        .map(|(name, bytes)| (format!("seed {name}"), bytes.clone()))
        .chain((0..mutations).map(|i| (format!("mutation {i}"), mutate(&mut rng, &seeds))));
    let mut ran = 0;
    for (what, bytes) in inputs {
        if panic::catch_unwind(AssertUnwindSafe(|| run(&bytes))).is_err() {
            let dir = workspace().join("target/fuzz-replay").join(target);
            let file = dir.join(what.replace(' ', "-"));
            let saved = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&file, &bytes));
            panic!(
                "{target}: {what} failed (see the panic above); input {}: {}",
                match saved {
                    Ok(()) => "saved to",
                    Err(_) => "could not be saved to",
                },
                file.display()
            );
        }
        ran += 1;
    }
    eprintln!(
        "{target}: {ran} inputs ({} seeds, {mutations} mutations) passed",
        seeds.len()
    );
}

#[test]
fn core_ops_seeds_and_mutations() {
    replay("core_ops", 20_000, core_ops::run);
}

#[test]
fn component_api_seeds_and_mutations() {
    replay("component_api", 8_000, |bytes| {
        if let Some(input) = decode::<component_api::Input>(bytes) {
            component_api::run(input);
        }
    });
}

#[test]
fn db_cells_seeds_and_mutations() {
    replay("db_cells", 3_000, |bytes| {
        if let Some(input) = decode::<db_cells::Input>(bytes) {
            db_cells::run(input);
        }
    });
}

/// The mutations are a fixed set: the same seed gives the same inputs, and
/// they differ from the seeds they start from.
#[test]
fn mutations_are_fixed_and_new() {
    let seeds = seeds("core_ops");
    let make = || {
        let mut rng = fastrand::Rng::with_seed(1);
        (0..64)
            .map(|_| mutate(&mut rng, &seeds))
            .collect::<Vec<_>>()
    };
    let (first, second) = (make(), make());
    assert_eq!(first, second);
    let new = first
        .iter()
        .filter(|m| !seeds.iter().any(|(_, s)| s == *m))
        .count();
    assert!(
        new > 56,
        "only {new} of 64 mutations differ from every seed"
    );
}

/// A target that panics fails the replay, and the input is kept for replaying.
#[test]
fn a_failing_input_fails_the_replay_and_is_saved() {
    let failed = panic::catch_unwind(|| {
        replay("core_ops", 0, |bytes| {
            assert!(bytes.is_empty(), "not empty")
        })
    });
    let message = failed.expect_err("the replay passed");
    let message = message.downcast_ref::<String>().expect("a formatted panic");
    assert!(message.contains("saved to"), "{message}");
    let first = &seeds("core_ops")[0];
    let saved = workspace()
        .join("target/fuzz-replay/core_ops")
        .join(format!("seed-{}", first.0));
    assert_eq!(std::fs::read(&saved).expect("the saved input"), first.1);
}
