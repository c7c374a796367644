//! [`Error`]: every way a call of the embedding API can fail.

use std::path::PathBuf;

use crate::storage::StorageError;
use cache_core::CacheError;

use crate::bindings::exports::gromozeka::cache::types::CacheError as WitCacheError;

/// Why a [`CacheService`](crate::CacheService) call (or opening one) failed.
///
/// The first five variants are the component's own `cache-error`: the call changed
/// nothing. [`Error::Trapped`] means the guest crashed during the call; the host
/// dropped that instance and started a fresh one from storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No namespace of this name is configured; carries the name.
    #[error("unknown namespace {0:?}")]
    UnknownNamespace(String),
    /// A value is not JSON, is JSON `null`, or does not have the shape the call needs.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A namespace table with an empty or duplicate name, or `max-entries` of 0.
    #[error("invalid namespace configuration: {0}")]
    InvalidConfig(String),
    /// A key over 1024 bytes or a value over 1 MiB.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A key containing NUL, which some storage cannot hold.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// Storage failed during the call; the cache is unchanged. Carries the typed
    /// storage error: its kind, and a message naming the storage function, the file
    /// and what to do.
    #[error("storage failed: {0}")]
    Storage(StorageError),
    /// The guest trapped (CPU bound hit, memory limit hit, or a bug in the
    /// component). Changes not yet written to storage by that instance are lost; the
    /// next call runs on a fresh instance (`restarted` says whether it is already up).
    #[error("the cache component trapped: {reason}{}", if *.restarted { "; restarted it from storage" } else { "; it will be restarted on the next call" })]
    Trapped {
        /// What happened, e.g. "wasm trap: interrupt".
        reason: String,
        /// Whether a fresh instance is already running.
        restarted: bool,
    },
    /// Opening or preparing the storage failed.
    #[error("cannot open the storage: {0}")]
    OpenStorage(#[from] StorageError),
    /// The component file could not be read or compiled.
    #[error("cannot load the cache component {}: {message}", path.display())]
    Component {
        /// The `.wasm` file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The namespace policy file could not be read or is invalid.
    #[error("invalid namespace policy {}: {message}", path.display())]
    Policy {
        /// The policy file.
        path: PathBuf,
        /// What is wrong, with the line when known.
        message: String,
    },
    /// A fixed guest memory limit cannot hold the namespace table when full (see
    /// [`crate::limits`]): raise the limit, or lower `max-entries`.
    #[error(
        "the guest memory limit of {} MiB cannot hold the namespace table, which needs up to {} MiB \
         (1 KiB key + 1 MiB value per entry, plus {} MiB); raise the limit or lower max-entries",
        limit >> 20, needed.div_ceil(1 << 20), crate::limits::BASE_MEMORY >> 20
    )]
    MemoryLimit {
        /// Bytes the table can hold when full.
        needed: u64,
        /// The fixed limit, in bytes.
        limit: u64,
    },
    /// Wasmtime failed outside a guest call (engine setup, instantiation).
    #[error("wasmtime: {0}")]
    Runtime(String),
    /// The service was closed with [`close`](crate::CacheService::close).
    #[error("the cache service is closed")]
    Closed,
    /// A call by name ([`CacheService::call_by_name`](crate::CacheService::call_by_name))
    /// named no exported function, or its arguments do not have the function's
    /// types; nothing ran.
    #[error("the call does not match the contract: {0}")]
    BadCall(String),
}

impl From<CacheError> for Error {
    fn from(e: CacheError) -> Self {
        match e {
            CacheError::UnknownNamespace(s) => Error::UnknownNamespace(s),
            CacheError::InvalidJson(s) => Error::InvalidJson(s),
            CacheError::InvalidConfig(s) => Error::InvalidConfig(s),
            CacheError::TooLarge(s) => Error::TooLarge(s),
            CacheError::InvalidKey(s) => Error::InvalidKey(s),
            CacheError::Storage(e) => Error::Storage(e),
        }
    }
}

impl From<WitCacheError> for Error {
    fn from(e: WitCacheError) -> Self {
        CacheError::from(e).into()
    }
}

impl Error {
    /// The error a `cache-error` answer of a call by name stands for (the JSON of
    /// [`crate::contract`]: `{"case": payload}`), the same as [`From<CacheError>`]
    /// gives for a typed call.
    pub fn from_answer(err: serde_json::Value) -> Self {
        match CacheError::from_json(&err) {
            Some(error) => error.into(),
            None => Error::Runtime(format!("the component answered an unknown error {err}")),
        }
    }

    /// The kind of storage failure, for [`Error::Storage`] and [`Error::OpenStorage`].
    pub fn storage_kind(&self) -> Option<crate::StorageErrorKind> {
        match self {
            Error::Storage(e) | Error::OpenStorage(e) => Some(e.kind),
            _ => None,
        }
    }
}
