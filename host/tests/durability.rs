//! Restart durability over a real SQLite file: on-change writes, on-shutdown writes
//! after a graceful close (evicted ones included), memory-only data gone, corrupt rows
//! skipped and reported.

use crate::common;

use cache_host::SettingsMode;
use cache_host::SqliteStorage;
use cache_host::{BotStorage, Storage};
use cache_host::{CacheService, NamespaceConfig, Persistence, Policy, WriteBack};
use common::{builder, temp_db};

fn small_policy() -> Policy {
    let ns = |name: &str, max_entries, persistence| NamespaceConfig {
        name: name.into(),
        max_entries,
        persistence,
    };
    Policy::new(vec![
        ns("chats", 3, Persistence::OnShutdown),
        ns("chatUsers", 3, Persistence::OnChange),
        ns("users", 10, Persistence::MemoryOnly),
    ])
    .unwrap()
}

fn stored_keys(db: &std::path::Path, ns: &str) -> Vec<String> {
    let mut s = SqliteStorage::open(db).unwrap();
    let mut keys: Vec<String> = s
        .load(ns, 1000)
        .unwrap()
        .into_iter()
        .map(|r| r.key)
        .collect();
    keys.sort();
    keys
}

#[test]
fn restart_keeps_on_change_and_closed_on_shutdown_writes_including_evicted() {
    let (_dir, db) = temp_db();
    let cache = builder().policy(small_policy()).open_sqlite(&db).unwrap();
    for i in 0..10 {
        cache
            .set("chatUsers", &format!("u{i}"), &format!(r#"{{"n":{i}}}"#))
            .unwrap();
        cache
            .set("chats", &format!("c{i}"), &format!(r#"{{"n":{i}}}"#))
            .unwrap();
    }
    cache.set("users", "1", r#"{"step":"menu"}"#).unwrap();
    // c1 was evicted (and written at eviction); deleting it must delete the row at close.
    assert!(!cache.delete("chats", "c1").unwrap());

    // On-change rows are in SQLite before close; on-shutdown rows only as evicted.
    assert_eq!(stored_keys(&db, "chatUsers").len(), 10);
    let before_close = stored_keys(&db, "chats");
    assert!(
        !before_close.contains(&"c9".to_string()),
        "{before_close:?}"
    );

    let report = cache.close().unwrap();
    assert!(report.written >= 3, "{report:?}");
    assert!(
        cache.get("chats", "c0").is_err(),
        "calls after close must fail"
    );
    drop(cache);

    let mut want: Vec<String> = (0..10)
        .filter(|i| *i != 1)
        .map(|i| format!("c{i}"))
        .collect();
    want.sort();
    assert_eq!(stored_keys(&db, "chats"), want);

    let cache = builder().policy(small_policy()).open_sqlite(&db).unwrap();
    for i in 0..10 {
        let chat = cache.get_json("chats", &format!("c{i}")).unwrap();
        if i == 1 {
            assert_eq!(chat, None);
        } else {
            assert_eq!(chat, Some(serde_json::json!({ "n": i })), "c{i}");
        }
        let user = cache.get_json("chatUsers", &format!("u{i}")).unwrap();
        assert_eq!(user, Some(serde_json::json!({ "n": i })), "u{i}");
    }
    assert_eq!(
        cache.get("users", "1").unwrap(),
        None,
        "memory-only survived"
    );
    cache.close().unwrap();
}

#[test]
fn dropping_the_last_clone_persists_on_shutdown_changes() {
    let (_dir, db) = temp_db();
    let cache = builder().open_sqlite(&db).unwrap();
    let clone = cache.clone();
    cache
        .set("chats", "7", r#"{"info":{"title":"x"}}"#)
        .unwrap();
    drop(cache);
    // The clone still works: nothing was closed yet.
    assert!(clone.get("chats", "7").unwrap().is_some());
    drop(clone);
    let cache = builder().open_sqlite(&db).unwrap();
    assert_eq!(
        cache.get_json("chats", "7").unwrap(),
        Some(serde_json::json!({"info": {"title": "x"}}))
    );
}

#[test]
fn bot_data_survives_restart() {
    let (_dir, db) = temp_db();
    let cache = builder().open_sqlite(&db).unwrap();
    cache
        .set_chat_settings(-100, r#"{"lang":"en","model":"m1"}"#, SettingsMode::Merge)
        .unwrap();
    cache.set_chat_info(-100, r#"{"title":"Chat"}"#).unwrap();
    cache.set_user_data(-100, 5, "karma", "42").unwrap();
    cache.set_user_state(5, "step", r#""menu""#).unwrap();
    cache.close().unwrap();

    let cache = builder().open_sqlite(&db).unwrap();
    let settings: serde_json::Value =
        serde_json::from_str(&cache.get_chat_settings(-100).unwrap()).unwrap();
    assert_eq!(settings["lang"], "en");
    assert_eq!(settings["model"], "m1");
    let info: serde_json::Value =
        serde_json::from_str(&cache.get_chat_info(-100).unwrap().unwrap()).unwrap();
    assert_eq!(info["title"], "Chat");
    let data: serde_json::Value =
        serde_json::from_str(&cache.get_user_data(-100, 5).unwrap()).unwrap();
    assert_eq!(data["karma"], 42);
    assert_eq!(cache.get_user_state(5, "step").unwrap(), None);
    // The bot tables are written directly (shared with the Python host).
    cache
        .with_storage(|s| {
            assert_eq!(
                s.get_user_data(-100, 5).unwrap(),
                [("karma".to_string(), "42".to_string())]
            );
            let settings = s.get_chat_settings(-100).unwrap();
            assert!(
                settings.contains(&("lang".to_string(), "en".to_string())),
                "{settings:?}"
            );
        })
        .unwrap();
}

#[test]
fn corrupt_rows_are_skipped_and_reported_and_the_rest_loads() {
    let (_dir, db) = temp_db();
    {
        let s = SqliteStorage::open(&db).unwrap();
        s.connection()
            .execute_batch(
                "INSERT INTO cache_storage VALUES ('chats', 'good', '{\"a\":1}', 1);
                 INSERT INTO cache_storage VALUES ('chats', 'badjson', '{not json', 2);
                 INSERT INTO cache_storage VALUES ('chats', 'empty', '', 3);
                 INSERT INTO cache_storage VALUES ('chats', 'null', 'null', 4);
                 INSERT INTO cache_storage VALUES ('chatUsers', '1:2', '{\"data\":{},\"n\":1}', 5);
                 INSERT INTO cache_storage VALUES ('nosuchns', 'k', '{}', 6);",
            )
            .unwrap();
    }
    let cache = builder().open_sqlite(&db).unwrap();
    let report = cache.last_start_report().expect("loaded at start");
    assert_eq!(report.loaded, 2, "{report:?}");
    let mut skipped: Vec<(String, String)> = report
        .skipped
        .iter()
        .map(|r| (r.namespace.clone(), r.key.clone()))
        .collect();
    skipped.sort();
    assert_eq!(
        skipped,
        [
            ("chats".into(), "badjson".into()),
            ("chats".into(), "empty".into()),
            ("chats".into(), "null".into()),
            ("nosuchns".into(), String::new()),
        ]
    );
    assert!(report.skipped.iter().all(|r| !r.reason.is_empty()));
    assert_eq!(
        cache.get_json("chats", "good").unwrap(),
        Some(serde_json::json!({"a": 1}))
    );
    assert!(cache.get("chatUsers", "1:2").unwrap().is_some());
    // Reported again by an explicit load; nothing else changes.
    let again = cache.load_from_storage().unwrap();
    assert_eq!(again.skipped.len(), 4, "{again:?}");
    // The corrupt rows are left in storage, untouched.
    cache.close().unwrap();
    assert_eq!(stored_keys(&db, "chats").len(), 4);
    assert_eq!(stored_keys(&db, "nosuchns"), ["k"]);
}

#[test]
fn policy_file_configures_namespaces_and_restarts_keep_it() {
    let (dir, db) = temp_db();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[[namespace]]\nname = \"sessions\"\nmax_entries = 2\npersistence = \"on-change\"\n",
    )
    .unwrap();
    let cache = builder()
        .policy_file(&policy)
        .unwrap()
        .open_sqlite(&db)
        .unwrap();
    assert!(matches!(
        cache.set("chats", "1", "{}"),
        Err(cache_host::Error::UnknownNamespace(_))
    ));
    cache.set("sessions", "a", "1").unwrap();
    let stats = cache.stats().unwrap();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].max_entries, 2);
    cache.close().unwrap();

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[[namespace]]\nname = \"x\"\n").unwrap();
    let err = builder().policy_file(&bad).unwrap_err();
    assert!(err.to_string().contains("bad.toml"), "{err}");
}

#[test]
fn service_is_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<CacheService>();
}

/// One persist-all batch bigger than wasmtime's default 128 MiB per host call
/// (70k dirty entries of 2 KiB: ~140 MiB) is written, not trapped on and lost.
#[test]
fn persist_all_writes_a_batch_larger_than_the_default_hostcall_limit() {
    let (_dir, db) = temp_db();
    let policy = Policy::new(vec![NamespaceConfig {
        name: "chats".into(),
        max_entries: 70_000,
        persistence: Persistence::OnShutdown,
    }])
    .unwrap();
    // No scheduled write-back: the whole table is pending until persist-all.
    let cache = builder()
        .policy(policy.clone())
        .write_back(WriteBack::NEVER)
        .open_sqlite(&db)
        .unwrap();
    let filler = "x".repeat(2040);
    let entries: Vec<(String, String)> = (0..70_000)
        .map(|i| (i.to_string(), format!("\"{filler}{i:06}\"")))
        .collect();
    for chunk in entries.chunks(1000) {
        cache.set_many("chats", chunk).unwrap();
    }
    let report = cache.persist_all().unwrap();
    assert_eq!(report.written, 70_000);
    assert_eq!(cache.restarts(), 0, "the guest did not trap");
    drop(cache);
    let mut storage = SqliteStorage::open(&db).unwrap();
    assert_eq!(
        storage.get("chats", "69999").unwrap(),
        Some(entries[69_999].1.clone())
    );
    assert_eq!(storage.load("chats", 100_000).unwrap().len(), 70_000);
}
