# The cache component, its hosts and their tests. `just --list` shows every recipe.
# Every recipe installs or detects what it needs (see scripts/setup).

set shell := ["bash", "-euo", "pipefail", "-c"]

cargo := "scripts/cargo"
venv := "target/py-venv"

# Lists the recipes.
default:
    @just --list

# Installs the missing toolchain pieces (Debian's rustc-web when no wasm32 std is installed).
setup:
    scripts/timed setup scripts/setup

# Builds the component to target/cache.wasm.
build: setup
    scripts/timed component scripts/build-component

# Prints the built component's world (imports and exports), like `wasm-tools component wit`.
wit: build
    target/release/componentize wit target/cache.wasm

# Runs every test: native core tests, the component in wasmtime, the SQLite and PostgreSQL hosts,
# the fuzz targets' seeds and mutations (fuzz-harness), Python and Node hosts, and a quick pass of every benchmark.
test: build test-rust test-python test-node test-bench

# Builds every Rust target once, in release, with one feature set: wasmtime compiles once and
# every recipe below reuses it (selecting packages with `-p` would resolve other features and rebuild).
# The component is built first: cache-host embeds target/cache.wasm (see cli/build.rs).
build-rust: build
    scripts/timed build-rust {{cargo}} build --release --workspace --all-targets

# Rewrites conformance/signatures.json from the built component (every exported function and
# its WIT types; the Node conformance runner converts by it). Run it after changing wit/.
signatures: build build-rust
    target/release/cache-host --wasm target/cache.wasm contract > conformance/signatures.json

# A private PostgreSQL server on loopback for the PostgreSQL tests: `just postgres start`
# prints `export GROMOZEKA_TEST_PG_URL=...` (run it with eval), `just postgres stop` stops it.
postgres action="start":
    scripts/postgres {{action}}

# N real processes, each with its own CacheService, on the PostgreSQL of `just postgres`:
# lost updates, stale reads after delivery, clobbered on-shutdown rows (all must be 0),
# the delivery delay and the write throughput, e.g. `just coherence --processes 4`.
coherence *args: build build-rust
    target/release/pg-coherence run --url "$(scripts/postgres url)" {{args}}

# Rust tests: cache-core (unit + property), the component under a mock storage, the SQLite and
# PostgreSQL hosts, and the fuzz replay (every seed and a fixed set of mutations, without libFuzzer).
test-rust: build build-rust
    scripts/timed test-rust {{cargo}} test --release --workspace

# The Python package: builds the wheel (cache.wasm inside) once, reusing the workspace's build.
wheel: build build-rust
    scripts/timed wheel bindings/python/build-wheel

# The Python package's tests, on the built wheel installed into target/py-venv.
test-python: py-venv
    scripts/timed test-python {{venv}}/bin/python -m pytest -q bindings/python/tests

# target/py-venv with the built wheel and the test and bench tools (pytest, cachetools, diskcache, mypy).
py-venv: wheel
    test -x {{venv}}/bin/python || python3 -m venv {{venv}}
    scripts/timed py-venv {{venv}}/bin/python -m pip install --quiet --disable-pip-version-check 'pytest>=8' 'cachetools>=5' 'diskcache>=5.6' 'mypy>=1.13'
    {{venv}}/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels/gromozeka_cache-*.whl

# The Node host (jco transpile, V8, better-sqlite3): storage kit, conformance scenarios, and the
# Rust<->Node test on one file (needs target/release/cache-host).
test-node: build build-rust
    scripts/timed npm-ci bindings/js/scripts/npm-ci
    cd bindings/js && ../../scripts/timed test-node npm test

# The main job: a realistic bot workload over SQLite, a restart, and a check that nothing acknowledged was lost.
run *args: build build-rust
    target/release/cache-host --db target/run.db run {{args}}

# The command-line tool over ./cache.db, e.g. `just cli stats`.
cli *args: build build-rust
    target/release/cache-host {{args}}

# Kills a real writer process with SIGKILL at random points, many times, and prints lost
# on-change writes (must be 0) and lost on-shutdown writes against the write-back bound,
# e.g. `just chaos --trials 50 --write-back-age 2`. A tool, not a timed test.
chaos *args: build build-rust
    target/release/cache-chaos {{args}}

# The benchmark smoke: every measurement of `just bench` once, quickly (no timing claims;
# BENCHMARKS.md is untouched), failing if one cannot be taken.
test-bench: build build-rust py-venv
    bench/build-noop
    scripts/timed test-bench target/release/cache-bench --quick --no-callgrind --out target/bench-smoke.md > /dev/null
    python3 bench/charts.py target/bench-smoke.md > /dev/null
    {{venv}}/bin/python -m pytest -q bench/test_charts.py

# Benchmarks: ratios measured side by side in one run, written to BENCHMARKS.md (under 10 minutes).
bench *args: build build-rust py-venv
    bench/run {{args}}

# Guided fuzzing (cargo fuzz, libFuzzer; see fuzz/README.md): `target` is core_ops,
# component_api, db_cells or all; `seconds` per target. Installs cargo-fuzz into target/tools.
fuzz target="all" seconds="60": build
    nice -n 10 scripts/fuzz {{target}} {{seconds}}

# Mutation testing of one file with cargo-mutants, in place and with the workspace's one build
# (see scripts/mutants), e.g. `just mutants host/src/service/read_path.rs -C --test=read_path`.
mutants file *args: build build-rust
    scripts/mutants {{file}} {{args}}

# Formatting and lints (clippy with warnings as errors).
lint: setup
    scripts/check-leftovers
    scripts/check-cycles
    scripts/check-seams
    {{cargo}} fmt --all -- --check
    scripts/timed clippy {{cargo}} clippy --release --workspace --all-targets -- -D warnings
    # The generic host alone, with no backend (see scripts/check-seams).
    scripts/timed clippy-generic-host {{cargo}} clippy --release -p cache-host --no-default-features --lib -- -D warnings
    scripts/timed clippy-component scripts/build-component --clippy
    cd fuzz && ../{{cargo}} fmt --all -- --check
