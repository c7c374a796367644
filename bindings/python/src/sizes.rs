//! [`Tally`]: the memory of the Python objects a parse builds, as
//! `sys.getsizeof` counts each, added up while they are built.
//!
//! A leaf's size follows from its value and a few sizes measured once per
//! process (an empty `str`, a one-character non-ASCII `str`, an `int` of one
//! and of two digits, a `float`), so it costs no call into Python; a
//! container's comes from its own `__sizeof__`, since its table's size is not
//! visible otherwise. `None`, `True` and `False` are shared by the whole
//! process and not counted; a key repeated in one JSON object is counted
//! each time, though the `dict` keeps the last.

use std::cell::Cell;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

/// `PyGC_Head`: two pointers before every object the collector tracks, which
/// `sys.getsizeof` adds to a container's `__sizeof__`.
const GC_HEADER: usize = 2 * std::mem::size_of::<usize>();

/// Sizes of leaves, measured with `sys.getsizeof`.
struct LeafSizes {
    /// An empty ASCII `str`: a one-byte character each more.
    ascii: usize,
    /// A non-ASCII `str` of no characters: `(characters + 1) × width` more.
    compact: usize,
    /// An `int` of one 30-bit digit, and each further digit.
    int: usize,
    digit: usize,
    float: usize,
}

static SIZES: PyOnceLock<LeafSizes> = PyOnceLock::new();

fn measure(py: Python<'_>) -> PyResult<LeafSizes> {
    let getsizeof = py.import("sys")?.getattr("getsizeof")?;
    let size =
        |value: Bound<'_, PyAny>| -> PyResult<usize> { getsizeof.call1((value,))?.extract() };
    let one = size(1i64.into_pyobject(py)?.into_any())?;
    Ok(LeafSizes {
        ascii: size("".into_pyobject(py)?.into_any())?,
        // One character of width 1 and its terminator.
        compact: size("\u{e9}".into_pyobject(py)?.into_any())?.saturating_sub(2),
        int: one,
        digit: size((1i64 << 30).into_pyobject(py)?.into_any())?.saturating_sub(one),
        float: size(0.0f64.into_pyobject(py)?.into_any())?,
    })
}

/// The bytes of the objects of one parse (see the module doc).
pub struct Tally {
    sizes: &'static LeafSizes,
    total: Cell<usize>,
}

impl Tally {
    /// An empty tally; measures the leaf sizes on first use in the process.
    pub fn new(py: Python<'_>) -> PyResult<Self> {
        Ok(Self {
            sizes: SIZES.get_or_try_init(py, || measure(py))?,
            total: Cell::new(0),
        })
    }

    fn add(&self, bytes: usize) {
        self.total.set(self.total.get().saturating_add(bytes));
    }

    /// A `str` of `text`: one byte a character if all are ASCII, else the
    /// width of its widest character (1, 2 or 4), and a terminator.
    pub fn str(&self, text: &str) {
        if text.is_ascii() {
            return self.add(self.sizes.ascii + text.len());
        }
        let (chars, widest) = text
            .chars()
            .fold((0usize, 0u32), |(n, w), c| (n + 1, w.max(u32::from(c))));
        let width = match widest {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            _ => 4,
        };
        self.add(self.sizes.compact + (chars + 1) * width);
    }

    /// An `int` whose magnitude is `magnitude`.
    pub fn int(&self, magnitude: u64) {
        let bits = 64 - magnitude.leading_zeros() as usize;
        let digits = bits.div_ceil(30).max(1);
        self.add(self.sizes.int + (digits - 1) * self.sizes.digit);
    }

    /// A `float`.
    pub fn float(&self) {
        self.add(self.sizes.float);
    }

    /// A `dict` or `list`, without what it holds.
    pub fn container(&self, container: &Bound<'_, PyAny>) -> PyResult<()> {
        let own: usize = container
            .call_method0(pyo3::intern!(container.py(), "__sizeof__"))?
            .extract()?;
        self.add(own + GC_HEADER);
        Ok(())
    }

    /// The bytes counted.
    pub fn total(&self) -> usize {
        self.total.get()
    }
}
