//! Where a value given on the command line comes from: the argument itself, stdin
//! (`-`), or a file (`@path`). Values of any size fit (the argument list of the OS
//! does not limit them), and are validated by the component like any other.

use std::io::Read;

use crate::exit::Failure;

/// The JSON text meant by `arg`: `-` reads stdin to its end, `@path` reads the file,
/// anything else is the value itself. Text read from stdin or a file loses trailing
/// whitespace (insignificant in JSON; a file usually ends with a newline).
pub fn read(arg: &str) -> Result<String, Failure> {
    let text = if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .read_to_string(&mut text)
            .map_err(|e| Failure::usage(format!("cannot read the value from stdin: {e}")))?;
        text
    } else if let Some(path) = arg.strip_prefix('@') {
        std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("cannot read the value from {path}: {e}")))?
    } else {
        return Ok(arg.to_owned());
    };
    let len = text.trim_end().len();
    let mut text = text;
    text.truncate(len);
    Ok(text)
}
