//! The bot's API over three namespaces, as in the seed design, with its bugs
//! fixed: a cached entry is never mutated behind the cache's back, setting one
//! user-data item first loads the others, and clearing absent state creates
//! nothing.

use serde_json::{Map, Value};

use crate::cache::Mode;
use crate::{validate, Cache, CacheError, Storage};

/// Namespace of chat entries `{"settings": {...}, "info": {...}}`, keyed by chat id.
pub const CHATS: &str = "chats";
/// Namespace of per-chat user entries `{"data": {...}}`, keyed `"{chat}:{user}"`.
pub const CHAT_USERS: &str = "chatUsers";
/// Namespace of per-user UI state objects, keyed by user id.
pub const USERS: &str = "users";

type Object = Map<String, Value>;

impl<S: Storage> Cache<S> {
    /// The chat's settings as a JSON object, loaded from
    /// `Storage::get_chat_settings` (and cached, not dirty) if the cached chat has none.
    pub fn get_chat_settings(&mut self, chat_id: i64) -> Result<String, CacheError> {
        let (idx, key) = (self.index(CHATS)?, chat_id.to_string());
        let mut entry = self.object_at(idx, &key)?;
        if let Some(settings) = entry.get("settings") {
            return Ok(settings.to_string());
        }
        let settings: Object = self
            .storage_mut()
            .get_chat_settings(chat_id)
            .map_err(|e| CacheError::storage("get-chat-settings", e))?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let settings = Value::Object(settings);
        let text = settings.to_string();
        entry.insert("settings".to_owned(), settings);
        self.put_object(idx, key, &entry, Mode::Refresh)?;
        Ok(text)
    }

    /// Replaces the chat's settings with `settings` (a JSON object): each key
    /// goes to `Storage::set_chat_settings` first, then the chat is cached dirty.
    pub fn set_chat_settings(&mut self, chat_id: i64, settings: &str) -> Result<(), CacheError> {
        let settings = parse_object(settings, "settings")?;
        let (idx, key) = (self.index(CHATS)?, chat_id.to_string());
        let mut entry = self.object_at(idx, &key)?;
        let pairs: Vec<(String, String)> = settings
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k.clone(), s.clone()),
                other => (k.clone(), other.to_string()),
            })
            .collect();
        entry.insert("settings".to_owned(), Value::Object(settings));
        let text = encode(&entry)?;
        if !pairs.is_empty() {
            self.storage_mut()
                .set_chat_settings(chat_id, &pairs)
                .map_err(|e| CacheError::storage("set-chat-settings", e))?;
        }
        self.store(idx, vec![(key.into(), text.into())], Mode::Mutation)
    }

    /// The chat's info object, if one was set.
    pub fn get_chat_info(&mut self, chat_id: i64) -> Result<Option<String>, CacheError> {
        let (idx, key) = (self.index(CHATS)?, chat_id.to_string());
        Ok(self.object_at(idx, &key)?.get("info").map(Value::to_string))
    }

    /// Replaces the chat's info with `info` (a JSON object); the chat becomes dirty.
    pub fn set_chat_info(&mut self, chat_id: i64, info: &str) -> Result<(), CacheError> {
        let info = parse_object(info, "info")?;
        let (idx, key) = (self.index(CHATS)?, chat_id.to_string());
        let mut entry = self.object_at(idx, &key)?;
        entry.insert("info".to_owned(), Value::Object(info));
        self.put_object(idx, key, &entry, Mode::Mutation)
    }

    /// The user's data in the chat as a JSON object, loaded from
    /// `Storage::get_user_data` (and cached unchanged) if not cached.
    pub fn get_user_data(&mut self, chat_id: i64, user_id: i64) -> Result<String, CacheError> {
        let (idx, key) = (self.index(CHAT_USERS)?, format!("{chat_id}:{user_id}"));
        let mut entry = self.object_at(idx, &key)?;
        if let Some(data) = entry.get("data") {
            return Ok(data.to_string());
        }
        let data = Value::Object(self.stored_user_data(chat_id, user_id)?);
        let text = data.to_string();
        entry.insert("data".to_owned(), data);
        self.put_object(idx, key, &entry, Mode::Refresh)?;
        Ok(text)
    }

    /// Sets one item of the user's data in the chat: `Storage::add_user_data`
    /// first, then the cached entry (the user's other items loaded first if
    /// they were not cached).
    pub fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        data_key: &str,
        value: &str,
    ) -> Result<(), CacheError> {
        validate::key(data_key)?;
        let parsed = parse_value(value, "value")?;
        let (idx, key) = (self.index(CHAT_USERS)?, format!("{chat_id}:{user_id}"));
        let mut entry = self.object_at(idx, &key)?;
        if !matches!(entry.get("data"), Some(Value::Object(_))) {
            let data = self.stored_user_data(chat_id, user_id)?;
            entry.insert("data".to_owned(), Value::Object(data));
        }
        if let Some(Value::Object(data)) = entry.get_mut("data") {
            data.insert(data_key.to_owned(), parsed);
        }
        let text = encode(&entry)?;
        self.storage_mut()
            .add_user_data(chat_id, user_id, data_key, value)
            .map_err(|e| CacheError::storage("add-user-data", e))?;
        self.store(idx, vec![(key.into(), text.into())], Mode::Mutation)
    }

    /// One item of the user's state, if set.
    pub fn get_user_state(
        &mut self,
        user_id: i64,
        state_key: &str,
    ) -> Result<Option<String>, CacheError> {
        validate::key(state_key)?;
        let (idx, key) = (self.index(USERS)?, user_id.to_string());
        Ok(self
            .object_at(idx, &key)?
            .get(state_key)
            .map(Value::to_string))
    }

    /// Sets one item (JSON) of the user's state.
    pub fn set_user_state(
        &mut self,
        user_id: i64,
        state_key: &str,
        value: &str,
    ) -> Result<(), CacheError> {
        validate::key(state_key)?;
        let parsed = parse_value(value, "value")?;
        let (idx, key) = (self.index(USERS)?, user_id.to_string());
        let mut entry = self.object_at(idx, &key)?;
        entry.insert(state_key.to_owned(), parsed);
        self.put_object(idx, key, &entry, Mode::Mutation)
    }

    /// Removes one item of the user's state, or with `None` all of it; the
    /// entry goes with its last item, and absent state stays absent.
    pub fn clear_user_state(
        &mut self,
        user_id: i64,
        state_key: Option<&str>,
    ) -> Result<(), CacheError> {
        let key = user_id.to_string();
        let Some(state_key) = state_key else {
            return self.delete(USERS, &key).map(|_| ());
        };
        validate::key(state_key)?;
        let idx = self.index(USERS)?;
        let mut entry = self.object_at(idx, &key)?;
        if entry.remove(state_key).is_none() {
            return Ok(());
        }
        if entry.is_empty() {
            return self.delete(USERS, &key).map(|_| ());
        }
        self.put_object(idx, key, &entry, Mode::Mutation)
    }

    /// The cached entry (read through storage as `get` does) as a JSON object;
    /// an absent entry is an empty object.
    fn object_at(&mut self, idx: usize, key: &str) -> Result<Object, CacheError> {
        let Some(text) = self.lookup(idx, key)? else {
            return Ok(Object::new());
        };
        match serde_json::from_str(&text) {
            Ok(Value::Object(object)) => Ok(object),
            _ => Err(CacheError::InvalidJson(format!(
                "the cached entry {key:?} is not a JSON object"
            ))),
        }
    }

    /// Stores `entry` under `key`.
    fn put_object(
        &mut self,
        idx: usize,
        key: String,
        entry: &Object,
        mode: Mode,
    ) -> Result<(), CacheError> {
        let text = encode(entry)?;
        self.store(idx, vec![(key.into(), text.into())], mode)
    }

    /// The user's stored data items, each parsed from its JSON text.
    fn stored_user_data(&mut self, chat_id: i64, user_id: i64) -> Result<Object, CacheError> {
        self.storage_mut()
            .get_user_data(chat_id, user_id)
            .map_err(|e| CacheError::storage("get-user-data", e))?
            .into_iter()
            .map(|(k, v)| match serde_json::from_str(&v) {
                Ok(value) => Ok((k, value)),
                Err(e) => Err(CacheError::InvalidJson(format!(
                    "stored user data {k:?} of chat {chat_id}, user {user_id} is not JSON: {e}"
                ))),
            })
            .collect()
    }
}

/// Parses caller-supplied JSON of at most [`validate::MAX_VALUE_BYTES`].
fn parse_value(text: &str, what: &str) -> Result<Value, CacheError> {
    validate::value_size(text)?;
    serde_json::from_str(text).map_err(|e| CacheError::InvalidJson(format!("{what}: {e}")))
}

/// Parses caller-supplied JSON that must be an object.
fn parse_object(text: &str, what: &str) -> Result<Object, CacheError> {
    match parse_value(text, what)? {
        Value::Object(object) => Ok(object),
        _ => Err(CacheError::InvalidJson(format!(
            "{what} must be a JSON object"
        ))),
    }
}

/// The entry's JSON text, refused if over the value limit.
fn encode(entry: &Object) -> Result<String, CacheError> {
    let text = serde_json::to_string(entry)
        .map_err(|e| CacheError::InvalidJson(format!("cannot encode the entry: {e}")))?;
    validate::value_size(&text)?;
    Ok(text)
}
