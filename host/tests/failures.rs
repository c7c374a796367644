//! Storage failures (read-only, locked) and guest traps (CPU bound, memory limit):
//! clear errors, nothing acknowledged lost, the service keeps serving.

use crate::common;

use std::time::Duration;

use cache_host::SettingsMode;
use cache_host::{
    BotStorage, Error, NamespaceConfig, Persistence, Policy, Storage, StorageErrorKind,
};
use cache_host::{SqliteOptions, SqliteStorage};
use common::{builder, temp_db};

fn storage_message(r: Result<(), Error>) -> String {
    match r {
        Err(Error::Storage(e)) => e.message,
        other => panic!("expected a storage error, got {other:?}"),
    }
}

#[test]
fn read_only_database_fails_writes_clearly_and_keeps_serving_reads() {
    let (_dir, db) = temp_db();
    let cache = builder().open_sqlite(&db).unwrap();
    cache.set("chatUsers", "a", r#"{"v":1}"#).unwrap();
    cache.set_user_data(1, 2, "k", "1").unwrap();
    cache
        .with_storage(|s| s.connection().execute_batch("PRAGMA query_only = ON"))
        .unwrap()
        .unwrap();

    let msg = storage_message(cache.set("chatUsers", "b", r#"{"v":2}"#));
    assert!(
        msg.contains("read-only") && msg.contains("cache.db"),
        "{msg}"
    );
    let msg = storage_message(cache.set_user_data(1, 2, "k", "2"));
    assert!(msg.contains("read-only"), "{msg}");
    // The failed calls changed nothing; reads still work.
    assert_eq!(cache.get("chatUsers", "b").unwrap(), None);
    assert_eq!(
        cache.get("chatUsers", "a").unwrap().as_deref(),
        Some(r#"{"v":1}"#)
    );
    let data: serde_json::Value =
        serde_json::from_str(&cache.get_user_data(1, 2).unwrap()).unwrap();
    assert_eq!(data["k"], 1);
    // On-shutdown changes stay pending when persisting fails; close can be retried.
    cache.set("chats", "9", r#"{"info":{}}"#).unwrap();
    assert!(matches!(cache.close(), Err(Error::Storage(_))));
    assert!(!cache.is_closed());
    cache
        .with_storage(|s| s.connection().execute_batch("PRAGMA query_only = OFF"))
        .unwrap()
        .unwrap();
    assert_eq!(cache.close().unwrap().written, 1);
    drop(cache);

    let mut s = SqliteStorage::open(&db).unwrap();
    assert!(s.get("chatUsers", "a").unwrap().is_some());
    assert!(s.get("chatUsers", "b").unwrap().is_none());
    assert!(s.get("chats", "9").unwrap().is_some());
    assert_eq!(s.get_user_data(1, 2).unwrap()[0].1, "1");
}

#[test]
fn database_opened_read_only_loads_and_refuses_writes() {
    let (_dir, db) = temp_db();
    let cache = builder().open_sqlite(&db).unwrap();
    cache.set("chatUsers", "a", "1").unwrap();
    cache.close().unwrap();
    drop(cache);
    let ro = SqliteOptions {
        read_only: true,
        ..Default::default()
    };
    let cache = builder().open_sqlite_with(&db, &ro).unwrap();
    assert_eq!(cache.last_start_report().unwrap().loaded, 1);
    assert_eq!(cache.get("chatUsers", "a").unwrap().as_deref(), Some("1"));
    let msg = storage_message(cache.set("chatUsers", "b", "2"));
    assert!(msg.contains("read-only"), "{msg}");
    cache.close().unwrap(); // nothing pending: no write needed
}

#[test]
fn locked_database_fails_writes_with_busy_and_recovers_when_released() {
    let (_dir, db) = temp_db();
    let opts = SqliteOptions {
        busy_timeout: Duration::from_millis(100),
        ..Default::default()
    };
    let cache = builder().open_sqlite_with(&db, &opts).unwrap();
    cache.set("chatUsers", "a", "1").unwrap();
    {
        let s = SqliteStorage::open(&db).unwrap();
        s.connection()
            .execute(
                "INSERT INTO cache_storage VALUES ('chatUsers', 'only-in-db', '2', 1)",
                [],
            )
            .unwrap();
    }
    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();

    let msg = storage_message(cache.set("chatUsers", "b", "2"));
    assert!(msg.contains("locked"), "{msg}");
    let msg = storage_message(cache.set_chat_settings(5, r#"{"lang":"en"}"#, SettingsMode::Merge));
    assert!(msg.contains("locked"), "{msg}");
    // Reads keep working, from memory and through to the (WAL) file.
    assert_eq!(cache.get("chatUsers", "a").unwrap().as_deref(), Some("1"));
    assert_eq!(
        cache.get("chatUsers", "only-in-db").unwrap().as_deref(),
        Some("2")
    );
    assert_eq!(cache.get("chatUsers", "b").unwrap(), None);

    other.execute_batch("ROLLBACK").unwrap();
    cache.set("chatUsers", "b", "2").unwrap();
    cache.close().unwrap();
    let mut s = SqliteStorage::open(&db).unwrap();
    assert_eq!(s.load("chatUsers", 10).unwrap().len(), 3);
}

#[test]
fn storage_error_kinds_reach_the_caller_when_opening() {
    let (dir, _db) = temp_db();
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, vec![7u8; 4096]).unwrap();
    match builder().open_sqlite(&junk) {
        Err(Error::OpenStorage(e)) => {
            assert_eq!(e.kind, StorageErrorKind::Corrupt);
            assert!(e.message.contains("junk.db"), "{e}");
        }
        other => panic!("expected a corrupt-file error, got {other:?}"),
    }
}

#[test]
fn cpu_bound_trap_is_survived_and_storage_is_intact() {
    let (_dir, db) = temp_db();
    let cache = builder().open_sqlite(&db).unwrap();
    cache.set("chatUsers", "a", r#"{"v":1}"#).unwrap();
    cache.set("chats", "persisted", r#"{"v":2}"#).unwrap();
    cache.persist_all().unwrap();
    cache.set("chats", "pending", r#"{"v":3}"#).unwrap();

    // A test-only bound: zero ticks interrupts the guest at its first check.
    cache.set_call_time_limit(Duration::ZERO);
    match cache.get("chatUsers", "a") {
        Err(Error::Trapped { reason, .. }) => assert!(reason.contains("interrupt"), "{reason}"),
        other => panic!("expected a trap, got {other:?}"),
    }
    // The restart itself ran under the zero bound and could not finish either.
    assert!(cache.get("chatUsers", "a").is_err());

    cache.set_call_time_limit(Duration::from_secs(10));
    assert_eq!(
        cache.get("chatUsers", "a").unwrap().as_deref(),
        Some(r#"{"v":1}"#)
    );
    assert_eq!(
        cache.get("chats", "persisted").unwrap().as_deref(),
        Some(r#"{"v":2}"#)
    );
    // Never acknowledged as durable: lost with the trapped instance.
    assert_eq!(cache.get("chats", "pending").unwrap(), None);
    assert!(cache.restarts() >= 1);
    cache.set("chatUsers", "b", "1").unwrap();
    cache.close().unwrap();
    let mut s = SqliteStorage::open(&db).unwrap();
    assert_eq!(s.load("chatUsers", 10).unwrap().len(), 2);
}

/// A one-namespace table of `entries` on-change entries.
fn small_table(entries: u32) -> Vec<NamespaceConfig> {
    vec![NamespaceConfig {
        name: "chatUsers".into(),
        max_entries: entries,
        persistence: Persistence::OnChange,
    }]
}

#[test]
fn the_memory_limit_holds_the_documented_capacity() {
    // The issue's case: 150 values of 1 MiB (within 1000 x 1 MiB per namespace) did
    // not fit the old fixed 256 MiB limit. Now the limit follows the table.
    let (_dir, db) = temp_db();
    let big = format!("\"{}\"", "x".repeat((1 << 20) - 2));
    {
        let cache = builder().open_sqlite(&db).unwrap();
        for i in 0..150 {
            cache.set("chatUsers", &format!("k{i}"), &big).unwrap();
        }
        cache.close().unwrap();
    }
    let cache = builder().open_sqlite(&db).unwrap();
    assert_eq!(cache.last_start_report().unwrap().loaded, 150);
    assert!(cache.guest_memory_bytes() > 150 << 20);
    assert_eq!(
        cache.get("chatUsers", "k149").unwrap().map(|v| v.len()),
        Some(1 << 20)
    );
    assert_eq!(cache.restarts(), 0);
}

#[test]
fn a_fixed_memory_limit_too_small_for_the_table_is_refused_with_both_numbers() {
    let (_dir, db) = temp_db();
    let needed = cache_host::limits::table_memory(&small_table(8));
    let short = builder()
        .policy(Policy::new(small_table(8)).unwrap())
        .memory_limit(needed as usize - 1)
        .open_sqlite(&db);
    match short {
        Err(Error::MemoryLimit { needed: n, limit }) => {
            assert_eq!((n, limit), (needed, needed - 1));
        }
        other => panic!("expected a memory-limit error, got {other:?}"),
    }
    let cache = builder()
        .policy(Policy::new(small_table(8)).unwrap())
        .memory_limit(needed as usize)
        .open_sqlite(&db)
        .unwrap();
    cache.set("chatUsers", "a", "1").unwrap();
    // A later `configure` of a bigger table is refused the same way, and changes nothing.
    match cache.configure(&small_table(9)) {
        Err(Error::MemoryLimit { limit, .. }) => assert_eq!(limit, needed),
        other => panic!("expected a memory-limit error, got {other:?}"),
    }
    assert_eq!(cache.namespaces(), small_table(8));
    assert_eq!(cache.get("chatUsers", "a").unwrap().as_deref(), Some("1"));
    // Eight values of the maximum size fit the limit the table was given.
    let big = format!("\"{}\"", "x".repeat((1 << 20) - 2));
    for i in 0..8 {
        cache.set("chatUsers", &format!("k{i}"), &big).unwrap();
    }
    assert_eq!(cache.restarts(), 0);
}

#[test]
fn the_default_limit_follows_a_reconfigured_table() {
    let (_dir, db) = temp_db();
    let cache = builder()
        .policy(Policy::new(small_table(1)).unwrap())
        .open_sqlite(&db)
        .unwrap();
    let big = format!("\"{}\"", "x".repeat((1 << 20) - 2));
    cache.configure(&small_table(40)).unwrap();
    for i in 0..40 {
        cache.set("chatUsers", &format!("k{i}"), &big).unwrap();
    }
    assert_eq!(
        cache.restarts(),
        0,
        "40 MiB of values fit the table's own limit"
    );
}

#[test]
fn cpu_bound_interrupts_a_long_running_call_and_the_next_call_works() {
    use cache_host::{Runtime, RuntimeOptions};
    // A 1 ms epoch tick, so a few-millisecond bound is enforceable.
    let runtime = Runtime::load_with(
        common::wasm_path(),
        &RuntimeOptions {
            epoch_tick: Duration::from_millis(1),
            ..Default::default()
        },
    )
    .unwrap();
    let (_dir, db) = temp_db();
    let cache = cache_host::CacheService::builder(common::wasm_path())
        .runtime(runtime)
        .open_sqlite(&db)
        .unwrap();
    cache.set("chatUsers", "a", "1").unwrap();
    // A heavy call: many keys looked up in a memory-only namespace (no storage).
    let keys: Vec<String> = (0..300_000).map(|i| format!("user-{i}")).collect();
    let normal = (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            assert_eq!(cache.get_many("users", &keys).unwrap().len(), keys.len());
            t.elapsed()
        })
        .min()
        .unwrap();
    eprintln!("get-many of {} keys: {normal:?}", keys.len());
    assert!(
        normal >= Duration::from_millis(10),
        "the heavy call is too fast ({normal:?}) to test the bound"
    );
    cache.set_call_time_limit(normal / 8);
    match cache.get_many("users", &keys) {
        Err(Error::Trapped { reason, restarted }) => {
            assert!(reason.contains("interrupt"), "{reason}");
            assert!(restarted);
        }
        other => panic!("expected an interrupt, got {:?}", other.map(|v| v.len())),
    }
    // Short calls fit in the bound; storage is intact after the restart.
    assert_eq!(cache.get("chatUsers", "a").unwrap().as_deref(), Some("1"));
    cache.set_call_time_limit(Duration::from_secs(10));
    assert_eq!(cache.get_many("users", &keys).unwrap().len(), keys.len());
    cache.close().unwrap();
}
