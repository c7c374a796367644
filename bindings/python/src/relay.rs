//! [`Performer`]: one storage request carried out by a worker thread whose every
//! database call is awaited by the coroutine that drives it.
//!
//! The request runs through [`ObjectStorage`](crate::object_storage::ObjectStorage)
//! (the one mapping of storage requests onto the seed's method names) on a Rust
//! thread, against a [`Relay`]: calling one of the relay's methods hands the call
//! to the coroutine and waits for its answer. The coroutine (Python,
//! `gromozeka_cache._aio_support.drive`) awaits the database's coroutine on its
//! own event loop, then hands the result back. The two take turns: while the
//! worker runs (converting rows, deciding the next call) the coroutine waits in
//! [`Performer::step`] with the GIL released, and while the coroutine awaits the
//! database the worker waits without the GIL. No thread competes with the loop
//! for the GIL, and the loop never waits for the database.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Mutex;

use cache_host::StorageError;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::errors::to_py;

/// What the worker asks of the coroutine.
pub(crate) enum Step {
    /// Await the database method `name` with these arguments, then answer.
    Call {
        name: String,
        args: Py<PyTuple>,
        kwargs: Option<Py<PyDict>>,
    },
    /// The request is carried out; its error, if it is one the coroutine must raise.
    Done(Option<StorageError>),
}

/// The coroutine's answer to a [`Step::Call`]: what the method returned, or what
/// it raised.
type Answer = PyResult<Py<PyAny>>;

/// The worker's side: a database object whose methods hand each call to the
/// coroutine and wait for its answer.
#[pyclass(frozen, module = "gromozeka_cache._native")]
pub struct Relay {
    to_coroutine: Sender<Step>,
    answers: Mutex<Receiver<Answer>>,
}

/// One method of a [`Relay`].
#[pyclass(frozen, module = "gromozeka_cache._native")]
pub struct RelayMethod {
    relay: Py<Relay>,
    name: String,
}

#[pymethods]
impl Relay {
    /// Every attribute is a method the coroutine performs (the seed's names).
    fn __getattr__(slf: Bound<'_, Self>, name: String) -> RelayMethod {
        RelayMethod {
            relay: slf.unbind(),
            name,
        }
    }
}

#[pymethods]
impl RelayMethod {
    /// Hands the call to the coroutine and waits (without the GIL) for its answer.
    #[pyo3(signature = (*args, **kwargs))]
    fn __call__(
        &self,
        py: Python<'_>,
        args: Bound<'_, PyTuple>,
        kwargs: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Py<PyAny>> {
        let relay = self.relay.get();
        let step = Step::Call {
            name: self.name.clone(),
            args: args.unbind(),
            kwargs: kwargs.map(Bound::unbind),
        };
        if relay.to_coroutine.send(step).is_err() {
            return Err(PyRuntimeError::new_err(
                "the coroutine performing this storage request went away",
            ));
        }
        py.detach(|| {
            let answers = relay.answers.lock().unwrap_or_else(|e| e.into_inner());
            answers.recv()
        })
        .unwrap_or_else(|_| {
            Err(PyRuntimeError::new_err(
                "the coroutine performing this storage request went away",
            ))
        })
    }
}

/// The coroutine's side of one request carried out by a worker thread.
#[pyclass(frozen, module = "gromozeka_cache._native")]
pub struct Performer {
    to_worker: Sender<Answer>,
    steps: Mutex<Receiver<Step>>,
}

/// A relay and the performer that drives it; the worker gets the relay.
pub(crate) fn pair(py: Python<'_>) -> PyResult<(Py<Relay>, Performer, Sender<Step>)> {
    let (to_coroutine, steps) = channel();
    let (to_worker, answers) = channel();
    let relay = Py::new(
        py,
        Relay {
            to_coroutine: to_coroutine.clone(),
            answers: Mutex::new(answers),
        },
    )?;
    Ok((
        relay,
        Performer {
            to_worker,
            steps: Mutex::new(steps),
        },
        to_coroutine,
    ))
}

#[pymethods]
impl Performer {
    /// Waits for the worker's first step: `(name, args, kwargs)` of the first
    /// database call to await, or `None` if the request needed none.
    fn begin<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        self.next(py)
    }

    /// Answers the worker's last call with `value` (what the method returned,
    /// `None` included), then waits for its next step as [`begin`](Self::begin).
    /// A failure the caller must see (writing the queue of row writes) is raised
    /// once the request is carried out.
    fn step<'py>(
        &self,
        py: Python<'py>,
        value: Py<PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        // A worker that is gone has nothing more to ask: the receive below says so.
        let _ = self.to_worker.send(Ok(value));
        self.next(py)
    }

    /// Answers the worker's last call with the exception `error` (what the
    /// database method raised), then waits for its next step as [`step`](Self::step).
    fn throw<'py>(
        &self,
        py: Python<'py>,
        error: Bound<'py, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let _ = self.to_worker.send(Err(PyErr::from_value(error)));
        self.next(py)
    }
}

impl Performer {
    fn next<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyTuple>>> {
        let step = py.detach(|| {
            let steps = self.steps.lock().unwrap_or_else(|e| e.into_inner());
            steps.recv()
        });
        match step {
            Ok(Step::Call { name, args, kwargs }) => {
                let kwargs = match kwargs {
                    Some(k) => k.into_bound(py).into_any(),
                    None => PyDict::new(py).into_any(),
                };
                Ok(Some(PyTuple::new(
                    py,
                    [
                        name.into_pyobject(py)?.into_any(),
                        args.into_bound(py).into_any(),
                        kwargs,
                    ],
                )?))
            }
            Ok(Step::Done(None)) => Ok(None),
            Ok(Step::Done(Some(e))) => Err(to_py(py, cache_host::Error::Storage(e))),
            Err(_) => Err(PyRuntimeError::new_err(
                "the worker performing a storage request ended without finishing",
            )),
        }
    }
}
