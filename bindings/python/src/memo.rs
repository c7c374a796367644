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
//! Opt-in per namespace ([`ValueMemo::share`]), a hit returns the memo's own
//! objects instead: the same object every time, as the bot's own cache
//! returns its dict, for a caller that treats it as read-only.
//!
//! Bounded: 2 × [`SETS`] slots, and at most [`MAX_BYTES`] of text held by the
//! memo's slots (a text that would pass it is parsed, not kept).

use std::sync::Arc;

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::json_to_py;
use crate::gil_cell::GilCell;

/// Sets of the table (a power of two), of two slots each: room for the
/// answers of a few full default namespaces (1000 entries each) without
/// crowding, at 24 bytes a slot.
const SETS: usize = 8192;
/// Bytes of text the slots may keep alive, in total.
pub const MAX_BYTES: usize = 32 << 20;

/// A text, its Python objects, and whether those are flat (a `dict` or `list`
/// of immutable values only, so a shallow copy is a full one).
type Slot = Option<(Arc<str>, Py<PyAny>, bool)>;

/// One set: two slots, and which of them was used last (the other is replaced).
#[derive(Default)]
struct Set {
    ways: [Slot; 2],
    last: usize,
}

/// The slots, the bytes of text they keep, and the namespaces whose hits
/// share the memo's objects.
struct Table {
    sets: Vec<Set>,
    bytes: usize,
    shared: Vec<Box<str>>,
}

impl Table {
    /// Whether a hit from an entry of `namespace` gets the memo's own objects
    /// (`None`: always).
    fn shares(&self, namespace: Option<&str>) -> bool {
        namespace.is_none_or(|namespace| self.shared.iter().any(|ns| &**ns == namespace))
    }
}

/// What the memo holds for a text (see [`ValueMemo::find`]).
pub enum Found<'py> {
    /// The memo's own objects, to be returned as they are.
    Shared(Bound<'py, PyAny>),
    /// The memo's own objects, to be copied (shallowly when `flat`).
    Copied {
        value: Bound<'py, PyAny>,
        flat: bool,
    },
    /// Nothing held (or the table was busy): the text, to be parsed.
    Text(Arc<str>),
}

/// The memo of one cache (see the module doc).
pub struct ValueMemo {
    table: GilCell<Table>,
}

impl ValueMemo {
    /// An empty memo.
    pub fn new() -> Self {
        Self {
            table: GilCell::new(Table {
                sets: (0..SETS).map(|_| Set::default()).collect(),
                bytes: 0,
                shared: Vec::new(),
            }),
        }
    }

    /// Whether hits in `namespace` return the memo's own objects rather than
    /// fresh copies (see `shareValues` in `service.rs`). Waits for nothing: a
    /// table in use by a caller up the stack (Python code run inside a hit)
    /// is a `RuntimeError`.
    pub fn share(&self, py: Python<'_>, namespace: &str, on: bool) -> PyResult<()> {
        let Some(mut table) = self.table.try_borrow_mut(py) else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "shareValues called while the cache converts a value; call it again",
            ));
        };
        table.shared.retain(|ns| &**ns != namespace);
        if on {
            table.shared.push(namespace.into());
        }
        Ok(())
    }

    /// What the memo holds for `text` (an answer of the read path, from an
    /// entry of `namespace`; `None` for callers in this package that never
    /// mutate the objects nor hand them out, and get the memo's own). Runs no
    /// Python code and only takes references, so a host may call it while
    /// its service is held; [`answer`](Self::answer) finishes the work.
    pub fn find<'py>(
        &self,
        py: Python<'py>,
        text: &Arc<str>,
        namespace: Option<&str>,
    ) -> Found<'py> {
        if let Some(mut table) = self.table.try_borrow_mut(py) {
            let shared = table.shares(namespace);
            let set = &mut table.sets[set_of(text)];
            for way in 0..2 {
                if let Some((memo_text, value, flat)) = set.ways[way].as_ref() {
                    if Arc::ptr_eq(memo_text, text) {
                        set.last = way;
                        let value = value.bind(py).clone();
                        return if shared {
                            Found::Shared(value)
                        } else {
                            Found::Copied { value, flat: *flat }
                        };
                    }
                }
            }
        }
        Found::Text(Arc::clone(text))
    }

    /// What [`find`](Self::find) found, as the caller's objects: the memo's
    /// own, a fresh copy of them, or a parse of the text (kept for the next
    /// hit while the memo's bounds allow).
    pub fn answer<'py>(
        &self,
        py: Python<'py>,
        found: Found<'py>,
        namespace: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        match found {
            Found::Shared(value) => Ok(value),
            Found::Copied { value, flat: true } => shallow_copy(&value),
            Found::Copied { value, flat: false } => fresh_copy(&value),
            Found::Text(text) => self.parse(py, &text, namespace),
        }
    }

    /// `text`, which the memo does not hold, parsed and kept in its set.
    fn parse<'py>(
        &self,
        py: Python<'py>,
        text: &Arc<str>,
        namespace: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // Held across the parse, which may run Python code (a garbage
        // collection): a hit inside it, or on a thread it lets run, parses
        // instead of waiting.
        let Some(mut table) = self.table.try_borrow_mut(py) else {
            return json_to_py(py, text);
        };
        let table = &mut *table;
        let shared = table.shares(namespace);
        let value = json_to_py(py, text)?;
        let set = &mut table.sets[set_of(text)];
        let victim = 1 - set.last;
        let freed = set.ways[victim].as_ref().map_or(0, |(t, _, _)| t.len());
        if table.bytes - freed + text.len() > MAX_BYTES {
            return Ok(value);
        }
        let out = if shared {
            value.clone()
        } else {
            fresh_copy(&value)?
        };
        table.bytes = table.bytes - freed + text.len();
        let flat = is_flat(&value);
        set.ways[victim] = Some((Arc::clone(text), value.unbind(), flat));
        set.last = victim;
        Ok(out)
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
    (address.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 48) as usize & (SETS - 1)
}

/// Whether `value` holds no `dict` or `list` below its top level.
fn is_flat(value: &Bound<'_, PyAny>) -> bool {
    // SAFETY: a `Bound` is a live object with the GIL held.
    let container = |v: &Bound<'_, PyAny>| unsafe { is_container(v.as_ptr()) };
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        return !dict.iter().any(|(_, v)| container(&v));
    }
    if let Ok(list) = value.cast_exact::<PyList>() {
        return !list.iter().any(|v| container(&v));
    }
    true
}

/// A copy of a flat value (see [`is_flat`]): a new top-level `dict` or `list`.
fn shallow_copy<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        return Ok(dict.copy()?.into_any());
    }
    if let Ok(list) = value.cast_exact::<PyList>() {
        return Ok(list.get_slice(0, list.len()).into_any());
    }
    Ok(value.clone())
}

/// A copy of a value built by [`json_to_py`]: new `dict`s and `list`s all the way
/// down, immutable leaves shared.
fn fresh_copy<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `value` is a live object and the GIL is held (its `py()`), as
    // `copy_raw` needs; it returns a new reference, or NULL with an exception set,
    // which is what `from_owned_ptr_or_err` takes.
    unsafe { Bound::from_owned_ptr_or_err(value.py(), copy_raw(value.as_ptr())) }
}

/// Whether `object` is exactly a `dict` or a `list`, the containers
/// [`json_to_py`] builds.
///
/// # Safety
/// `object` is a live object and the GIL is held.
unsafe fn is_container(object: *mut ffi::PyObject) -> bool {
    // SAFETY: as the caller promises.
    unsafe { ffi::PyDict_CheckExact(object) != 0 || ffi::PyList_CheckExact(object) != 0 }
}

/// [`fresh_copy`] through the C API: a hit copies every container of its value,
/// and PyO3's iterators add a size check and two reference counts per item,
/// where only the nested containers need them. Returns a new reference, or NULL
/// with a Python exception set.
///
/// # Safety
/// `object` is a live object and the GIL is held.
unsafe fn copy_raw(object: *mut ffi::PyObject) -> *mut ffi::PyObject {
    // SAFETY (the whole body): the GIL is held and `object` is live (the caller's
    // promise). `PyDict_Next` and `PyList_GetItem` give borrowed references; a
    // nested container and its key are held while the copy is made, since
    // `PyDict_SetItem` may run a key's `__hash__`, which could change `object`
    // (never for the memo's own objects, whose keys are `str`, but a shared
    // object may have reached a caller). `PyList_SetItem` takes over `inner`.
    // Every new reference is released on every path.
    unsafe {
        if ffi::PyDict_CheckExact(object) != 0 {
            let copy = ffi::PyDict_Copy(object);
            if copy.is_null() {
                return copy;
            }
            let mut pos: ffi::Py_ssize_t = 0;
            let mut key = std::ptr::null_mut();
            let mut item = std::ptr::null_mut();
            while ffi::PyDict_Next(object, &mut pos, &mut key, &mut item) != 0 {
                if is_container(item) {
                    ffi::Py_INCREF(key);
                    ffi::Py_INCREF(item);
                    let inner = copy_raw(item);
                    let failed = inner.is_null() || ffi::PyDict_SetItem(copy, key, inner) < 0;
                    ffi::Py_XDECREF(inner);
                    ffi::Py_DECREF(item);
                    ffi::Py_DECREF(key);
                    if failed {
                        ffi::Py_DECREF(copy);
                        return std::ptr::null_mut();
                    }
                }
            }
            return copy;
        }
        if ffi::PyList_CheckExact(object) != 0 {
            let len = ffi::PyList_Size(object);
            let copy = ffi::PyList_GetSlice(object, 0, len);
            if copy.is_null() {
                return copy;
            }
            for i in 0..len {
                // NULL (an `IndexError` set) only if the list shrank during the
                // walk (see above).
                let item = ffi::PyList_GetItem(object, i);
                if item.is_null() {
                    ffi::Py_DECREF(copy);
                    return item;
                }
                if is_container(item) {
                    ffi::Py_INCREF(item);
                    let inner = copy_raw(item);
                    ffi::Py_DECREF(item);
                    if inner.is_null() || ffi::PyList_SetItem(copy, i, inner) < 0 {
                        ffi::Py_DECREF(copy);
                        return std::ptr::null_mut();
                    }
                }
            }
            return copy;
        }
        ffi::Py_INCREF(object);
        object
    }
}
