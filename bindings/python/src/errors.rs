//! Host errors as the Python exceptions of `gromozeka_cache.errors`.
//!
//! The exception classes are defined in Python (so that they can also derive from
//! `KeyError`, `ValueError`, `OSError`, ...); this module looks them up once and
//! raises them with their attributes set (`detail`, and `kind` or `restarted`).

use cache_host::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

const ERRORS_MODULE: &str = "gromozeka_cache.errors";

macro_rules! error_class {
    ($fn:ident, $name:literal) => {
        fn $fn(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
            static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
            CLASS.import(py, ERRORS_MODULE, $name)
        }
    };
}

error_class!(cache_error, "CacheError");
error_class!(unknown_namespace, "UnknownNamespaceError");
error_class!(invalid_json, "InvalidJsonError");
error_class!(invalid_config, "InvalidConfigError");
error_class!(too_large, "TooLargeError");
error_class!(invalid_key, "InvalidKeyError");
error_class!(storage_error, "StorageError");
error_class!(trap_error, "ComponentTrapError");
error_class!(closed_error, "CacheClosedError");
error_class!(component_error, "ComponentError");
error_class!(reentrant_error, "ReentrantCallError");

/// Builds `cls(detail)` and sets the keyword attributes on it.
fn raise(
    class: PyResult<&Bound<'_, PyType>>,
    detail: String,
    attrs: &[(&str, Bound<'_, PyAny>)],
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let exc = class?.call1((detail.clone(),))?;
        for (name, value) in attrs {
            exc.setattr(*name, value)?;
        }
        Ok(PyErr::from_value(exc))
    };
    build().unwrap_or_else(|e| e)
}

/// The Python exception for a host error.
pub fn to_py(py: Python<'_>, err: Error) -> PyErr {
    match err {
        Error::UnknownNamespace(d) => raise(unknown_namespace(py), d, &[]),
        Error::InvalidJson(d) => raise(invalid_json(py), d, &[]),
        Error::InvalidConfig(d) => raise(invalid_config(py), d, &[]),
        Error::TooLarge(d) => raise(too_large(py), d, &[]),
        Error::InvalidKey(d) => raise(invalid_key(py), d, &[]),
        Error::Storage(e) | Error::OpenStorage(e) => {
            let kind = pyo3::types::PyString::new(py, e.kind.name()).into_any();
            raise(storage_error(py), e.to_string(), &[("kind", kind)])
        }
        Error::Trapped { reason, restarted } => {
            let restarted = pyo3::types::PyBool::new(py, restarted)
                .to_owned()
                .into_any();
            raise(trap_error(py), reason, &[("restarted", restarted)])
        }
        Error::Closed => raise(closed_error(py), "the cache service is closed".into(), &[]),
        e @ (Error::Component { .. } | Error::Runtime(_) | Error::Policy { .. }) => {
            raise(component_error(py), e.to_string(), &[])
        }
        other => raise(cache_error(py), other.to_string(), &[]),
    }
}

/// The error for a cache call made from inside a storage callback of the same
/// thread (it would wait for itself forever).
pub fn reentrant(py: Python<'_>) -> PyErr {
    raise(
        reentrant_error(py),
        "a cache method was called from inside the database object's method that the cache \
         is running (on the same thread); call it after that method returns"
            .into(),
        &[],
    )
}
