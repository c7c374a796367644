//! Embeds the cache component into the `cache-host` binary, so a copied or
//! `cargo install`ed binary runs without a `.wasm` next to it.
//!
//! The component is `target/cache.wasm` of this workspace (built by `just build`,
//! which the justfile runs before every Rust build), or the file named by
//! `$CACHE_HOST_EMBED_WASM`. When neither exists, the build still succeeds with a
//! warning and the binary has no embedded component: it then needs `--wasm` or
//! `$CACHE_HOST_WASM` (it says so when started). This keeps `cargo build` and
//! `cargo clippy` working on a fresh checkout; set `CACHE_HOST_REQUIRE_EMBED=1` to make
//! a missing component a build error instead (release builds of the binary should).

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(cache_host_embedded)");
    println!("cargo::rerun-if-env-changed=CACHE_HOST_EMBED_WASM");
    println!("cargo::rerun-if-env-changed=CACHE_HOST_REQUIRE_EMBED");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let wasm = std::env::var_os("CACHE_HOST_EMBED_WASM")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target/cache.wasm"));
    let required = std::env::var_os("CACHE_HOST_REQUIRE_EMBED").is_some_and(|v| v == "1");
    match std::fs::canonicalize(&wasm) {
        Ok(path) if path.is_file() => {
            // `include_bytes!` in the binary tracks the file's content from here on, so
            // only the binary is rebuilt when the component changes (not the library).
            println!("cargo::rustc-cfg=cache_host_embedded");
            println!(
                "cargo::rustc-env=CACHE_HOST_EMBEDDED_WASM={}",
                path.display()
            );
        }
        _ if required => {
            println!("cargo::rerun-if-changed={}", wasm.display());
            println!(
                "cargo::error={} is missing: build the component first (`just build`), or point \
                 CACHE_HOST_EMBED_WASM at it",
                wasm.display()
            );
        }
        _ => {
            // Re-checked on every build until the component appears.
            println!("cargo::rerun-if-changed={}", wasm.display());
            println!(
                "cargo::warning={} is missing: cache-host is built without an embedded component \
                 and will need --wasm or $CACHE_HOST_WASM (run `just build` first to embed it)",
                wasm.display()
            );
        }
    }
}
