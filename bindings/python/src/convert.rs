//! JSON text ⇄ Python objects, in Rust: the hot path never calls `json.loads` or
//! `json.dumps`.
//!
//! What round-trips: `dict` with `str` keys, `list`, `str`, `int` within 64 bits,
//! finite `float`, `bool`, `None` nested in a value. What does not: a `tuple` comes
//! back as a `list`; `int`, `float`, `bool` and `None` dict keys come back as `str`
//! (as with `json.dumps`); any other type is a `TypeError`, an `int` beyond 64 bits
//! an `OverflowError`, a NaN or infinity a `ValueError`, all raised before the call.

use std::fmt;

use pyo3::exceptions::{PyOverflowError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::sizes::Tally;

/// Deepest nesting of lists and dicts accepted from Python: the component's limit,
/// checked here too so that a deep or self-containing value fails before the
/// call, as `InvalidJsonError`.
const MAX_DEPTH: usize = cache_host::MAX_VALUE_DEPTH;

/// Parses JSON text into a Python object. The text comes from the component, which
/// validated it; a parse failure is still an error, never a panic.
pub fn json_to_py<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    parse(PySeed { py, tally: None }, text)
}

/// [`json_to_py`], and the bytes of the objects it built (see [`Tally`]).
pub fn json_to_py_sized<'py>(py: Python<'py>, text: &str) -> PyResult<(Bound<'py, PyAny>, usize)> {
    let tally = Tally::new(py)?;
    let value = parse(
        PySeed {
            py,
            tally: Some(&tally),
        },
        text,
    )?;
    Ok((value, tally.total()))
}

fn parse<'py>(seed: PySeed<'py, '_>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = seed
        .deserialize(&mut de)
        .map_err(|e| PyValueError::new_err(format!("the cache returned invalid JSON: {e}")))?;
    de.end()
        .map_err(|e| PyValueError::new_err(format!("the cache returned invalid JSON: {e}")))?;
    Ok(value)
}

/// Builds the Python objects of a JSON value, counting their bytes in
/// `tally` if there is one.
#[derive(Clone, Copy)]
struct PySeed<'py, 't> {
    py: Python<'py>,
    tally: Option<&'t Tally>,
}

impl<'de, 'py> DeserializeSeed<'de> for PySeed<'py, '_> {
    type Value = Bound<'py, PyAny>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

fn py_err<E: serde::de::Error>(e: PyErr) -> E {
    E::custom(e)
}

impl<'de, 'py> Visitor<'de> for PySeed<'py, '_> {
    type Value = Bound<'py, PyAny>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.py.None().into_bound(self.py))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(PyBool::new(self.py, v).to_owned().into_any())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        if let Some(tally) = self.tally {
            tally.int(v.unsigned_abs());
        }
        Ok(PyInt::new(self.py, v).into_any())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        if let Some(tally) = self.tally {
            tally.int(v);
        }
        Ok(PyInt::new(self.py, v).into_any())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        if let Some(tally) = self.tally {
            tally.float();
        }
        Ok(PyFloat::new(self.py, v).into_any())
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        if let Some(tally) = self.tally {
            tally.str(v);
        }
        Ok(PyString::new(self.py, v).into_any())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let list = PyList::empty(self.py);
        while let Some(item) = seq.next_element_seed(self)? {
            list.append(item).map_err(py_err)?;
        }
        let list = list.into_any();
        if let Some(tally) = self.tally {
            tally.container(&list).map_err(py_err)?;
        }
        Ok(list)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let dict = PyDict::new(self.py);
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let value = map.next_value_seed(self)?;
            if let Some(tally) = self.tally {
                tally.str(&key);
            }
            dict.set_item(PyString::new(self.py, &key), value)
                .map_err(py_err)?;
        }
        let dict = dict.into_any();
        if let Some(tally) = self.tally {
            tally.container(&dict).map_err(py_err)?;
        }
        Ok(dict)
    }
}

/// Serializes a Python value to compact JSON text (see the module doc for what is
/// accepted). `None` at the top level is JSON `null`, which the component refuses.
pub fn py_to_json(value: &Bound<'_, PyAny>) -> PyResult<String> {
    let mut out = Vec::with_capacity(64);
    write_value(value, &mut out, 0)?;
    // Only valid UTF-8 was written: `str` values were encoded by Python, and every
    // other byte is ASCII.
    String::from_utf8(out).map_err(|e| PyValueError::new_err(e.to_string()))
}

fn write_str(out: &mut Vec<u8>, s: &str) -> PyResult<()> {
    serde_json::to_writer(out, s).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// Writes `value`, which `depth` lists and dicts enclose, as JSON.
fn write_value(value: &Bound<'_, PyAny>, out: &mut Vec<u8>, depth: usize) -> PyResult<()> {
    if let Ok(s) = value.cast::<PyString>() {
        return write_str(out, s.to_str()?);
    }
    if value.is_none() {
        out.extend_from_slice(b"null");
        return Ok(());
    }
    if let Ok(b) = value.cast::<PyBool>() {
        out.extend_from_slice(if b.is_true() { b"true" } else { b"false" });
        return Ok(());
    }
    if value.cast::<PyInt>().is_ok() {
        return write_int(value, out);
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        let v = f.value();
        if !v.is_finite() {
            return Err(PyValueError::new_err(format!(
                "{v} is not JSON: a cached float must be finite"
            )));
        }
        return serde_json::to_writer(&mut *out, &v)
            .map_err(|e| PyValueError::new_err(e.to_string()));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        deeper(value, depth)?;
        out.push(b'{');
        for (i, (k, v)) in dict.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(&k, out)?;
            out.push(b':');
            write_value(&v, out, depth + 1)?;
        }
        out.push(b'}');
        return Ok(());
    }
    if let Ok(list) = value.cast::<PyList>() {
        deeper(value, depth)?;
        out.push(b'[');
        for (i, item) in list.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_value(&item, out, depth + 1)?;
        }
        out.push(b']');
        return Ok(());
    }
    if let Ok(tuple) = value.cast::<PyTuple>() {
        deeper(value, depth)?;
        out.push(b'[');
        for (i, item) in tuple.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_value(&item, out, depth + 1)?;
        }
        out.push(b']');
        return Ok(());
    }
    Err(PyTypeError::new_err(format!(
        "a value of type {} cannot be cached: use dict, list, str, int, float, bool or None",
        value.get_type().name()?
    )))
}

/// Refuses a list or dict that `depth` others already enclose, past [`MAX_DEPTH`].
fn deeper(value: &Bound<'_, PyAny>, depth: usize) -> PyResult<()> {
    if depth < MAX_DEPTH {
        return Ok(());
    }
    Err(crate::errors::to_py(
        value.py(),
        cache_host::Error::InvalidJson(format!(
            "value is nested deeper than {MAX_DEPTH} levels of lists and dicts"
        )),
    ))
}

fn write_int(value: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(v) = value.extract::<i64>() {
        out.extend_from_slice(v.to_string().as_bytes());
        return Ok(());
    }
    if let Ok(v) = value.extract::<u64>() {
        out.extend_from_slice(v.to_string().as_bytes());
        return Ok(());
    }
    Err(PyOverflowError::new_err(
        "an int beyond 64 bits cannot be cached (it would come back as a float)",
    ))
}

fn write_key(key: &Bound<'_, PyAny>, out: &mut Vec<u8>) -> PyResult<()> {
    if let Ok(s) = key.cast::<PyString>() {
        return write_str(out, s.to_str()?);
    }
    // json.dumps turns these keys into strings; so does the cache (they come back
    // as `str`).
    if key.is_none() {
        return write_str(out, "null");
    }
    if let Ok(b) = key.cast::<PyBool>() {
        return write_str(out, if b.is_true() { "true" } else { "false" });
    }
    if key.cast::<PyInt>().is_ok() || key.cast::<PyFloat>().is_ok() {
        let mut text = Vec::new();
        write_value(key, &mut text, 0)?;
        let text = String::from_utf8(text).map_err(|e| PyValueError::new_err(e.to_string()))?;
        return write_str(out, &text);
    }
    Err(PyTypeError::new_err(format!(
        "a dict key of type {} cannot be cached: use str (int, float, bool and None keys become str)",
        key.get_type().name()?
    )))
}
