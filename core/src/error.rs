//! Why a call failed: [`CacheError`] for the cache's callers, [`StorageError`]
//! for what a storage reports.

use std::fmt;

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
    /// A key containing NUL, which some storage cannot hold.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The storage failed; its message starts with the storage function.
    #[error("storage failed: {0}")]
    Storage(StorageError),
}

impl CacheError {
    /// Whether this is a storage request the host has not performed yet (kind
    /// `pending`): never tolerated, always failing the call.
    pub fn is_pending(&self) -> bool {
        matches!(self, CacheError::Storage(e) if e.kind == StorageErrorKind::Pending)
    }

    /// The WIT name of the error's case (`"unknown-namespace"`, `"storage"`, ...).
    pub fn case(&self) -> &'static str {
        match self {
            CacheError::UnknownNamespace(_) => "unknown-namespace",
            CacheError::InvalidJson(_) => "invalid-json",
            CacheError::InvalidConfig(_) => "invalid-config",
            CacheError::TooLarge(_) => "too-large",
            CacheError::InvalidKey(_) => "invalid-key",
            CacheError::Storage(_) => "storage",
        }
    }

    /// The error a `cache-error` stands for in the contract's JSON encoding
    /// (`{"<case>": "<text>"}`, or `{"storage": {"kind": .., "message": ..}}`,
    /// as [`case`](Self::case) and [`StorageErrorKind::name`] name them); `None`
    /// for anything else. A storage kind this build does not know is `other`.
    pub fn from_json(json: &serde_json::Value) -> Option<Self> {
        let (case, payload) = json.as_object().filter(|o| o.len() == 1)?.iter().next()?;
        let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
        let cases: [fn(String) -> Self; 5] = [
            CacheError::UnknownNamespace,
            CacheError::InvalidJson,
            CacheError::InvalidConfig,
            CacheError::TooLarge,
            CacheError::InvalidKey,
        ];
        if let Some(make) = cases
            .into_iter()
            .find(|make| make(String::new()).case() == case)
        {
            return Some(make(text(payload)?));
        }
        let storage = CacheError::Storage(StorageError::new(StorageErrorKind::Other, ""));
        if storage.case() != case {
            return None;
        }
        let kind = text(&payload["kind"])?;
        let kind = StorageErrorKind::from_name(&kind).unwrap_or(StorageErrorKind::Other);
        Some(CacheError::Storage(StorageError::new(
            kind,
            text(&payload["message"])?,
        )))
    }

    /// Wraps a storage error, naming the storage function that failed.
    pub(crate) fn storage(function: &str, error: StorageError) -> Self {
        CacheError::Storage(StorageError {
            kind: error.kind,
            message: format!("{function}: {}", error.message),
        })
    }
}

/// What kind of storage failure happened, so that callers can act on it without
/// parsing the message. The cases of `storage-error-kind` in `wit/rows.wit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StorageErrorKind {
    /// A lock held by another connection or process was not released in time.
    Busy,
    /// The disk or a quota is full.
    Full,
    /// The database, its file or its directory cannot be written.
    ReadOnly,
    /// The data is damaged: not a database, or a cell of the wrong type or encoding.
    Corrupt,
    /// The database refused the change: a constraint, trigger or check failed.
    Constraint,
    /// The tables do not have the expected shape, or the schema is too new.
    Schema,
    /// The database could not be reached: cannot open, I/O error, lost connection.
    Unavailable,
    /// A concurrent transaction conflicted with this one; a retry may succeed.
    Conflict,
    /// Anything else.
    Other,
    /// Not a failure: the host performs the request, then calls again. Never
    /// tolerated by the cache (see `pending` in `wit/rows.wit`).
    Pending,
}

impl StorageErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [StorageErrorKind; 10] = [
        StorageErrorKind::Busy,
        StorageErrorKind::Full,
        StorageErrorKind::ReadOnly,
        StorageErrorKind::Corrupt,
        StorageErrorKind::Constraint,
        StorageErrorKind::Schema,
        StorageErrorKind::Unavailable,
        StorageErrorKind::Conflict,
        StorageErrorKind::Other,
        StorageErrorKind::Pending,
    ];

    /// The kinds that are failures of a database: every kind but `Pending`,
    /// which [`ALL`](Self::ALL) lists last.
    pub const FAILURES: &'static [StorageErrorKind] = Self::ALL.split_at(9).0;

    /// The kind of a kebab-case name ([`name`](Self::name)); `None` for any
    /// other text.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kebab-case name used in the WIT and by every host.
    pub fn name(self) -> &'static str {
        match self {
            StorageErrorKind::Busy => "busy",
            StorageErrorKind::Full => "full",
            StorageErrorKind::ReadOnly => "read-only",
            StorageErrorKind::Corrupt => "corrupt",
            StorageErrorKind::Constraint => "constraint",
            StorageErrorKind::Schema => "schema",
            StorageErrorKind::Unavailable => "unavailable",
            StorageErrorKind::Conflict => "conflict",
            StorageErrorKind::Other => "other",
            StorageErrorKind::Pending => "pending",
        }
    }
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A storage failure: its kind and a message a person can act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} [{kind}]")]
pub struct StorageError {
    /// What kind of failure it is.
    pub kind: StorageErrorKind,
    /// What failed and what to do about it.
    pub message: String,
}

impl StorageError {
    /// An error of `kind` with a message for a person.
    pub fn new(kind: StorageErrorKind, message: impl Into<String>) -> Self {
        StorageError {
            kind,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_case_is_read_back_from_its_json() {
        let cases = [
            (
                "unknown-namespace",
                CacheError::UnknownNamespace("a".into()),
            ),
            ("invalid-json", CacheError::InvalidJson("a".into())),
            ("invalid-config", CacheError::InvalidConfig("a".into())),
            ("too-large", CacheError::TooLarge("a".into())),
            ("invalid-key", CacheError::InvalidKey("a".into())),
        ];
        for (case, error) in cases {
            let json = json!({ case: "a" });
            assert_eq!(CacheError::from_json(&json), Some(error), "{json}");
        }
        for kind in StorageErrorKind::ALL {
            let json = json!({"storage": {"kind": kind.name(), "message": "m"}});
            let expected = CacheError::Storage(StorageError::new(kind, "m"));
            assert_eq!(CacheError::from_json(&json), Some(expected), "{json}");
        }
    }

    #[test]
    fn a_storage_kind_this_build_does_not_know_is_other() {
        let json = json!({"storage": {"kind": "melted", "message": "m"}});
        let expected = CacheError::Storage(StorageError::new(StorageErrorKind::Other, "m"));
        assert_eq!(CacheError::from_json(&json), Some(expected));
    }

    #[test]
    fn json_of_another_shape_is_no_error() {
        for json in [
            json!("unknown-namespace"),
            json!({}),
            json!({"unknown-namespace": "a", "invalid-key": "b"}),
            json!({"unknown-namespace": 1}),
            json!({"no-such-case": "a"}),
            json!({"storage": "busy"}),
            json!({"storage": {"kind": "busy"}}),
            json!({"storage": {"message": "m"}}),
        ] {
            assert_eq!(CacheError::from_json(&json), None, "{json}");
        }
    }
}
