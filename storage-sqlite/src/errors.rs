//! SQLite failures as typed [`StorageError`]s that name the file and say what
//! to do.

use std::path::Path;
use std::time::Duration;

use rusqlite::ffi::ErrorCode;

use cache_core::{StorageError, StorageErrorKind};

/// Turns a SQLite error during `op` on `path` into a [`StorageError`].
pub(super) fn map_error(
    path: &Path,
    busy_timeout: Duration,
    op: &str,
    e: rusqlite::Error,
) -> StorageError {
    let p = path.display();
    let (kind, message) = match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let detail = msg.clone().unwrap_or_else(|| f.to_string());
            match f.code {
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => (
                    StorageErrorKind::Busy,
                    format!(
                        "cannot {op}: database {p} is locked by another connection and stayed locked for \
                         {busy_timeout:?} (SQLite: {detail}); stop the other writer or raise the busy timeout, then retry"
                    ),
                ),
                ErrorCode::ReadOnly => (
                    StorageErrorKind::ReadOnly,
                    format!(
                        "cannot {op}: database {p} is read-only (SQLite: {detail}); make the file and its \
                         directory writable by this process, then retry"
                    ),
                ),
                ErrorCode::DiskFull => (
                    StorageErrorKind::Full,
                    format!("cannot {op}: the disk holding {p} is full (SQLite: {detail}); free some space, then retry"),
                ),
                ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => (
                    StorageErrorKind::Corrupt,
                    format!(
                        "cannot {op}: {p} is damaged or is not a SQLite database (SQLite: {detail}); restore it \
                         from a backup, or move it away to start with an empty cache"
                    ),
                ),
                ErrorCode::ConstraintViolation => (
                    StorageErrorKind::Constraint,
                    format!("cannot {op} on {p}: the database refused the change (SQLite: {detail})"),
                ),
                ErrorCode::CannotOpen | ErrorCode::PermissionDenied => (
                    StorageErrorKind::Unavailable,
                    format!(
                        "cannot {op}: cannot open {p} (SQLite: {detail}); check that it and its directory exist \
                         and are accessible to this process"
                    ),
                ),
                ErrorCode::SystemIoFailure => (
                    StorageErrorKind::Unavailable,
                    format!("cannot {op}: I/O error on {p} (SQLite: {detail}); check the disk and the file system"),
                ),
                ErrorCode::SchemaChanged => (
                    StorageErrorKind::Schema,
                    format!("cannot {op} on {p}: the schema changed (SQLite: {detail}); retry"),
                ),
                _ => (
                    StorageErrorKind::Other,
                    format!("cannot {op} on {p}: SQLite: {detail}"),
                ),
            }
        }
        other => (
            StorageErrorKind::Other,
            format!("cannot {op} on {p}: {other}"),
        ),
    };
    StorageError::new(kind, message)
}

/// A cell that is not text, as the reason a row is skipped.
pub(super) fn cell_text(cell: rusqlite::types::ValueRef<'_>, what: &str) -> Result<String, String> {
    use rusqlite::types::ValueRef;
    match cell {
        ValueRef::Text(bytes) => {
            String::from_utf8(bytes.to_vec()).map_err(|_| format!("{what} is not valid UTF-8 text"))
        }
        ValueRef::Integer(n) => Ok(n.to_string()),
        ValueRef::Real(x) => Ok(x.to_string()),
        ValueRef::Null => Err(format!("{what} is NULL")),
        ValueRef::Blob(bytes) => Err(format!("{what} is a BLOB of {} bytes", bytes.len())),
    }
}
