//! Input checks shared by every entry point.

use crate::CacheError;

/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest value accepted, in bytes of JSON text (1 MiB).
pub const MAX_VALUE_BYTES: usize = 1 << 20;
/// Deepest nesting of arrays and objects a value may have: below the 128 levels
/// at which serde_json (the Python and Rust hosts' reader) stops, so every host
/// can read every value the cache stores.
pub const MAX_DEPTH: usize = 100;

/// Refuses keys over [`MAX_KEY_BYTES`] and keys containing NUL.
pub(crate) fn key(key: &str) -> Result<(), CacheError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(CacheError::TooLarge(format!(
            "key of {} bytes exceeds the limit of {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    if let Some(why) = nul(key) {
        return Err(CacheError::InvalidKey(format!("key {why}")));
    }
    Ok(())
}

/// Where `text` holds a NUL character, if it does: no key or name may, because
/// PostgreSQL's text cannot hold one, and a key one backend accepts must move to
/// every other.
pub(crate) fn nul(text: &str) -> Option<String> {
    text.find('\0').map(|at| {
        format!(
            "of {} bytes contains a NUL character at byte {at}",
            text.len()
        )
    })
}

/// Refuses values over [`MAX_VALUE_BYTES`], values that are not JSON, and JSON `null`.
pub(crate) fn value(value: &str) -> Result<(), CacheError> {
    value_size(value)?;
    json(value).map_err(CacheError::InvalidJson)
}

/// Refuses values over [`MAX_VALUE_BYTES`].
pub(crate) fn value_size(value: &str) -> Result<(), CacheError> {
    if value.len() > MAX_VALUE_BYTES {
        return Err(CacheError::TooLarge(format!(
            "value of {} bytes exceeds the limit of {MAX_VALUE_BYTES}",
            value.len()
        )));
    }
    Ok(())
}

/// Why `text` is not a storable JSON value, if it is not one.
pub(crate) fn json(text: &str) -> Result<(), String> {
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(if text.trim().is_empty() {
            "value is empty".to_owned()
        } else {
            format!("value is not JSON: {e}")
        });
    }
    if text.trim() == "null" {
        return Err("value is JSON null; delete the key instead".to_owned());
    }
    if nested_deeper_than(text, MAX_DEPTH) {
        return Err(too_deep());
    }
    Ok(())
}

/// Refuses JSON `text` nested deeper than [`MAX_DEPTH`].
pub(crate) fn depth(text: &str) -> Result<(), CacheError> {
    if nested_deeper_than(text, MAX_DEPTH) {
        return Err(CacheError::InvalidJson(too_deep()));
    }
    Ok(())
}

fn too_deep() -> String {
    format!("value is nested deeper than {MAX_DEPTH} levels of arrays and objects")
}

/// Whether the JSON `text` nests arrays and objects more than `max` levels deep.
fn nested_deeper_than(text: &str, max: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for byte in text.bytes() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return true;
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}
