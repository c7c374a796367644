//! [`ValueMemo`]: JSON text → Python objects without re-parsing text seen before.
//!
//! Every read still goes through the component, which returns the value's JSON
//! text: the component's LRU order, hit and miss counters and read-through stay
//! exactly as they are. Only the conversion of that text into Python objects is
//! memoized: a small direct-mapped table keyed by the text itself keeps the
//! objects built for recent texts, and a read whose text equals a slot's text gets
//! a *fresh structural copy* of those objects (new `dict`s and `list`s, the
//! immutable leaves `str`, `int`, `float`, `bool` and `None` shared). The caller
//! can mutate what it got without touching the memo or another caller's result,
//! exactly as with a fresh parse.
//!
//! Bounded: [`SLOTS`] slots, texts up to [`MAX_TEXT`] bytes (longer ones are parsed
//! every time), so the table holds at most `SLOTS × MAX_TEXT` bytes of text plus
//! their objects.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::json_to_py;

/// Slots of the table (a power of two).
pub const SLOTS: usize = 2048;
/// Longest text memoized, in bytes.
pub const MAX_TEXT: usize = 512;

type Slot = Option<(Box<str>, Py<PyAny>)>;

/// The memo of one cache (see the module doc).
pub struct ValueMemo {
    slots: Mutex<Vec<Slot>>,
}

impl ValueMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self {
            slots: Mutex::new((0..SLOTS).map(|_| None).collect()),
        }
    }

    /// `text` (JSON from the component) as new Python objects.
    pub fn to_py<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
        if text.len() > MAX_TEXT {
            return json_to_py(py, text);
        }
        // Only ever locked with the GIL held, briefly; if another thread holds it
        // (a free-threaded build), parse instead of waiting.
        let Ok(mut slots) = self.slots.try_lock() else {
            return json_to_py(py, text);
        };
        let slot = &mut slots[slot_of(text)];
        if let Some((memo_text, value)) = slot.as_ref() {
            if **memo_text == *text {
                return fresh_copy(value.bind(py));
            }
        }
        let value = json_to_py(py, text)?;
        let copy = fresh_copy(&value)?;
        *slot = Some((text.into(), value.unbind()));
        Ok(copy)
    }
}

impl Default for ValueMemo {
    fn default() -> Self {
        Self::new()
    }
}

/// The slot of `text`: FNV-1a over its length and at most its first and last 32
/// bytes (a collision only costs a parse; equality is checked in full).
fn slot_of(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let head = &bytes[..bytes.len().min(32)];
    let tail = &bytes[bytes.len().saturating_sub(32)..];
    for &b in head.iter().chain(tail) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash as usize) & (SLOTS - 1)
}

/// A copy of a value built by [`json_to_py`]: new `dict`s and `list`s all the way
/// down, immutable leaves shared.
fn fresh_copy<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        let copy = dict.copy()?;
        for (k, v) in dict.iter() {
            if v.cast_exact::<PyDict>().is_ok() || v.cast_exact::<PyList>().is_ok() {
                copy.set_item(k, fresh_copy(&v)?)?;
            }
        }
        return Ok(copy.into_any());
    }
    if let Ok(list) = value.cast_exact::<PyList>() {
        let copy = list.get_slice(0, list.len());
        for (i, item) in list.iter().enumerate() {
            if item.cast_exact::<PyDict>().is_ok() || item.cast_exact::<PyList>().is_ok() {
                copy.set_item(i, fresh_copy(&item)?)?;
            }
        }
        return Ok(copy.into_any());
    }
    Ok(value.clone())
}
