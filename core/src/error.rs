/// Why a cache call failed. A call that returns one of these changed nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CacheError {
    /// No namespace of this name is configured; carries the name.
    #[error("unknown namespace {0:?}")]
    UnknownNamespace(String),
    /// A value is not JSON, is JSON `null`, or is not the shape the call needs.
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    /// A namespace table that `configure` refuses.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// A key or value over its size limit.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The storage reported an error; carries its message with the operation.
    #[error("storage failed: {0}")]
    Storage(String),
}

impl CacheError {
    /// Wraps a storage error message, naming the storage operation that failed.
    pub(crate) fn storage(operation: &str, message: String) -> Self {
        CacheError::Storage(format!("storage.{operation}: {message}"))
    }
}
