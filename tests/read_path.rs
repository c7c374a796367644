//! The host's read path is invisible: random operation sequences give the
//! same answers, the same storage calls and the same stats (hits, misses,
//! evictions, sizes) through a `CacheService` with the read path on as with it
//! off, and the read path does serve hits from its copies.

use cache_core::{FailRule, MockStorage, StorageError, StorageErrorKind};
use cache_host::service::MAX_PENDING_HITS;
use cache_host::{
    CacheService, CacheServiceBuilder, Error, NamespaceConfig, Persistence, Policy, Read,
    SettingsMode,
};
use cache_tests::{component_path, runtime};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Get(&'static str, u8),
    GetMany(&'static str, Vec<u8>),
    Set(&'static str, u8, u8),
    Delete(&'static str, u8),
    Clear(&'static str),
    Forget(&'static str, u8),
    ForgetAll,
    Persist,
    Load,
    Configure(bool),
    GetChatSettings(i64),
    SetChatSettings(i64, u8),
    ForgetChatSettings(i64),
    GetChatInfo(i64),
    SetChatInfo(i64, u8),
    GetUserData(i64, i64),
    SetUserData(i64, i64, u8),
    GetUserState(i64, u8),
    SetUserState(i64, u8, u8),
    ClearUserState(i64, Option<u8>),
    FailWrites(bool),
    FailReads(bool),
    Stats,
}

fn namespace() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("chats"),
        Just("chatUsers"),
        Just("users"),
        Just("g"),
        Just("nope")
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let id = || 0i64..4;
    prop_oneof![
        12 => (namespace(), 0u8..5).prop_map(|(n, k)| Op::Get(n, k)),
        4 => (namespace(), prop::collection::vec(0u8..5, 0..4)).prop_map(|(n, k)| Op::GetMany(n, k)),
        4 => (namespace(), 0u8..5, 0u8..4).prop_map(|(n, k, v)| Op::Set(n, k, v)),
        1 => (namespace(), 0u8..5).prop_map(|(n, k)| Op::Delete(n, k)),
        1 => namespace().prop_map(Op::Clear),
        1 => (namespace(), 0u8..5).prop_map(|(n, k)| Op::Forget(n, k)),
        1 => Just(Op::ForgetAll),
        1 => Just(Op::Persist),
        1 => Just(Op::Load),
        1 => any::<bool>().prop_map(Op::Configure),
        8 => id().prop_map(Op::GetChatSettings),
        2 => (id(), 0u8..3).prop_map(|(c, v)| Op::SetChatSettings(c, v)),
        1 => id().prop_map(Op::ForgetChatSettings),
        4 => id().prop_map(Op::GetChatInfo),
        2 => (id(), 0u8..3).prop_map(|(c, v)| Op::SetChatInfo(c, v)),
        8 => (id(), id()).prop_map(|(c, u)| Op::GetUserData(c, u)),
        2 => (id(), id(), 0u8..3).prop_map(|(c, u, v)| Op::SetUserData(c, u, v)),
        10 => (id(), 0u8..3).prop_map(|(u, k)| Op::GetUserState(u, k)),
        3 => (id(), 0u8..3, 0u8..3).prop_map(|(u, k, v)| Op::SetUserState(u, k, v)),
        1 => (id(), prop::option::of(0u8..3)).prop_map(|(u, k)| Op::ClearUserState(u, k)),
        1 => any::<bool>().prop_map(Op::FailWrites),
        1 => any::<bool>().prop_map(Op::FailReads),
        2 => Just(Op::Stats),
    ]
}

/// Small namespaces, so that sequences evict; `big` is a second table to switch to.
fn table(big: bool) -> Vec<NamespaceConfig> {
    let n = |name: &str, persistence, max_entries| NamespaceConfig {
        name: name.to_owned(),
        persistence,
        max_entries,
    };
    let (small, other) = if big { (5, 4) } else { (3, 2) };
    vec![
        n("chats", Persistence::OnShutdown, small),
        n("chatUsers", Persistence::OnChange, small),
        n("users", Persistence::MemoryOnly, other),
        n("g", Persistence::MemoryOnly, other),
    ]
}

fn service(read_path: bool) -> CacheService<MockStorage> {
    CacheServiceBuilder::new(component_path())
        .runtime(runtime().clone())
        .policy(Policy::new(table(false)).expect("a valid table"))
        .read_path(read_path)
        .build(MockStorage::new())
        .expect("the service starts")
}

fn fail(on: bool) -> Option<FailRule> {
    on.then(|| FailRule::always(StorageError::new(StorageErrorKind::Busy, "busy")))
}

/// Runs `op`; the answer as text (errors by their display, which names the case).
fn run(s: &CacheService<MockStorage>, op: &Op) -> String {
    let text = |v: u8| format!("{{\"v\":{v}}}");
    let r: Result<String, cache_host::Error> = match op {
        Op::Get(n, k) => s.get(n, &k.to_string()).map(|v| format!("{v:?}")),
        Op::GetMany(n, keys) => {
            let keys: Vec<String> = keys.iter().map(u8::to_string).collect();
            s.get_many(n, &keys).map(|v| format!("{v:?}"))
        }
        Op::Set(n, k, v) => s.set(n, &k.to_string(), &text(*v)).map(|()| "()".into()),
        Op::Delete(n, k) => s.delete(n, &k.to_string()).map(|b| b.to_string()),
        Op::Clear(n) => s.clear_namespace(n).map(|()| "()".into()),
        Op::Forget(n, k) => s.forget(n, &k.to_string()).map(|b| b.to_string()),
        Op::ForgetAll => s.forget_all().map(|n| n.to_string()),
        Op::Persist => s.persist_all().map(|r| format!("{r:?}")),
        Op::Load => s.load_from_storage().map(|r| format!("{r:?}")),
        Op::Configure(big) => s.configure(&table(*big)).map(|()| "()".into()),
        Op::GetChatSettings(c) => s.get_chat_settings(*c),
        Op::SetChatSettings(c, v) => s
            .set_chat_settings(*c, &format!("{{\"k{v}\":\"{v}\"}}"), SettingsMode::Merge)
            .map(|()| "()".into()),
        Op::ForgetChatSettings(c) => s.forget_chat_settings(*c).map(|b| b.to_string()),
        Op::GetChatInfo(c) => s.get_chat_info(*c).map(|v| format!("{v:?}")),
        Op::SetChatInfo(c, v) => s.set_chat_info(*c, &text(*v)).map(|()| "()".into()),
        Op::GetUserData(c, u) => s.get_user_data(*c, *u),
        Op::SetUserData(c, u, v) => s
            .set_user_data(*c, *u, "k", &text(*v))
            .map(|()| "()".into()),
        Op::GetUserState(u, k) => s
            .get_user_state(*u, &k.to_string())
            .map(|v| format!("{v:?}")),
        Op::SetUserState(u, k, v) => s
            .set_user_state(*u, &k.to_string(), &text(*v))
            .map(|()| "()".into()),
        Op::ClearUserState(u, k) => s
            .clear_user_state(*u, k.map(|k| k.to_string()).as_deref())
            .map(|()| "()".into()),
        Op::FailWrites(on) => s
            .with_storage(|st| st.fail_writes = fail(*on))
            .map(|()| "()".into()),
        Op::FailReads(on) => s
            .with_storage(|st| st.fail_reads = fail(*on))
            .map(|()| "()".into()),
        Op::Stats => s.stats().map(|st| format!("{st:?}")),
    };
    match r {
        Ok(v) => v,
        Err(e) => format!("error: {e}"),
    }
}

fn calls(s: &CacheService<MockStorage>) -> Vec<cache_core::Call> {
    s.with_storage(|st| st.calls.clone()).expect("storage")
}

/// Runs `ops` on both services, comparing after every step; returns the hits
/// the read path served.
fn agree(ops: &[Op]) -> Result<u64, TestCaseError> {
    let (on, off) = (service(true), service(false));
    for (i, op) in ops.iter().enumerate() {
        prop_assert_eq!(run(&on, op), run(&off, op), "answer of step {} {:?}", i, op);
        prop_assert_eq!(
            calls(&on),
            calls(&off),
            "storage calls after step {} {:?}",
            i,
            op
        );
    }
    prop_assert_eq!(
        format!("{:?}", on.stats()),
        format!("{:?}", off.stats()),
        "final stats"
    );
    let stats = on.read_path_stats();
    prop_assert_eq!(stats.stale, 0, "stale copies served");
    prop_assert_eq!(off.read_path_stats().served, 0);
    Ok(stats.served)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn the_read_path_changes_no_answer_call_or_count(ops in prop::collection::vec(op(), 1..80)) {
        agree(&ops)?;
    }
}

/// Repeated reads are served from copies, and only a sync (one call per
/// batch) enters the component for them; with the path off none is served.
#[test]
fn hits_are_served_from_copies_and_replayed_in_batches() {
    let mut ops = vec![Op::SetUserState(1, 0, 1), Op::SetChatSettings(2, 1)];
    for _ in 0..3000 {
        ops.extend([
            Op::GetUserState(1, 0),
            Op::GetChatSettings(2),
            Op::GetUserData(2, 1),
        ]);
    }
    // A write to one entry, evictions by new entries, then the old reads again.
    ops.extend([Op::SetUserState(1, 0, 2), Op::GetUserState(1, 0)]);
    ops.extend((0..4).map(|u| Op::SetUserState(10 + u, 0, 0)));
    ops.extend([Op::GetUserState(1, 0), Op::Stats]);
    let served = agree(&ops).expect("the services agree");
    assert!(
        served >= 8990,
        "served {served} of 9000 repeated reads from copies"
    );
}

/// The bound: a namespace whose entries expire is never copied.
#[test]
fn reads_of_expiring_namespaces_are_not_copied() {
    let s = service(true);
    s.expire_after_write("g", Some(std::time::Duration::from_secs(3600)))
        .expect("g is memory-only");
    s.set("g", "k", "1").expect("set");
    for _ in 0..10 {
        assert_eq!(s.get("g", "k").expect("get").as_deref(), Some("1"));
    }
    assert_eq!(s.read_path_stats().copies, 0);
    assert_eq!(s.read_path_stats().served, 0);
}

/// Hits of several entries between two calls are replayed in the order of
/// their last hits: the least recent one is the one evicted next.
#[test]
fn the_order_of_served_hits_decides_the_next_eviction() {
    for order in [[1, 2], [2, 1]] {
        let mut ops = vec![Op::SetUserState(1, 0, 1), Op::SetUserState(2, 0, 2)];
        // Copies first, then hits served from them in `order`, twice over.
        ops.extend([Op::GetUserState(1, 0), Op::GetUserState(2, 0)]);
        for _ in 0..2 {
            ops.extend(order.map(|u| Op::GetUserState(u, 0)));
        }
        ops.extend([
            Op::SetUserState(3, 0, 3), // evicts order[0]
            Op::GetUserState(1, 0),
            Op::GetUserState(2, 0),
            Op::Stats,
        ]);
        assert!(agree(&ops).expect("the services agree") >= 4);
        let s = service(true);
        for op in &ops[..ops.len() - 3] {
            run(&s, op);
        }
        let evicted = order[0];
        assert_eq!(s.get_user_state(evicted, "0").expect("read"), None);
        assert!(s.get_user_state(order[1], "0").expect("read").is_some());
    }
}

/// Replacing the storage keeps the instance: hits served from copies before the
/// swap are replayed into it, not forgotten with the copies.
#[test]
fn hits_served_before_a_storage_swap_are_counted() {
    for read_path in [false, true] {
        let s = service(read_path);
        s.set("g", "k", "1").expect("set");
        for _ in 0..3 {
            assert_eq!(s.get("g", "k").expect("get").as_deref(), Some("1"));
        }
        s.replace_storage(MockStorage::new()).expect("swap");
        let stats = s.stats().expect("stats");
        let g = stats.iter().find(|n| n.name == "g").expect("g");
        assert_eq!(g.hits, 3, "read path {read_path}");
        assert_eq!(s.read_path_stats().copies, 0, "read path {read_path}");
    }
}

/// A `get-many` whose keys all have copies is served from them, its hits
/// logged in the order of its keys (duplicates included): the first key is
/// the least recent, and the next eviction's victim, as with the path off.
#[test]
fn a_get_many_of_copied_keys_is_served_in_key_order() {
    // "g" holds two entries (table(false)).
    for order in [[0u8, 1, 0, 1], [1, 0, 1, 0]] {
        let mut ops = vec![
            Op::Set("g", 0, 0),
            Op::Set("g", 1, 1),
            Op::GetMany("g", vec![0, 1]), // makes the copies
            Op::GetMany("g", order.to_vec()),
        ];
        let keep = order[3];
        ops.extend([Op::Set("g", 2, 2), Op::Get("g", keep), Op::Stats]);
        assert!(
            agree(&ops).expect("the services agree") >= 4,
            "the second get-many is served from copies"
        );
        let s = service(true);
        for op in &ops[..4] {
            run(&s, op);
        }
        assert_eq!(s.read_path_stats().served, 4);
        s.set("g", "2", "2").expect("set");
        let evicted = order[2];
        assert_eq!(s.get("g", &evicted.to_string()).expect("get"), None);
        assert!(s.get("g", &keep.to_string()).expect("get").is_some());
    }
    // No key has no copy to serve: only the component knows the namespace.
    for read_path in [true, false] {
        let s = service(read_path);
        assert!(
            matches!(s.get_many("nope", &[]), Err(Error::UnknownNamespace(n)) if n == "nope"),
            "read path {read_path}"
        );
    }
}

/// A service over one memory-only namespace "g" of `max_entries`.
fn service_of(max_entries: u32, read_path: bool) -> CacheService<MockStorage> {
    let table = vec![NamespaceConfig {
        name: "g".to_owned(),
        persistence: Persistence::MemoryOnly,
        max_entries,
    }];
    CacheServiceBuilder::new(component_path())
        .runtime(runtime().clone())
        .policy(Policy::new(table).expect("a valid table"))
        .read_path(read_path)
        .build(MockStorage::new())
        .expect("the service starts")
}

/// The replay runs when it must and only then: once per `MAX_PENDING_HITS`
/// entries hit from copies, and before a call that enters the component
/// with hits pending; a call with none pending adds no `sync`.
#[test]
fn hits_are_replayed_at_the_bound_and_before_a_call_only() {
    let n = 2 * MAX_PENDING_HITS + 10;
    let s = service_of(2 * n as u32, true);
    let keys: Vec<String> = (0..n).map(|k| k.to_string()).collect();
    let entries: Vec<(String, String)> = keys.iter().map(|k| (k.clone(), "1".into())).collect();
    let start = s.read_path_stats().syncs;
    s.set_many("g", &entries).expect("set-many");
    for key in &keys {
        s.get("g", key).expect("get"); // makes the copies
    }
    let before = s.read_path_stats();
    // Only the first read follows a change (the set-many): the reads after it
    // entered the component without changing an entry, so need no sync.
    assert_eq!(before.syncs, start + 1, "syncs while making the copies");
    for key in &keys {
        assert_eq!(s.get("g", key).expect("get").as_deref(), Some("1"));
    }
    let after = s.read_path_stats();
    assert_eq!(after.served - before.served, n as u64);
    // The read that finds MAX_PENDING_HITS entries pending replays them first.
    let at_bound = ((n - 1) / MAX_PENDING_HITS) as u64;
    assert_eq!(after.syncs - before.syncs, at_bound, "syncs at the bound");
    s.stats().expect("stats"); // hits pending: replayed first
    assert_eq!(s.read_path_stats().syncs, after.syncs + 1);
    s.stats().expect("stats"); // none pending
    assert_eq!(s.read_path_stats().syncs, after.syncs + 1);
    let g = &s.stats().expect("stats")[0];
    assert_eq!(g.hits, 2 * n as u64, "every hit counted");
    // Repeated hits of one entry take one place in the log: no replay.
    s.get("g", "0").expect("get");
    let syncs = s.read_path_stats().syncs;
    for _ in 0..10 {
        s.get("g", "0").expect("get");
    }
    assert_eq!(
        s.read_path_stats().syncs,
        syncs,
        "repeated hits of one entry"
    );
}

/// With the read path off, reads make no copies and no `sync` runs; turning
/// it off drops the copies and serves no more hits from them.
#[test]
fn a_read_path_turned_off_serves_nothing_and_never_syncs() {
    let off = service_of(10, false);
    for round in 0..3 {
        off.set("g", "k", &round.to_string()).expect("set");
        assert_eq!(off.get("g", "k").expect("get"), Some(round.to_string()));
        assert_eq!(off.get("g", "k").expect("get"), Some(round.to_string()));
    }
    let stats = off.read_path_stats();
    assert!(!stats.enabled);
    assert_eq!((stats.copies, stats.served, stats.syncs), (0, 0, 0));

    let s = service_of(10, true);
    s.set("g", "k", "1").expect("set");
    s.get("g", "k").expect("get");
    s.get("g", "k").expect("get");
    assert_eq!(s.read_path_stats().served, 1);
    s.set_read_path(false);
    for _ in 0..3 {
        assert_eq!(s.get("g", "k").expect("get").as_deref(), Some("1"));
    }
    let stats = s.read_path_stats();
    assert!(!stats.enabled);
    assert_eq!((stats.copies, stats.served), (0, 1));
    assert_eq!(s.stats().expect("stats")[0].hits, 5);
}

/// A copy is kept while its entry is unchanged: a `get-many` that enters the
/// component for another key does not replace it, so a reader keyed by the
/// text's identity (the Python binding's memo) keeps finding it.
#[test]
fn a_copy_outlives_a_get_many_that_enters_the_component() {
    let s = service_of(10, true);
    s.set("g", "a", "1").expect("set");
    s.set("g", "b", "2").expect("set");
    let read = Read::Get {
        namespace: "g",
        key: "a",
    };
    let first = s.read(read).expect("read").expect("a value");
    let keys = ["a".to_owned(), "b".to_owned()];
    assert_eq!(
        s.get_many("g", &keys).expect("get-many"),
        [Some("1".to_owned()), Some("2".to_owned())]
    );
    let again = s.read(read).expect("read").expect("a value");
    assert!(
        std::sync::Arc::ptr_eq(&first, &again),
        "the copy was replaced"
    );
}

/// An attachment that counts its clones alive and holds 1000 bytes.
#[derive(Clone)]
struct Alive(std::sync::Arc<()>);

impl cache_host::Attachment for Alive {
    fn bytes(&self) -> usize {
        1000
    }
}

/// A host's attachment, through a real service: kept with the copy of the very
/// answer it was made from, handed to each hit served from that copy (each
/// hit counted, as by `read`), counted in the read path's bytes, and dropped
/// when a write changes the entry.
/// `with_read_copy` and `attach` never wait: while the service's write-back
/// thread holds it they give up, so the test asks again.
#[test]
fn an_attachment_is_served_with_its_copy_and_dropped_when_the_entry_changes() {
    let s: CacheService<MockStorage, Alive> = CacheServiceBuilder::new(component_path())
        .runtime(runtime().clone())
        .policy(Policy::new(table(false)).expect("a valid table"))
        .build_with_attachments(MockStorage::new())
        .expect("the service starts");
    let alive = Alive(std::sync::Arc::new(()));
    let count = |alive: &Alive| std::sync::Arc::strong_count(&alive.0);
    let read = Read::UserState {
        user_id: 1,
        state_key: "step",
    };
    s.set_user_state(1, "step", "1").unwrap();
    let text = s.read(read).unwrap().expect("the state");
    assert!(!until_some(|| s.with_read_copy(read, |_, a| a.is_some())));
    let stale: std::sync::Arc<str> = std::sync::Arc::from("1");
    assert!(
        s.attach(read, &stale, alive.clone()).is_err(),
        "another text"
    );
    assert_eq!(count(&alive), 1, "handed back and dropped");
    let bare = s.read_path_stats().bytes;
    until_some(|| s.attach(read, &text, alive.clone()).ok());
    assert_eq!(s.read_path_stats().bytes, bare + 1000);
    let served = s.read_path_stats().served;
    let seen = until_some(|| s.with_read_copy(read, |t, a| (t.to_string(), a.is_some())));
    assert_eq!(seen, ("1".to_owned(), true));
    assert_eq!(s.read_path_stats().served, served + 1);
    assert_eq!(count(&alive), 2);

    s.set_user_state(1, "step", "2").unwrap();
    assert_eq!(s.with_read_copy(read, |_, _| ()), None, "a sync is due");
    assert_eq!(s.read(read).unwrap().as_deref(), Some("2"));
    assert_eq!(count(&alive), 1, "dropped with the copy");
    assert_eq!(s.read_path_stats().bytes, bare, "the new copy, bare");
    assert!(!until_some(|| s.with_read_copy(read, |_, a| a.is_some())));
}

/// `f`'s answer, asked until it gives one (a few thousand times at most).
fn until_some<T>(mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..10_000 {
        if let Some(answer) = f() {
            return answer;
        }
        std::thread::yield_now();
    }
    panic!("no answer in 10000 attempts");
}

/// A bare component whose one namespace, `n`, is memory-only and holds
/// `max_entries`.
fn memory_only_n(max_entries: u32) -> anyhow::Result<cache_tests::Harness> {
    let mut h = cache_tests::Harness::new()?;
    h.configure(&[NamespaceConfig {
        name: "n".into(),
        max_entries,
        persistence: Persistence::MemoryOnly,
    }])
    .map_err(cache_tests::trap)?
    .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    Ok(h)
}

/// The counters of namespace `n`.
fn stats_of_n(h: &mut cache_tests::Harness) -> anyhow::Result<cache_tests::NamespaceStats> {
    let stats = h.stats().map_err(cache_tests::trap)?;
    stats
        .into_iter()
        .find(|n| n.name == "n")
        .ok_or_else(|| anyhow::anyhow!("no namespace n"))
}

/// `sync` reads a hit batch as three numbers per entry: the entries it cannot
/// read (a namespace outside the batch, a key cut inside a character, numbers
/// left over) are counted stale, and the others are replayed with their hits.
#[test]
fn sync_counts_the_entries_it_cannot_read_and_replays_the_rest() -> anyhow::Result<()> {
    use cache_host::bindings::exports::gromozeka::cache::types::HitBatch;
    use cache_tests::trap;
    let mut h = memory_only_n(10)?;
    let (b, s) = h.parts();
    b.gromozeka_cache_cache()
        .call_set(&mut *s, "n", "a", "1")
        .map_err(trap)?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let batch = HitBatch {
        namespaces: vec!["n".into()],
        // "a" twice; "b" in namespace 5; "a" four times; one byte of "é"; two numbers.
        entries: vec![0, 1, 2, 5, 1, 1, 0, 1, 4, 0, 1, 1, 0, 1],
        keys: "abaé".into(),
        handles: Vec::new(),
    };
    let report = b
        .gromozeka_cache_cache()
        .call_sync(&mut *s, &batch)
        .map_err(trap)?;
    assert_eq!(report.stale, 3);
    let n = stats_of_n(&mut h)?;
    assert_eq!((n.hits, n.misses), (6, 0));
    Ok(())
}

/// A `sync` returns each readable entry's handle; a later batch that names
/// the entry by it replays it as its key would, and a handle that names no
/// held entry (a wrong generation, a removed entry, a slot out of range), a
/// handle given with a key length, and handles that are not two per entry are
/// counted stale, changing nothing.
#[test]
fn sync_replays_entries_named_by_their_handles() -> anyhow::Result<()> {
    use cache_host::bindings::exports::gromozeka::cache::types::HitBatch;
    use cache_tests::trap;
    const NONE: u32 = u32::MAX;
    let mut h = memory_only_n(2)?;
    let (b, s) = h.parts();
    let cache = b.gromozeka_cache_cache();
    for key in ["a", "b"] {
        cache
            .call_set(&mut *s, "n", key, "1")
            .map_err(trap)?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let by_key = HitBatch {
        namespaces: vec!["n".into()],
        entries: vec![0, 1, 1, 0, 1, 1],
        keys: "ab".into(),
        handles: vec![NONE; 4],
    };
    let report = cache.call_sync(&mut *s, &by_key).map_err(trap)?;
    assert_eq!(report.stale, 0);
    let [a_slot, a_gen, b_slot, b_gen] = report.handles[..] else {
        panic!("two numbers per entry: {:?}", report.handles);
    };
    assert_ne!((a_slot, a_gen), (b_slot, b_gen));
    // a, by its handle, becomes the most recent: the next write evicts b.
    let by_handle = HitBatch {
        namespaces: vec!["n".into()],
        entries: vec![0, 0, 3],
        keys: String::new(),
        handles: vec![a_slot, a_gen],
    };
    let report = cache.call_sync(&mut *s, &by_handle).map_err(trap)?;
    assert_eq!(
        (report.stale, &report.handles[..]),
        (0, &[a_slot, a_gen][..])
    );
    cache
        .call_set(&mut *s, "n", "c", "1")
        .map_err(trap)?
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(
        cache
            .call_get(&mut *s, "n", "a")
            .map_err(trap)?
            .ok()
            .flatten()
            .as_deref(),
        Some("1")
    );
    assert_eq!(
        cache
            .call_get(&mut *s, "n", "b")
            .map_err(trap)?
            .ok()
            .flatten(),
        None
    );
    let stale = |handles: Vec<u32>, entries: Vec<u32>| HitBatch {
        namespaces: vec!["n".into()],
        entries,
        keys: String::new(),
        handles,
    };
    let batches = [
        // b was evicted: its slot names nothing, or c with another generation.
        stale(vec![b_slot, b_gen], vec![0, 0, 1]),
        stale(vec![a_slot, a_gen.wrapping_add(1)], vec![0, 0, 1]),
        stale(vec![1000, 0], vec![0, 0, 1]),
        // Three numbers of handles for two entries.
        stale(vec![a_slot, a_gen, a_slot], vec![0, 0, 1, 0, 0, 1]),
        // A handle with a key length.
        stale(vec![a_slot, a_gen], vec![0, 1, 1]),
    ];
    for batch in &batches {
        let report = cache.call_sync(&mut *s, batch).map_err(trap)?;
        assert_eq!(
            report.stale,
            u32::try_from(batch.entries.len() / 3)?,
            "{batch:?}"
        );
    }
    let n = stats_of_n(&mut h)?;
    // 2 by key, 3 by handle, 1 `get` of a; no stale batch counted any.
    assert_eq!((n.hits, n.misses, n.evictions), (6, 1, 1));
    Ok(())
}
