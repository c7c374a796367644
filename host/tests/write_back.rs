//! Bounded loss: pending on-shutdown changes are written back by age and by count
//! (`WriteBack`), through the real component, with a failing storage too. The
//! process-level claim (SIGKILL loses at most the bound) is measured by `just chaos`.

use crate::common;

use std::time::{Duration, Instant};

use cache_core::{FailRule, MockStorage, Storage, StorageError, StorageErrorKind};
use cache_host::{CacheService, SqliteOptions, SqliteStorage, WriteBack};
use common::{builder, temp_db, within};

type Mock = MockStorage;

fn service(write_back: WriteBack) -> CacheService<Mock> {
    builder()
        .write_back(write_back)
        .build(Mock::new())
        .expect("service over the mock storage")
}

fn stored(cache: &CacheService<Mock>, key: &str) -> Option<String> {
    cache
        .with_storage(|s| s.get("chats", key))
        .expect("storage")
        .expect("read")
}

/// The stored row, read by a second, read-only connection.
fn peek(db: &std::path::Path) -> Option<String> {
    let options = SqliteOptions {
        read_only: true,
        ..SqliteOptions::default()
    };
    let mut storage = SqliteStorage::open_with(db, &options).expect("read-only open");
    storage.get("chats", "c").expect("read")
}

fn dirty(cache: &CacheService<Mock>) -> u32 {
    let stats = cache.stats().expect("stats");
    stats.iter().map(|n| n.dirty).sum()
}

fn by_count(n: u32) -> WriteBack {
    WriteBack {
        max_age: None,
        max_pending: Some(n),
    }
}

fn by_age(age: Duration) -> WriteBack {
    WriteBack {
        max_age: Some(age),
        max_pending: None,
    }
}

#[test]
fn the_count_bound_writes_back_before_the_call_returns() {
    let cache = service(by_count(10));
    for i in 0..9 {
        cache.set("chats", &format!("c{i}"), "1").unwrap();
    }
    assert_eq!(dirty(&cache), 9);
    assert_eq!(
        stored(&cache, "c0"),
        None,
        "below the bound nothing is written"
    );
    cache.set("chats", "c9", "1").unwrap();
    assert_eq!(dirty(&cache), 0);
    for i in 0..10 {
        assert_eq!(
            stored(&cache, &format!("c{i}")).as_deref(),
            Some("1"),
            "c{i}"
        );
    }
}

#[test]
fn the_count_is_of_pending_changes_not_of_calls() {
    let cache = service(by_count(10));
    for v in 0..30 {
        cache.set("chats", "same", &v.to_string()).unwrap();
    }
    assert_eq!(dirty(&cache), 1);
    assert_eq!(
        stored(&cache, "same"),
        None,
        "one pending change is under the bound"
    );
    for i in 0..9 {
        cache.set("chats", &format!("k{i}"), "1").unwrap();
    }
    assert_eq!(
        dirty(&cache),
        0,
        "the tenth pending change reaches the bound"
    );
    assert_eq!(stored(&cache, "same").as_deref(), Some("29"));
}

#[test]
fn deletes_and_clears_count_and_memory_only_changes_do_not() {
    let cache = service(by_count(3));
    for i in 0..10 {
        cache
            .set_user_state(i, "step", r#""menu""#)
            .expect("memory-only write");
    }
    cache.set("chats", "a", "1").unwrap();
    cache.delete("chats", "b").unwrap();
    assert_eq!(stored(&cache, "a"), None);
    cache.set("chats", "c", "1").unwrap();
    assert_eq!(dirty(&cache), 0);
    assert_eq!(stored(&cache, "a").as_deref(), Some("1"));
}

#[test]
fn the_age_bound_writes_back_in_the_background() {
    let age = Duration::from_millis(300);
    let cache = service(by_age(age));
    let set_at = Instant::now();
    cache.set("chats", "c", "1").unwrap();
    assert_eq!(stored(&cache, "c"), None, "younger than the bound");
    let deadline = set_at + Duration::from_secs(5);
    while stored(&cache, "c").is_none() {
        assert!(Instant::now() < deadline, "not written back within 5 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    let took = set_at.elapsed();
    assert!(took >= age, "written back after {took:?}, before the bound");
    assert_eq!(dirty(&cache), 0);
    // A later change starts a new interval.
    cache.set("chats", "d", "2").unwrap();
    assert_eq!(stored(&cache, "d"), None);
    within(Duration::from_secs(5), move || {
        while stored(&cache, "d").is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}

#[test]
fn never_writes_back_only_at_close() {
    let (_dir, db) = temp_db();
    let cache = builder()
        .write_back(WriteBack::NEVER)
        .open_sqlite(&db)
        .unwrap();
    cache.set("chats", "c", "1").unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(peek(&db), None);
    drop(cache);
    assert_eq!(peek(&db).as_deref(), Some("1"));
}

#[test]
fn a_schedule_set_at_run_time_wakes_the_timer() {
    let cache = service(WriteBack::NEVER);
    cache.set("chats", "c", "1").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(stored(&cache, "c"), None);
    cache.set_write_back(by_age(Duration::from_millis(50)));
    assert_eq!(cache.write_back(), by_age(Duration::from_millis(50)));
    within(Duration::from_secs(5), move || {
        while stored(&cache, "c").is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
    });
}

#[test]
fn a_failed_write_back_is_counted_keeps_the_changes_and_is_retried() {
    let cache = service(by_count(2));
    cache
        .with_storage(|s| {
            s.fail_writes = Some(FailRule {
                times: Some(1),
                ..FailRule::always(StorageError::new(StorageErrorKind::Full, "disk full"))
            })
        })
        .unwrap();
    cache.set("chats", "a", "1").unwrap();
    cache
        .set("chats", "b", "1")
        .expect("the write itself succeeded in memory");
    assert_eq!(cache.write_back_failures(), 1);
    assert_eq!(dirty(&cache), 2, "the changes stay pending");
    assert_eq!(stored(&cache, "a"), None);
    cache.set("chats", "c", "1").unwrap();
    cache.set("chats", "d", "1").unwrap();
    assert_eq!(dirty(&cache), 0, "retried after another bound's worth");
    for k in ["a", "b", "c", "d"] {
        assert_eq!(stored(&cache, k).as_deref(), Some("1"), "{k}");
    }
    assert_eq!(cache.write_back_failures(), 1);
}

#[test]
fn dropping_the_last_handle_stops_the_timer_and_persists() {
    let (_dir, db) = temp_db();
    let cache = builder()
        .write_back(by_age(Duration::from_secs(3600)))
        .open_sqlite(&db)
        .unwrap();
    cache.set("chats", "c", "1").unwrap();
    let worker = cache.clone();
    drop(cache);
    // The timer waits for an hour; the drop must wake it, join it and persist.
    within(Duration::from_secs(5), move || drop(worker));
    assert_eq!(peek(&db).as_deref(), Some("1"));
}
