//! Expiry from Python: `expireAfterWrite` and `getFresh` (`wit/cache.wit`). The
//! Rust host keeps the component's time (`host/src/service/clock.rs`).

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::args::json_or_default;
use crate::service::NativeCache;

/// `seconds` as a duration: finite and not negative.
fn duration(what: &str, seconds: f64) -> PyResult<Duration> {
    if seconds.is_finite() && seconds >= 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(PyValueError::new_err(format!(
            "{what} must be a finite number of seconds >= 0, not {seconds}"
        )))
    }
}

/// `expireAfterWrite` (see [`NativeCache`]'s method).
pub(crate) fn expire_after_write(
    cache: &NativeCache,
    py: Python<'_>,
    namespace: &str,
    seconds: Option<f64>,
) -> PyResult<()> {
    let after = seconds.map(|s| duration("seconds", s)).transpose()?;
    cache.run(py, |s| s.expire_after_write(namespace, after))
}

/// `getFresh` (see [`NativeCache`]'s method).
pub(crate) fn get_fresh<'py>(
    cache: &NativeCache,
    py: Python<'py>,
    namespace: &str,
    key: &str,
    max_age: f64,
    default: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let max_age = duration("maxAge", max_age)?;
    let text = cache.run(py, |s| s.get_fresh(namespace, key, max_age))?;
    json_or_default(py, text, default)
}
