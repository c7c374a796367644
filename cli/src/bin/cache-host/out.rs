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

/// `name` (a namespace or key read from storage) safe to print on a terminal:
/// control characters (NUL, ESC, newlines, ...) and the invisible characters
/// that reorder or hide text (bidirectional overrides, zero-width ones) are
/// shown as `\u{..}` escapes; everything else as it is.
pub fn shown(name: &str) -> std::borrow::Cow<'_, str> {
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    if !name.chars().any(hidden) {
        return std::borrow::Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 8);
    for c in name.chars() {
        if hidden(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}
