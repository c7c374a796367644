//! `configure` transitions, mirrored fields across reconfiguration, and the
//! hit/miss counters of every lookup path.

use cache_core::{
    BotCache, Cache, CacheError, FieldShape, MockStorage, NamespaceConfig, Persistence, CHATS,
    CHAT_USERS,
};

fn ns(name: &str, max_entries: u32, persistence: Persistence) -> NamespaceConfig {
    NamespaceConfig {
        name: name.into(),
        max_entries,
        persistence,
    }
}

fn stats(cache: &Cache<MockStorage>, name: &str) -> (u32, u32, u64, u64, u64) {
    let s = cache
        .stats()
        .into_iter()
        .find(|s| s.name == name)
        .expect("namespace");
    (s.size, s.dirty, s.hits, s.misses, s.evictions)
}

#[test]
fn every_lookup_counts_one_hit_or_one_miss() {
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![ns("c", 10, Persistence::OnChange)])
        .unwrap();
    cache.set("c", "a".into(), "1".into()).unwrap();
    cache.storage_mut().put_row("c", "s", "2");
    assert_eq!(cache.get("c", "a").unwrap().as_deref(), Some("1"));
    assert_eq!((stats(&cache, "c").2, stats(&cache, "c").3), (1, 0));
    assert_eq!(cache.get("c", "nope").unwrap(), None);
    assert_eq!((stats(&cache, "c").2, stats(&cache, "c").3), (1, 1));
    assert_eq!(
        cache.get("c", "s").unwrap().as_deref(),
        Some("2"),
        "read through"
    );
    assert_eq!((stats(&cache, "c").2, stats(&cache, "c").3), (1, 2));
    cache
        .get_json("c", "a", |v| assert_eq!(v, Some(&serde_json::json!(1))))
        .unwrap();
    cache.get_json("c", "a", |v| assert!(v.is_some())).unwrap();
    assert_eq!((stats(&cache, "c").2, stats(&cache, "c").3), (3, 2));
    cache
        .get_json("c", "gone", |v| assert!(v.is_none()))
        .unwrap();
    cache
        .get_json("c", "nope2", |v| assert!(v.is_none()))
        .unwrap();
    assert_eq!((stats(&cache, "c").2, stats(&cache, "c").3), (3, 4));
    cache.get_many("c", &["a", "s", "x"]).unwrap();
    assert_eq!((stats(&cache, "c").2, stats(&cache, "c").3), (5, 5));
}

#[test]
fn a_dropped_or_shrunk_namespace_writes_its_pending_changes_first() {
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![
            ns("s", 4, Persistence::OnShutdown),
            ns("t", 4, Persistence::OnShutdown),
        ])
        .unwrap();
    for k in ["a", "b", "c"] {
        cache.set("s", k.into(), "1".into()).unwrap();
    }
    cache.set("t", "x".into(), "1".into()).unwrap();
    // `s` shrinks to 1 (a and b evicted, written first); `t` is dropped (written).
    cache
        .configure(vec![ns("s", 1, Persistence::OnShutdown)])
        .unwrap();
    assert_eq!(
        cache.storage().rows_of("s").len(),
        2,
        "{:?}",
        cache.storage().rows_of("s")
    );
    assert_eq!(cache.storage().rows_of("t").len(), 1);
    assert_eq!(
        (stats(&cache, "s").0, stats(&cache, "s").1),
        (1, 1),
        "c stays, still dirty"
    );
    // Growing again keeps what is held.
    cache
        .configure(vec![ns("s", 5, Persistence::OnShutdown)])
        .unwrap();
    assert_eq!(stats(&cache, "s").0, 1);
}

#[test]
fn memory_only_turned_on_shutdown_makes_its_entries_pending() {
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![ns("m", 5, Persistence::MemoryOnly)])
        .unwrap();
    cache.set("m", "a".into(), "1".into()).unwrap();
    cache.set("m", "b".into(), "2".into()).unwrap();
    assert!(cache.storage().calls.is_empty());
    cache
        .configure(vec![ns("m", 5, Persistence::OnShutdown)])
        .unwrap();
    assert_eq!(stats(&cache, "m").1, 2);
    assert_eq!(cache.persist_all().unwrap().written, 2);
    assert_eq!(cache.storage().rows_of("m").len(), 2);
    // Memory-only turned on-change writes every entry at once.
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![ns("m", 5, Persistence::MemoryOnly)])
        .unwrap();
    cache.set("m", "a".into(), "1".into()).unwrap();
    cache
        .configure(vec![ns("m", 5, Persistence::OnChange)])
        .unwrap();
    assert_eq!(cache.storage().rows_of("m").len(), 1);
    // On-change turned memory-only keeps entries and writes nothing more.
    cache
        .configure(vec![ns("m", 5, Persistence::MemoryOnly)])
        .unwrap();
    cache.set("m", "z".into(), "1".into()).unwrap();
    assert_eq!(cache.storage().rows_of("m").len(), 1);
    assert_eq!(stats(&cache, "m").1, 0);
}

#[test]
fn mirrors_follow_the_namespace_through_configure_and_the_last_declaration_wins() {
    let mut cache = Cache::new(MockStorage::new());
    cache.mirror(CHATS, "first", FieldShape::Object);
    cache.mirror(CHATS, "settings", FieldShape::Object);
    let refused = |c: &mut Cache<MockStorage>, value: &str| {
        matches!(
            c.set(CHATS, "1".into(), value.into()),
            Err(CacheError::InvalidJson(_))
        )
    };
    assert!(refused(&mut cache, r#"{"settings":{}}"#));
    assert!(
        !refused(&mut cache, r#"{"first":{}}"#),
        "replaced by the later declaration"
    );
    // Dropped and re-created by configure: still mirrored.
    cache
        .configure(vec![ns("other", 1, Persistence::MemoryOnly)])
        .unwrap();
    cache
        .configure(vec![
            ns(CHATS, 5, Persistence::OnChange),
            ns("x", 1, Persistence::OnChange),
        ])
        .unwrap();
    assert!(refused(&mut cache, r#"{"settings":{}}"#));
    assert!(
        cache
            .set("x", "1".into(), r#"{"settings":{}}"#.into())
            .is_ok(),
        "only the declared namespace is mirrored"
    );
    cache
        .set_json(
            CHATS,
            "2".into(),
            serde_json::json!({"settings": {"a": "1"}, "k": 1}),
        )
        .unwrap();
    assert_eq!(
        cache.storage().row(CHATS, "2"),
        Some(r#"{"k":1}"#),
        "written without it"
    );
}

#[test]
fn user_entries_are_keyed_chat_colon_user() {
    let mut bot = BotCache::new(MockStorage::new());
    bot.set_user_data(-5, 7, "k", "1").unwrap();
    bot.get_user_data(-5, 7).unwrap();
    let entry = bot.cache().get(CHAT_USERS, "-5:7").unwrap();
    assert_eq!(entry.as_deref(), Some(r#"{"data":{"k":1}}"#));
}

#[test]
fn every_entry_dropped_for_capacity_counts_one_eviction() {
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![ns("c", 3, Persistence::OnShutdown)])
        .unwrap();
    for i in 0..7 {
        cache.set("c", format!("k{i}"), "1".into()).unwrap();
    }
    assert_eq!(stats(&cache, "c"), (3, 3, 0, 0, 4));
    cache
        .set_many(
            "c",
            (7..10).map(|i| (format!("k{i}"), "1".into())).collect(),
        )
        .unwrap();
    assert_eq!(stats(&cache, "c").4, 7);
    cache
        .configure(vec![ns("c", 1, Persistence::OnShutdown)])
        .unwrap();
    assert_eq!(stats(&cache, "c"), (1, 1, 0, 0, 9), "shrinking evicts too");
}

#[test]
fn an_on_shutdown_namespace_turned_memory_only_or_on_change_writes_its_pending_changes_first() {
    for next in [Persistence::MemoryOnly, Persistence::OnChange] {
        let mut cache = Cache::new(MockStorage::new());
        cache
            .configure(vec![ns("c", 10, Persistence::OnShutdown)])
            .expect("configure");
        cache.set("c", "k".into(), "1".into()).expect("set");
        assert_eq!(cache.storage().row("c", "k"), None, "pending, not written");
        cache
            .configure(vec![ns("c", 10, next)])
            .expect("reconfigure");
        assert_eq!(
            cache.storage().row("c", "k"),
            Some("1"),
            "{next:?}: the pending change was dropped"
        );
        assert_eq!(stats(&cache, "c").1, 0, "{next:?}: still counted dirty");
    }
}

/// The JSON form of a namespace table every host parses the same way: a
/// `max-entries` as a number or a decimal string; anything missing, out of
/// range or not a case name is no table at all.
#[test]
fn a_namespace_table_reads_from_its_json_encoding() {
    use serde_json::json;
    let table = NamespaceConfig::table_from_json(&json!([
        {"name": "a", "max-entries": 3, "persistence": "on-change"},
        {"name": "b", "max-entries": "4294967295", "persistence": "memory-only"},
    ]));
    assert_eq!(
        table,
        Some(vec![
            NamespaceConfig {
                name: "a".into(),
                max_entries: 3,
                persistence: Persistence::OnChange
            },
            NamespaceConfig {
                name: "b".into(),
                max_entries: u32::MAX,
                persistence: Persistence::MemoryOnly
            },
        ])
    );
    assert_eq!(NamespaceConfig::table_from_json(&json!([])), Some(vec![]));
    for bad in [
        json!({"name": "a"}),
        json!([{"max-entries": 1, "persistence": "on-change"}]),
        json!([{"name": "a", "persistence": "on-change"}]),
        json!([{"name": "a", "max-entries": 4294967296u64, "persistence": "on-change"}]),
        json!([{"name": "a", "max-entries": -1, "persistence": "on-change"}]),
        json!([{"name": "a", "max-entries": 1, "persistence": "sometimes"}]),
        json!([{"name": "a", "max-entries": 1}]),
    ] {
        assert_eq!(NamespaceConfig::table_from_json(&bad), None, "{bad}");
    }
}
