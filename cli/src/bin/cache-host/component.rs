//! Which cache component `cache-host` runs: `--wasm`, else `$CACHE_HOST_WASM`, else
//! the component embedded at build time (see `cli/build.rs`).

use std::path::PathBuf;

use cache_host::{Error, Runtime, RuntimeOptions};

/// The component compiled into this binary, if the build found one.
#[cfg(cache_host_embedded)]
const EMBEDDED: Option<&[u8]> = Some(include_bytes!(env!("CACHE_HOST_EMBEDDED_WASM")));
#[cfg(not(cache_host_embedded))]
const EMBEDDED: Option<&[u8]> = None;

/// The name the embedded component has in logs, errors and artifact file names.
const EMBEDDED_NAME: &str = "embedded-cache.wasm";

/// Where the component comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A `.wasm` file (from `--wasm` or `$CACHE_HOST_WASM`).
    File(PathBuf),
    /// The bytes compiled into this binary.
    Embedded(&'static [u8]),
}

impl Source {
    /// The flag, then the environment, then the embedded component. Without any of
    /// them, an error that says how to provide one.
    pub fn choose(flag: Option<&PathBuf>) -> Result<Self, Error> {
        if let Some(p) = flag {
            return Ok(Self::File(p.clone()));
        }
        if let Some(p) = std::env::var_os("CACHE_HOST_WASM").filter(|p| !p.is_empty()) {
            return Ok(Self::File(PathBuf::from(p)));
        }
        match EMBEDDED {
            Some(bytes) => Ok(Self::Embedded(bytes)),
            None => Err(Error::Component {
                path: PathBuf::from("(none)"),
                message: "this cache-host was built without an embedded component: pass --wasm \
                          PATH or set CACHE_HOST_WASM (or rebuild after `just build`)"
                    .into(),
            }),
        }
    }

    /// Loads the engine and the compiled component (through the artifact cache).
    pub fn load(&self, options: &RuntimeOptions) -> Result<Runtime, Error> {
        match self {
            Self::File(path) => Runtime::load_with(path, options),
            Self::Embedded(bytes) => Runtime::from_bytes(EMBEDDED_NAME, bytes, options),
        }
    }
}
