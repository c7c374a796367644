//! [`GilCell`]: state that only code holding the GIL touches, without an
//! atomic operation per access where the interpreter has a GIL.
//!
//! A hit reads the list of namespaces that share their values; a `Mutex`
//! there would cost two locked instructions per hit. With a GIL,
//! holding `Python<'py>` already excludes every other thread, so a `RefCell`'s
//! plain borrow flag is enough: it only has to catch re-entry on the same
//! thread (Python code run by a garbage collection inside an access, which may
//! also let another thread take the GIL before the access ends). On a
//! free-threaded interpreter (`Py_GIL_DISABLED`) it is a `Mutex`.

#[cfg(not(Py_GIL_DISABLED))]
use std::cell::{RefCell, RefMut};
#[cfg(Py_GIL_DISABLED)]
use std::sync::{Mutex, MutexGuard};

use pyo3::Python;

/// A value borrowed only with the GIL held, and never by two at once.
pub struct GilCell<T> {
    #[cfg(not(Py_GIL_DISABLED))]
    value: RefCell<T>,
    #[cfg(Py_GIL_DISABLED)]
    value: Mutex<T>,
}

// SAFETY: every access goes through `try_borrow_mut`, which takes `Python<'py>`:
// the GIL is held, so no two threads run it at once, and the `RefCell`'s
// borrow flag (read and written with the GIL held, no Python code in between)
// refuses an overlapping borrow by any thread. `T: Send` because the value is
// then used from whichever thread holds the GIL.
#[cfg(not(Py_GIL_DISABLED))]
unsafe impl<T: Send> Sync for GilCell<T> {}

/// The value, borrowed (see [`GilCell::try_borrow_mut`]).
#[cfg(not(Py_GIL_DISABLED))]
pub type Borrowed<'a, T> = RefMut<'a, T>;
/// The value, borrowed (see [`GilCell::try_borrow_mut`]).
#[cfg(Py_GIL_DISABLED)]
pub type Borrowed<'a, T> = MutexGuard<'a, T>;

impl<T> GilCell<T> {
    /// A cell holding `value`.
    pub fn new(value: T) -> Self {
        Self {
            #[cfg(not(Py_GIL_DISABLED))]
            value: RefCell::new(value),
            #[cfg(Py_GIL_DISABLED)]
            value: Mutex::new(value),
        }
    }

    /// The value, or `None` while it is borrowed (by a caller up the stack,
    /// or by another thread): the caller then does without it, never waits.
    pub fn try_borrow_mut<'a>(&'a self, _py: Python<'_>) -> Option<Borrowed<'a, T>> {
        #[cfg(not(Py_GIL_DISABLED))]
        return self.value.try_borrow_mut().ok();
        #[cfg(Py_GIL_DISABLED)]
        return self.value.try_lock().ok();
    }
}
