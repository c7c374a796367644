//! Input checks shared by every entry point.

use crate::CacheError;

/// Longest key accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// Longest value accepted, in bytes of JSON text (1 MiB).
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Refuses keys over [`MAX_KEY_BYTES`].
pub(crate) fn key(key: &str) -> Result<(), CacheError> {
    if key.len() > MAX_KEY_BYTES {
        return Err(CacheError::TooLarge(format!(
            "key of {} bytes exceeds the limit of {MAX_KEY_BYTES}",
            key.len()
        )));
    }
    Ok(())
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
    Ok(())
}
