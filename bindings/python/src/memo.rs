//! [`ValueMemo`]: the Python objects of an answer, built once per answer.
//!
//! The host's read path (see `cache_host::CacheService::read`) answers a
//! repeated read from its copy of the component's answer for as long as the
//! entry is unchanged. The Python objects parsed from that answer are kept with
//! the copy itself (a [`Kept`], the host's [`cache_host::Attachment`]), so a hit
//! finds them in the same lookup as the copy, whatever the value's size, and
//! they go when the copy goes (the entry changed, or the copies were dropped).
//!
//! What the caller gets is a *fresh structural copy* of those objects (new
//! `dict`s and `list`s, the immutable leaves `str`, `int`, `float`, `bool` and
//! `None` shared; an immutable value is returned as it is). The caller can
//! mutate what it got without touching the kept objects or another caller's
//! result, exactly as with a fresh parse.
//!
//! Opt-in per namespace ([`ValueMemo::share`]), a hit returns the kept objects
//! themselves: the same object every time, as the bot's own cache returns its
//! dict, for a caller that treats it as read-only.
//!
//! Bounded by the read path's copies: one [`Kept`] per copy at most.

use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::json_to_py_sized;
use crate::gil_cell::GilCell;

/// The Python objects of one answer, kept with the host's copy of it, the
/// memory they hold (as `crate::sizes` counts it), and whether they are flat (a
/// `dict` or `list` of immutable values only, so a shallow copy is a full
/// one).
///
/// Dropped by the host under its lock, maybe with the GIL held, maybe on a
/// thread without it: dropping the objects there could run Python code (a
/// `__del__` of something a caller put into a shared object) that calls the
/// cache back. So a drop only moves the objects to [`GRAVEYARD`], and
/// [`bury`] releases them once no lock of the cache is held.
pub struct Kept {
    value: ManuallyDrop<Py<PyAny>>,
    /// Saturated at `u32::MAX`: 32 bits keep a `Kept` in two words.
    bytes: u32,
    flat: bool,
}

impl cache_host::Attachment for Kept {
    fn bytes(&self) -> usize {
        self.bytes as usize
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        // SAFETY: `value` is taken once, here, and never used after.
        let value = unsafe { ManuallyDrop::take(&mut self.value) };
        GRAVEYARD
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(value);
        BURIED.store(true, Ordering::Release);
    }
}

/// Objects of dropped [`Kept`]s, released by [`bury`].
static GRAVEYARD: Mutex<Vec<Py<PyAny>>> = Mutex::new(Vec::new());
/// Whether [`GRAVEYARD`] may hold objects.
static BURIED: AtomicBool = AtomicBool::new(false);

/// Releases the objects of dropped [`Kept`]s. Call with no lock of the cache
/// held: their release may run Python code.
pub fn bury(_py: Python<'_>) {
    if !BURIED.swap(false, Ordering::AcqRel) {
        return;
    }
    let dead = std::mem::take(&mut *GRAVEYARD.lock().unwrap_or_else(|e| e.into_inner()));
    drop(dead);
}

/// What the memo has for a copy (see [`ValueMemo::find`]).
pub enum Found<'py> {
    /// The kept objects, to be returned as they are.
    Shared(Bound<'py, PyAny>),
    /// The kept objects, to be copied (shallowly when `flat`).
    Copied {
        value: Bound<'py, PyAny>,
        flat: bool,
    },
    /// Nothing kept yet: the text, to be parsed (and its objects kept).
    Text(Arc<str>),
}

/// Objects parsed from a text, to be kept with the copy holding that text.
pub type Parsed = (Arc<str>, Kept);

/// Which namespaces' hits share the kept objects (see the module doc).
pub struct ValueMemo {
    shared: GilCell<Vec<Box<str>>>,
}

impl ValueMemo {
    /// No namespace shares.
    pub fn new() -> Self {
        Self {
            shared: GilCell::new(Vec::new()),
        }
    }

    /// Whether hits in `namespace` return the kept objects rather than fresh
    /// copies (see `shareValues` in `control.rs`). Waits for nothing: the
    /// list in use by a caller up the stack is a `RuntimeError`.
    pub fn share(&self, py: Python<'_>, namespace: &str, on: bool) -> PyResult<()> {
        let Some(mut shared) = self.shared.try_borrow_mut(py) else {
            return Err(pyo3::exceptions::PyRuntimeError::new_err(
                "shareValues called while the cache converts a value; call it again",
            ));
        };
        shared.retain(|ns| &**ns != namespace);
        if on {
            shared.push(namespace.into());
        }
        Ok(())
    }

    /// Whether a hit from an entry of `namespace` gets the kept objects
    /// (`None`: always).
    fn shares(&self, py: Python<'_>, namespace: Option<&str>) -> bool {
        let Some(namespace) = namespace else {
            return true;
        };
        self.shared
            .try_borrow_mut(py)
            .is_some_and(|shared| shared.iter().any(|ns| &**ns == namespace))
    }

    /// What is kept with a copy whose text is `text` (from an entry of
    /// `namespace`; `None` for callers in this package that never mutate the
    /// objects nor hand them out, and get the kept ones). Runs no Python code
    /// and only takes references, so a host may call it while its service is
    /// held; [`answer`](Self::answer) finishes the work.
    pub fn find<'py>(
        &self,
        py: Python<'py>,
        text: &Arc<str>,
        kept: &Option<Kept>,
        namespace: Option<&str>,
    ) -> Found<'py> {
        match kept {
            Some(kept) => {
                let value = kept.value.bind(py).clone();
                if self.shares(py, namespace) {
                    Found::Shared(value)
                } else {
                    Found::Copied {
                        value,
                        flat: kept.flat,
                    }
                }
            }
            None => Found::Text(Arc::clone(text)),
        }
    }

    /// What [`find`](Self::find) found, as the caller's objects: the kept
    /// ones, a fresh copy of them, or a parse of the text, whose objects are
    /// then returned to be kept with the copy.
    pub fn answer<'py>(
        &self,
        py: Python<'py>,
        found: Found<'py>,
        namespace: Option<&str>,
    ) -> PyResult<(Bound<'py, PyAny>, Option<Parsed>)> {
        match found {
            Found::Shared(value) => Ok((value, None)),
            Found::Copied { value, flat: true } => Ok((shallow_copy(&value)?, None)),
            Found::Copied { value, flat: false } => Ok((fresh_copy(&value)?, None)),
            Found::Text(text) => {
                let (value, bytes) = json_to_py_sized(py, &text)?;
                let out = if self.shares(py, namespace) {
                    value.clone()
                } else {
                    fresh_copy(&value)?
                };
                let kept = Kept {
                    flat: is_flat(&value),
                    bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
                    value: ManuallyDrop::new(value.unbind()),
                };
                Ok((out, Some((text, kept))))
            }
        }
    }
}

impl Default for ValueMemo {
    fn default() -> Self {
        Self::new()
    }
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

/// A copy of a value built by [`json_to_py`](crate::convert::json_to_py): new `dict`s and `list`s all the way
/// down, immutable leaves shared.
fn fresh_copy<'py>(value: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    // SAFETY: `value` is a live object and the GIL is held (its `py()`), as
    // `copy_raw` needs; it returns a new reference, or NULL with an exception set,
    // which is what `from_owned_ptr_or_err` takes.
    unsafe { Bound::from_owned_ptr_or_err(value.py(), copy_raw(value.as_ptr())) }
}

/// Whether `object` is exactly a `dict` or a `list`, the containers
/// [`json_to_py`](crate::convert::json_to_py) builds.
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
