//! Regressions found by fuzzing (`fuzz/`, target `core_ops`): a bot write that
//! storage acknowledged must not fail because the cached copy cannot be updated,
//! a bot write must not fail after it wrote, and a cached copy of data whose
//! home is the bot's storage must not count against the size of a row.

use cache_core::{
    BotCache, FailRule, MockStorage, SettingsMode, StorageError, StorageErrorKind, MAX_KEY_BYTES,
    MAX_VALUE_BYTES,
};
use serde_json::Value;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("the cache returns JSON")
}

/// A JSON string of exactly `len` bytes.
fn json_string(len: usize) -> String {
    format!("\"{}\"", "x".repeat(len - 2))
}

/// `set_user_data` wrote the item, then refreshing the cached `{"data": ...}`
/// entry went over the size limit and the call returned `TooLarge`: a failed
/// call that had changed storage.
#[test]
fn set_user_data_succeeds_when_the_cached_copy_cannot_grow() {
    let mut bot = BotCache::new(MockStorage::new());
    assert_eq!(bot.get_user_data(1, 2).as_deref(), Ok("{}")); // cached: {"data":{}}
    let key = "k".repeat(MAX_KEY_BYTES);
    let value = json_string(MAX_VALUE_BYTES - 4);
    assert_eq!(bot.set_user_data(1, 2, &key, &value), Ok(()));
    let stored = bot
        .cache_ref()
        .storage()
        .user_data
        .get(&(1, 2, key.clone()));
    assert_eq!(stored, Some(&value));
    let data = parse(&bot.get_user_data(1, 2).expect("readable"));
    assert_eq!(data[&key], parse(&value));
}

/// `set_chat_settings` wrote the settings, then read the chat's entry through
/// storage to update the cached copy; a failing read made the call fail after
/// its write.
#[test]
fn a_failing_read_fails_set_chat_settings_before_it_writes() {
    let mut bot = BotCache::new(MockStorage::new());
    bot.cache().storage_mut().fail_reads = Some(FailRule {
        error: StorageError::new(StorageErrorKind::Busy, "locked"),
        times: None,
        functions: Some(vec!["get".to_owned()]),
    });
    let r = bot.set_chat_settings(5, r#"{"a":"b"}"#, SettingsMode::Merge);
    assert!(r.is_err(), "the chat's entry could not be read: {r:?}");
    assert!(
        bot.cache_ref().storage().chat_settings.is_empty(),
        "a failed call wrote"
    );
    let r = bot.unset_chat_setting(5, "a");
    assert!(r.is_err(), "{r:?}");
    bot.cache().storage_mut().fail_reads = None;
    assert_eq!(
        bot.set_chat_settings(5, r#"{"a":"b"}"#, SettingsMode::Merge),
        Ok(())
    );
    assert_eq!(bot.get_chat_settings(5).as_deref(), Ok(r#"{"a":"b"}"#));
}

/// Stored settings of more than 1 MiB in all (each write under the limit) made
/// `get_chat_settings` fail with `TooLarge` on every call: caching the copy
/// failed, and the read failed with it.
#[test]
fn large_stored_settings_stay_readable() {
    let mut storage = MockStorage::new();
    let half = "s".repeat(MAX_VALUE_BYTES / 2);
    for key in ["a", "b", "c"] {
        storage
            .chat_settings
            .insert((7, key.to_owned()), half.clone());
    }
    let mut bot = BotCache::new(storage);
    let settings = parse(&bot.get_chat_settings(7).expect("readable"));
    assert_eq!(settings.as_object().map(|o| o.len()), Some(3));
    // Twice: from storage, then from the cache or storage again.
    assert!(bot.get_chat_settings(7).is_ok());
}

/// A chat's cached settings copy counted against the size of its `chats`
/// entry, so `set_chat_info` with a small info failed with `TooLarge` although
/// the row it stores (`{"info": ...}`) is small.
#[test]
fn cached_settings_do_not_count_against_chat_info() {
    let mut bot = BotCache::new(MockStorage::new());
    let big = "s".repeat(MAX_VALUE_BYTES - 30);
    let settings = serde_json::json!({ "a": big }).to_string();
    assert_eq!(
        bot.set_chat_settings(3, &settings, SettingsMode::Rewrite),
        Ok(())
    );
    assert!(bot.get_chat_settings(3).is_ok()); // cached with the chat's entry
    assert_eq!(
        bot.set_chat_info(3, r#"{"title":"a chat of some length"}"#),
        Ok(())
    );
    assert_eq!(
        bot.get_chat_info(3),
        Ok(Some(r#"{"title":"a chat of some length"}"#.to_owned()))
    );
    // The info itself over the limit is still refused.
    let info = serde_json::json!({ "t": "i".repeat(MAX_VALUE_BYTES) }).to_string();
    assert!(bot.set_chat_info(3, &info).is_err());
}

/// `set_chat_info` read the chat's row before it checked the info's size, so
/// info that could never fit failed with the read's storage error instead of
/// `TooLarge`, and only while storage was failing.
#[test]
fn info_that_can_never_fit_is_too_large_without_reading_storage() {
    let mut bot = BotCache::new(MockStorage::new());
    bot.cache().storage_mut().fail_reads = Some(FailRule::always(StorageError::new(
        StorageErrorKind::Corrupt,
        "injected failure",
    )));
    // `{"i":"…"}` fits the input limit; `{"info":{"i":"…"}}` does not.
    let info = format!(r#"{{"i":{}}}"#, json_string(MAX_VALUE_BYTES - 6));
    assert!(info.len() <= MAX_VALUE_BYTES);
    let r = bot.set_chat_info(7, &info);
    assert!(
        matches!(r, Err(cache_core::CacheError::TooLarge(_))),
        "expected TooLarge, got {r:?}"
    );
    assert_eq!(bot.cache_ref().storage().calls, [], "storage was called");
    // Info that fits still needs the row, so the failing read is reported.
    let r = bot.set_chat_info(7, r#"{"i":1}"#);
    assert!(
        matches!(r, Err(cache_core::CacheError::Storage(_))),
        "{r:?}"
    );
}
