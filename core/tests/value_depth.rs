//! Values nest at most `MAX_DEPTH` levels of arrays and objects, on every way in
//! (generic writes, the bot's writes, stored rows), so that every host can read
//! every value the cache holds.

use cache_core::{
    BotCache, Cache, CacheError, MemoryStorage, MockStorage, NamespaceConfig, Persistence,
    MAX_DEPTH, USERS,
};

/// `levels` arrays, one inside the other, around `1`.
fn nested(levels: usize) -> String {
    format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
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

fn too_deep(result: Result<(), CacheError>) -> bool {
    matches!(result, Err(CacheError::InvalidJson(why)) if why.contains("nested deeper than 100"))
}

#[test]
fn a_value_may_nest_exactly_max_depth_levels() {
    assert_eq!(MAX_DEPTH, 100);
    let mut cache = cache();
    cache.set("n", "ok".into(), nested(MAX_DEPTH)).unwrap();
    assert_eq!(cache.get("n", "ok").unwrap(), Some(nested(MAX_DEPTH)));
    assert!(too_deep(cache.set(
        "n",
        "deep".into(),
        nested(MAX_DEPTH + 1)
    )));
    let object = format!(
        "{}1{}",
        r#"{"a":"#.repeat(MAX_DEPTH + 1),
        "}".repeat(MAX_DEPTH + 1)
    );
    assert!(too_deep(cache.set("n", "deep".into(), object)));
    assert!(too_deep(cache.set_many(
        "n",
        vec![("a".into(), "1".into()), ("b".into(), nested(100_000))],
    )));
    assert_eq!(
        cache.get("n", "a").unwrap(),
        None,
        "set-many is all or nothing"
    );
}

#[test]
fn brackets_inside_strings_do_not_count() {
    let mut cache = cache();
    let brackets = "[{".repeat(200);
    for text in [
        format!(r#"{{"a":"{brackets}"}}"#),
        format!(r#"["\"{brackets}", "\\", {}]"#, nested(MAX_DEPTH - 1)),
    ] {
        cache.set("n", "k".into(), text.clone()).expect(&text);
    }
    // Closing a container lowers the depth: many shallow siblings are fine.
    let siblings = format!("[{}]", vec!["[{}]"; 300].join(","));
    cache
        .set("n", "k".into(), siblings)
        .expect("300 siblings, 3 levels");
    // Closing brackets in strings do not lower the depth either.
    let closers = "]}".repeat(50);
    let hidden = format!(r#"[["{closers}",{}]]"#, nested(MAX_DEPTH - 1));
    assert!(too_deep(cache.set("n", "k".into(), hidden)));
}

#[test]
fn the_bot_s_writes_count_the_entry_around_the_value() {
    let mut bot = BotCache::new(MockStorage::new());
    bot.set_user_state(1, "s", &nested(MAX_DEPTH - 1)).unwrap();
    let refused = bot.set_user_state(1, "s", &nested(MAX_DEPTH));
    assert!(
        too_deep(refused),
        "the state entry would nest {}",
        MAX_DEPTH + 1
    );
    assert!(too_deep(bot.set_user_data(
        1,
        2,
        "k",
        &nested(MAX_DEPTH + 1)
    )));
    assert!(
        bot.cache_ref().storage().user_data.is_empty(),
        "nothing written"
    );
}

#[test]
fn a_stored_row_nested_too_deep_is_skipped_and_named() {
    let mut storage = MockStorage::new();
    storage.put_row(USERS, "deep", &nested(MAX_DEPTH + 1));
    storage.put_row(USERS, "ok", "{}");
    storage.put_row(
        USERS,
        "fine",
        &format!(r#"{{"s":{}}}"#, nested(MAX_DEPTH - 1)),
    );
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![NamespaceConfig {
            name: USERS.into(),
            max_entries: 10,
            persistence: Persistence::OnChange,
        }])
        .unwrap();
    let report = cache.load_from_storage().unwrap();
    assert_eq!(report.loaded, 2);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].key, "deep");
    assert!(
        report.skipped[0].reason.contains("nested deeper"),
        "{:?}",
        report.skipped
    );
}
