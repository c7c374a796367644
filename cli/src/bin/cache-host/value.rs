//! Where a value given on the command line comes from: the argument itself, stdin
//! (`-`), or a file (`@path`). Values of any size fit (the argument list of the OS
//! does not limit them), and are validated by the component like any other.

use std::io::Read;

use crate::exit::Failure;

/// The most a value read from stdin or a file may take, trailing whitespace
/// included: the component refuses anything over [`cache_core::MAX_VALUE_BYTES`],
/// so reading more would only fill memory (a 1 GB value took 1.97 GB before).
const READ_LIMIT: u64 = cache_core::MAX_VALUE_BYTES as u64 + 64 * 1024;

/// The JSON text meant by `arg`: `-` reads stdin to its end, `@path` reads the file,
/// anything else is the value itself. Text read from stdin or a file loses trailing
/// whitespace (insignificant in JSON; a file usually ends with a newline). Input
/// longer than a value may be is refused as soon as that much was read.
pub fn read(arg: &str) -> Result<String, Failure> {
    let text = if arg == "-" {
        read_limited(std::io::stdin().lock(), "stdin")?
    } else if let Some(path) = arg.strip_prefix('@') {
        let file = std::fs::File::open(path)
            .map_err(|e| Failure::usage(format!("cannot read the value from {path}: {e}")))?;
        read_limited(file, path)?
    } else {
        return Ok(arg.to_owned());
    };
    let len = text.trim_end().len();
    let mut text = text;
    text.truncate(len);
    Ok(text)
}

fn read_limited(input: impl Read, source: &str) -> Result<String, Failure> {
    let mut text = String::new();
    input
        .take(READ_LIMIT + 1)
        .read_to_string(&mut text)
        .map_err(|e| Failure::usage(format!("cannot read the value from {source}: {e}")))?;
    if text.len() as u64 > READ_LIMIT {
        return Err(Failure::usage(format!(
            "the value from {source} is over the limit of {} bytes (too large); nothing was stored",
            cache_core::MAX_VALUE_BYTES
        )));
    }
    Ok(text)
}
