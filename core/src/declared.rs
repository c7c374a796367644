//! What the owner of a namespace declares about its entries beyond the table:
//! a mirrored field (see [`crate::Cache::mirror`]) and whether entries are
//! records (see [`crate::Cache::record`]).

use serde_json::Value;

/// The shape a mirrored field must have when a generic write carries it into
/// a memory-only namespace (its owner's readers rely on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldShape {
    /// A JSON object.
    Object,
    /// A JSON object whose values are all strings.
    StringMap,
}

impl FieldShape {
    /// `Ok` if `value` has this shape, else why not.
    pub(crate) fn check(self, value: &Value) -> Result<(), String> {
        let Value::Object(object) = value else {
            return Err(format!("is {value}, not a JSON object"));
        };
        if self == FieldShape::StringMap {
            if let Some((key, other)) = object.iter().find(|(_, v)| !v.is_string()) {
                return Err(format!(
                    "has {key:?} = {other}: its values must be JSON strings"
                ));
            }
        }
        Ok(())
    }
}

/// The declarations applying to one namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Declared {
    /// The mirrored field and its shape.
    pub(crate) mirror: Option<(Box<str>, FieldShape)>,
    /// Entries are records: an empty object is no row in storage.
    pub(crate) record: bool,
}

impl Declared {
    /// The mirrored field's name.
    pub(crate) fn mirror_field(&self) -> Option<&str> {
        self.mirror.as_ref().map(|(field, _)| &**field)
    }
}

/// Whether `text` is an empty JSON object (`{}`, any JSON whitespace).
pub(crate) fn is_empty_object(text: &str) -> bool {
    text.trim()
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|inner| inner.trim().is_empty())
}
