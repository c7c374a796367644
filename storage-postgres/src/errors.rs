//! PostgreSQL failures as typed [`StorageError`]s that name the server and
//! say what to do, and cells that cannot be read as text.

use std::error::Error as _;

use cache_core::{StorageError, StorageErrorKind};
use postgres::error::SqlState;
use postgres::types::{FromSql, Type};

/// The kind of a server error code (SQLSTATE).
pub fn kind_of_sqlstate(code: &str) -> StorageErrorKind {
    use StorageErrorKind::*;
    match code {
        // serialization_failure, deadlock_detected: a retry may succeed.
        "40001" | "40P01" => Conflict,
        // lock_not_available (lock_timeout), query_canceled (statement_timeout).
        "55P03" | "57014" => Busy,
        // read_only_sql_transaction, insufficient_privilege.
        "25006" | "42501" => ReadOnly,
        // disk_full, configuration_limit_exceeded (e.g. temp_file_limit).
        "53100" | "53400" => Full,
        // data_corrupted, index_corrupted, invalid byte sequence for the encoding.
        "XX001" | "XX002" | "22021" => Corrupt,
        // admin/crash shutdown, cannot connect now, too many connections.
        "57P01" | "57P02" | "57P03" | "53300" => Unavailable,
        // cached plan must not change result type: a table changed under a statement.
        "0A000" => Schema,
        // raise_exception: a trigger refused the change.
        "P0001" => Constraint,
        _ => match code.get(..2) {
            Some("23") => Constraint,
            Some("08") | Some("28") | Some("3D") => Unavailable,
            Some("42") => Schema,
            _ => Other,
        },
    }
}

/// Turns a failure of `op` on the server `server` into a [`StorageError`].
pub fn map_error(server: &str, op: &str, e: &postgres::Error) -> StorageError {
    if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let kind = kind_of_sqlstate(code);
        let detail = match db.detail() {
            Some(d) => format!("{} ({d})", db.message()),
            None => db.message().to_owned(),
        };
        let advice = match kind {
            StorageErrorKind::Conflict => "a concurrent transaction conflicted; retry",
            StorageErrorKind::Busy => {
                "another transaction held a lock for longer than the lock timeout; retry, or raise the timeout"
            }
            StorageErrorKind::ReadOnly => {
                "the session or role cannot write; connect to a writable primary with a role that may write"
            }
            StorageErrorKind::Full => "the server ran out of disk or hit a limit; free space, then retry",
            StorageErrorKind::Corrupt => "the server reports damaged data; restore from a backup",
            StorageErrorKind::Unavailable => "the server cannot serve this connection; check it and retry",
            StorageErrorKind::Schema => {
                "the tables do not have the shape the cache needs (schema/postgres/migrations)"
            }
            StorageErrorKind::Constraint => "the database refused the change",
            StorageErrorKind::Other | StorageErrorKind::Pending => "see the server's log",
        };
        return StorageError::new(
            kind,
            format!("cannot {op} on {server}: PostgreSQL {code}: {detail}; {advice}"),
        );
    }
    if e.is_closed() || e.source().is_some_and(|s| s.is::<std::io::Error>()) || is_connect_error(e)
    {
        return StorageError::new(
            StorageErrorKind::Unavailable,
            format!(
                "cannot {op}: the connection to {server} is lost or could not be made ({e}); \
                 check that the server runs and is reachable; the next call reconnects"
            ),
        );
    }
    let kind = if e.to_string().contains("error deserializing")
        || e.to_string().contains("error serializing")
    {
        StorageErrorKind::Schema
    } else {
        StorageErrorKind::Other
    };
    StorageError::new(kind, format!("cannot {op} on {server}: {e}"))
}

fn is_connect_error(e: &postgres::Error) -> bool {
    let text = e.to_string();
    text.starts_with("error connecting")
        || text.starts_with("timeout waiting")
        || text.contains("connection closed")
}

/// True when the error means the connection is unusable and must be replaced.
pub fn is_connection_lost(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.as_db_error().is_some_and(|db| {
            let c = db.code();
            *c == SqlState::ADMIN_SHUTDOWN
                || *c == SqlState::CRASH_SHUTDOWN
                || c.code().starts_with("08")
        })
}

/// A cell read as text, or why it cannot be: NULL, or not valid UTF-8 (possible
/// in a `SQL_ASCII` database). The row queries read cells as the stored bytes
/// (`convert_to(cell, server_encoding)`, a `bytea`), so that a bad cell is a
/// bad row here rather than a server error that fails the whole result.
pub struct Cell(pub Result<String, String>);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(
        ty: &Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let bytes = if *ty == Type::JSONB {
            // jsonb's binary form: a version byte, then the text.
            raw.get(1..).unwrap_or_default()
        } else {
            raw
        };
        Ok(Cell(
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|_| "is not valid UTF-8 text".to_owned()),
        ))
    }

    fn from_sql_null(_: &Type) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Cell(Err("is NULL".to_owned())))
    }

    fn accepts(ty: &Type) -> bool {
        [
            Type::TEXT,
            Type::VARCHAR,
            Type::BPCHAR,
            Type::NAME,
            Type::JSON,
            Type::JSONB,
            Type::BYTEA,
            Type::UNKNOWN,
        ]
        .contains(ty)
    }
}

impl Cell {
    /// The text, or the reason prefixed by `what`.
    pub fn text(self, what: &str) -> Result<String, String> {
        self.0.map_err(|reason| format!("{what} {reason}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_the_kinds_callers_act_on() {
        use StorageErrorKind::*;
        for (code, kind) in [
            ("40001", Conflict),
            ("40P01", Conflict),
            ("55P03", Busy),
            ("57014", Busy),
            ("25006", ReadOnly),
            ("53100", Full),
            ("23505", Constraint),
            ("23514", Constraint),
            ("P0001", Constraint),
            ("42P01", Schema),
            ("42703", Schema),
            ("08006", Unavailable),
            ("57P01", Unavailable),
            ("28P01", Unavailable),
            ("3D000", Unavailable),
            ("XX001", Corrupt),
            ("22021", Corrupt),
            ("22P02", Other),
        ] {
            assert_eq!(kind_of_sqlstate(code), kind, "{code}");
        }
    }
}
