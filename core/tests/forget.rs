//! `forget*`: dropping cached data another process changed, without writing.

use cache_core::{BotCache, MockStorage, NamespaceConfig, Persistence, SettingsMode, CHATS};
use serde_json::{json, Value};

fn bot() -> BotCache<MockStorage> {
    BotCache::new(MockStorage::new())
}

fn stat(bot: &BotCache<MockStorage>, ns: &str) -> (u32, u32, u64, u64) {
    let s = bot
        .cache_ref()
        .stats()
        .into_iter()
        .find(|s| s.name == ns)
        .expect("namespace");
    (s.size, s.dirty, s.hits, s.misses)
}

#[test]
fn forget_drops_a_dirty_entry_and_a_pending_delete_without_writing() {
    let mut bot = bot();
    bot.cache()
        .set(CHATS, "1".into(), r#"{"info":{"a":1}}"#.into())
        .unwrap();
    bot.cache().storage_mut().put_row(CHATS, "2", "{}");
    bot.cache().delete(CHATS, "2").unwrap();
    assert_eq!(stat(&bot, CHATS).1, 2, "a dirty entry and a pending delete");
    let counters = stat(&bot, CHATS);
    assert!(bot.cache().forget(CHATS, "1"));
    assert!(bot.cache().forget(CHATS, "2"));
    assert!(!bot.cache().forget(CHATS, "3"));
    assert!(
        !bot.cache().forget("nope", "1"),
        "an unknown namespace is not an error"
    );
    assert_eq!(
        stat(&bot, CHATS),
        (0, 0, counters.2, counters.3),
        "no counter moved"
    );
    assert!(bot.cache_ref().storage().calls.is_empty());
    assert_eq!(bot.cache().persist_all().unwrap().written, 0);
    assert_eq!(
        bot.cache_ref().storage().row(CHATS, "2"),
        Some("{}"),
        "the delete was dropped"
    );
    // The next read goes to storage.
    bot.cache()
        .storage_mut()
        .put_row(CHATS, "1", r#"{"info":{"a":2}}"#);
    assert_eq!(
        bot.cache().get(CHATS, "1").unwrap().as_deref(),
        Some(r#"{"info":{"a":2}}"#)
    );
}

#[test]
fn forget_namespace_drops_entries_and_a_pending_clear() {
    let mut bot = bot();
    bot.cache().storage_mut().put_row(CHATS, "9", "{}");
    bot.cache().set(CHATS, "1".into(), "{}".into()).unwrap();
    bot.cache().clear_namespace(CHATS).unwrap();
    bot.cache().set(CHATS, "2".into(), "{}".into()).unwrap();
    assert_eq!(bot.cache().forget_namespace(CHATS), 1);
    assert_eq!(stat(&bot, CHATS).0, 0);
    assert_eq!(
        bot.cache().persist_all().unwrap(),
        Default::default(),
        "nothing pending"
    );
    assert_eq!(bot.cache_ref().storage().row(CHATS, "9"), Some("{}"));
    assert_eq!(bot.cache().forget_namespace("nope"), 0);
}

#[test]
fn forget_all_keeps_dirty_entries_without_their_mirror_and_memory_only_data() {
    let mut bot = bot();
    bot.cache()
        .configure(vec![
            NamespaceConfig {
                name: CHATS.into(),
                max_entries: 10,
                persistence: Persistence::OnShutdown,
            },
            NamespaceConfig {
                name: "chatUsers".into(),
                max_entries: 10,
                persistence: Persistence::OnChange,
            },
            NamespaceConfig {
                name: "users".into(),
                max_entries: 10,
                persistence: Persistence::MemoryOnly,
            },
        ])
        .unwrap();
    bot.set_chat_settings(1, r#"{"a":"1"}"#, SettingsMode::Rewrite)
        .unwrap();
    bot.set_chat_info(1, r#"{"t":1}"#).unwrap();
    bot.set_chat_settings(2, r#"{"b":"2"}"#, SettingsMode::Rewrite)
        .unwrap();
    bot.cache()
        .set("chatUsers", "k".into(), "1".into())
        .unwrap();
    bot.set_user_state(5, "s", "1").unwrap();
    assert_eq!(
        bot.cache().forget_all(),
        2,
        "chat 2 (clean) and the chatUsers entry"
    );
    let entry: Value =
        serde_json::from_str(&bot.cache().get(CHATS, "1").unwrap().unwrap()).unwrap();
    assert_eq!(
        entry,
        json!({"info": {"t": 1}}),
        "dirty kept, its mirrored settings dropped"
    );
    assert_eq!(stat(&bot, CHATS).1, 1);
    assert_eq!(bot.get_user_state(5, "s").unwrap().as_deref(), Some("1"));
    bot.cache().storage_mut().calls.clear();
    bot.get_chat_settings(1).unwrap();
    assert!(bot
        .cache_ref()
        .storage()
        .call_names()
        .contains(&"get-chat-settings"));
}

#[test]
fn forgetting_bot_copies_keeps_the_rest_of_the_entry() {
    let mut bot = bot();
    bot.set_chat_settings(1, r#"{"a":"1"}"#, SettingsMode::Rewrite)
        .unwrap();
    bot.set_chat_info(1, r#"{"t":1}"#).unwrap();
    assert!(bot.forget_chat_settings(1));
    assert!(!bot.forget_chat_settings(1));
    assert_eq!(stat(&bot, CHATS).1, 1, "still dirty");
    bot.cache()
        .storage_mut()
        .chat_settings
        .insert((1, "a".into()), "changed".into());
    assert_eq!(bot.get_chat_settings(1).unwrap(), r#"{"a":"changed"}"#);
    assert_eq!(bot.get_chat_info(1).unwrap().as_deref(), Some(r#"{"t":1}"#));
    bot.set_user_data(1, 2, "k", "1").unwrap();
    bot.get_user_data(1, 2).unwrap();
    assert!(bot.forget_user_data(1, 2));
    assert!(!bot.forget_user_data(1, 3));
    bot.cache()
        .storage_mut()
        .user_data
        .insert((1, 2, "k".into()), "7".into());
    assert_eq!(bot.get_user_data(1, 2).unwrap(), r#"{"k":7}"#);
}
