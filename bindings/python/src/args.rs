//! Argument and result helpers of [`NativeCache`](crate::service::NativeCache):
//! persistence names, state keys, load reports, optional JSON results.

use std::borrow::Cow;

use cache_host::{LoadReport, Persistence};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::convert::json_to_py;

/// A persistence from its WIT name (or "memory", the seed's short name).
pub fn parse_persistence(name: &str) -> PyResult<Persistence> {
    let name = if name == "memory" {
        "memory-only"
    } else {
        name
    };
    Persistence::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown persistence {name:?}: use \"memory-only\", \"on-change\" or \"on-shutdown\""
        ))
    })
}

/// A state key: a `str`, or an `Enum` member whose `.value` is a `str`.
pub fn state_key(key: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = key.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    let py = key.py();
    let enum_type = py.import("enum")?.getattr("Enum")?;
    if key.is_instance(&enum_type)? {
        let value = key.getattr("value")?;
        if let Ok(s) = value.cast::<PyString>() {
            return Ok(s.to_str()?.to_owned());
        }
        return Err(PyTypeError::new_err(format!(
            "state key {key}: an Enum state key needs a str value, not {}",
            value.get_type().name()?
        )));
    }
    Err(PyTypeError::new_err(format!(
        "a state key must be a str or an Enum with a str value, not {}",
        key.get_type().name()?
    )))
}

/// `{"loaded": n, "skipped": [{"namespace", "key", "reason"}]}`.
pub fn load_report<'py>(py: Python<'py>, report: &LoadReport) -> PyResult<Bound<'py, PyDict>> {
    let skipped = PyList::empty(py);
    for row in &report.skipped {
        let d = PyDict::new(py);
        d.set_item("namespace", &row.namespace)?;
        d.set_item("key", &row.key)?;
        d.set_item("reason", &row.reason)?;
        skipped.append(d)?;
    }
    let out = PyDict::new(py);
    out.set_item("loaded", report.loaded)?;
    out.set_item("skipped", skipped)?;
    Ok(out)
}

/// `text` parsed into Python objects, or `default` (`None`) when absent.
pub fn json_or_default<'py>(
    py: Python<'py>,
    text: Option<String>,
    default: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match text {
        Some(t) => json_to_py(py, &t),
        None => Ok(default.unwrap_or_else(|| py.None().into_bound(py))),
    }
}

/// [`state_key`] with the common case (an exact `str`) first, borrowed rather
/// than copied: `getUserState` is a hot read.
pub fn state_key_fast<'a>(key: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, str>> {
    match key.cast_exact::<PyString>() {
        Ok(s) => Ok(Cow::Borrowed(s.to_str()?)),
        Err(_) => state_key(key).map(Cow::Owned),
    }
}
