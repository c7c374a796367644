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

use std::sync::{Arc, Mutex};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::json_to_py;

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
                shared: Vec::new(),
            }),
        }
    }

    /// Whether hits in `namespace` return the memo's own objects rather than
    /// fresh copies (see `shareValues` in `service.rs`).
    pub fn share(&self, namespace: &str, on: bool) {
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        table.shared.retain(|ns| &**ns != namespace);
        if on {
            table.shared.push(namespace.into());
        }
    }

    /// `text` (an answer of the read path, from an entry of `namespace`) as
    /// new Python objects, or as the memo's own when `namespace` shares them.
    pub fn to_py<'py>(
        &self,
        py: Python<'py>,
        text: &Arc<str>,
        namespace: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.convert(py, text, Some(namespace))
    }

    /// `text` as the memo's own objects whatever the namespace, for callers in
    /// this package that never mutate them nor hand them out: the same object
    /// while the copy is unchanged (a new one when it is not memoized).
    pub fn kept<'py>(&self, py: Python<'py>, text: &Arc<str>) -> PyResult<Bound<'py, PyAny>> {
        self.convert(py, text, None)
    }

    /// `namespace`: `None` means shared.
    fn convert<'py>(
        &self,
        py: Python<'py>,
        text: &Arc<str>,
        namespace: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // Only ever locked with the GIL held, briefly; if another thread holds it
        // (a free-threaded build), parse instead of waiting.
        let Ok(mut table) = self.table.try_lock() else {
            return json_to_py(py, text);
        };
        let table = &mut *table;
        let shared =
            namespace.is_none_or(|namespace| table.shared.iter().any(|ns| &**ns == namespace));
        let set = &mut table.sets[set_of(text)];
        for way in 0..2 {
            if let Some((memo_text, value, flat)) = set.ways[way].as_ref() {
                if Arc::ptr_eq(memo_text, text) {
                    set.last = way;
                    return if shared {
                        Ok(value.bind(py).clone())
                    } else if *flat {
                        shallow_copy(value.bind(py))
                    } else {
                        fresh_copy(value.bind(py))
                    };
                }
            }
        }
        let value = json_to_py(py, text)?;
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
