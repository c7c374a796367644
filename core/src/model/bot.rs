//! The bot's cache against the model: chat settings and user data (whose home
//! is the bot's storage), chat info (the on-shutdown `chats` namespace) and user
//! state (the memory-only `users` namespace), with capacities of 2.

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use serde_json::{Map, Value};

use super::{check, json_error, key_error, FailSpec, Faults, Id, Json, Key, StorageFn};
use crate::config::{CHATS, CHAT_USERS, USERS};
use crate::{
    BotCache, MockStorage, NamespaceConfig, Persistence, SettingsMode, DATA_FIELD, MAX_VALUE_BYTES,
    SETTINGS_FIELD,
};

type Object = Map<String, Value>;

/// Settings as the caller passes them.
#[derive(Arbitrary, Clone, Debug)]
pub enum Settings {
    /// A JSON object of these pairs.
    Pairs(Vec<(Key, Setting)>),
    /// Any text.
    Raw(String),
}

/// One setting's value.
#[derive(Arbitrary, Clone, Debug)]
pub enum Setting {
    /// A JSON string (valid).
    Text(String),
    /// A JSON number (invalid: settings are strings).
    Number(i32),
    /// A JSON string of `MAX_VALUE_BYTES - 64 + n % 64` bytes.
    Big(u8),
}

impl Settings {
    fn text(&self) -> String {
        match self {
            Settings::Raw(s) => s.clone(),
            Settings::Pairs(pairs) => {
                let mut object = Object::new();
                for (key, setting) in pairs {
                    let value = match setting {
                        Setting::Text(s) => Value::String(s.clone()),
                        Setting::Number(n) => Value::from(*n),
                        Setting::Big(n) => {
                            Value::String("s".repeat(MAX_VALUE_BYTES - 64 + usize::from(n % 64)))
                        }
                    };
                    object.insert(key.text(), value);
                }
                Value::Object(object).to_string()
            }
        }
    }
}

/// One operation of a bot scenario.
#[derive(Arbitrary, Clone, Debug)]
pub enum BotOp {
    /// `get_chat_settings`.
    GetSettings(Id),
    /// `set_chat_settings`; `true`: rewrite.
    SetSettings(Id, Settings, bool),
    /// `unset_chat_setting`.
    Unset(Id, Key),
    /// `forget_chat_settings`.
    ForgetSettings(Id),
    /// `get_chat_info`.
    GetInfo(Id),
    /// `set_chat_info`.
    SetInfo(Id, Settings),
    /// `set_chat_topic`.
    SetTopic(Id, Id, Settings),
    /// `get_user_data`.
    GetData(Id, Id),
    /// `set_user_data`.
    SetData(Id, Id, Key, Json),
    /// `forget_user_data`.
    ForgetData(Id, Id),
    /// `get_user_state`.
    GetState(Id, Key),
    /// `set_user_state`.
    SetState(Id, Key, Json),
    /// `clear_user_state`.
    ClearState(Id, Option<Key>),
    /// `persist_all`.
    Persist,
    /// `load_from_storage`.
    Load,
    /// Sets or removes the rule for writing calls.
    FailWrites(Option<FailSpec>),
    /// Sets or removes the rule for reading calls.
    FailReads(Option<FailSpec>),
}

/// The reference model.
#[derive(Default)]
struct Model {
    settings: BTreeMap<(i64, String), String>,
    /// (chat, user, key) → the JSON text as given.
    user_data: BTreeMap<(i64, i64, String), String>,
    info: BTreeMap<i64, Object>,
    /// Chat → its topic map (topic id → info).
    topics: BTreeMap<i64, Object>,
    /// User state: (user, items), least recent first.
    state: Vec<(i64, Object)>,
}

impl Model {
    fn settings_of(&self, chat: i64) -> Value {
        Value::Object(
            self.settings
                .iter()
                .filter(|((c, _), _)| *c == chat)
                .map(|((_, k), v)| (k.clone(), Value::String(v.clone())))
                .collect(),
        )
    }

    fn data_of(&self, chat: i64, user: i64) -> Value {
        Value::Object(
            self.user_data
                .iter()
                .filter(|((c, u, _), _)| *c == chat && *u == user)
                .map(|((_, _, k), v)| (k.clone(), serde_json::from_str(v).unwrap_or(Value::Null)))
                .collect(),
        )
    }

    /// The user's state, made most recent if held.
    fn touch(&mut self, user: i64) -> Option<Object> {
        let i = self.state.iter().position(|(u, _)| *u == user)?;
        let entry = self.state.remove(i);
        self.state.push(entry.clone());
        Some(entry.1)
    }

    fn put_state(&mut self, user: i64, items: Object) {
        self.state.retain(|(u, _)| *u != user);
        self.state.push((user, items));
        let excess = self.state.len().saturating_sub(2);
        self.state.drain(..excess);
    }
}

/// The settings object the model accepts, or the error case.
fn parse_settings(text: &str) -> Result<Object, &'static str> {
    if text.len() > MAX_VALUE_BYTES {
        return Err("too-large");
    }
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(text) else {
        return Err("invalid-json");
    };
    for (key, value) in &object {
        if let Some(e) = key_error(key) {
            return Err(e);
        }
        if !value.is_string() {
            return Err("invalid-json");
        }
    }
    Ok(object)
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn new_cache(storage: MockStorage) -> Result<BotCache<MockStorage>, String> {
    let mut bot = BotCache::new(storage);
    let table = [
        (CHATS, Persistence::OnShutdown),
        (CHAT_USERS, Persistence::OnChange),
        (USERS, Persistence::MemoryOnly),
    ]
    .into_iter()
    .map(|(name, persistence)| NamespaceConfig {
        name: name.to_owned(),
        max_entries: 2,
        persistence,
    })
    .collect();
    bot.cache()
        .configure(table)
        .map_err(|e| format!("configure: {e:?}"))?;
    Ok(bot)
}

/// Compares JSON text returned by the cache with the model's value.
fn same_json(what: &str, got: &str, want: &Value) -> Result<(), String> {
    if &parse_json(got) != want {
        return Err(format!("{what}: got {got}, model has {want}"));
    }
    Ok(())
}

/// Runs `ops`, then checks storage and a restarted cache.
pub(super) fn run(ops: &[BotOp]) -> Result<(), String> {
    let mut bot = new_cache(MockStorage::new())?;
    let mut model = Model::default();
    let mut faults = Faults::default();
    for (step, op) in ops.iter().enumerate() {
        let what = format!("step {step}: {op:?}");
        step_op(&mut bot, &mut model, &mut faults, &what, step, op)?;
        let storage = bot.cache_ref().storage();
        if storage.chat_settings != model.settings {
            return Err(format!(
                "{what}: stored settings {:?}, model {:?}",
                storage.chat_settings, model.settings
            ));
        }
        if storage.user_data != model.user_data {
            return Err(format!(
                "{what}: stored user data {:?}, model {:?}",
                storage.user_data, model.user_data
            ));
        }
    }
    finish(bot, &model)
}

fn step_op(
    bot: &mut BotCache<MockStorage>,
    model: &mut Model,
    faults: &mut Faults,
    what: &str,
    step: usize,
    op: &BotOp,
) -> Result<(), String> {
    match op {
        BotOp::GetSettings(chat) => {
            let r = bot.get_chat_settings(chat.get());
            if check(what, &r, None, faults)? {
                same_json(
                    what,
                    r.as_deref().unwrap_or_default(),
                    &model.settings_of(chat.get()),
                )?;
            }
        }
        BotOp::SetSettings(chat, settings, rewrite) => {
            let (chat, text) = (chat.get(), settings.text());
            let parsed = parse_settings(&text);
            let mode = if *rewrite {
                SettingsMode::Rewrite
            } else {
                SettingsMode::Merge
            };
            let r = bot.set_chat_settings(chat, &text, mode);
            if parsed.is_ok()
                && faults.write_always_fails(StorageFn::WriteChatSettings)
                && r.is_ok()
            {
                return Err(format!("{what}: acknowledged without a write"));
            }
            if check(what, &r, parsed.as_ref().err().copied(), faults)? {
                if *rewrite {
                    model.settings.retain(|(c, _), _| *c != chat);
                }
                for (k, v) in parsed.into_iter().flatten() {
                    let v = v.as_str().unwrap_or_default().to_owned();
                    model.settings.insert((chat, k), v);
                }
            }
        }
        BotOp::Unset(chat, key) => {
            let key = key.text();
            let exp = key_error(&key);
            let r = bot.unset_chat_setting(chat.get(), &key);
            if check(what, &r, exp, faults)? {
                model.settings.remove(&(chat.get(), key));
            }
        }
        BotOp::ForgetSettings(chat) => {
            bot.forget_chat_settings(chat.get());
        }
        BotOp::GetInfo(chat) => {
            let r = bot.get_chat_info(chat.get());
            if check(what, &r, None, faults)? {
                let want = model.info.get(&chat.get()).cloned().map(Value::Object);
                let got = r.ok().flatten().map(|t| parse_json(&t));
                if got != want {
                    return Err(format!("{what}: got {got:?}, model has {want:?}"));
                }
            }
        }
        BotOp::SetInfo(chat, info) => {
            let text = info.text();
            let parsed = object_of(&text, |object| serde_json::json!({ "info": object }));
            let r = bot.set_chat_info(chat.get(), &text);
            if let Ok(object) = parsed {
                let row = chat_row(Some(&object), model.topics.get(&chat.get()));
                if row_fits(what, &r, &row, faults)? {
                    model.info.insert(chat.get(), object);
                }
            } else {
                check(what, &r, parsed.err(), faults)?;
            }
        }
        BotOp::SetTopic(chat, topic, info) => {
            let (text, topic_key) = (info.text(), topic.get().to_string());
            let parsed = object_of(
                &text,
                |object| serde_json::json!({ "topicInfo": { &topic_key: object } }),
            );
            let r = bot.set_chat_topic(chat.get(), topic.get(), &text);
            if let Ok(object) = parsed {
                let mut topics = model.topics.get(&chat.get()).cloned().unwrap_or_default();
                topics.insert(topic_key, Value::Object(object));
                let row = chat_row(model.info.get(&chat.get()), Some(&topics));
                if row_fits(what, &r, &row, faults)? {
                    model.topics.insert(chat.get(), topics);
                }
            } else {
                check(what, &r, parsed.err(), faults)?;
            }
        }
        BotOp::GetData(chat, user) => {
            let r = bot.get_user_data(chat.get(), user.get());
            if check(what, &r, None, faults)? {
                let want = model.data_of(chat.get(), user.get());
                same_json(what, r.as_deref().unwrap_or_default(), &want)?;
            }
        }
        BotOp::SetData(chat, user, key, value) => {
            let (key, value) = (key.text(), value.text(step));
            let exp = key_error(&key).or_else(|| json_error(&value));
            let r = bot.set_user_data(chat.get(), user.get(), &key, &value);
            if exp.is_none() && faults.write_always_fails(StorageFn::SetUserData) && r.is_ok() {
                return Err(format!("{what}: acknowledged without a write"));
            }
            if check(what, &r, exp, faults)? {
                model.user_data.insert((chat.get(), user.get(), key), value);
            }
        }
        BotOp::ForgetData(chat, user) => {
            bot.forget_user_data(chat.get(), user.get());
        }
        BotOp::GetState(user, key) => {
            let key = key.text();
            let exp = key_error(&key);
            let r = bot.get_user_state(user.get(), &key);
            if check(what, &r, exp, faults)? {
                let want = model
                    .touch(user.get())
                    .and_then(|items| items.get(&key).cloned());
                let got = r.ok().flatten().map(|t| parse_json(&t));
                if got != want {
                    return Err(format!("{what}: got {got:?}, model has {want:?}"));
                }
            }
        }
        BotOp::SetState(user, key, value) => {
            let (key, value) = (key.text(), value.text(step));
            let mut exp = key_error(&key).or_else(|| json_error(&value));
            let mut items = Object::new();
            if exp.is_none() {
                items = model.touch(user.get()).unwrap_or_default();
                items.insert(key.clone(), parse_json(&value));
                if Value::Object(items.clone()).to_string().len() > MAX_VALUE_BYTES {
                    exp = Some("too-large");
                }
            }
            let r = bot.set_user_state(user.get(), &key, &value);
            if check(what, &r, exp, faults)? {
                model.put_state(user.get(), items);
            }
        }
        BotOp::ClearState(user, key) => {
            let key = key.as_ref().map(Key::text);
            let exp = key.as_deref().and_then(key_error);
            let r = bot.clear_user_state(user.get(), key.as_deref());
            if check(what, &r, exp, faults)? {
                match key {
                    None => model.state.retain(|(u, _)| *u != user.get()),
                    Some(key) => {
                        if let Some(mut items) = model.touch(user.get()) {
                            if items.remove(&key).is_some() {
                                if items.is_empty() {
                                    model.state.retain(|(u, _)| *u != user.get());
                                } else {
                                    model.put_state(user.get(), items);
                                }
                            }
                        }
                    }
                }
            }
        }
        BotOp::Persist => {
            let r = bot.cache().persist_all();
            check(what, &r, None, faults)?;
        }
        BotOp::Load => {
            let r = bot.cache().load_from_storage();
            if let Ok(report) = &r {
                if !report.skipped.is_empty() {
                    return Err(format!("{what}: skipped {:?}", report.skipped));
                }
            }
            check(what, &r, None, faults)?;
        }
        BotOp::FailWrites(spec) => faults.set(bot.cache().storage_mut(), true, spec.clone()),
        BotOp::FailReads(spec) => faults.set(bot.cache().storage_mut(), false, spec.clone()),
    }
    Ok(())
}

/// `text` as a JSON object, or the case a call refuses it with before reading
/// storage: `invalid-json`, or `too-large` when even `smallest_row(object)`,
/// the least the chat's row would hold, is over the limit.
fn object_of(text: &str, smallest_row: impl Fn(&Object) -> Value) -> Result<Object, &'static str> {
    if let Some(e) = json_error(text) {
        return Err(e);
    }
    match parse_json(text) {
        Value::Object(object) if smallest_row(&object).to_string().len() > MAX_VALUE_BYTES => {
            Err("too-large")
        }
        Value::Object(object) => Ok(object),
        _ => Err("invalid-json"),
    }
}

/// The chat's row as storage would hold it: its info and its topics.
fn chat_row(info: Option<&Object>, topics: Option<&Object>) -> String {
    let mut row = Object::new();
    if let Some(info) = info {
        row.insert("info".into(), Value::Object(info.clone()));
    }
    if let Some(topics) = topics {
        row.insert("topicInfo".into(), Value::Object(topics.clone()));
    }
    Value::Object(row).to_string()
}

/// Checks a chat write whose row would be `row`: `Ok(true)` if it took effect.
/// A row over the limit is `too-large`, found once the chat's entry is read,
/// so a read failure the faults allow may come first.
fn row_fits<T: std::fmt::Debug>(
    what: &str,
    r: &Result<T, crate::CacheError>,
    row: &str,
    faults: &Faults,
) -> Result<bool, String> {
    if row.len() <= MAX_VALUE_BYTES {
        return check(what, r, None, faults);
    }
    match r {
        Err(crate::CacheError::TooLarge(_)) => Ok(false),
        Err(crate::CacheError::Storage(e)) if faults.allows(e.kind) => Ok(false),
        other => Err(format!(
            "{what}: got {other:?}, expected too-large (row of {} bytes)",
            row.len()
        )),
    }
}

/// Heals the storage and persists; then no row holds a mirrored field, and a
/// restarted cache serves the model's settings, user data and chat info.
fn finish(mut bot: BotCache<MockStorage>, model: &Model) -> Result<(), String> {
    bot.cache().storage_mut().fail_writes = None;
    bot.cache().storage_mut().fail_reads = None;
    bot.cache()
        .persist_all()
        .map_err(|e| format!("final persist_all: {e:?}"))?;
    for (namespace, key, value) in bot.cache_ref().storage().rows() {
        let row = parse_json(value);
        if row.get(SETTINGS_FIELD).is_some() || row.get(DATA_FIELD).is_some() {
            return Err(format!(
                "row {namespace}/{key} holds a mirrored field: {value}"
            ));
        }
    }
    let mut restarted = new_cache(bot.cache_ref().storage().clone())?;
    restarted
        .cache()
        .load_from_storage()
        .map_err(|e| format!("restart load: {e:?}"))?;
    for (chat, info) in &model.info {
        let got = restarted.get_chat_info(*chat);
        let want = Value::Object(info.clone());
        match got {
            Ok(Some(text)) => same_json(&format!("info of {chat} after restart"), &text, &want)?,
            other => {
                return Err(format!(
                    "info of {chat} after restart: {other:?}, model {want}"
                ))
            }
        }
    }
    for (chat, topics) in &model.topics {
        let got = restarted
            .cache()
            .get(CHATS, &chat.to_string())
            .map_err(|e| format!("topics of {chat} after restart: {e:?}"))?
            .map(|text| parse_json(&text)["topicInfo"].clone());
        if got != Some(Value::Object(topics.clone())) {
            return Err(format!(
                "topics of {chat} after restart: {got:?}, model {topics:?}"
            ));
        }
    }
    for (chat, _) in model.settings.keys() {
        let got = restarted
            .get_chat_settings(*chat)
            .map_err(|e| format!("settings of {chat} after restart: {e:?}"))?;
        same_json("settings after restart", &got, &model.settings_of(*chat))?;
    }
    for (chat, user, _) in model.user_data.keys() {
        let got = restarted
            .get_user_data(*chat, *user)
            .map_err(|e| format!("user data of {chat}/{user} after restart: {e:?}"))?;
        same_json(
            "user data after restart",
            &got,
            &model.data_of(*chat, *user),
        )?;
    }
    Ok(())
}
