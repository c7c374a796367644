//! `gromozeka_cache._native`: the Rust cache host (the wasmtime sandbox running
//! `cache.wasm`, SQLite storage) as a CPython extension module.
//!
//! The Python package `gromozeka_cache` (in `python/`) is the public face: its
//! `CacheService` subclasses [`service::NativeCache`].

mod api;
mod args;
mod control;
mod convert;
mod errors;
mod expiry;
mod gate;
mod gil_cell;
mod kit;
mod logging;
mod memo;
mod object_calls;
mod object_storage;
mod relay;
mod service;
mod sizes;
mod staged;
mod storage;

use pyo3::prelude::*;

/// The extension module: the `NativeCache` class and the JSON helpers.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    logging::install();
    m.add_class::<service::NativeCache>()?;
    m.add_class::<staged::IoScope>()?;
    m.add_class::<staged::AsyncStorage>()?;
    m.add_class::<relay::Performer>()?;
    m.add_class::<relay::Relay>()?;
    m.add_class::<relay::RelayMethod>()?;
    m.add_function(wrap_pyfunction!(dumps, m)?)?;
    m.add_function(wrap_pyfunction!(loads, m)?)?;
    m.add_function(wrap_pyfunction!(kit::_storage_kit, m)?)?;
    Ok(())
}

/// The cache's JSON encoding of `value` (compact): what `set` would store.
#[pyfunction]
fn dumps(value: &Bound<'_, PyAny>) -> PyResult<String> {
    convert::py_to_json(value)
}

/// Parses JSON text into Python objects, as the cache does for its results.
#[pyfunction]
fn loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    convert::json_to_py(py, text)
}
