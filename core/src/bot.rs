//! [`BotCache`]: the bot's API (`wit/bot.wit`) on the generic cache's public
//! API, over a [`BotStorage`].
//!
//! One source of truth for every datum: chat settings live only in the bot's
//! chat-settings table and user data only in its user-data table. The cache
//! keeps copies of them as the mirrored fields `settings` of `chats` entries and
//! `data` of `chatUsers` entries (see [`Cache::mirror`]), which never reach the
//! row store. So every bot write is one storage transaction, and after a crash
//! there is no second copy to disagree with it.
//!
//! The seed's bugs stay fixed: a cached entry is never mutated behind the
//! cache's back, and clearing absent state creates nothing.

use serde_json::{Map, Value};

use crate::config::{CHATS, CHAT_PERSISTENT, CHAT_USERS, USERS};
use crate::storage::{BotStorage, SettingsChange};
use crate::{validate, Cache, CacheError, FieldShape};

/// The mirrored field of `chats` entries: the chat's settings.
pub const SETTINGS_FIELD: &str = "settings";
/// The mirrored field of `chatUsers` entries: the user's data in the chat.
pub const DATA_FIELD: &str = "data";
/// The field of `chats` entries holding the chat's info.
const INFO_FIELD: &str = "info";
/// The field of `chats` entries holding the chat's forum topics by id (the bot's name).
const TOPICS_FIELD: &str = "topicInfo";

type Object = Map<String, Value>;

/// How [`BotCache::set_chat_settings`] combines new settings with stored ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingsMode {
    /// Insert or replace the given keys, keep the others.
    Merge,
    /// The given settings become the only ones.
    Rewrite,
}

/// The bot's cache: a [`Cache`] with the seed's namespaces and the bot's API.
pub struct BotCache<S> {
    cache: Cache<S>,
}

impl<S: BotStorage> BotCache<S> {
    /// A bot cache with the default table, its mirrored fields declared.
    pub fn new(storage: S) -> Self {
        let mut cache = Cache::new(storage);
        cache.mirror(CHATS, SETTINGS_FIELD, FieldShape::StringMap);
        cache.mirror(CHAT_USERS, DATA_FIELD, FieldShape::Object);
        for namespace in [CHATS, CHAT_USERS, USERS, CHAT_PERSISTENT] {
            cache.record(namespace);
        }
        BotCache { cache }
    }

    /// Runs `f` as one call: if it fails, the hit and miss counts are as before
    /// it (see `cache/counts.rs`).
    fn call<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, CacheError>,
    ) -> Result<R, CacheError> {
        let mark = self.cache.begin_call();
        let result = f(self);
        self.cache.end_call(mark, result.is_ok());
        result
    }

    /// The generic cache underneath, for the generic API.
    pub fn cache(&mut self) -> &mut Cache<S> {
        &mut self.cache
    }

    /// The generic cache underneath, read-only (stats, storage inspection).
    pub fn cache_ref(&self) -> &Cache<S> {
        &self.cache
    }

    /// The chat's settings as a JSON object of strings, read from
    /// [`BotStorage::get_chat_settings`] (and cached) if not cached.
    pub fn get_chat_settings(&mut self, chat_id: i64) -> Result<String, CacheError> {
        self.call(|bot| {
            let key = chat_id.to_string();
            let cached = bot.cache.get_json(CHATS, &key, |entry| {
                entry.and_then(|e| e.get(SETTINGS_FIELD)).map(json_text)
            })?;
            if let Some(text) = cached {
                return Ok(text);
            }
            let settings = bot.stored_settings(chat_id)?;
            let text = json_text(&Value::Object(settings.clone()));
            bot.cache_copy(CHATS, key, SETTINGS_FIELD, Value::Object(settings))?;
            Ok(text)
        })
    }

    /// Changes the chat's settings (`settings`: a JSON object of strings) with
    /// one [`BotStorage::write_chat_settings`], then the cached copy.
    pub fn set_chat_settings(
        &mut self,
        chat_id: i64,
        settings: &str,
        mode: SettingsMode,
    ) -> Result<(), CacheError> {
        self.call(|bot| {
            let settings = parse_object(settings, "settings")?;
            let mut pairs = Vec::with_capacity(settings.len());
            for (key, value) in &settings {
                validate::key(key)?;
                match value {
                    Value::String(text) => pairs.push((key.clone(), text.clone())),
                    other => {
                        return Err(CacheError::InvalidJson(format!(
                            "setting {key:?} is {other}: a setting's value must be a JSON string"
                        )))
                    }
                }
            }
            let change = match mode {
                SettingsMode::Merge => SettingsChange::Merge(pairs),
                SettingsMode::Rewrite => SettingsChange::Rewrite(pairs),
            };
            let entry = bot.cached_chat(chat_id)?;
            bot.write_settings(chat_id, &change)?;
            bot.update_cached_settings(chat_id, entry, |cached| match mode {
                SettingsMode::Merge => {
                    let mut merged = cached?;
                    merged.extend(settings);
                    Some(merged)
                }
                SettingsMode::Rewrite => Some(settings),
            })
        })
    }

    /// Deletes one setting of the chat, in storage and in the cached copy.
    pub fn unset_chat_setting(&mut self, chat_id: i64, key: &str) -> Result<(), CacheError> {
        self.call(|bot| {
            validate::key(key)?;
            let entry = bot.cached_chat(chat_id)?;
            bot.write_settings(chat_id, &SettingsChange::Unset(key.to_owned()))?;
            bot.update_cached_settings(chat_id, entry, |cached| {
                let mut settings = cached?;
                settings.remove(key);
                Some(settings)
            })
        })
    }

    /// Drops the cached copy of the chat's settings without writing: another
    /// process changed them. `true` if a copy was held.
    pub fn forget_chat_settings(&mut self, chat_id: i64) -> bool {
        self.cache
            .forget_field(CHATS, &chat_id.to_string(), SETTINGS_FIELD)
    }

    /// Drops the cached copy of a user's data in a chat without writing.
    /// `true` if a copy was held.
    pub fn forget_user_data(&mut self, chat_id: i64, user_id: i64) -> bool {
        self.cache
            .forget_field(CHAT_USERS, &chat_user_key(chat_id, user_id), DATA_FIELD)
    }

    /// The chat's info object, if one was set.
    pub fn get_chat_info(&mut self, chat_id: i64) -> Result<Option<String>, CacheError> {
        self.call(|bot| {
            bot.cache.get_json(CHATS, &chat_id.to_string(), |entry| {
                entry.and_then(|e| e.get(INFO_FIELD)).map(json_text)
            })
        })
    }

    /// Replaces the chat's info with `info` (a JSON object), stored as the
    /// `chats` namespace's persistence says.
    ///
    /// Info that could never fit in the chat's row is refused as
    /// [`CacheError::TooLarge`] before storage is read.
    pub fn set_chat_info(&mut self, chat_id: i64, info: &str) -> Result<(), CacheError> {
        self.call(|bot| {
            let info = Value::Object(parse_object(info, "info")?);
            // The row holds at least `{"info":<info>}`.
            validate::value_size(&json_text(&serde_json::json!({ INFO_FIELD: &info })))?;
            let key = chat_id.to_string();
            let mut entry = bot.object_at(CHATS, &key)?;
            entry.insert(INFO_FIELD.to_owned(), info);
            bot.cache.set_json(CHATS, key, Value::Object(entry))
        })
    }

    /// Sets one forum topic of the chat: `info` (a JSON object) under the
    /// topic's id in the `topicInfo` object of the chat's `chats` entry, the
    /// other topics and the chat's info kept.
    ///
    /// A `topicInfo` that is not an object is [`CacheError::InvalidJson`], left
    /// as it was; a topic that could never fit in the chat's row is
    /// [`CacheError::TooLarge`] before storage is read.
    pub fn set_chat_topic(
        &mut self,
        chat_id: i64,
        topic_id: i64,
        info: &str,
    ) -> Result<(), CacheError> {
        self.call(|bot| {
            let info = Value::Object(parse_object(info, "topic info")?);
            let topic = topic_id.to_string();
            // The row holds at least `{"topicInfo":{<topic>:<info>}}`.
            validate::value_size(&json_text(
                &serde_json::json!({ TOPICS_FIELD: { &topic: &info } }),
            ))?;
            let key = chat_id.to_string();
            let mut entry = bot.object_at(CHATS, &key)?;
            match entry
                .entry(TOPICS_FIELD)
                .or_insert_with(|| Value::Object(Object::new()))
            {
                Value::Object(topics) => topics.insert(topic, info),
                _ => {
                    return Err(CacheError::InvalidJson(format!(
                        "the {TOPICS_FIELD} of the cached chat {key} is not a JSON object"
                    )))
                }
            };
            bot.cache.set_json(CHATS, key, Value::Object(entry))
        })
    }

    /// The user's data in the chat as a JSON object, read from
    /// [`BotStorage::get_user_data`] (and cached) if not cached.
    pub fn get_user_data(&mut self, chat_id: i64, user_id: i64) -> Result<String, CacheError> {
        self.call(|bot| {
            let key = chat_user_key(chat_id, user_id);
            let cached = bot.cache.get_json(CHAT_USERS, &key, |entry| {
                entry.and_then(|e| e.get(DATA_FIELD)).map(json_text)
            })?;
            if let Some(text) = cached {
                return Ok(text);
            }
            let data = bot.stored_user_data(chat_id, user_id)?;
            let text = json_text(&Value::Object(data.clone()));
            bot.cache_copy(CHAT_USERS, key, DATA_FIELD, Value::Object(data))?;
            Ok(text)
        })
    }

    /// Sets one data item of the user in the chat: one
    /// [`BotStorage::set_user_data`], then the cached copy if there is one.
    pub fn set_user_data(
        &mut self,
        chat_id: i64,
        user_id: i64,
        data_key: &str,
        value: &str,
    ) -> Result<(), CacheError> {
        self.call(|bot| {
            validate::key(data_key)?;
            validate::value(value)?;
            let parsed: Value = serde_json::from_str(value)
                .map_err(|e| CacheError::InvalidJson(format!("value: {e}")))?;
            let key = chat_user_key(chat_id, user_id);
            // Checked before the write, so that a namespace missing from the table
            // fails without writing.
            let cached = bot.cache.get_json(CHAT_USERS, &key, |entry| {
                entry.map(|e| e.as_object().cloned())
            })?;
            bot.cache
                .storage_mut()
                .set_user_data(chat_id, user_id, data_key, value)
                .map_err(|e| CacheError::storage("bot-storage.set-user-data", e))?;
            let Some(Some(mut entry)) = cached else {
                return Ok(());
            };
            let Some(Value::Object(data)) = entry.get_mut(DATA_FIELD) else {
                return Ok(());
            };
            data.insert(data_key.to_owned(), parsed);
            bot.recache(CHAT_USERS, key, DATA_FIELD, entry)
        })
    }

    /// One item of the user's state as JSON text, if set.
    pub fn get_user_state(
        &mut self,
        user_id: i64,
        state_key: &str,
    ) -> Result<Option<String>, CacheError> {
        self.call(|bot| {
            validate::key(state_key)?;
            bot.cache.get_json(USERS, &user_id.to_string(), |entry| {
                entry.and_then(|e| e.get(state_key)).map(json_text)
            })
        })
    }

    /// Sets one item (JSON other than `null`) of the user's state.
    pub fn set_user_state(
        &mut self,
        user_id: i64,
        state_key: &str,
        value: &str,
    ) -> Result<(), CacheError> {
        self.call(|bot| {
            validate::key(state_key)?;
            validate::value(value)?;
            let parsed: Value = serde_json::from_str(value)
                .map_err(|e| CacheError::InvalidJson(format!("value: {e}")))?;
            let key = user_id.to_string();
            let mut entry = bot.object_at(USERS, &key)?;
            entry.insert(state_key.to_owned(), parsed);
            bot.cache.set_json(USERS, key, Value::Object(entry))
        })
    }

    /// Removes one item of the user's state, or with `None` all of it; the
    /// entry goes with its last item, and absent state stays absent.
    pub fn clear_user_state(
        &mut self,
        user_id: i64,
        state_key: Option<&str>,
    ) -> Result<(), CacheError> {
        self.call(|bot| {
            let key = user_id.to_string();
            let Some(state_key) = state_key else {
                return bot.cache.delete(USERS, &key).map(|_| ());
            };
            validate::key(state_key)?;
            let mut entry = bot.object_at(USERS, &key)?;
            if entry.remove(state_key).is_none() {
                return Ok(());
            }
            if entry.is_empty() {
                return bot.cache.delete(USERS, &key).map(|_| ());
            }
            bot.cache.set_json(USERS, key, Value::Object(entry))
        })
    }

    /// The entry under `key` as a JSON object (absent: empty).
    fn object_at(&mut self, namespace: &str, key: &str) -> Result<Object, CacheError> {
        self.cache
            .get_json(namespace, key, |entry| match entry {
                None => Ok(Object::new()),
                Some(Value::Object(object)) => Ok(object.clone()),
                Some(_) => Err(CacheError::InvalidJson(format!(
                    "the cached entry {namespace}/{key} is not a JSON object"
                ))),
            })
            .and_then(|r| r)
    }

    /// Caches `value`, just read from the bot's storage, as the mirrored `field`
    /// of the entry under `key`. Best effort: the caller already has its answer,
    /// so if the copy cannot be cached (the entry would be over the size limit, or
    /// reading the entry failed) it is simply not cached. Only a `pending`
    /// request fails the call (see [`CacheError::is_pending`]).
    fn cache_copy(
        &mut self,
        namespace: &str,
        key: String,
        field: &str,
        value: Value,
    ) -> Result<(), CacheError> {
        match self.object_at(namespace, &key) {
            Ok(mut entry) => {
                entry.insert(field.to_owned(), value);
                self.recache(namespace, key, field, entry)
            }
            Err(e) if e.is_pending() => Err(e),
            Err(_) => Ok(()),
        }
    }

    /// Caches `entry`, whose mirrored `field` holds what the bot's storage now
    /// holds. Storage already has the change, so this cannot fail the call: if
    /// the entry cannot be cached (over the size limit), the stale copy of the
    /// field is dropped instead and the next read goes to storage. Only a
    /// `pending` request fails the call.
    fn recache(
        &mut self,
        namespace: &str,
        key: String,
        field: &str,
        entry: Object,
    ) -> Result<(), CacheError> {
        match self
            .cache
            .refresh_json(namespace, key.clone(), Value::Object(entry))
        {
            Err(e) if e.is_pending() => Err(e),
            Err(_) => {
                self.cache.forget_field(namespace, &key, field);
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    }

    /// The cached `chats` entry of a chat (read through storage if needed), read
    /// before a settings write so that a failing read fails the call before it
    /// writes. Also checks that `chats` is configured.
    fn cached_chat(&mut self, chat_id: i64) -> Result<Option<Value>, CacheError> {
        self.cache
            .get_json(CHATS, &chat_id.to_string(), |entry| entry.cloned())
    }

    /// Writes a settings change, after checking that `chats` is configured.
    fn write_settings(&mut self, chat_id: i64, change: &SettingsChange) -> Result<(), CacheError> {
        self.cache.config_of(CHATS)?;
        self.cache
            .storage_mut()
            .write_chat_settings(chat_id, change)
            .map_err(|e| CacheError::storage("bot-storage.write-chat-settings", e))
    }

    /// Replaces the cached settings of a chat (`entry`, read before the write)
    /// with `update(cached settings)`; `None` drops the cached copy (the next read
    /// goes to storage). Storage already holds the change, so nothing is written
    /// and nothing fails (see [`BotCache::recache`]).
    fn update_cached_settings(
        &mut self,
        chat_id: i64,
        entry: Option<Value>,
        update: impl FnOnce(Option<Object>) -> Option<Object>,
    ) -> Result<(), CacheError> {
        let key = chat_id.to_string();
        let mut entry = match entry {
            Some(Value::Object(entry)) => entry,
            // Nothing cached (or an entry the bot did not write): cache the
            // settings only if the update knows all of them.
            _ => Object::new(),
        };
        let cached = match entry.remove(SETTINGS_FIELD) {
            Some(Value::Object(settings)) => Some(settings),
            _ => None,
        };
        if let Some(settings) = update(cached) {
            entry.insert(SETTINGS_FIELD.to_owned(), Value::Object(settings));
        } else if entry.is_empty() {
            return Ok(());
        }
        self.recache(CHATS, key, SETTINGS_FIELD, entry)
    }

    /// The chat's stored settings as an object of strings.
    fn stored_settings(&mut self, chat_id: i64) -> Result<Object, CacheError> {
        Ok(self
            .cache
            .storage_mut()
            .get_chat_settings(chat_id)
            .map_err(|e| CacheError::storage("bot-storage.get-chat-settings", e))?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect())
    }

    /// The user's stored data items, each parsed from its JSON text.
    fn stored_user_data(&mut self, chat_id: i64, user_id: i64) -> Result<Object, CacheError> {
        self.cache
            .storage_mut()
            .get_user_data(chat_id, user_id)
            .map_err(|e| CacheError::storage("bot-storage.get-user-data", e))?
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

/// `value` as compact JSON text. `serde_json::to_string` writes straight into a
/// byte buffer; `Value::to_string` (its `Display`) goes through `fmt::Write` piece
/// by piece, which made it most of a hot bot read's instructions in the guest.
fn json_text(value: &Value) -> String {
    // Serializing a `Value` cannot fail (its map keys are strings); the fallback
    // is never taken.
    serde_json::to_string(value).unwrap_or_else(|_| value.to_string())
}

/// The `chatUsers` key of a user in a chat.
pub(crate) fn chat_user_key(chat_id: i64, user_id: i64) -> String {
    format!("{chat_id}:{user_id}")
}

/// Parses caller-supplied JSON that must be an object of at most
/// [`validate::MAX_VALUE_BYTES`].
fn parse_object(text: &str, what: &str) -> Result<Object, CacheError> {
    validate::value_size(text)?;
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(CacheError::InvalidJson(format!(
            "{what} must be a JSON object"
        ))),
        Err(e) => Err(CacheError::InvalidJson(format!("{what}: {e}"))),
    }
}
