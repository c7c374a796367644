//! `load-from-storage` as a caller sees it (what is held afterwards, in which
//! recency order, what is skipped) and the exact count of pending changes.

use cache_core::{
    Cache, CacheError, FailRule, MockStorage, NamespaceConfig, Persistence, StorageError,
    StorageErrorKind,
};

fn ns(name: &str, max_entries: u32, persistence: Persistence) -> NamespaceConfig {
    NamespaceConfig {
        name: name.into(),
        max_entries,
        persistence,
    }
}

fn size_dirty(cache: &Cache<MockStorage>, name: &str) -> (u32, u32) {
    let s = cache
        .stats()
        .into_iter()
        .find(|s| s.name == name)
        .expect("namespace");
    (s.size, s.dirty)
}

#[test]
fn load_fills_free_capacity_with_the_newest_rows_as_the_least_recent() {
    let mut storage = MockStorage::new();
    for k in ["r1", "r2", "r3", "r4", "r5"] {
        storage.put_row("c", k, "1");
    }
    storage.put_row("c", "bad", "not json");
    storage.put_row("m", "x", "1");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![
            ns("c", 4, Persistence::OnChange),
            ns("m", 4, Persistence::MemoryOnly),
        ])
        .unwrap();
    cache.set("c", "held".into(), "\"mine\"".into()).unwrap();
    cache.storage_mut().calls.clear();
    let report = cache.load_from_storage().unwrap();
    assert_eq!(
        cache.storage().call_names(),
        ["load"],
        "memory-only is never loaded"
    );
    assert_eq!(report.loaded, 2, "{report:?}");
    assert_eq!(report.skipped.len(), 1, "{report:?}");
    assert_eq!(report.skipped[0].key, "bad");
    assert_eq!(size_dirty(&cache, "c"), (3, 0), "`held`, r5 and r4");
    assert_eq!(size_dirty(&cache, "m"), (0, 0));
    // The newest rows are held: no storage call for them.
    cache.storage_mut().calls.clear();
    assert_eq!(cache.get_many("c", &["r5", "held"]).unwrap().len(), 2);
    assert!(
        cache.storage().calls.is_empty(),
        "{:?}",
        cache.storage().calls
    );
    // The newest 4 rows were `held` (already in memory), `bad` (skipped), r5, r4.
    assert_eq!(cache.get("c", "r4").unwrap().as_deref(), Some("1"));
    assert!(cache.storage().calls.is_empty());
    assert_eq!(cache.get("c", "r3").unwrap().as_deref(), Some("1"));
    assert_eq!(cache.storage().call_names(), ["get"], "r3 was not loaded");
    // Full now (held, r5, r4, r3): loading again loads nothing.
    assert_eq!(cache.load_from_storage().unwrap().loaded, 0);
}

#[test]
fn loaded_rows_are_less_recent_than_what_is_held() {
    let mut storage = MockStorage::new();
    storage.put_row("c", "old", "1");
    storage.put_row("c", "new", "1");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 3, Persistence::OnChange)])
        .unwrap();
    cache.set("c", "mine".into(), "1".into()).unwrap();
    // Storage's newest 3 are old, new, mine: old and new load, behind mine.
    assert_eq!(cache.load_from_storage().unwrap().loaded, 2);
    cache.set("c", "x".into(), "1".into()).unwrap();
    cache.storage_mut().calls.clear();
    cache.get("c", "mine").unwrap();
    cache.get("c", "new").unwrap();
    assert!(
        cache.storage().calls.is_empty(),
        "the oldest loaded row went first"
    );
    cache.get("c", "old").unwrap();
    assert_eq!(cache.storage().call_names(), ["get"]);
}

#[test]
fn load_leaves_keys_deleted_or_cleared_in_memory_alone() {
    let mut storage = MockStorage::new();
    storage.put_row("s", "a", "1");
    storage.put_row("s", "b", "1");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("s", 5, Persistence::OnShutdown)])
        .unwrap();
    cache.delete("s", "a").unwrap();
    assert_eq!(cache.load_from_storage().unwrap().loaded, 1);
    assert_eq!(cache.get("s", "a").unwrap(), None);
    cache.clear_namespace("s").unwrap();
    assert_eq!(cache.load_from_storage().unwrap().loaded, 0);
    assert_eq!(size_dirty(&cache, "s"), (0, 1), "one pending clear");
}

#[test]
fn pending_changes_are_counted_exactly() {
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![ns("s", 2, Persistence::OnShutdown)])
        .unwrap();
    cache.set("s", "a".into(), "1".into()).unwrap();
    cache.set("s", "a".into(), "2".into()).unwrap();
    assert_eq!(
        size_dirty(&cache, "s"),
        (1, 1),
        "a replaced dirty value is one change"
    );
    cache.delete("s", "a").unwrap();
    assert_eq!(
        size_dirty(&cache, "s"),
        (0, 1),
        "the entry is gone, its delete is pending"
    );
    cache.set("s", "a".into(), "3".into()).unwrap();
    assert_eq!(
        size_dirty(&cache, "s"),
        (1, 1),
        "set again: the delete is superseded"
    );
    cache.set("s", "b".into(), "1".into()).unwrap();
    assert_eq!(
        cache.storage().rows().count(),
        0,
        "nothing evicted yet, nothing written"
    );
    cache.set("s", "c".into(), "1".into()).unwrap();
    assert_eq!(
        size_dirty(&cache, "s"),
        (2, 2),
        "a was evicted, after being written"
    );
    assert_eq!(
        cache
            .storage()
            .rows()
            .map(|(_, k, _)| k)
            .collect::<Vec<_>>(),
        ["a"],
        "only the evicted entry was written early"
    );
    cache.delete("s", "b").unwrap();
    cache.delete("s", "zz").unwrap();
    assert_eq!(size_dirty(&cache, "s"), (1, 3));
    let report = cache.persist_all().unwrap();
    assert_eq!((report.written, report.deleted), (1, 2));
    cache.clear_namespace("s").unwrap();
    cache.set("s", "q".into(), "1".into()).unwrap();
    cache.delete("s", "q").unwrap();
    let report = cache.persist_all().unwrap();
    assert_eq!(
        (report.written, report.deleted),
        (0, 1),
        "a clear counts as one"
    );
    cache.set("s", "r".into(), "1".into()).unwrap();
    cache.storage_mut().put_row("s", "old1", "1");
    cache.storage_mut().put_row("s", "old2", "1");
    cache.delete("s", "old1").unwrap();
    cache.delete("s", "old2").unwrap();
    let report = cache.persist_all().unwrap();
    assert_eq!((report.written, report.deleted), (1, 2));
}

#[test]
fn load_takes_keys_and_values_at_the_size_limits_and_skips_one_byte_more() {
    use cache_core::{MAX_KEY_BYTES, MAX_VALUE_BYTES};
    let json_of_len = |n: usize| format!("\"{}\"", "v".repeat(n - 2));
    let key_at = "k".repeat(MAX_KEY_BYTES);
    let key_over = "k".repeat(MAX_KEY_BYTES + 1);
    let mut storage = MockStorage::new();
    storage.put_row("c", &key_at, "1");
    storage.put_row("c", &key_over, "1");
    storage.put_row("c", "value-at", &json_of_len(MAX_VALUE_BYTES));
    storage.put_row("c", "value-over", &json_of_len(MAX_VALUE_BYTES + 1));
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 10, Persistence::OnChange)])
        .unwrap();
    let report = cache.load_from_storage().unwrap();
    let mut skipped: Vec<&str> = report.skipped.iter().map(|s| s.key.as_str()).collect();
    skipped.sort_unstable();
    assert_eq!(skipped, [key_over.as_str(), "value-over"], "{report:?}");
    assert_eq!(report.loaded, 2);
    assert!(report
        .skipped
        .iter()
        .all(|s| s.reason.contains("over the limit")));
    cache.storage_mut().calls.clear();
    assert_eq!(cache.get("c", &key_at).unwrap().as_deref(), Some("1"));
    assert_eq!(
        cache.get("c", "value-at").unwrap().map(|v| v.len()),
        Some(MAX_VALUE_BYTES)
    );
    assert!(
        cache.storage().calls.is_empty(),
        "both were held after the load, not read through"
    );
}

#[test]
fn set_many_with_a_repeated_key_writes_and_holds_only_its_last_value() {
    use cache_core::Call;
    for entries in [
        vec![("a", "1"), ("a", "2")],
        vec![("a", "1"), ("b", "1"), ("a", "3")],
    ] {
        let mut cache = Cache::new(MockStorage::new());
        cache
            .configure(vec![ns("c", 10, Persistence::OnChange)])
            .unwrap();
        let owned: Vec<(String, String)> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        cache.set_many("c", owned).unwrap();
        let last_a = entries.iter().rev().find(|(k, _)| *k == "a").unwrap().1;
        let upserts: Vec<_> = cache
            .storage()
            .calls
            .iter()
            .filter_map(|c| match c {
                Call::Write { upsert, .. } => Some(upsert.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(upserts.len(), 1, "one batch: {upserts:?}");
        let a_rows: Vec<_> = upserts[0].iter().filter(|(_, k, _)| k == "a").collect();
        assert_eq!(a_rows.len(), 1, "{entries:?}: {upserts:?}");
        assert_eq!(a_rows[0].2, last_a);
        assert_eq!(cache.get("c", "a").unwrap().as_deref(), Some(last_a));
    }
}

#[test]
fn deleting_an_on_change_key_deletes_its_row_before_returning() {
    let mut storage = MockStorage::new();
    storage.put_row("c", "k", "1");
    storage.put_row("c", "other", "2");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 10, Persistence::OnChange)])
        .expect("configure");
    assert_eq!(cache.get("c", "k"), Ok(Some("1".to_owned())));
    assert_eq!(cache.delete("c", "k"), Ok(true));
    assert_eq!(
        cache.storage().row("c", "k"),
        None,
        "the row outlived the delete"
    );
    assert_eq!(cache.storage().row("c", "other"), Some("2"));
    // Not held and not stored: the read-through finds nothing.
    assert_eq!(cache.get("c", "k"), Ok(None));
    // A key never held is deleted in storage too.
    assert_eq!(cache.delete("c", "other"), Ok(false));
    assert_eq!(cache.storage().row("c", "other"), None);
}

/// Sequential sets of `[a, c]` into `[a, b]` (capacity 2, `a` least recent) make `a`
/// most recent, then evict `b`: only `b`'s pending value is written, and `a`'s old
/// value never is.
#[test]
fn set_many_evicts_what_sequential_sets_would_not_the_keys_it_sets() {
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![ns("c", 2, Persistence::OnShutdown)])
        .expect("configure");
    cache.set("c", "a".into(), "1".into()).expect("set a");
    cache.set("c", "b".into(), "2".into()).expect("set b");
    cache
        .set_many(
            "c",
            vec![("a".into(), "10".into()), ("c".into(), "3".into())],
        )
        .expect("set_many");
    assert_eq!(
        cache.storage().row("c", "b"),
        Some("2"),
        "the evicted b was lost"
    );
    assert_eq!(
        cache.storage().row("c", "a"),
        None,
        "a's old value was written"
    );
    assert_eq!(cache.get("c", "a"), Ok(Some("10".to_owned())));
    assert_eq!(cache.get("c", "c"), Ok(Some("3".to_owned())));
}

/// Making room for a new entry needs a write (a dirty entry is evicted). If that
/// write fails, a caller's `set` fails, and a refresh (caching what storage holds)
/// succeeds without caching; both leave the held entry pending.
#[test]
fn a_failed_eviction_write_fails_a_set_but_not_a_refresh() {
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![ns("c", 1, Persistence::OnShutdown)])
        .expect("configure");
    cache.set("c", "a".into(), "1".into()).expect("set a");
    cache.storage_mut().fail_writes = Some(FailRule::always(StorageError::new(
        StorageErrorKind::Full,
        "disk full",
    )));
    assert!(matches!(
        cache.set("c", "b".into(), "2".into()),
        Err(CacheError::Storage(_))
    ));
    assert_eq!(
        cache.refresh_json("c", "b".into(), serde_json::json!(2)),
        Ok(())
    );
    assert_eq!(
        size_dirty(&cache, "c"),
        (1, 1),
        "a is still held and pending"
    );
    cache.storage_mut().fail_writes = None;
    assert_eq!(cache.get("c", "a"), Ok(Some("1".to_owned())));
}

/// An eviction's write carries the namespace's pending removals; once it
/// succeeds they are no longer pending, so `persist-all` does not send them again.
#[test]
fn removals_written_with_an_eviction_are_not_pending_any_more() {
    let mut storage = MockStorage::new();
    storage.put_row("c", "gone", "0");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 1, Persistence::OnShutdown)])
        .expect("configure");
    cache.delete("c", "gone").expect("delete");
    cache.set("c", "a".into(), "1".into()).expect("set a");
    cache
        .set("c", "b".into(), "2".into())
        .expect("set b evicts a");
    assert_eq!(
        cache.storage().row("c", "gone"),
        None,
        "the removal went with the eviction"
    );
    assert_eq!(cache.storage().row("c", "a"), Some("1"));
    let report = cache.persist_all().expect("persist");
    assert_eq!((report.written, report.deleted), (1, 0));
}

/// An on-change clear deletes the stored rows at once: a later read does not
/// bring them back.
#[test]
fn an_on_change_clear_deletes_the_stored_rows() {
    let mut storage = MockStorage::new();
    storage.put_row("c", "old", "1");
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("c", 10, Persistence::OnChange)])
        .expect("configure");
    cache.set("c", "new".into(), "2".into()).expect("set");
    cache.clear_namespace("c").expect("clear");
    assert_eq!(cache.storage().row("c", "old"), None);
    assert_eq!(cache.storage().row("c", "new"), None);
    assert_eq!(cache.get("c", "old"), Ok(None));
}

#[test]
fn pending_changes_name_the_keys_persist_all_will_write() {
    let mut cache = Cache::new(MockStorage::new());
    cache
        .configure(vec![
            ns("s", 10, Persistence::OnShutdown),
            ns("m", 10, Persistence::MemoryOnly),
        ])
        .unwrap();
    let pending = |c: &Cache<MockStorage>, name: &str| {
        let p = c.pending_changes(name).expect("a configured namespace");
        (p.keys, p.cleared)
    };
    assert_eq!(pending(&cache, "s"), (vec![], false));
    cache.set("s", "b".into(), "1".into()).unwrap();
    cache.set("s", "a".into(), "2".into()).unwrap();
    cache.delete("s", "c").unwrap();
    cache.set("m", "x".into(), "1".into()).unwrap();
    assert_eq!(
        pending(&cache, "s"),
        (vec!["a".into(), "b".into(), "c".into()], false),
        "changed and deleted keys, sorted"
    );
    assert_eq!(
        pending(&cache, "m"),
        (vec![], false),
        "memory-only owes nothing"
    );
    cache.persist_all().unwrap();
    assert_eq!(pending(&cache, "s"), (vec![], false));
    cache.clear_namespace("s").unwrap();
    cache.set("s", "d".into(), "1".into()).unwrap();
    assert_eq!(pending(&cache, "s"), (vec!["d".into()], true));
    assert!(matches!(
        cache.pending_changes("nope"),
        Err(CacheError::UnknownNamespace(name)) if name == "nope"
    ));
}

#[test]
fn pending_deletes_reach_storage_in_key_order() {
    let mut storage = MockStorage::new();
    let keys = ["m", "b", "z", "a", "q", "c", "y", "k"];
    for k in keys {
        storage.put_row("s", k, "1");
    }
    let mut cache = Cache::new(storage);
    cache
        .configure(vec![ns("s", 10, Persistence::OnShutdown)])
        .unwrap();
    cache.load_from_storage().unwrap();
    for k in keys {
        cache.delete("s", k).unwrap();
    }
    cache.storage_mut().calls.clear();
    cache.persist_all().unwrap();
    let deleted: Vec<&str> = cache
        .storage()
        .calls
        .iter()
        .flat_map(|call| match call {
            cache_core::Call::Write { delete, .. } => {
                delete.iter().map(|(_, k)| k.as_str()).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(deleted, ["a", "b", "c", "k", "m", "q", "y", "z"]);
}
