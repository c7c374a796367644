//! No key holds NUL, on every way in (generic keys, the bot's settings, data and
//! state keys, stored rows): PostgreSQL's text cannot hold one, and a key one
//! backend accepts must move to every other.

use cache_core::{
    BotCache, Cache, CacheError, MemoryStorage, MockStorage, NamespaceConfig, Persistence,
    SettingsMode, USERS,
};

fn invalid_key<T: std::fmt::Debug>(result: Result<T, CacheError>) -> bool {
    matches!(&result, Err(CacheError::InvalidKey(why)) if why.contains("contains a NUL character"))
}

fn cache() -> Cache<MemoryStorage> {
    let mut cache = Cache::new(MemoryStorage::new());
    cache
        .configure(vec![NamespaceConfig {
            name: "n".into(),
            max_entries: 10,
            persistence: Persistence::OnChange,
        }])
        .unwrap();
    cache
}

#[test]
fn a_key_holding_nul_is_invalid_key_and_changes_nothing() {
    let mut cache = cache();
    for key in ["\0", "a\0", "\0b", "a\0b"] {
        assert!(
            invalid_key(cache.set("n", key.into(), "1".into())),
            "{key:?}"
        );
        assert!(invalid_key(cache.get("n", key)), "{key:?}");
        assert!(invalid_key(cache.delete("n", key)), "{key:?}");
    }
    let batch = vec![
        ("ok".to_owned(), "1".to_owned()),
        ("x\0".to_owned(), "1".to_owned()),
    ];
    assert!(invalid_key(cache.set_many("n", batch)));
    assert_eq!(
        cache.get("n", "ok").unwrap(),
        None,
        "the batch changed nothing"
    );
    assert_eq!(cache.storage().rows().count(), 0, "nothing reached storage");
    // Other control characters are ordinary.
    cache.set("n", "a\u{1}b".into(), "1".into()).unwrap();
    assert_eq!(cache.get("n", "a\u{1}b").unwrap().as_deref(), Some("1"));
}

#[test]
fn the_bots_keys_holding_nul_are_invalid_key() {
    let mut bot = BotCache::new(MemoryStorage::new());
    assert!(invalid_key(bot.set_user_state(5, "st\0ate", "1")));
    assert!(invalid_key(bot.set_user_data(-1, 5, "k\0", "1")));
    assert!(invalid_key(bot.set_chat_settings(
        -1,
        r#"{"a\u0000b":"x"}"#,
        SettingsMode::Merge
    )));
    assert_eq!(bot.get_user_state(5, "state").unwrap(), None);
}

#[test]
fn a_stored_row_whose_key_holds_nul_is_skipped_and_named() {
    let mut storage = MockStorage::new();
    storage.put_row(USERS, "a\0b", "1");
    storage.put_row(USERS, "ok", "2");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![NamespaceConfig {
            name: USERS.into(),
            max_entries: 10,
            persistence: Persistence::OnChange,
        }])
        .unwrap();
    let report = cache.load_from_storage().unwrap();
    assert_eq!(report.loaded, 1);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].key, "a\0b");
    assert!(
        report.skipped[0].reason.contains("NUL character at byte 1"),
        "{:?}",
        report.skipped
    );
}
