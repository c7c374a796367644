//! What a host read path relies on: the change journal names every entry that
//! changed or left memory, and a replayed hit is exactly the cache's own hit.

use cache_core::{
    BotCache, Cache, Change, Handle, MemoryStorage, Named, NamespaceConfig, Persistence, Read,
    Replayed, MAX_JOURNALED_KEYS,
};

/// [`crate::support::one_namespace`], its journal emptied.
fn cache(max_entries: u32, persistence: Persistence) -> Cache<MemoryStorage> {
    let mut cache = crate::support::one_namespace(max_entries, persistence);
    assert_eq!(cache.take_changes(), [Change::Everything]);
    cache
}

fn entry(key: &str) -> Change {
    Change::Entry {
        namespace: "n".into(),
        key: key.into(),
    }
}

/// Replays `hits` named by their keys; the stale count.
fn replay(c: &mut Cache<MemoryStorage>, namespaces: &[&str], hits: &[(u32, &str, u32)]) -> u32 {
    replay_keys(c, namespaces, hits).stale
}

fn replay_keys(
    c: &mut Cache<MemoryStorage>,
    namespaces: &[&str],
    hits: &[(u32, &str, u32)],
) -> Replayed {
    let named: Vec<_> = hits
        .iter()
        .map(|&(n, k, h)| (n, Named::Key(k), h))
        .collect();
    c.replay(namespaces, &named)
}

fn set(c: &mut Cache<MemoryStorage>, key: &str) {
    c.set("n", key.into(), "1".into()).expect("set");
}

#[test]
fn writes_deletes_and_evictions_are_named_once_each_then_forgotten() {
    let mut c = cache(2, Persistence::MemoryOnly);
    set(&mut c, "a");
    set(&mut c, "b");
    c.get("n", "a").expect("get");
    set(&mut c, "c"); // evicts b, the least recent
    assert_eq!(
        c.take_changes(),
        [entry("a"), entry("b"), entry("c"), entry("b")]
    );
    assert_eq!(c.take_changes(), []);
    c.get("n", "a").expect("a hit changes nothing");
    assert_eq!(c.take_changes(), []);
    c.delete("n", "a").expect("delete");
    assert_eq!(c.take_changes(), [entry("a")]);
}

#[test]
fn clears_forgets_and_a_new_table_are_named() {
    let mut c = cache(5, Persistence::OnChange);
    set(&mut c, "a");
    set(&mut c, "b");
    c.take_changes();
    assert!(c.forget("n", "a"));
    assert_eq!(c.take_changes(), [entry("a")]);
    c.forget_namespace("n");
    assert_eq!(c.take_changes(), [Change::Namespace("n".into())]);
    set(&mut c, "b");
    c.take_changes();
    assert_eq!(c.forget_all(), 1);
    assert_eq!(c.take_changes(), [entry("b")]);
    set(&mut c, "b");
    c.clear_namespace("n").expect("clear");
    // A whole namespace supersedes its keys.
    assert_eq!(c.take_changes(), [Change::Namespace("n".into())]);
    c.configure(vec![NamespaceConfig {
        name: "n".into(),
        max_entries: 5,
        persistence: Persistence::MemoryOnly,
    }])
    .expect("configure");
    assert_eq!(c.take_changes(), [Change::Everything]);
    c.expire_after_write("n", Some(10)).expect("memory-only");
    assert_eq!(c.take_changes(), [Change::Namespace("n".into())]);
}

#[test]
fn expired_entries_are_named() {
    let mut c = cache(5, Persistence::MemoryOnly);
    c.expire_after_write("n", Some(10)).expect("memory-only");
    set(&mut c, "a");
    c.take_changes();
    c.set_time(10);
    assert_eq!(c.get("n", "a").expect("get"), None);
    assert_eq!(c.take_changes(), [entry("a")]);
}

#[test]
fn a_full_journal_collapses_into_its_namespace() {
    let mut c = cache(10_000, Persistence::MemoryOnly);
    for i in 0..MAX_JOURNALED_KEYS {
        set(&mut c, &i.to_string());
    }
    assert_eq!(c.take_changes().len(), MAX_JOURNALED_KEYS);
    for i in 0..=MAX_JOURNALED_KEYS {
        set(&mut c, &i.to_string());
    }
    assert_eq!(c.take_changes(), [Change::Namespace("n".into())]);
    set(&mut c, "x");
    assert_eq!(c.take_changes(), [entry("x")]);
}

#[test]
fn a_replayed_hit_is_the_caches_own_hit() {
    let mut replayed = cache(2, Persistence::MemoryOnly);
    let mut direct = cache(2, Persistence::MemoryOnly);
    for c in [&mut replayed, &mut direct] {
        set(c, "a");
        set(c, "b");
    }
    assert_eq!(replay(&mut replayed, &["n"], &[(0, "a", 2)]), 0);
    direct.get("n", "a").expect("get");
    direct.get("n", "a").expect("get");
    for c in [&mut replayed, &mut direct] {
        set(c, "c"); // evicts b: a was made more recent
        assert_eq!(c.get("n", "b").expect("get"), None);
        assert_eq!(c.get("n", "a").expect("get").as_deref(), Some("1"));
    }
    assert_eq!(replayed.stats(), direct.stats());
    assert_eq!(replayed.stats()[0].hits, 3);
}

#[test]
fn replaying_entries_in_the_order_of_their_last_hits_is_replaying_every_hit() {
    let mut replayed = cache(3, Persistence::MemoryOnly);
    let mut direct = cache(3, Persistence::MemoryOnly);
    for c in [&mut replayed, &mut direct] {
        for key in ["a", "b", "c"] {
            set(c, key);
        }
    }
    // Hits a, b, a, c, a, b: last uses in the order c, a, b.
    for key in ["a", "b", "a", "c", "a", "b"] {
        direct.get("n", key).expect("get");
    }
    assert_eq!(
        replay(
            &mut replayed,
            &["n"],
            &[(0, "c", 1), (0, "a", 3), (0, "b", 2)]
        ),
        0
    );
    for c in [&mut replayed, &mut direct] {
        set(c, "d"); // evicts c, the least recent
        set(c, "e"); // then a
        assert_eq!(c.get("n", "b").expect("get").as_deref(), Some("1"));
        assert_eq!(c.get("n", "c").expect("get"), None);
        assert_eq!(c.get("n", "a").expect("get"), None);
    }
    assert_eq!(replayed.stats(), direct.stats());
    assert_eq!(replayed.stats()[0].hits, 7);
}

#[test]
fn a_replayed_hit_of_an_absent_entry_is_stale_and_counts_nothing() {
    let mut c = cache(2, Persistence::MemoryOnly);
    set(&mut c, "a");
    assert_eq!(
        // An absent key, an unknown namespace, an index outside the list.
        replay(
            &mut c,
            &["n", "nope"],
            &[(0, "zz", 1), (1, "a", 1), (2, "a", 1), (0, "a", 1)]
        ),
        3
    );
    let stats = &c.stats()[0];
    assert_eq!((stats.hits, stats.misses), (1, 0));
}

#[test]
fn a_replayed_hit_of_an_expired_entry_drops_it_and_is_stale() {
    let mut c = cache(2, Persistence::MemoryOnly);
    c.expire_after_write("n", Some(10)).expect("memory-only");
    set(&mut c, "a");
    c.set_time(10);
    assert_eq!(replay(&mut c, &["n"], &[(0, "a", 1)]), 1);
    assert_eq!(c.stats()[0].expirations, 1);
    assert_eq!(c.stats()[0].size, 0);
}

/// Entries named by the handles a replay by key gave replay as their keys
/// would; a handle names nothing once its entry has left (evicted here, its
/// slot taken by another key), and an expired entry named by its handle is
/// dropped, as by its key.
#[test]
fn a_replay_by_handles_is_a_replay_by_keys() {
    let mut replayed = cache(3, Persistence::MemoryOnly);
    let mut direct = cache(3, Persistence::MemoryOnly);
    for c in [&mut replayed, &mut direct] {
        for key in ["a", "b", "c"] {
            set(c, key);
        }
    }
    let first = replay_keys(
        &mut replayed,
        &["n"],
        &[(0, "a", 1), (0, "b", 1), (0, "c", 1)],
    );
    let handles: Vec<Handle> = first.handles.iter().flatten().copied().collect();
    let [a, b, c] = handles[..] else {
        panic!("a handle per entry: {first:?}");
    };
    // Then b, a by handle: c is the least recent.
    let again = replayed.replay(
        &["n"],
        &[(0, Named::<&str>::Handle(b), 2), (0, Named::Handle(a), 1)],
    );
    assert_eq!(
        again,
        Replayed {
            stale: 0,
            handles: vec![Some(b), Some(a)]
        }
    );
    for key in ["a", "b", "c", "b", "b", "a"] {
        direct.get("n", key).expect("get");
    }
    for cache in [&mut replayed, &mut direct] {
        set(cache, "d"); // evicts c
        assert_eq!(cache.get("n", "c").expect("get"), None);
    }
    assert_eq!(replayed.stats(), direct.stats());
    let gone = replayed.replay(&["n"], &[(0, Named::<&str>::Handle(c), 1)]);
    assert_eq!(
        gone,
        Replayed {
            stale: 1,
            handles: vec![None]
        }
    );
    assert_eq!(
        replayed.stats(),
        direct.stats(),
        "a stale handle counts nothing"
    );

    let mut expiring = cache(2, Persistence::MemoryOnly);
    expiring
        .expire_after_write("n", Some(10))
        .expect("memory-only");
    set(&mut expiring, "a");
    let a = replay_keys(&mut expiring, &["n"], &[(0, "a", 1)]).handles[0].expect("held");
    expiring.set_time(10);
    let late = expiring.replay(&["n"], &[(0, Named::<&str>::Handle(a), 1)]);
    assert_eq!(late.stale, 1);
    assert_eq!(
        (expiring.stats()[0].expirations, expiring.stats()[0].size),
        (1, 0)
    );
}

#[test]
fn each_bot_read_comes_from_its_entry() {
    let cases: [(Read, (&str, &str)); 5] = [
        (
            Read::Get {
                namespace: "g".into(),
                key: "k".into(),
            },
            ("g", "k"),
        ),
        (Read::ChatSettings(-5), ("chats", "-5")),
        (Read::ChatInfo(7), ("chats", "7")),
        (
            Read::UserData {
                chat_id: -5,
                user_id: 3,
            },
            ("chatUsers", "-5:3"),
        ),
        (
            Read::UserState {
                user_id: 3,
                state_key: "s".into(),
            },
            ("users", "3"),
        ),
    ];
    for (read, (namespace, key)) in cases {
        let (ns, k) = read.entry();
        assert_eq!((ns, k.as_str()), (namespace, key), "{read:?}");
    }
    // And they are the entries the bot's API writes.
    let mut bot = BotCache::new(MemoryStorage::new());
    bot.get_user_data(-5, 3).expect("cached");
    bot.cache().take_changes();
    bot.set_user_state(3, "s", "1").expect("set");
    bot.set_user_data(-5, 3, "k", "1").expect("set");
    bot.set_chat_info(7, "{}").expect("set");
    let named: Vec<Change> = bot.cache().take_changes();
    // In the namespaces' order.
    let expected: Vec<Change> = [("chats", "7"), ("chatUsers", "-5:3"), ("users", "3")]
        .iter()
        .map(|(n, k)| Change::Entry {
            namespace: (*n).into(),
            key: (*k).into(),
        })
        .collect();
    assert_eq!(named, expected);
}

#[test]
fn a_borrowed_read_finds_exactly_its_owned_twin() {
    let borrowed: [Read<&str>; 6] = [
        Read::Get {
            namespace: "g",
            key: "k",
        },
        Read::Get {
            namespace: "gk",
            key: "",
        },
        Read::ChatSettings(1),
        Read::ChatInfo(1),
        Read::UserData {
            chat_id: 1,
            user_id: 2,
        },
        Read::UserState {
            user_id: 1,
            state_key: "s",
        },
    ];
    let mut map: hashbrown::HashMap<Read<Box<str>>, usize> = hashbrown::HashMap::new();
    for (i, read) in borrowed.into_iter().enumerate() {
        map.insert(read.into_owned(), i);
    }
    for (i, read) in borrowed.into_iter().enumerate() {
        assert_eq!(map.get(&read), Some(&i), "{read:?}");
        assert_eq!(read.into_owned().namespace(), read.namespace());
    }
    // Every pair, including those of one variant that differ in one field.
    let mut all = borrowed.to_vec();
    all.extend([
        Read::Get {
            namespace: "g",
            key: "K",
        },
        Read::Get {
            namespace: "G",
            key: "k",
        },
        Read::ChatSettings(2),
        Read::ChatInfo(2),
        Read::UserData {
            chat_id: 2,
            user_id: 2,
        },
        Read::UserData {
            chat_id: 1,
            user_id: 1,
        },
        Read::UserState {
            user_id: 2,
            state_key: "s",
        },
        Read::UserState {
            user_id: 1,
            state_key: "t",
        },
    ]);
    for (i, a) in all.iter().enumerate() {
        for (j, b) in all.iter().enumerate() {
            let owned = b.into_owned();
            assert_eq!(
                hashbrown::Equivalent::equivalent(a, &owned),
                i == j,
                "{a:?} ~ {b:?}"
            );
            // Any owned string type a host keeps its reads in.
            assert_eq!(
                a.matches(&b.map_strings(String::from)),
                i == j,
                "{a:?} ~ {b:?}"
            );
        }
    }
    for near in [
        Read::Get {
            namespace: "g",
            key: "K",
        },
        Read::UserData {
            chat_id: 2,
            user_id: 1,
        },
        Read::UserState {
            user_id: 2,
            state_key: "s",
        },
        Read::ChatSettings(2),
    ] {
        assert_eq!(map.get(&near), None, "{near:?}");
    }
}

/// A call by WIT name is the read its typed method makes, for the five reads a
/// host may serve from copies, and no read for anything else.
#[test]
fn calls_by_name_map_to_their_reads() {
    use serde_json::json;
    let args = [json!("users"), json!("k")];
    assert_eq!(
        Read::of_call("cache.get", &args),
        Some(Read::Get {
            namespace: "users",
            key: "k"
        })
    );
    let ids = [json!(-100), json!("42")];
    assert_eq!(
        Read::of_call("bot.get-chat-settings", &ids),
        Some(Read::ChatSettings(-100))
    );
    assert_eq!(
        Read::of_call("bot.get-chat-info", &ids),
        Some(Read::ChatInfo(-100))
    );
    assert_eq!(
        Read::of_call("bot.get-user-data", &ids),
        Some(Read::UserData {
            chat_id: -100,
            user_id: 42
        })
    );
    let state = [json!("-7"), json!("step")];
    assert_eq!(
        Read::of_call("bot.get-user-state", &state),
        Some(Read::UserState {
            user_id: -7,
            state_key: "step"
        })
    );
    for (name, args) in [
        ("cache.set", &args[..]),
        ("cache.get", &args[..1]),
        ("bot.get-user-data", &ids[..1]),
        ("bot.get-chat-info", &[json!("x")][..]),
        ("bot.get-user-state", &[json!(1), json!(2)][..]),
        ("cache.get-many", &args[..]),
    ] {
        assert_eq!(Read::of_call(name, args), None, "{name} {args:?}");
    }
}
