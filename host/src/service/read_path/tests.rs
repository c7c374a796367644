//! Unit tests of the read path's bookkeeping (the copies, their bytes, the
//! pending hits); `tests/read_path.rs` checks it through the real component.

use super::*;

fn get(key: &str) -> Read<&str> {
    Read::Get {
        namespace: "g",
        key,
    }
}

/// A `sync` that found stale copies counts them and drops every copy;
/// one that found none keeps the copies.
#[test]
fn stale_copies_are_counted_and_dropped() {
    let mut path = ReadPath::<()>::new(true);
    path.insert(get("k"), &Arc::from("1"), |_| false, 10);
    let clean = SyncReport {
        changes: Vec::new(),
        stale: 0,
        handles: Vec::new(),
    };
    path.synced(clean);
    let stats = path.stats();
    assert_eq!((stats.copies, stats.stale, stats.syncs), (1, 0, 1));
    path.synced(SyncReport {
        changes: Vec::new(),
        stale: 2,
        handles: Vec::new(),
    });
    let stats = path.stats();
    assert_eq!((stats.copies, stats.stale, stats.syncs), (0, 2, 2));
    assert_eq!(stats.bytes, 0);
}

/// The bytes counted are those of the copies held: a copy replaced is not
/// counted twice, and past the bound every copy goes first.
#[test]
fn copies_are_counted_once_and_bounded() {
    let mut path = ReadPath::<()>::new(true);
    path.insert(get("a"), &Arc::from("1"), |_| false, 1);
    let one = path.stats().bytes;
    assert_eq!(one, (COPY_OVERHEAD + "ga1".len()) as u64);
    path.insert(get("a"), &Arc::from("1"), |_| false, 1);
    assert_eq!((path.stats().copies, path.stats().bytes), (1, one));
    path.insert(get("b"), &Arc::from("1"), |_| false, 1);
    assert_eq!((path.stats().copies, path.stats().bytes), (2, 2 * one));
    path.insert(get("c"), &Arc::from("1"), |_| false, 1);
    assert_eq!((path.stats().copies, path.stats().bytes), (1, one));
    path.insert(get("d"), &Arc::from("1"), |namespace| namespace == "g", 1);
    assert_eq!(
        path.stats().copies,
        1,
        "an expiring namespace is not copied"
    );
}

/// The entries named by a batch, with their hits, in order.
fn replayed(batch: &HitBatch) -> Vec<(String, String, u32)> {
    let mut at = 0;
    let mut out = Vec::new();
    for entry in batch.entries.chunks_exact(3) {
        let &[namespace, len, hits] = entry else {
            unreachable!("chunks of three")
        };
        let key = &batch.keys[at..at + len as usize];
        at += len as usize;
        out.push((
            batch.namespaces[namespace as usize].clone(),
            key.to_string(),
            hits,
        ));
    }
    out
}

/// An entry whose copies go while its hits are pending is still replayed
/// under its own name, its slot is not given to another entry before
/// that, and is reused after.
#[test]
fn pending_hits_outlive_their_copies() {
    let mut path = ReadPath::<()>::new(true);
    path.insert(get("a"), &Arc::from("1"), |_| false, 10);
    path.insert(get("b"), &Arc::from("2"), |_| false, 10);
    for key in ["a", "b", "a"] {
        assert!(matches!(path.lookup(get(key), text_of), Lookup::Served(_)));
    }
    path.synced(SyncReport {
        changes: vec![Change::Entry(("g".into(), "a".into()))],
        stale: 0,
        handles: Vec::new(),
    });
    assert_eq!(path.stats().copies, 1);
    path.insert(get("c"), &Arc::from("3"), |_| false, 10);
    assert!(matches!(path.lookup(get("c"), text_of), Lookup::Served(_)));
    let batch = path.take_hits();
    assert_eq!(
        replayed(&batch),
        [("g", "b", 1), ("g", "a", 2), ("g", "c", 1)].map(|(n, k, h)| (
            n.to_string(),
            k.to_string(),
            h
        ))
    );
    assert_eq!(
        path.entries.capacity(),
        3,
        "c took a new slot while a's hits were pending"
    );
    path.insert(get("d"), &Arc::from("4"), |_| false, 10);
    assert_eq!(
        path.entries.capacity(),
        3,
        "d reuses a's slot, freed by the replay"
    );
    assert!(matches!(path.lookup(get("d"), text_of), Lookup::Served(_)));
    assert_eq!(
        replayed(&path.take_hits()),
        [("g".to_string(), "d".to_string(), 1)]
    );
}

/// With every copy dropped, pending hits are still replayed; a reset
/// forgets them with the instance they belonged to.
#[test]
fn dropping_every_copy_keeps_pending_hits_and_a_reset_forgets_them() {
    let mut path = ReadPath::<()>::new(true);
    path.insert(get("a"), &Arc::from("1"), |_| false, 10);
    assert!(matches!(path.lookup(get("a"), text_of), Lookup::Served(_)));
    path.set_enabled(false);
    assert!(matches!(path.lookup(get("a"), text_of), Lookup::Absent));
    assert!(path.has_pending_hits());
    assert_eq!(
        replayed(&path.take_hits()),
        [("g".to_string(), "a".to_string(), 1)]
    );
    assert!(!path.has_pending_hits());
    path.set_enabled(true);
    path.insert(get("a"), &Arc::from("1"), |_| false, 10);
    assert!(matches!(path.lookup(get("a"), text_of), Lookup::Served(_)));
    path.reset();
    assert!(!path.has_pending_hits());
    assert_eq!(path.stats().copies, 0);
    assert!(path.take_hits().entries.is_empty());
}

/// A change of an entry drops every copy read from it, also after one of
/// them was made again.
#[test]
fn a_changed_entry_drops_all_its_copies() {
    let mut path = ReadPath::<()>::new(true);
    let state = |state_key| Read::UserState {
        user_id: 1,
        state_key,
    };
    for key in ["a", "b", "a"] {
        path.insert(state(key), &Arc::from("1"), |_| false, 10);
    }
    assert_eq!(path.stats().copies, 2);
    let counted = 2 * (COPY_OVERHEAD + "a1".len()) as u64;
    assert_eq!(path.stats().bytes, counted, "a state key and its text");
    let changed = state("a");
    let (namespace, key) = changed.entry();
    path.synced(SyncReport {
        changes: vec![Change::Entry((namespace.to_string(), key.to_string()))],
        stale: 0,
        handles: Vec::new(),
    });
    assert_eq!((path.stats().copies, path.stats().bytes), (0, 0));
}

/// An attachment that counts its clones alive and holds 1000 bytes.
#[derive(Clone)]
struct Alive(Arc<()>);

impl Attachment for Alive {
    fn bytes(&self) -> usize {
        1000
    }
}

/// An attachment is kept only with the copy of the very text it was made
/// from, is handed to each hit of that copy, is counted in the copies'
/// bytes while kept, and goes with the copy.
#[test]
fn attachments_go_with_their_copy() {
    let alive = Alive(Arc::new(()));
    let count = |alive: &Alive| Arc::strong_count(&alive.0);
    let mut path = ReadPath::<Alive>::new(true);
    let text: Arc<str> = Arc::from("1");
    assert!(
        path.attach(get("a"), &text, alive.clone()).is_err(),
        "no copy yet"
    );
    path.insert(get("a"), &text, |_| false, 10);
    let bare = path.stats().bytes;
    let other: Arc<str> = Arc::from("1");
    assert!(
        path.attach(get("a"), &other, alive.clone()).is_err(),
        "another text"
    );
    assert_eq!(count(&alive), 1);
    assert_eq!(path.stats().bytes, bare);
    assert!(path.attach(get("a"), &text, alive.clone()).is_ok());
    assert_eq!(path.stats().bytes, bare + 1000);
    assert!(path.attach(get("a"), &text, alive.clone()).is_ok());
    assert_eq!(path.stats().bytes, bare + 1000, "a replaced attachment");
    let seen = |path: &mut ReadPath<Alive>| match path.lookup(get("a"), |_, a| a.is_some()) {
        Lookup::Served(seen) => seen,
        _ => panic!("the copy was not served"),
    };
    assert!(seen(&mut path) && seen(&mut path));
    assert_eq!(count(&alive), 2);
    path.insert(get("b"), &Arc::from("2"), |_| false, 10);
    path.synced(SyncReport {
        changes: vec![Change::Entry(("g".into(), "a".into()))],
        stale: 0,
        handles: Vec::new(),
    });
    assert_eq!(count(&alive), 1, "dropped with a's copy");
    assert_eq!(path.stats().bytes, bare, "b's copy alone");
    path.insert(get("a"), &text, |_| false, 10);
    assert!(path.attach(get("a"), &text, alive.clone()).is_ok());
    path.insert(get("a"), &Arc::from("3"), |_| false, 10);
    assert_eq!(count(&alive), 1, "dropped with a replaced copy");
    assert_eq!(path.stats().bytes, 2 * bare);
}

/// A `sync`'s handles name the batch's entries in the next batches, without
/// their keys; an entry given no handle, or that changed (its slot freed), is
/// named by its key again.
#[test]
fn handles_from_a_sync_name_entries_in_later_batches() {
    let mut path = ReadPath::<()>::new(true);
    for key in ["a", "b"] {
        path.insert(get(key), &Arc::from("1"), |_| false, 10);
    }
    let hit = |path: &mut ReadPath<()>, keys: &[&str]| {
        for key in keys {
            assert!(matches!(path.lookup(get(key), text_of), Lookup::Served(_)));
        }
        path.take_hits()
    };
    let first = hit(&mut path, &["a", "b"]);
    assert_eq!(first.keys, "ab");
    assert_eq!(first.handles, [NO_HANDLE; 4]);
    path.synced(SyncReport {
        changes: Vec::new(),
        stale: 0,
        handles: vec![7, 1, 9, 2],
    });
    let second = hit(&mut path, &["b", "a"]);
    assert_eq!(second.keys, "", "both named by handle");
    assert_eq!(second.entries, [0, 0, 1, 0, 0, 1]);
    assert_eq!(second.handles, [9, 2, 7, 1]);
    // The component no longer gives a a handle: it is named by its key again.
    path.synced(SyncReport {
        changes: Vec::new(),
        stale: 0,
        handles: vec![9, 2, NO_HANDLE, NO_HANDLE],
    });
    let third = hit(&mut path, &["a", "b"]);
    assert_eq!(third.keys, "a");
    assert_eq!(third.entries, [0, 1, 1, 0, 0, 1]);
    assert_eq!(third.handles, [NO_HANDLE, NO_HANDLE, 9, 2]);
    // b changed: its slot goes with its copy, and so does its handle.
    path.synced(SyncReport {
        changes: vec![Change::Entry(("g".into(), "b".into()))],
        stale: 0,
        handles: vec![7, 1, 9, 2],
    });
    path.insert(get("b"), &Arc::from("2"), |_| false, 10);
    let fourth = hit(&mut path, &["b", "a"]);
    assert_eq!(fourth.keys, "b");
    assert_eq!(fourth.entries, [0, 1, 1, 0, 0, 1]);
    assert_eq!(fourth.handles, [NO_HANDLE, NO_HANDLE, 7, 1]);
}
