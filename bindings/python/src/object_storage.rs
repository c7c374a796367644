//! [`ObjectStorage`]: the bot's own database object as the cache's storage.
//!
//! The object is duck-typed with the seed's method names (see the package README):
//! `getCacheStorage()`, `setCacheStorage(namespace=, key=, value=)`,
//! `getChatSettings(chatId)`, `setChatSetting(chatId, key, value)`,
//! `getUserData(userId=, chatId=)`, `addUserData(userId=, chatId=, key=, data=)`, and
//! when present `unsetCacheStorage(namespace, key)`, `clearChatSettings(chatId)`,
//! `unsetChatSetting(chatId, key)`.
//!
//! Every method takes the GIL for the duration of the Python call (the cache calls
//! storage with the GIL released, so this cannot deadlock). An exception raised by
//! the object, a missing method or a result of the wrong shape becomes a typed
//! storage error; the component then leaves the cache unchanged.

use cache_host::{StorageError, StorageErrorKind};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyList, PyMapping, PyString, PyTuple};

type Result<T> = std::result::Result<T, StorageError>;

/// An argument of a database object's method.
#[derive(Clone, Copy)]
enum Arg<'a> {
    Id(i64),
    Text(&'a str),
}

impl Arg<'_> {
    fn to_py<'py>(self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self {
            Arg::Id(id) => PyInt::new(py, id).into_any(),
            Arg::Text(text) => PyString::new(py, text).into_any(),
        }
    }
}

fn other(message: String) -> StorageError {
    StorageError::new(StorageErrorKind::Other, message)
}

/// The database object behind the cache.
pub struct ObjectStorage {
    db: Py<PyAny>,
}

/// A row of `getCacheStorage()`: key, value (or why it is unusable), and its
/// `updated_at` text when the row has one.
pub struct ObjectRow {
    /// The row's key.
    pub key: String,
    /// The stored JSON text, or why the cell is not text.
    pub value: std::result::Result<String, String>,
    updated_at: Option<String>,
}

impl ObjectStorage {
    /// Wraps `db`; its methods are looked up when first needed.
    pub fn new(db: Py<PyAny>) -> Self {
        Self { db }
    }

    /// The wrapped database object.
    pub fn db(&self) -> &Py<PyAny> {
        &self.db
    }

    /// Calls `db.<name>(*positional, **keywords)` with the GIL held and turns what it
    /// raises, a missing method included, into a [`StorageError`]; `result` reads
    /// what it returned.
    fn call<T>(
        &self,
        name: &str,
        positional: &[Arg<'_>],
        keywords: &[(&str, Arg<'_>)],
        result: impl for<'py> FnOnce(&Bound<'py, PyAny>) -> Result<T>,
    ) -> Result<T> {
        Python::attach(|py| {
            let db = self.db.bind(py);
            let Ok(method) = db.getattr(name) else {
                return Err(other(format!(
                    "the database object ({}) has no method {name}(), which the cache needs here",
                    type_name(db)
                )));
            };
            let build = || -> PyResult<(Bound<'_, PyTuple>, Option<Bound<'_, PyDict>>)> {
                let args = PyTuple::new(py, positional.iter().map(|a| a.to_py(py)))?;
                let kwargs = if keywords.is_empty() {
                    None
                } else {
                    let kw = PyDict::new(py);
                    for (key, value) in keywords {
                        kw.set_item(key, value.to_py(py))?;
                    }
                    Some(kw)
                };
                Ok((args, kwargs))
            };
            let (args, kwargs) = build().map_err(|e| describe(py, name, &e))?;
            let value = method
                .call(args, kwargs.as_ref())
                .map_err(|e| describe(py, name, &e))?;
            result(&value)
        })
    }

    fn has(&self, name: &str) -> bool {
        Python::attach(|py| self.db.bind(py).hasattr(name).unwrap_or(false))
    }

    /// Every row of `getCacheStorage()` in `namespace`, oldest first: by `updated_at`
    /// then key when the rows carry `updated_at`, else in the object's order.
    pub fn rows(&self, namespace: &str) -> Result<Vec<ObjectRow>> {
        self.rows_in(&self.all_rows()?, namespace)
    }

    /// What `getCacheStorage()` returned, as a list (read once, for
    /// [`rows_in`](Self::rows_in) of several namespaces).
    pub fn all_rows(&self) -> Result<Py<PyList>> {
        self.call("getCacheStorage", &[], &[], |value| {
            let iter = value.try_iter().map_err(|_| {
                other("getCacheStorage() did not return an iterable of rows".into())
            })?;
            let items = iter
                .collect::<PyResult<Vec<_>>>()
                .map_err(|e| describe(value.py(), "getCacheStorage", &e))?;
            PyList::new(value.py(), items)
                .map(Bound::unbind)
                .map_err(|e| describe(value.py(), "getCacheStorage", &e))
        })
    }

    /// The rows of `namespace` in `all` (see [`all_rows`](Self::all_rows)), oldest
    /// first as in [`rows`](Self::rows).
    pub fn rows_in(&self, all: &Py<PyList>, namespace: &str) -> Result<Vec<ObjectRow>> {
        let mut rows = Python::attach(|py| {
            let value = all.bind(py).as_any();
            let iter = value.try_iter().map_err(|_| {
                other("getCacheStorage() did not return an iterable of rows".into())
            })?;
            let mut out = Vec::new();
            for item in iter {
                let item = item.map_err(|e| describe(value.py(), "getCacheStorage", &e))?;
                let field = |f: &str| -> Result<Option<Bound<'_, PyAny>>> {
                    match item.get_item(f) {
                        Ok(v) if v.is_none() => Ok(None),
                        Ok(v) => Ok(Some(v)),
                        Err(_) => Ok(None),
                    }
                };
                let Some(ns) = field("namespace")? else {
                    return Err(other(
                        "getCacheStorage() returned a row without \"namespace\"".into(),
                    ));
                };
                if ns.extract::<&str>().ok() != Some(namespace) {
                    continue;
                }
                let Some(key) = field("key")? else {
                    return Err(other(
                        "getCacheStorage() returned a row without \"key\"".into(),
                    ));
                };
                let key = key
                    .str()
                    .and_then(|s| s.to_str().map(str::to_owned))
                    .map_err(|e| describe(value.py(), "getCacheStorage", &e))?;
                let value = match field("value")? {
                    Some(v) => match v.cast::<PyString>() {
                        Ok(s) => s.to_str().map(str::to_owned).map_err(|e| e.to_string()),
                        Err(_) => Err(format!("the stored value is a {}, not text", type_name(&v))),
                    },
                    None => Err("the stored value is NULL".to_owned()),
                };
                let updated_at = field("updated_at")?
                    .and_then(|v| v.str().ok())
                    .and_then(|s| s.to_str().ok().map(str::to_owned));
                out.push(ObjectRow {
                    key,
                    value,
                    updated_at,
                });
            }
            Ok(out)
        })?;
        if rows.iter().all(|r| r.updated_at.is_some()) {
            rows.sort_by(|a, b| (&a.updated_at, &a.key).cmp(&(&b.updated_at, &b.key)));
        }
        Ok(rows)
    }

    /// The newest `limit` rows of `namespace`, oldest first.
    pub fn load(&self, namespace: &str, limit: u32) -> Result<Vec<ObjectRow>> {
        self.load_in(&self.all_rows()?, namespace, limit)
    }

    /// The newest `limit` rows of `namespace` in `all` (see [`all_rows`](Self::all_rows)),
    /// oldest first.
    pub fn load_in(&self, all: &Py<PyList>, namespace: &str, limit: u32) -> Result<Vec<ObjectRow>> {
        let mut rows = self.rows_in(all, namespace)?;
        let skip = rows.len().saturating_sub(limit as usize);
        rows.drain(..skip);
        Ok(rows)
    }

    /// The stored value of one row (found with `getCacheStorage()`).
    pub fn get(&self, namespace: &str, key: &str) -> Result<Option<String>> {
        match self.rows(namespace)?.into_iter().find(|r| r.key == key) {
            Some(row) => row.value.map(Some).map_err(|reason| StorageError {
                kind: StorageErrorKind::Corrupt,
                message: format!("cache_storage row {namespace:?}/{key:?}: {reason}"),
            }),
            None => Ok(None),
        }
    }

    /// `setCacheStorage(namespace=, key=, value=)`.
    pub fn upsert(&self, namespace: &str, key: &str, value: &str) -> Result<()> {
        self.call(
            "setCacheStorage",
            &[],
            &[
                ("namespace", Arg::Text(namespace)),
                ("key", Arg::Text(key)),
                ("value", Arg::Text(value)),
            ],
            |_| Ok(()),
        )
    }

    /// `unsetCacheStorage(namespace, key)`.
    pub fn delete(&self, namespace: &str, key: &str) -> Result<()> {
        self.call(
            "unsetCacheStorage",
            &[Arg::Text(namespace), Arg::Text(key)],
            &[],
            |_| Ok(()),
        )
    }

    /// Deletes every row of `namespace` (one `unsetCacheStorage` per row).
    pub fn clear(&self, namespace: &str) -> Result<()> {
        for row in self.rows(namespace)? {
            self.delete(namespace, &row.key)?;
        }
        Ok(())
    }

    /// Applies clears, deletes and upserts in that order. The object has no
    /// transactions: if a step fails, the rows already changed are put back as they
    /// were (best effort, logged if that fails too) before the error is returned.
    pub fn write(
        &self,
        clear: &[&str],
        delete: &[(&str, &str)],
        upsert: &[(&str, &str, &str)],
    ) -> Result<()> {
        let steps = clear.len() + delete.len() + upsert.len();
        if steps == 0 {
            return Ok(());
        }
        // The rows a failure would have to restore, read before changing anything.
        let mut touched: Vec<&str> = clear.to_vec();
        touched.extend(delete.iter().map(|(ns, _)| *ns));
        touched.extend(upsert.iter().map(|(ns, _, _)| *ns));
        touched.sort_unstable();
        touched.dedup();
        let mut before = Vec::new();
        if steps > 1 {
            for ns in &touched {
                for row in self.rows(ns)? {
                    if let Ok(v) = row.value {
                        before.push((ns.to_string(), row.key, v));
                    }
                }
            }
        }
        let apply = || -> Result<()> {
            for ns in clear {
                self.clear(ns)?;
            }
            for (ns, key) in delete {
                self.delete(ns, key)?;
            }
            for (ns, key, value) in upsert {
                self.upsert(ns, key, value)?;
            }
            Ok(())
        };
        let Err(e) = apply() else { return Ok(()) };
        if steps > 1 {
            if let Err(undo) = self.restore(&touched, &before) {
                tracing_log(&format!(
                    "cache: restoring cache_storage after a failed write also failed: {}",
                    undo.message
                ));
            }
        }
        Err(e)
    }

    fn restore(&self, namespaces: &[&str], before: &[(String, String, String)]) -> Result<()> {
        for ns in namespaces {
            for row in self.rows(ns)? {
                if !before.iter().any(|(n, k, _)| n == ns && *k == row.key) {
                    self.delete(ns, &row.key)?;
                }
            }
        }
        for (ns, key, value) in before {
            self.upsert(ns, key, value)?;
        }
        Ok(())
    }

    /// `getChatSettings(chatId)` as (key, text) pairs ordered by key; `None` values
    /// are absent, other non-`str` values are turned into text with `str()` (as the
    /// seed stored them).
    pub fn get_chat_settings(&self, chat_id: i64) -> Result<Vec<(String, String)>> {
        self.call("getChatSettings", &[Arg::Id(chat_id)], &[], |value| {
            string_pairs(value, "getChatSettings", true)
        })
    }

    /// `setChatSetting(chatId, key, value)` for each pair.
    pub fn merge_chat_settings(&self, chat_id: i64, settings: &[(String, String)]) -> Result<()> {
        for (key, value) in settings {
            self.call(
                "setChatSetting",
                &[Arg::Id(chat_id), Arg::Text(key), Arg::Text(value)],
                &[],
                |_| Ok(()),
            )?;
        }
        Ok(())
    }

    /// Makes `settings` the chat's only settings: `clearChatSettings(chatId)` when the
    /// object has it, else `unsetChatSetting` of every other stored key; then
    /// [`merge_chat_settings`](Self::merge_chat_settings).
    pub fn rewrite_chat_settings(&self, chat_id: i64, settings: &[(String, String)]) -> Result<()> {
        if self.has("clearChatSettings") {
            self.call("clearChatSettings", &[Arg::Id(chat_id)], &[], |_| Ok(()))?;
        } else {
            for (key, _) in self.get_chat_settings(chat_id)? {
                if !settings.iter().any(|(k, _)| *k == key) {
                    self.unset_chat_setting(chat_id, &key)?;
                }
            }
        }
        self.merge_chat_settings(chat_id, settings)
    }

    /// `unsetChatSetting(chatId, key)`.
    pub fn unset_chat_setting(&self, chat_id: i64, key: &str) -> Result<()> {
        self.call(
            "unsetChatSetting",
            &[Arg::Id(chat_id), Arg::Text(key)],
            &[],
            |_| Ok(()),
        )
    }

    /// `getUserData(userId=, chatId=)` as (key, JSON text) pairs ordered by key.
    pub fn get_user_data(&self, chat_id: i64, user_id: i64) -> Result<Vec<(String, String)>> {
        self.call(
            "getUserData",
            &[],
            &[("userId", Arg::Id(user_id)), ("chatId", Arg::Id(chat_id))],
            |value| string_pairs(value, "getUserData", false),
        )
    }

    /// `addUserData(userId=, chatId=, key=, data=)`.
    pub fn set_user_data(&self, chat_id: i64, user_id: i64, key: &str, value: &str) -> Result<()> {
        self.call(
            "addUserData",
            &[],
            &[
                ("userId", Arg::Id(user_id)),
                ("chatId", Arg::Id(chat_id)),
                ("key", Arg::Text(key)),
                ("data", Arg::Text(value)),
            ],
            |_| Ok(()),
        )
    }
}

/// A mapping of `str` keys to text values, ordered by key.
fn string_pairs(
    value: &Bound<'_, PyAny>,
    method: &str,
    stringify: bool,
) -> Result<Vec<(String, String)>> {
    let mapping = value.cast::<PyMapping>().map_err(|_| {
        other(format!(
            "{method}() returned a {}, not a dict",
            type_name(value)
        ))
    })?;
    let items = mapping
        .items()
        .map_err(|e| describe(value.py(), method, &e))?;
    let mut out = Vec::new();
    for item in items.iter() {
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item
            .extract()
            .map_err(|e| describe(value.py(), method, &e))?;
        if v.is_none() {
            continue;
        }
        let key = k
            .str()
            .and_then(|s| s.to_str().map(str::to_owned))
            .map_err(|e| describe(value.py(), method, &e))?;
        let text = match v.cast::<PyString>() {
            Ok(s) => s.to_str().map(str::to_owned),
            Err(_) if stringify => v.str().and_then(|s| s.to_str().map(str::to_owned)),
            Err(_) => {
                return Err(other(format!(
                    "{method}() returned a {} for key {key:?}: expected JSON text (str)",
                    type_name(&v)
                )))
            }
        }
        .map_err(|e| describe(value.py(), method, &e))?;
        out.push((key, text));
    }
    out.sort();
    Ok(out)
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".into())
}

/// A storage error for an exception raised by `method`, its kind read from the
/// exception: its `kind` attribute when that names a kind (`"busy"`, `"full"`, ...,
/// as on `gromozeka_cache.StorageError`), else sqlite3's errors and `OSError`s are
/// classified by their text, anything else is `Other`.
fn describe(py: Python<'_>, method: &str, err: &PyErr) -> StorageError {
    let value = err.value(py);
    let ty = value
        .get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let text = value
        .str()
        .map(|s| s.to_string())
        .unwrap_or_else(|_| "<unprintable>".into());
    let lower = text.to_lowercase();
    // An exception that says its kind (as `gromozeka_cache.StorageError` does) keeps it.
    let declared = value
        .getattr("kind")
        .ok()
        .and_then(|k| k.extract::<String>().ok())
        .and_then(|k| StorageErrorKind::from_name(&k));
    let kind = if let Some(kind) = declared {
        kind
    } else if ty == "IntegrityError" {
        StorageErrorKind::Constraint
    } else if lower.contains("locked") || lower.contains("busy") {
        StorageErrorKind::Busy
    } else if lower.contains("disk is full") || lower.contains("no space") {
        StorageErrorKind::Full
    } else if lower.contains("readonly") || lower.contains("read-only") || ty == "PermissionError" {
        StorageErrorKind::ReadOnly
    } else if lower.contains("malformed") || lower.contains("not a database") {
        StorageErrorKind::Corrupt
    } else {
        StorageErrorKind::Other
    };
    StorageError {
        kind,
        message: format!("the database object's {method}() raised {ty}: {text}"),
    }
}

/// Logs through Python's `logging` (the bot's log), falling back to stderr.
fn tracing_log(message: &str) {
    Python::attach(|py| {
        let logged = py
            .import("logging")
            .and_then(|m| m.call_method1("getLogger", ("gromozeka_cache",)))
            .and_then(|l| l.call_method1("error", (message,)));
        if logged.is_err() {
            eprintln!("{message}");
        }
    });
}
