//! Expiry with the host's time: expire-after-write per memory-only namespace,
//! reads that accept an entry only up to an age, expired entries evicted first.

use cache_core::{Cache, CacheError, MemoryStorage, NamespaceConfig, Persistence};

use crate::support::one_namespace as cache;

/// (size, hits, misses, evictions, expirations) of the namespace.
fn counts(cache: &Cache<MemoryStorage>) -> (u32, u64, u64, u64, u64) {
    let s = &cache.stats()[0];
    (s.size, s.hits, s.misses, s.evictions, s.expirations)
}

fn one(v: &str) -> Option<String> {
    Some(v.to_owned())
}

#[test]
fn an_entry_expires_its_time_after_it_was_written() {
    let mut c = cache(10, Persistence::MemoryOnly);
    c.expire_after_write("n", Some(100)).expect("expiry");
    c.set_time(1_000);
    c.set("n", "k".into(), "1".into()).expect("set");
    c.set_time(1_099);
    assert_eq!(
        c.get("n", "k"),
        Ok(one("1")),
        "fresh one millisecond before"
    );
    c.set_time(1_050); // the time never goes back
    assert_eq!(c.time(), 1_099);
    c.set_time(1_100);
    assert_eq!(c.get("n", "k"), Ok(None), "expired at 100 ms");
    assert_eq!(counts(&c), (0, 1, 1, 0, 1));

    c.set("n", "k".into(), "2".into()).expect("set again");
    c.set_time(1_150);
    c.set("n", "k".into(), "3".into())
        .expect("rewritten: its time restarts");
    c.set_time(1_249);
    assert_eq!(c.get("n", "k"), Ok(one("3")));
}

#[test]
fn without_expiry_or_time_nothing_expires() {
    let mut c = cache(10, Persistence::MemoryOnly);
    c.set("n", "k".into(), "1".into()).expect("set");
    c.set_time(u64::MAX);
    assert_eq!(c.get("n", "k"), Ok(one("1")));
    c.expire_after_write("n", Some(10)).expect("expiry");
    c.expire_after_write("n", None).expect("and off again");
    assert_eq!(c.get("n", "k"), Ok(one("1")));
}

#[test]
fn only_a_memory_only_namespace_expires() {
    for persistence in [Persistence::OnChange, Persistence::OnShutdown] {
        let mut c = cache(10, persistence);
        assert!(matches!(
            c.expire_after_write("n", Some(10)),
            Err(CacheError::InvalidConfig(_))
        ));
        assert_eq!(c.expire_after_write("n", None), Ok(()));
    }
    let mut c = cache(10, Persistence::MemoryOnly);
    assert!(matches!(
        c.expire_after_write("other", Some(10)),
        Err(CacheError::UnknownNamespace(_))
    ));
    // Becoming persisted drops the setting.
    c.expire_after_write("n", Some(10)).expect("expiry");
    c.configure(vec![NamespaceConfig {
        name: "n".into(),
        max_entries: 10,
        persistence: Persistence::OnChange,
    }])
    .expect("configure");
    c.set("n", "k".into(), "1".into()).expect("set");
    c.set_time(1_000);
    assert_eq!(c.get("n", "k"), Ok(one("1")));
}

#[test]
fn a_read_can_ask_for_a_maximum_age() {
    let mut c = cache(10, Persistence::MemoryOnly);
    c.set_time(1_000);
    c.set("n", "k".into(), "1".into()).expect("set");
    c.set_time(1_500);
    assert_eq!(
        c.get_fresh("n", "k", 400),
        Ok(None),
        "too old for this reader"
    );
    assert_eq!(c.get_fresh("n", "k", 500), Ok(one("1")), "not for this one");
    assert_eq!(c.get_fresh("n", "absent", 500), Ok(None));
    assert_eq!(
        counts(&c),
        (1, 1, 2, 0, 0),
        "kept; a too-old entry is a miss"
    );
}

#[test]
fn expired_entries_are_evicted_before_the_least_recent() {
    let mut c = cache(2, Persistence::MemoryOnly);
    c.expire_after_write("n", Some(100)).expect("expiry");
    c.set_time(1_000);
    c.set("n", "a".into(), "1".into()).expect("a");
    c.set_time(1_050);
    c.set("n", "b".into(), "2".into()).expect("b");
    c.set_time(1_099);
    assert_eq!(c.get("n", "a"), Ok(one("1")), "a is now the most recent");
    c.set_time(1_120);
    c.set("n", "c".into(), "3".into())
        .expect("c: a has expired");
    assert_eq!(counts(&c).3, 0, "nothing evicted");
    assert_eq!(counts(&c).4, 1, "a expired");
    assert_eq!(c.get("n", "b"), Ok(one("2")), "b, the least recent, stays");
    assert_eq!(c.get("n", "c"), Ok(one("3")));
}

#[test]
fn expired_entries_wait_for_a_lookup_or_a_full_namespace() {
    let mut c = cache(10, Persistence::MemoryOnly);
    c.expire_after_write("n", Some(100)).expect("expiry");
    c.set_time(1_000);
    c.set("n", "a".into(), "1".into()).expect("a");
    c.set_time(2_000);
    c.set("n", "b".into(), "2".into())
        .expect("b: room left, nothing is scanned");
    assert_eq!(counts(&c), (2, 0, 0, 0, 0));
    assert_eq!(c.get("n", "a"), Ok(None));
    assert_eq!(counts(&c), (1, 0, 1, 0, 1));
}

#[test]
fn a_namespace_just_full_keeps_its_expired_entries_until_a_lookup() {
    let mut c = cache(2, Persistence::MemoryOnly);
    c.expire_after_write("n", Some(100)).expect("expiry");
    c.set_time(1_000);
    c.set("n", "a".into(), "1".into()).expect("a");
    c.set_time(2_000);
    c.set("n", "b".into(), "2".into())
        .expect("b: full, not over");
    assert_eq!(counts(&c), (2, 0, 0, 0, 0), "nothing had to go");
}
