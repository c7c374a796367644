//! The bot's entries are records (an empty one is no row), and a memory-only
//! namespace's mirrored field can be primed with a generic write, as the bot's
//! own class does with `chats.set(chatId, {"settings": ...})`.

use cache_core::{
    BotCache, Cache, CacheError, Call, FieldShape, MockStorage, NamespaceConfig, Persistence,
    CHATS, CHAT_PERSISTENT, CHAT_USERS, USERS,
};
use serde_json::{json, Value};

fn ns(name: &str, max_entries: u32, persistence: Persistence) -> NamespaceConfig {
    NamespaceConfig {
        name: name.into(),
        max_entries,
        persistence,
    }
}

/// The bot's table: `chats` and `chatUsers` memory-only, `users` and
/// `chatPersistent` on-shutdown.
fn bot_of_today() -> BotCache<MockStorage> {
    let mut bot = BotCache::new(MockStorage::new());
    bot.cache()
        .configure(vec![
            ns(CHATS, 10, Persistence::MemoryOnly),
            ns(CHAT_USERS, 10, Persistence::MemoryOnly),
            ns(USERS, 2, Persistence::OnShutdown),
            ns(CHAT_PERSISTENT, 10, Persistence::OnShutdown),
        ])
        .expect("configure");
    bot.cache().storage_mut().calls.clear();
    bot
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).expect("JSON")
}

fn invalid(result: Result<(), CacheError>) -> String {
    match result {
        Err(CacheError::InvalidJson(why)) => why,
        other => panic!("expected InvalidJson, got {other:?}"),
    }
}

#[test]
fn a_primed_settings_copy_is_served_without_storage_in_a_memory_only_namespace() {
    let mut bot = bot_of_today();
    let primed = r#"{"settings":{"bayes":"true"},"info":{"type":"group"}}"#;
    bot.cache()
        .set(CHATS, "5".into(), primed.into())
        .expect("a memory-only namespace takes the mirrored field");
    assert_eq!(
        parse(&bot.get_chat_settings(5).unwrap()),
        json!({"bayes": "true"})
    );
    bot.cache()
        .set(CHAT_USERS, "5:7".into(), r#"{"data":{"k":[1,2]}}"#.into())
        .unwrap();
    assert_eq!(
        parse(&bot.get_user_data(5, 7).unwrap()),
        json!({"k": [1, 2]})
    );
    assert_eq!(bot.cache_ref().storage().calls, vec![], "no storage call");
}

#[test]
fn a_primed_mirror_must_have_its_owners_shape() {
    let mut bot = bot_of_today();
    for bad in [
        r#"{"settings":{"bayes":true}}"#,
        r#"{"settings":["a"]}"#,
        r#"{"settings":"x"}"#,
    ] {
        let why = invalid(bot.cache().set(CHATS, "5".into(), bad.into()));
        assert!(why.contains("\"settings\""), "{why}");
    }
    let why = invalid(bot.cache().set_many(
        CHAT_USERS,
        vec![
            ("1:1".into(), r#"{"data":{}}"#.into()),
            ("1:2".into(), r#"{"data":3}"#.into()),
        ],
    ));
    assert!(
        why.contains("1:2") && why.contains("not a JSON object"),
        "{why}"
    );
    assert_eq!(
        bot.cache_ref().stats()[1].size,
        0,
        "set-many is all or nothing"
    );
}

#[test]
fn a_persisted_namespace_still_refuses_the_mirrored_field() {
    // The seed's table: `chats` on-shutdown, `chatUsers` on-change.
    let mut bot = BotCache::new(MockStorage::new());
    let why = invalid(
        bot.cache()
            .set(CHATS, "5".into(), r#"{"settings":{"a":"b"}}"#.into()),
    );
    assert!(why.contains("kept in the bot's own table"), "{why}");
    invalid(
        bot.cache()
            .set(CHAT_USERS, "5:7".into(), r#"{"data":{}}"#.into()),
    );
}

#[test]
fn an_empty_record_is_persisted_as_a_delete() {
    let mut bot = bot_of_today();
    bot.cache()
        .storage_mut()
        .put_row(USERS, "1", r#"{"old":1}"#);
    bot.cache().set(USERS, "1".into(), " { } ".into()).unwrap();
    bot.cache()
        .set(USERS, "2".into(), r#"{"a":1}"#.into())
        .unwrap();
    assert_eq!(bot.cache_ref().stats()[2].size, 2, "held in memory as set");
    let report = bot.cache().persist_all().unwrap();
    assert_eq!((report.written, report.deleted), (1, 1));
    let storage = bot.cache_ref().storage();
    assert_eq!(storage.row(USERS, "1"), None);
    assert_eq!(storage.row(USERS, "2"), Some(r#"{"a":1}"#));
    assert_eq!(
        storage.calls.last(),
        Some(&Call::Write {
            clear: vec![],
            delete: vec![(USERS.into(), "1".into())],
            upsert: vec![(USERS.into(), "2".into(), r#"{"a":1}"#.into())],
        })
    );
}

#[test]
fn an_evicted_empty_record_is_written_as_a_delete() {
    let mut bot = bot_of_today();
    bot.cache()
        .storage_mut()
        .put_row(USERS, "1", r#"{"old":1}"#);
    bot.cache().set(USERS, "1".into(), "{}".into()).unwrap();
    bot.cache().set(USERS, "2".into(), "{}".into()).unwrap();
    // Capacity 2: the third evicts "1", which is written first.
    bot.cache()
        .set(USERS, "3".into(), r#"{"a":1}"#.into())
        .unwrap();
    assert_eq!(bot.cache_ref().storage().row(USERS, "1"), None);
    assert_eq!(
        bot.cache_ref().storage().calls.last(),
        Some(&Call::Write {
            clear: vec![],
            delete: vec![(USERS.into(), "1".into())],
            upsert: vec![],
        })
    );
}

#[test]
fn a_stored_empty_record_is_neither_loaded_nor_read_through() {
    let mut bot = bot_of_today();
    let storage = bot.cache().storage_mut();
    storage.put_row(USERS, "1", "{}");
    storage.put_row(USERS, "2", r#"{"a":1}"#);
    storage.put_row(CHAT_PERSISTENT, "3", r#"{"x":[]}"#);
    let report = bot.cache().load_from_storage().unwrap();
    assert_eq!(report.loaded, 2);
    assert!(report.skipped.is_empty(), "an empty record is not a fault");
    assert_eq!(bot.cache().get(USERS, "1").unwrap(), None);

    // On-change read-through: a stored `{}` is no entry and is not cached.
    let mut cache = Cache::new(MockStorage::new());
    cache.record("r");
    cache
        .configure(vec![ns("r", 5, Persistence::OnChange)])
        .unwrap();
    cache.storage_mut().put_row("r", "k", "{}");
    assert_eq!(cache.get("r", "k").unwrap(), None);
    assert_eq!(cache.stats()[0].size, 0);
}

#[test]
fn only_a_record_namespace_drops_empty_objects() {
    let mut cache = Cache::new(MockStorage::new());
    cache.record("r");
    cache
        .configure(vec![
            ns("r", 5, Persistence::OnChange),
            ns("plain", 5, Persistence::OnChange),
        ])
        .unwrap();
    cache.storage_mut().put_row("r", "k", r#"{"a":1}"#);
    cache.set("r", "k".into(), "{}".into()).unwrap();
    cache.set("plain", "k".into(), "{}".into()).unwrap();
    cache.set("r", "full".into(), r#"{"b":2}"#.into()).unwrap();
    let storage = cache.storage();
    assert_eq!(storage.row("r", "k"), None, "written as a delete");
    assert_eq!(storage.row("plain", "k"), Some("{}"));
    assert_eq!(storage.row("r", "full"), Some(r#"{"b":2}"#));
}

#[test]
fn a_mirror_only_entry_leaves_no_row() {
    // The seed's `chats` is on-shutdown: an entry holding only the settings copy
    // is, without it, an empty record.
    let mut bot = BotCache::new(MockStorage::new());
    bot.cache()
        .storage_mut()
        .put_row(CHATS, "5", r#"{"info":{}}"#);
    bot.cache()
        .set_json(CHATS, "5".into(), json!({"settings": {"a": "b"}}))
        .unwrap();
    bot.cache().persist_all().unwrap();
    assert_eq!(bot.cache_ref().storage().row(CHATS, "5"), None);
    assert_eq!(
        parse(&bot.get_chat_settings(5).unwrap()),
        json!({"a": "b"}),
        "the copy stays in memory"
    );
}

#[test]
fn field_shapes_say_what_is_wrong() {
    let mut cache = Cache::new(MockStorage::new());
    cache.mirror("m", "f", FieldShape::Object);
    cache
        .configure(vec![ns("m", 5, Persistence::MemoryOnly)])
        .unwrap();
    cache
        .set("m", "ok".into(), r#"{"f":{"x":1}}"#.into())
        .expect("any object");
    let why = invalid(cache.set("m", "no".into(), r#"{"f":null}"#.into()));
    assert!(why.contains("m/no") && why.contains("null"), "{why}");
}

#[test]
fn a_value_that_only_names_the_mirrored_field_is_stored_as_written() {
    let mut bot = BotCache::new(MockStorage::new());
    let text = r#"{ "note" : "settings" }"#;
    bot.cache().set(CHATS, "5".into(), text.into()).unwrap();
    bot.cache().persist_all().unwrap();
    assert_eq!(bot.cache_ref().storage().row(CHATS, "5"), Some(text));
}
