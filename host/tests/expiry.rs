//! Expiry through the host: the service keeps the component's time, so entries of
//! a memory-only namespace expire on the wall clock, and `get_fresh` accepts an
//! entry only up to an age.

use crate::common;

use std::time::Duration;

use cache_host::{Error, NamespaceConfig, Persistence};

fn table() -> Vec<NamespaceConfig> {
    vec![
        NamespaceConfig {
            name: "short".into(),
            max_entries: 10,
            persistence: Persistence::MemoryOnly,
        },
        NamespaceConfig {
            name: "kept".into(),
            max_entries: 10,
            persistence: Persistence::OnChange,
        },
    ]
}

#[test]
fn entries_expire_on_the_wall_clock() {
    let (_dir, db) = common::temp_db();
    let cache = common::builder().open_sqlite(&db).expect("open");
    cache.configure(&table()).expect("configure");
    cache
        .expire_after_write("short", Some(Duration::from_millis(200)))
        .expect("expiry");
    cache.set("short", "k", "1").expect("set");
    assert_eq!(cache.get("short", "k").expect("get"), Some("1".into()));
    assert_eq!(
        cache
            .get_fresh("short", "k", Duration::from_secs(60))
            .expect("fresh"),
        Some("1".into())
    );
    std::thread::sleep(Duration::from_millis(450));
    assert_eq!(cache.get("short", "k").expect("get"), None, "expired");
    let stats = cache.stats().expect("stats");
    assert_eq!(stats[0].expirations, 1);
    assert_eq!(stats[0].evictions, 0);
}

#[test]
fn a_read_can_refuse_an_old_entry_that_stays() {
    let (_dir, db) = common::temp_db();
    let cache = common::builder().open_sqlite(&db).expect("open");
    cache.configure(&table()).expect("configure");
    cache.set("short", "k", "1").expect("set");
    std::thread::sleep(Duration::from_millis(350));
    let fresh = |ms| cache.get_fresh("short", "k", Duration::from_millis(ms));
    assert_eq!(fresh(100).expect("fresh"), None, "older than 0.1 s");
    assert_eq!(fresh(60_000).expect("fresh"), Some("1".into()));
}

#[test]
fn a_persisted_namespace_cannot_expire() {
    let (_dir, db) = common::temp_db();
    let cache = common::builder().open_sqlite(&db).expect("open");
    cache.configure(&table()).expect("configure");
    let refused = cache.expire_after_write("kept", Some(Duration::from_secs(1)));
    assert!(
        matches!(refused, Err(Error::InvalidConfig(_))),
        "{refused:?}"
    );
}
