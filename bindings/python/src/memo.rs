//! [`ValueMemo`]: JSON text → Python objects without re-parsing text seen before.
//!
//! Every read still goes through the component, which returns the value's JSON
//! text: the component's LRU order, hit and miss counters and read-through stay
//! exactly as they are. Only the conversion of that text into Python objects is
//! memoized: a small two-way set-associative table keyed by the text itself
//! keeps the objects built for recent texts, and a read whose text equals a
//! slot's text gets a *fresh structural copy* of those objects (new `dict`s and
//! `list`s, the immutable leaves `str`, `int`, `float`, `bool` and `None` shared). The caller
//! can mutate what it got without touching the memo or another caller's result,
//! exactly as with a fresh parse.
//!
//! Bounded: 2 × [`SETS`] slots, texts up to [`MAX_TEXT`] bytes (longer ones are
//! parsed every time), so the table holds at most 2 × `SETS` × `MAX_TEXT` bytes of
//! text (1 MiB) plus their objects.

use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::json_to_py;

/// Sets of the table (a power of two), of two slots each.
const SETS: usize = 1024;
/// Longest text memoized, in bytes.
pub const MAX_TEXT: usize = 512;

type Slot = Option<(Box<str>, Py<PyAny>)>;

/// One set: two slots, and which of them was used last (the other is replaced).
#[derive(Default)]
struct Set {
    ways: [Slot; 2],
    last: usize,
}

/// The memo of one cache (see the module doc).
pub struct ValueMemo {
    sets: Mutex<Vec<Set>>,
}

impl ValueMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self {
            sets: Mutex::new((0..SETS).map(|_| Set::default()).collect()),
        }
    }

    /// `text` (JSON from the component) as new Python objects.
    pub fn to_py<'py>(&self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
        if text.len() > MAX_TEXT {
            return json_to_py(py, text);
        }
        // Only ever locked with the GIL held, briefly; if another thread holds it
        // (a free-threaded build), parse instead of waiting.
        let Ok(mut sets) = self.sets.try_lock() else {
            return json_to_py(py, text);
        };
        let set = &mut sets[set_of(text)];
        for way in 0..2 {
            if let Some((memo_text, value)) = set.ways[way].as_ref() {
                if **memo_text == *text {
                    set.last = way;
                    return fresh_copy(value.bind(py));
                }
            }
        }
        let value = json_to_py(py, text)?;
        let copy = fresh_copy(&value)?;
        let victim = 1 - set.last;
        set.ways[victim] = Some((text.into(), value.unbind()));
        set.last = victim;
        Ok(copy)
    }
}

impl Default for ValueMemo {
    fn default() -> Self {
        Self::new()
    }
}

/// The set of `text`: FNV-1a over its length and at most its first and last 32
/// bytes (a collision only costs a parse; equality is checked in full).
fn set_of(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325 ^ bytes.len() as u64;
    let head = &bytes[..bytes.len().min(32)];
    let tail = &bytes[bytes.len().saturating_sub(32)..];
    for &b in head.iter().chain(tail) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    (hash as usize) & (SETS - 1)
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
