//! The bot's API: the seed's bugs stay fixed, and every datum has one durable
//! home (chat settings and user data only in the bot's tables).

use cache_core::{
    BotCache, CacheError, FailRule, MockStorage, SettingsMode, StorageError, StorageErrorKind,
    CHATS, CHAT_USERS, USERS,
};
use serde_json::{json, Value};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the cache returns JSON")
}

fn bot() -> BotCache<MockStorage> {
    BotCache::new(MockStorage::new())
}

fn disk_full() -> Option<FailRule> {
    Some(FailRule::always(StorageError::new(
        StorageErrorKind::Full,
        "disk full",
    )))
}

fn dirty(bot: &BotCache<MockStorage>, namespace: &str) -> u32 {
    bot.cache_ref()
        .stats()
        .into_iter()
        .find(|s| s.name == namespace)
        .map_or(u32::MAX, |s| s.dirty)
}

/// Seed: `setUserData` on an uncached user started from `{}`, so the user's
/// other stored items vanished from the cache.
#[test]
fn set_user_data_keeps_the_users_other_stored_items() {
    let mut storage = MockStorage::new();
    storage
        .user_data
        .insert((1, 2, "lang".into()), "\"ru\"".into());
    let mut bot = BotCache::new(storage);
    bot.set_user_data(1, 2, "age", "30").unwrap();
    assert_eq!(
        parse(&bot.get_user_data(1, 2).unwrap()),
        json!({"lang": "ru", "age": 30})
    );
    // Cached now: another item updates the cached copy in place.
    bot.set_user_data(1, 2, "age", "31").unwrap();
    bot.cache().storage_mut().calls.clear();
    assert_eq!(
        parse(&bot.get_user_data(1, 2).unwrap()),
        json!({"lang": "ru", "age": 31})
    );
    assert!(
        bot.cache_ref().storage().calls.is_empty(),
        "served from memory"
    );
}

/// Seed: `clearUserState(user, key)` on an unknown user cached an empty state.
#[test]
fn clearing_absent_state_creates_nothing() {
    let mut bot = bot();
    bot.clear_user_state(7, Some("step")).unwrap();
    let size = |b: &BotCache<MockStorage>| {
        b.cache_ref()
            .stats()
            .into_iter()
            .find(|s| s.name == USERS)
            .unwrap()
            .size
    };
    assert_eq!(size(&bot), 0);
    bot.set_user_state(7, "step", "\"a\"").unwrap();
    bot.set_user_state(7, "n", "1").unwrap();
    bot.clear_user_state(7, Some("step")).unwrap();
    assert_eq!(bot.get_user_state(7, "n"), Ok(Some("1".into())));
    bot.clear_user_state(7, Some("n")).unwrap();
    assert_eq!(
        bot.cache().get(USERS, "7"),
        Ok(None),
        "last item gone: entry gone"
    );
    assert_eq!(size(&bot), 0);
}

/// Settings live only in the settings table: a set is one storage write,
/// never a dirty `chats` entry, and the `chats` row never carries them.
#[test]
fn chat_settings_have_one_durable_home() {
    let mut storage = MockStorage::new();
    storage
        .chat_settings
        .insert((5, "lang".into()), "en".into());
    let mut bot = BotCache::new(storage);
    assert_eq!(
        parse(&bot.get_chat_settings(5).unwrap()),
        json!({"lang": "en"})
    );
    assert_eq!(dirty(&bot, CHATS), 0, "loading settings is not a change");
    bot.cache().storage_mut().calls.clear();
    bot.set_chat_settings(5, r#"{"limit":"3"}"#, SettingsMode::Merge)
        .unwrap();
    assert_eq!(
        bot.cache_ref().storage().call_names(),
        ["write-chat-settings"]
    );
    assert_eq!(
        dirty(&bot, CHATS),
        0,
        "a settings change is already durable"
    );
    assert_eq!(
        parse(&bot.get_chat_settings(5).unwrap()),
        json!({"lang": "en", "limit": "3"}),
        "merged into the cached copy"
    );
    bot.set_chat_info(5, r#"{"title":"t"}"#).unwrap();
    assert_eq!(dirty(&bot, CHATS), 1);
    bot.cache().persist_all().unwrap();
    assert_eq!(
        bot.cache_ref().storage().row(CHATS, "5").map(parse),
        Some(json!({"info": {"title": "t"}})),
        "the row holds the info, not the settings"
    );
    // A restart reads settings from the settings table.
    let mut restarted = BotCache::new(bot.cache_ref().storage().clone());
    restarted.cache().load_from_storage().unwrap();
    assert_eq!(
        parse(&restarted.get_chat_settings(5).unwrap()),
        json!({"lang": "en", "limit": "3"})
    );
    assert_eq!(
        restarted.get_chat_info(5).unwrap().map(|t| parse(&t)),
        Some(json!({"title": "t"}))
    );
}

#[test]
fn rewrite_replaces_and_unset_removes() {
    let mut bot = bot();
    bot.set_chat_settings(1, r#"{"a":"1","b":"2"}"#, SettingsMode::Merge)
        .unwrap();
    bot.get_chat_settings(1).unwrap();
    bot.set_chat_settings(1, r#"{"c":"3"}"#, SettingsMode::Rewrite)
        .unwrap();
    assert_eq!(parse(&bot.get_chat_settings(1).unwrap()), json!({"c": "3"}));
    assert_eq!(bot.cache_ref().storage().chat_settings.len(), 1);
    bot.unset_chat_setting(1, "c").unwrap();
    assert_eq!(parse(&bot.get_chat_settings(1).unwrap()), json!({}));
    assert!(bot.cache_ref().storage().chat_settings.is_empty());
    // Uncached: a merge leaves the cache empty and the next read goes to storage.
    let mut other = BotCache::new(bot.cache_ref().storage().clone());
    other
        .set_chat_settings(2, r#"{"x":"y"}"#, SettingsMode::Merge)
        .unwrap();
    other.cache().storage_mut().calls.clear();
    assert_eq!(
        parse(&other.get_chat_settings(2).unwrap()),
        json!({"x": "y"})
    );
    assert!(other
        .cache_ref()
        .storage()
        .call_names()
        .contains(&"get-chat-settings"));
}

/// A setting is a string before and after a restart: other values are refused.
#[test]
fn settings_values_are_strings() {
    let mut bot = bot();
    for bad in [
        r#"{"n":5}"#,
        r#"{"b":true}"#,
        r#"{"o":{}}"#,
        r#"{"z":null}"#,
        "[]",
        "\"s\"",
    ] {
        let err = bot
            .set_chat_settings(1, bad, SettingsMode::Merge)
            .unwrap_err();
        assert!(matches!(err, CacheError::InvalidJson(_)), "{bad}: {err:?}");
    }
    assert!(
        bot.cache_ref().storage().calls.is_empty(),
        "nothing reached storage"
    );
}

/// A failed settings or user-data write changes neither storage nor the cache.
#[test]
fn failed_bot_writes_change_nothing() {
    let mut bot = bot();
    bot.set_user_data(1, 2, "a", "1").unwrap();
    bot.get_user_data(1, 2).unwrap();
    bot.set_chat_settings(1, r#"{"a":"1"}"#, SettingsMode::Rewrite)
        .unwrap();
    bot.cache().storage_mut().fail_writes = disk_full();
    let err = bot.set_user_data(1, 2, "b", "2").unwrap_err();
    assert!(
        matches!(&err, CacheError::Storage(e) if e.kind == StorageErrorKind::Full && e.message.contains("set-user-data")),
        "{err:?}"
    );
    let err = bot
        .set_chat_settings(1, r#"{"b":"2"}"#, SettingsMode::Merge)
        .unwrap_err();
    assert!(
        matches!(&err, CacheError::Storage(e) if e.kind == StorageErrorKind::Full),
        "{err:?}"
    );
    let err = bot.unset_chat_setting(1, "a").unwrap_err();
    assert!(matches!(&err, CacheError::Storage(_)), "{err:?}");
    bot.cache().storage_mut().fail_writes = None;
    assert_eq!(parse(&bot.get_user_data(1, 2).unwrap()), json!({"a": 1}));
    assert_eq!(parse(&bot.get_chat_settings(1).unwrap()), json!({"a": "1"}));
    assert_eq!(bot.cache_ref().storage().user_data.len(), 1);
    assert_eq!(
        bot.cache_ref().storage().rows_of(CHAT_USERS).len(),
        0,
        "user data never reaches the row store"
    );
}

/// A generic write of a mirrored field is refused: the row store would drop it.
#[test]
fn generic_writes_of_mirrored_fields_are_refused() {
    let mut bot = bot();
    for (ns, value) in [
        (CHATS, r#"{"settings":{"a":"1"}}"#),
        (CHATS, r#"{"info":{},"\u0073ettings":{}}"#),
        (CHAT_USERS, r#"{"data":{"k":1}}"#),
    ] {
        let err = bot.cache().set(ns, "1".into(), value.into()).unwrap_err();
        assert!(
            matches!(err, CacheError::InvalidJson(_)),
            "{ns} {value}: {err:?}"
        );
        let err = bot
            .cache()
            .set_many(
                ns,
                vec![("2".into(), "{}".into()), ("1".into(), value.into())],
            )
            .unwrap_err();
        assert!(matches!(err, CacheError::InvalidJson(_)), "{err:?}");
    }
    bot.cache()
        .set(CHATS, "1".into(), r#"{"info":{"settings":1}}"#.into())
        .unwrap();
    bot.cache()
        .set(USERS, "1".into(), r#"{"settings":1,"data":2}"#.into())
        .unwrap();
    assert_eq!(bot.cache().stats().iter().map(|s| s.size).sum::<u32>(), 2);
}

/// Rows written before 0.2.0 carry stale copies of settings and data: they
/// are dropped on load and read-through, so the bot's tables win.
#[test]
fn stale_copies_in_old_rows_are_ignored() {
    let mut storage = MockStorage::new();
    storage
        .chat_settings
        .insert((5, "lang".into()), "de".into());
    storage.put_row(
        CHATS,
        "5",
        r#"{"settings":{"lang":"en","old":"x"},"info":{"t":1}}"#,
    );
    storage.put_row(CHATS, "6", r#"{"settings":{"lang":"fr"}}"#);
    storage.user_data.insert((5, 7, "k".into()), "2".into());
    storage.put_row(CHAT_USERS, "5:7", r#"{"data":{"k":1}}"#);
    let mut bot = BotCache::new(storage.clone());
    bot.cache().load_from_storage().unwrap();
    assert_eq!(
        parse(&bot.get_chat_settings(5).unwrap()),
        json!({"lang": "de"})
    );
    assert_eq!(parse(&bot.get_chat_settings(6).unwrap()), json!({}));
    assert_eq!(
        bot.get_chat_info(5).unwrap().map(|t| parse(&t)),
        Some(json!({"t": 1}))
    );
    assert_eq!(parse(&bot.get_user_data(5, 7).unwrap()), json!({"k": 2}));
    // The same through read-through instead of load.
    let mut bot = BotCache::new(storage);
    assert_eq!(
        parse(&bot.get_chat_settings(5).unwrap()),
        json!({"lang": "de"})
    );
    assert_eq!(parse(&bot.get_user_data(5, 7).unwrap()), json!({"k": 2}));
    assert_eq!(
        parse(&bot.cache().get(CHATS, "5").unwrap().unwrap())["info"],
        json!({"t": 1})
    );
}

/// Bot calls on an entry that is not a JSON object fail cleanly instead of
/// overwriting it.
#[test]
fn bot_calls_refuse_a_foreign_entry_shape() {
    let mut bot = bot();
    bot.cache().set(USERS, "9".into(), "[1,2]".into()).unwrap();
    assert!(matches!(
        bot.set_user_state(9, "k", "1"),
        Err(CacheError::InvalidJson(_))
    ));
    assert_eq!(bot.cache().get(USERS, "9"), Ok(Some("[1,2]".into())));
}

/// Bot calls need their namespaces and fail before writing without them.
#[test]
fn bot_calls_need_their_namespaces() {
    let mut bot = bot();
    bot.cache()
        .configure(vec![cache_core::NamespaceConfig {
            name: "other".into(),
            max_entries: 1,
            persistence: cache_core::Persistence::MemoryOnly,
        }])
        .unwrap();
    let unknown = |r: Result<(), CacheError>| matches!(r, Err(CacheError::UnknownNamespace(_)));
    assert!(unknown(bot.set_chat_settings(1, "{}", SettingsMode::Merge)));
    assert!(unknown(bot.unset_chat_setting(1, "a")));
    assert!(unknown(bot.set_user_data(1, 2, "k", "1")));
    assert!(unknown(bot.set_user_state(1, "k", "1")));
    assert!(bot.cache_ref().storage().calls.is_empty());
}

/// Hot reads of a held entry parse it once.
#[test]
fn user_state_reads_do_not_reparse() {
    let mut bot = bot();
    bot.set_user_state(3, "step", r#"{"menu":[1,2]}"#).unwrap();
    assert_eq!(
        bot.get_user_state(3, "step"),
        Ok(Some(r#"{"menu":[1,2]}"#.into()))
    );
    assert_eq!(bot.get_user_state(3, "nope"), Ok(None));
    bot.set_user_state(3, "other", "true").unwrap();
    assert_eq!(bot.get_user_state(3, "other"), Ok(Some("true".into())));
    assert_eq!(
        parse(&bot.cache().get(USERS, "3").unwrap().unwrap()),
        json!({"step": {"menu": [1, 2]}, "other": true})
    );
}

#[test]
fn a_topic_joins_the_chats_topic_map_in_one_call() {
    let mut bot = bot();
    bot.set_chat_info(5, r#"{"title":"Forum"}"#).unwrap();
    bot.set_chat_topic(5, 7, r#"{"name":"News"}"#).unwrap();
    bot.set_chat_topic(5, -8, r#"{"name":"Off"}"#).unwrap();
    bot.set_chat_topic(5, 7, r#"{"name":"Announcements"}"#)
        .unwrap();
    assert_eq!(
        bot.cache().get(CHATS, "5").unwrap().map(|t| parse(&t)),
        Some(json!({"info": {"title": "Forum"},
                    "topicInfo": {"7": {"name": "Announcements"}, "-8": {"name": "Off"}}}))
    );
    assert_eq!(dirty(&bot, CHATS), 1, "on-shutdown, like the chat's info");
    for bad in ["[1]", "\"x\"", "{", "null"] {
        assert!(
            matches!(
                bot.set_chat_topic(5, 9, bad),
                Err(CacheError::InvalidJson(_))
            ),
            "{bad}"
        );
    }
    bot.cache()
        .set(CHATS, "6".into(), r#"{"topicInfo":"x"}"#.into())
        .unwrap();
    assert!(matches!(
        bot.set_chat_topic(6, 1, "{}"),
        Err(CacheError::InvalidJson(m)) if m.contains("topicInfo")
    ));
    assert_eq!(
        bot.cache().get(CHATS, "6").unwrap().as_deref(),
        Some(r#"{"topicInfo":"x"}"#),
        "a topic map that is not an object is left as it was"
    );
    let big = format!(
        r#"{{"name":"{}"}}"#,
        "x".repeat(cache_core::MAX_VALUE_BYTES)
    );
    assert!(matches!(
        bot.set_chat_topic(5, 9, &big),
        Err(CacheError::TooLarge(_))
    ));
}
