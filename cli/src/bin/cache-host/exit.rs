//! The exit codes of `cache-host`, and the error type that carries one.

use std::process::ExitCode;

use cache_host::Error;

/// Success.
pub const OK: u8 = 0;
/// `get`: the key is not set.
pub const ABSENT: u8 = 1;
/// Usage: bad arguments (a `call` of no exported function, or with arguments of the
/// wrong types), a missing database for a read command, a value that `set`,
/// `call` or `import` refuses (not JSON, JSON `null`, too large, unknown namespace), an
/// invalid policy file, a memory limit too small for the namespace table.
pub const USAGE: u8 = 2;
/// Storage or component failure: the database cannot be opened, read or written
/// (busy, read-only, full, corrupt, owned by another process), the component cannot
/// be loaded or trapped, `run` found lost writes, stdout cannot be written. A write
/// command exiting with this code stored nothing.
pub const FAILED: u8 = 3;
/// `run` was interrupted by SIGINT or SIGTERM (after persisting).
pub const INTERRUPTED: u8 = 130;

/// The exit codes, as `--help` shows them.
pub const HELP: &str = "\
Exit codes:
  0    success
  1    get: the key is not set
  2    usage: bad arguments (a call that does not match the contract), a read
       command on a missing database, a value or import line that set/call/import
       refuses (not JSON, null, too large, unknown namespace),
       an invalid policy file, a --memory-limit-mib too small for the namespaces
  3    storage or component failure (cannot open/read/write the database, busy,
       corrupt, owned by another process; component missing or trapped; run found
       lost writes; stdout not writable). A write command that exits 3 stored nothing.
  130  run: interrupted (SIGINT/SIGTERM), pending changes persisted first";

/// A failure of one command: its exit code and the one line printed for it.
#[derive(Debug)]
pub struct Failure {
    /// [`USAGE`] or [`FAILED`].
    pub code: u8,
    /// What went wrong, for a person.
    pub message: String,
}

impl Failure {
    /// A usage failure (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    /// A storage or component failure (exit 3).
    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            code: FAILED,
            message: message.into(),
        }
    }

    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::UnknownNamespace(_)
            | Error::InvalidJson(_)
            | Error::InvalidConfig(_)
            | Error::TooLarge(_)
            | Error::InvalidKey(_)
            | Error::MemoryLimit { .. }
            | Error::BadCall(_)
            | Error::Policy { .. } => USAGE,
            _ => FAILED,
        };
        Self {
            code,
            message: e.to_string(),
        }
    }
}
