//! The seed design's bugs, each pinned by a test that fails on the seed's behaviour.

use cache_core::{Cache, CacheError, MemoryStorage, CHATS, CHAT_USERS, USERS};
use serde_json::{json, Value};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("component returns JSON")
}

/// Seed: `setUserData` on an uncached user started from `{}`, so the user's
/// other stored items vanished from the cache.
#[test]
fn set_user_data_keeps_the_users_other_stored_items() {
    let mut storage = MemoryStorage::new();
    storage
        .user_data
        .insert((1, 2, "lang".into()), "\"ru\"".into());
    let mut cache = Cache::new(storage);
    cache.set_user_data(1, 2, "age", "30").unwrap();
    assert_eq!(
        parse(&cache.get_user_data(1, 2).unwrap()),
        json!({"lang": "ru", "age": 30})
    );
    assert_eq!(cache.storage().user_data.len(), 2);
}

/// Seed: `clearUserState(user, key)` on an unknown user cached an empty state,
/// taking a slot (and possibly evicting someone else).
#[test]
fn clearing_absent_state_creates_nothing() {
    let mut cache = Cache::new(MemoryStorage::new());
    cache.clear_user_state(7, Some("step")).unwrap();
    let users = cache.stats().into_iter().find(|s| s.name == USERS).unwrap();
    assert_eq!(users.size, 0);
    cache.set_user_state(7, "step", "\"a\"").unwrap();
    cache.clear_user_state(7, Some("step")).unwrap();
    assert_eq!(
        cache.get(USERS, "7"),
        Ok(None),
        "last item gone: entry gone"
    );
}

/// Seed: `getChatSettings` cached the loaded settings but marked nothing, and
/// `persistAll` skipped falsy entries; here loading is clean, setting is dirty,
/// and both settings and info survive a persist and a restart.
#[test]
fn chat_settings_load_clean_and_set_dirty() {
    let mut storage = MemoryStorage::new();
    storage
        .chat_settings
        .insert((5, "lang".into()), "en".into());
    let mut cache = Cache::new(storage);
    assert_eq!(
        parse(&cache.get_chat_settings(5).unwrap()),
        json!({"lang": "en"})
    );
    let dirty =
        |c: &Cache<MemoryStorage>| c.stats().iter().find(|s| s.name == CHATS).unwrap().dirty;
    assert_eq!(dirty(&cache), 0, "loading settings is not a change");
    cache
        .set_chat_settings(5, r#"{"lang":"de","limit":3}"#)
        .unwrap();
    cache.set_chat_info(5, r#"{"title":"t"}"#).unwrap();
    assert_eq!(dirty(&cache), 1);
    // Settings are written through as plain text (strings) or JSON text.
    assert_eq!(cache.storage().chat_settings[&(5, "lang".into())], "de");
    assert_eq!(cache.storage().chat_settings[&(5, "limit".into())], "3");
    cache.persist_all().unwrap();
    let mut restarted = Cache::new(cache.storage().clone());
    restarted.load_from_storage().unwrap();
    assert_eq!(
        parse(&restarted.get_chat_settings(5).unwrap()),
        json!({"lang": "de", "limit": 3})
    );
    assert_eq!(
        restarted.get_chat_info(5).unwrap().map(|t| parse(&t)),
        Some(json!({"title": "t"}))
    );
}

/// A failed `add-user-data` changes neither storage's cache rows nor the cache.
#[test]
fn failed_user_data_write_changes_nothing() {
    let mut cache = Cache::new(MemoryStorage::new());
    cache.set_user_data(1, 2, "a", "1").unwrap();
    cache.storage_mut().fail_writes = Some("disk full".into());
    let err = cache.set_user_data(1, 2, "b", "2").unwrap_err();
    assert!(
        matches!(err, CacheError::Storage(ref m) if m.contains("disk full")),
        "{err:?}"
    );
    cache.storage_mut().fail_writes = None;
    assert_eq!(parse(&cache.get_user_data(1, 2).unwrap()), json!({"a": 1}));
    assert_eq!(
        cache.storage().row(CHAT_USERS, "1:2").map(parse),
        Some(json!({"data": {"a": 1}}))
    );
}

/// Bot calls on an entry that is not a JSON object fail cleanly instead of
/// overwriting it.
#[test]
fn bot_calls_refuse_a_foreign_entry_shape() {
    let mut cache = Cache::new(MemoryStorage::new());
    cache.set(USERS, "9".into(), "[1,2]".into()).unwrap();
    assert!(matches!(
        cache.set_user_state(9, "k", "1"),
        Err(CacheError::InvalidJson(_))
    ));
    assert_eq!(cache.get(USERS, "9"), Ok(Some("[1,2]".into())));
}
