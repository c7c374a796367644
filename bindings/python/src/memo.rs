//! [`ValueMemo`]: the Python objects of an answer, built once per answer.
//!
//! The host's read path (see `cache_host::CacheService::read`) answers a
//! repeated read with the very same shared text (an `Arc<str>`) for as long as
//! the entry is unchanged. This memo keeps the Python objects built for recent
//! texts, keyed by that identity, so a hit costs a pointer comparison whatever
//! the value's size. A changed entry gets a new text, hence a new slot.
//!
//! What the caller gets is a *fresh structural copy* of those objects (new
//! `dict`s and `list`s, the immutable leaves `str`, `int`, `float`, `bool` and
//! `None` shared; an immutable value is returned as it is). The caller can
//! mutate what it got without touching the memo or another caller's result,
//! exactly as with a fresh parse.
//!
//! Bounded: 2 × [`SETS`] slots, and at most [`MAX_BYTES`] of text held by the
//! memo's slots (a text that would pass it is parsed, not kept).

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::json_to_py;

/// Sets of the table (a power of two), of two slots each.
const SETS: usize = 1024;
/// Bytes of text the slots may keep alive, in total.
pub const MAX_BYTES: usize = 32 << 20;

type Slot = Option<(Arc<str>, Py<PyAny>)>;

/// One set: two slots, and which of them was used last (the other is replaced).
#[derive(Default)]
struct Set {
    ways: [Slot; 2],
    last: usize,
}

/// The slots and the bytes of text they keep.
struct Table {
    sets: Vec<Set>,
    bytes: usize,
}

/// The memo of one cache (see the module doc).
pub struct ValueMemo {
    table: Mutex<Table>,
}

impl ValueMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self {
            table: Mutex::new(Table {
                sets: (0..SETS).map(|_| Set::default()).collect(),
                bytes: 0,
            }),
        }
    }

    /// `text` (an answer of the read path) as new Python objects.
    pub fn to_py<'py>(&self, py: Python<'py>, text: &Arc<str>) -> PyResult<Bound<'py, PyAny>> {
        // Only ever locked with the GIL held, briefly; if another thread holds it
        // (a free-threaded build), parse instead of waiting.
        let Ok(mut table) = self.table.try_lock() else {
            return json_to_py(py, text);
        };
        let table = &mut *table;
        let set = &mut table.sets[set_of(text)];
        for way in 0..2 {
            if let Some((memo_text, value)) = set.ways[way].as_ref() {
                if Arc::ptr_eq(memo_text, text) {
                    set.last = way;
                    return fresh_copy(value.bind(py));
                }
            }
        }
        let value = json_to_py(py, text)?;
        let victim = 1 - set.last;
        let freed = set.ways[victim].as_ref().map_or(0, |(t, _)| t.len());
        if table.bytes - freed + text.len() > MAX_BYTES {
            return Ok(value);
        }
        let copy = fresh_copy(&value)?;
        table.bytes = table.bytes - freed + text.len();
        set.ways[victim] = Some((Arc::clone(text), value.unbind()));
        set.last = victim;
        Ok(copy)
    }
}

impl Default for ValueMemo {
    fn default() -> Self {
        Self::new()
    }
}

/// The set of a text: its address, mixed (allocations are aligned, so the
/// low bits alone would crowd a few sets).
fn set_of(text: &Arc<str>) -> usize {
    let address = Arc::as_ptr(text).cast::<u8>() as usize as u64;
    (address.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 54) as usize & (SETS - 1)
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
