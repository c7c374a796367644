//! Standard output that never panics: a closed pipe (`EPIPE`) or a full disk
//! (`ENOSPC`) is remembered, later output is dropped, and `main` turns it into exit
//! code 3 with one line on stderr, instead of the panic of `println!`.

use std::io::Write;
use std::sync::Mutex;

/// The first error writing stdout, if any.
static FAILED: Mutex<Option<std::io::ErrorKind>> = Mutex::new(None);

/// Writes `args` and a newline to stdout, unless an earlier write failed.
pub fn line(args: std::fmt::Arguments<'_>) {
    let mut failed = FAILED.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_some() {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
    {
        *failed = Some(e.kind());
    }
}

/// Flushes stdout; the first write or flush error since the start, if any.
pub fn finish() -> Result<(), std::io::Error> {
    let mut failed = FAILED.lock().unwrap_or_else(|e| e.into_inner());
    if failed.is_none() {
        if let Err(e) = std::io::stdout().lock().flush() {
            *failed = Some(e.kind());
        }
    }
    match *failed {
        Some(kind) => Err(std::io::Error::from(kind)),
        None => Ok(()),
    }
}

/// `println!` through [`line`]: never panics.
macro_rules! outln {
    () => {
        $crate::out::line(format_args!(""))
    };
    ($($arg:tt)*) => {
        $crate::out::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;
