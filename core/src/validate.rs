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

/// Why `text` is not a storable JSON value, if it is not one. One pass: the
/// parse itself counts the nesting (see [`Levels`]).
pub(crate) fn json(text: &str) -> Result<(), String> {
    let mut parser = serde_json::Deserializer::from_str(text);
    let parsed = serde::de::DeserializeSeed::deserialize(Levels(MAX_DEPTH), &mut parser)
        .and_then(|()| parser.end());
    if let Err(e) = parsed {
        return Err(if text.trim().is_empty() {
            "value is empty".to_owned()
        } else if e.to_string().starts_with(TOO_DEEP) {
            too_deep()
        } else {
            format!("value is not JSON: {e}")
        });
    }
    if text.trim() == "null" {
        return Err("value is JSON null; delete the key instead".to_owned());
    }
    Ok(())
}

/// The start of the parse error [`Levels`] raises.
const TOO_DEEP: &str = "nested too deep";

/// Any JSON value whose arrays and objects nest at most this many levels;
/// deeper is an error starting with [`TOO_DEEP`]. Holds nothing it reads.
struct Levels(usize);

impl<'de> serde::de::DeserializeSeed<'de> for Levels {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Levels {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let inner = self.inner::<A::Error>()?;
        while items.next_element_seed(Levels(inner))?.is_some() {}
        Ok(())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
        let inner = self.inner::<A::Error>()?;
        while entries.next_key::<serde::de::IgnoredAny>()?.is_some() {
            entries.next_value_seed(Levels(inner))?;
        }
        Ok(())
    }
}

impl Levels {
    /// The levels left inside one more array or object; an error if none are.
    fn inner<E: serde::de::Error>(&self) -> Result<usize, E> {
        self.0.checked_sub(1).ok_or_else(|| E::custom(TOO_DEEP))
    }
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

#[cfg(test)]
mod tests {
    use serde::de::DeserializeSeed;

    /// An input of a kind JSON has not (bytes) is refused naming what was expected.
    #[test]
    fn levels_expect_a_json_value() {
        let bytes = serde::de::value::BytesDeserializer::<serde::de::value::Error>::new(b"x");
        let e = super::Levels(1)
            .deserialize(bytes)
            .expect_err("bytes are no JSON value");
        assert!(e.to_string().contains("expected a JSON value"), "{e}");
    }
}
