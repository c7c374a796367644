//! The data, as [`NativeCache`] methods: the generic namespaces (`get`,
//! `set`, ...) and the bot's API (chat settings and info, user data, user
//! state), each converting its arguments and answer and calling the service.

use cache_host::{Read, SettingsMode};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::args::{json_or_default, state_key_fast};
use crate::convert::py_to_json;
use crate::service::NativeCache;

#[pymethods]
impl NativeCache {
    // ----- generic namespaces -----

    /// The value under `key` in `namespace` (read through storage on a miss in a
    /// persisted namespace), or `default`.
    #[pyo3(signature = (namespace, key, default = None))]
    fn get<'py>(
        &self,
        py: Python<'py>,
        namespace: &str,
        key: &str,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.read_py(py, Read::Get { namespace, key }, default)
    }

    /// Stores `value` (JSON-able, not `None`) under `key`, as the namespace's
    /// persistence says (on-change: written to storage before this returns).
    fn set(
        &self,
        py: Python<'_>,
        namespace: &str,
        key: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let json = py_to_json(value)?;
        self.run(py, |s| s.set(namespace, key, &json))
    }

    /// Removes `key`; `True` if it was held in memory.
    fn delete(&self, py: Python<'_>, namespace: &str, key: &str) -> PyResult<bool> {
        self.run(py, |s| s.delete(namespace, key))
    }

    /// The values of `keys` in order (`None` for missing ones), in one call.
    #[pyo3(name = "getMany")]
    fn get_many<'py>(
        &self,
        py: Python<'py>,
        namespace: &str,
        keys: Vec<String>,
    ) -> PyResult<Bound<'py, PyList>> {
        let texts = self.run(py, |s| s.get_many(namespace, &keys))?;
        let out = PyList::empty(py);
        for t in texts {
            out.append(json_or_default(py, t, None)?)?;
        }
        Ok(out)
    }

    /// Stores every `(key, value)` of `entries` (a dict or pairs), all or nothing.
    #[pyo3(name = "setMany")]
    fn set_many(
        &self,
        py: Python<'_>,
        namespace: &str,
        entries: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let items = match entries.cast::<PyDict>() {
            Ok(d) => d.items().into_any(),
            Err(_) => entries.clone(),
        };
        let mut encoded = Vec::new();
        for item in items.try_iter()? {
            let (k, v): (String, Bound<'_, PyAny>) = item?.extract()?;
            encoded.push((k, py_to_json(&v)?));
        }
        self.run(py, |s| s.set_many(namespace, &encoded))
    }

    /// Removes every entry of `namespace` (and, per its persistence, from storage).
    #[pyo3(name = "clearNamespace")]
    fn clear_namespace(&self, py: Python<'_>, namespace: &str) -> PyResult<()> {
        self.run(py, |s| s.clear_namespace(namespace))
    }

    // ----- the bot's API -----

    /// The chat's settings as a dict of `str` (read from the database's chat
    /// settings and cached on first use).
    #[pyo3(name = "getChatSettings")]
    fn get_chat_settings<'py>(&self, py: Python<'py>, chat_id: i64) -> PyResult<Bound<'py, PyAny>> {
        self.read_py(py, Read::ChatSettings(chat_id), None)
    }

    /// Sets the chat's settings (a dict of `str` values): merged into the stored
    /// settings by default, or with `rewrite=True` made the only ones. Written to
    /// the database before this returns.
    #[pyo3(name = "setChatSettings", signature = (chat_id, settings, rewrite = false))]
    fn set_chat_settings(
        &self,
        py: Python<'_>,
        chat_id: i64,
        settings: &Bound<'_, PyDict>,
        rewrite: bool,
    ) -> PyResult<()> {
        let json = py_to_json(settings.as_any())?;
        let mode = if rewrite {
            SettingsMode::Rewrite
        } else {
            SettingsMode::Merge
        };
        self.run(py, |s| s.set_chat_settings(chat_id, &json, mode))
    }

    /// Deletes one setting of the chat, in the database and in the cache.
    #[pyo3(name = "unsetChatSetting")]
    fn unset_chat_setting(&self, py: Python<'_>, chat_id: i64, key: &str) -> PyResult<()> {
        self.run(py, |s| s.unset_chat_setting(chat_id, key))
    }

    /// The chat's info dict, or `None` if none was set.
    #[pyo3(name = "getChatInfo")]
    fn get_chat_info<'py>(&self, py: Python<'py>, chat_id: i64) -> PyResult<Bound<'py, PyAny>> {
        self.read_py(py, Read::ChatInfo(chat_id), None)
    }

    /// Replaces the chat's info (a dict), stored as the `chats` namespace says
    /// (on-shutdown: by `persistAll`, `close`, exit or SIGTERM/SIGHUP).
    #[pyo3(name = "setChatInfo")]
    fn set_chat_info(
        &self,
        py: Python<'_>,
        chat_id: i64,
        info: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        let json = py_to_json(info.as_any())?;
        self.run(py, |s| s.set_chat_info(chat_id, &json))
    }

    /// Sets one forum topic of the chat (a dict) in the chat's topic map, the
    /// other topics and the chat's info kept, in one call; stored as `setChatInfo` is.
    #[pyo3(name = "setChatTopic")]
    fn set_chat_topic(
        &self,
        py: Python<'_>,
        chat_id: i64,
        topic_id: i64,
        info: &Bound<'_, PyDict>,
    ) -> PyResult<()> {
        let json = py_to_json(info.as_any())?;
        self.run(py, |s| s.set_chat_topic(chat_id, topic_id, &json))
    }

    /// The user's data in the chat as a dict (read from the database's user data
    /// and cached on first use).
    #[pyo3(name = "getUserData")]
    fn get_user_data<'py>(
        &self,
        py: Python<'py>,
        chat_id: i64,
        user_id: i64,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.read_py(py, Read::UserData { chat_id, user_id }, None)
    }

    /// `getChatSettings` if the host's copy answers it now, as the memo's own
    /// dict (never to be mutated or handed out: the asyncio class converts it);
    /// else `None`, without entering the component.
    #[pyo3(name = "_peekChatSettings")]
    fn peek_chat_settings<'py>(
        &self,
        py: Python<'py>,
        chat_id: i64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.peek_py(py, Read::ChatSettings(chat_id), true)
    }

    /// `getUserData` if the host's copy answers it now (a new dict); else
    /// `None`, without entering the component.
    #[pyo3(name = "_peekUserData")]
    fn peek_user_data<'py>(
        &self,
        py: Python<'py>,
        chat_id: i64,
        user_id: i64,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.peek_py(py, Read::UserData { chat_id, user_id }, false)
    }

    /// Sets one data item of the user in the chat; written to the database before
    /// this returns.
    #[pyo3(name = "setUserData")]
    fn set_user_data(
        &self,
        py: Python<'_>,
        chat_id: i64,
        user_id: i64,
        key: &str,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let json = py_to_json(value)?;
        self.run(py, |s| s.set_user_data(chat_id, user_id, key, &json))
    }

    /// One item of the user's (memory-only) state, or `default`. `state_key` is a
    /// `str` or an `Enum` with a `str` value.
    #[pyo3(name = "getUserState", signature = (user_id, state_key, default = None))]
    fn get_user_state<'py>(
        &self,
        py: Python<'py>,
        user_id: i64,
        state_key: &Bound<'py, PyAny>,
        default: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let key = state_key_fast(state_key)?;
        let state_key = &*key;
        self.read_py(py, Read::UserState { user_id, state_key }, default)
    }

    /// Sets one item of the user's state (never persisted).
    #[pyo3(name = "setUserState")]
    fn set_user_state(
        &self,
        py: Python<'_>,
        user_id: i64,
        state_key: &Bound<'_, PyAny>,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let key = state_key_fast(state_key)?;
        let json = py_to_json(value)?;
        self.run(py, |s| s.set_user_state(user_id, &key, &json))
    }

    /// Removes one item of the user's state, or all of it when `state_key` is `None`.
    #[pyo3(name = "clearUserState", signature = (user_id, state_key = None))]
    fn clear_user_state(
        &self,
        py: Python<'_>,
        user_id: i64,
        state_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let key = state_key.map(state_key_fast).transpose()?;
        self.run(py, |s| s.clear_user_state(user_id, key.as_deref()))
    }
}
