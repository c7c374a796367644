//! The arguments of expiry from Python (`expireAfterWrite`, `getFresh`; see
//! `wit/cache.wit`). The Rust host keeps the component's time
//! (`host/src/service/clock.rs`).

use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// `seconds` as a duration: finite and not negative.
pub(crate) fn duration(what: &str, seconds: f64) -> PyResult<Duration> {
    if seconds.is_finite() && seconds >= 0.0 {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        Err(PyValueError::new_err(format!(
            "{what} must be a finite number of seconds >= 0, not {seconds}"
        )))
    }
}
