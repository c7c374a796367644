//! [`LruMap`] against the `lru` crate, which the cache used before it: the
//! same operations leave the same entries in the same order. Handles are
//! checked against the keys they were given for.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

/// One operation on both maps. Keys are few, so operations meet.
#[derive(Clone, Debug)]
enum Op {
    Put(u8, u32),
    Get(u8),
    Peek(u8),
    PeekMut(u8, u32),
    Pop(u8),
    PopLru,
    Demote(u8),
    Contains(u8),
    Touch(u8),
    /// Touches by the handle last given for the key, if any.
    TouchAt(u8),
    Clear,
}

fn op() -> impl Strategy<Value = Op> {
    let key = 0u8..12;
    prop_oneof![
        4 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::Put(k, v)),
        3 => key.clone().prop_map(Op::Get),
        1 => key.clone().prop_map(Op::Peek),
        1 => (key.clone(), any::<u32>()).prop_map(|(k, v)| Op::PeekMut(k, v)),
        2 => key.clone().prop_map(Op::Pop),
        1 => Just(Op::PopLru),
        1 => key.clone().prop_map(Op::Demote),
        1 => key.clone().prop_map(Op::Contains),
        2 => key.clone().prop_map(Op::Touch),
        3 => key.prop_map(Op::TouchAt),
        1 => Just(Op::Clear),
    ]
}

/// A key of the tests: some inline in a `SmolStr`, some on the heap.
fn name(k: u8) -> String {
    if k.is_multiple_of(3) {
        format!("a key long enough to live on the heap {k}")
    } else {
        format!("k{k}")
    }
}

/// The entries most recent first, as both maps list them.
fn order(map: &LruMap<u32>) -> Vec<(String, u32)> {
    map.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

fn oracle_order(map: &lru::LruCache<String, u32>) -> Vec<(String, u32)> {
    map.iter().map(|(k, v)| (k.clone(), *v)).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Every operation answers as `lru`'s does and leaves the same entries in
    /// the same order, from both ends; a handle names its entry while it is
    /// held and nothing once it has left, even if its slot is reused.
    #[test]
    fn behaves_as_the_lru_crate(ops in proptest::collection::vec(op(), 1..200)) {
        let mut map = LruMap::<u32>::default();
        let mut oracle = lru::LruCache::<String, u32>::unbounded();
        let mut handles: HashMap<u8, Handle> = HashMap::new();
        for op in ops {
            match op {
                Op::Put(k, v) => {
                    prop_assert_eq!(map.put(SmolStr::new(name(k)), v), oracle.put(name(k), v));
                }
                Op::Get(k) => prop_assert_eq!(map.get(&name(k)), oracle.get(&name(k))),
                Op::Peek(k) => prop_assert_eq!(map.peek(&name(k)), oracle.peek(&name(k))),
                Op::PeekMut(k, v) => {
                    let ours = map.peek_mut(&name(k)).map(|held| std::mem::replace(held, v));
                    let theirs = oracle.peek_mut(&name(k)).map(|held| std::mem::replace(held, v));
                    prop_assert_eq!(ours, theirs);
                }
                Op::Pop(k) => prop_assert_eq!(map.pop(&name(k)), oracle.pop(&name(k))),
                Op::PopLru => {
                    let ours = map.pop_lru().map(|(k, v)| (k.to_string(), v));
                    prop_assert_eq!(ours, oracle.pop_lru());
                }
                Op::Demote(k) => {
                    map.demote(&name(k));
                    oracle.demote(&name(k));
                }
                Op::Contains(k) => prop_assert_eq!(map.contains(&name(k)), oracle.contains(&name(k))),
                Op::Touch(k) => {
                    let ours = map.touch(&name(k)).map(|(h, v)| (h, *v));
                    prop_assert_eq!(ours.map(|(_, v)| v), oracle.get(&name(k)).copied());
                    if let Some((handle, _)) = ours {
                        prop_assert_eq!(map.key_at(handle).map(|k| k.to_string()), Some(name(k)));
                        handles.insert(k, handle);
                    }
                }
                Op::TouchAt(k) => {
                    if let Some(&handle) = handles.get(&k) {
                        // The handle's entry is still held exactly when a
                        // removal of the key has not come between.
                        let ours = map.touch_at(handle).map(|v| *v);
                        if let Some(v) = ours {
                            prop_assert_eq!(Some(&v), oracle.get(&name(k)));
                        } else {
                            handles.remove(&k);
                        }
                    }
                }
                Op::Clear => {
                    map.clear();
                    oracle.clear();
                }
            }
            prop_assert_eq!(map.len(), oracle.len());
            prop_assert_eq!(order(&map), oracle_order(&oracle));
            let backwards: Vec<_> = map.iter().rev().map(|(k, v)| (k.to_string(), *v)).collect();
            let theirs: Vec<_> = oracle.iter().rev().map(|(k, v)| (k.clone(), *v)).collect();
            prop_assert_eq!(backwards, theirs);
            for (k, handle) in &handles {
                // A handle given for a key names that key or nothing.
                if let Some(held) = map.key_at(*handle) {
                    prop_assert_eq!(held.to_string(), name(*k));
                }
            }
        }
    }
}

/// A handle names nothing once its entry has left, though a new entry
/// takes the same slot; the new entry's handle differs.
#[test]
fn a_handle_outliving_its_entry_names_nothing() {
    let mut map = LruMap::<u32>::default();
    map.put(SmolStr::new("a"), 1);
    let Some((old, _)) = map.touch("a") else {
        panic!("a is held")
    };
    assert_eq!(map.pop("a"), Some(1));
    map.put(SmolStr::new("b"), 2);
    let Some((new, _)) = map.touch("b") else {
        panic!("b is held")
    };
    assert_eq!(new.slot, old.slot, "the freed slot is reused");
    assert_ne!(new, old);
    assert_eq!(map.touch_at(old), None);
    assert_eq!(map.key_at(old), None);
    assert_eq!(map.touch_at(new).copied(), Some(2));
    map.clear();
    assert_eq!(map.touch_at(new), None);
    assert_eq!(map.key_at(new), None);
}

/// A handle moves its entry to the front, as a lookup by key does.
#[test]
fn touching_by_handle_makes_the_entry_most_recent() {
    let mut map = LruMap::<u32>::default();
    for (i, k) in ["a", "b", "c"].into_iter().enumerate() {
        map.put(SmolStr::new(k), u32::try_from(i).unwrap_or(0));
    }
    let Some((a, _)) = map.touch("a") else {
        panic!("a is held")
    };
    map.put(SmolStr::new("d"), 3);
    assert_eq!(map.touch_at(a).copied(), Some(0));
    let keys: Vec<_> = map.iter().map(|(k, _)| k.to_string()).collect();
    assert_eq!(keys, ["a", "d", "c", "b"]);
    assert_eq!(
        map.pop_lru().map(|(k, v)| (k.to_string(), v)),
        Some(("b".into(), 1))
    );
}

/// Filled to its limit, the map has no unused slots; past it, it still holds
/// what it is given.
#[test]
fn slots_grow_to_the_limit_and_no_further_until_needed() {
    let mut map = LruMap::<u32>::default();
    map.set_limit(100);
    for i in 0..100 {
        map.put(SmolStr::new(format!("k{i}")), i);
        let capacity = map.slots.capacity();
        assert!(
            [4, 8, 16, 32, 64, 100].contains(&capacity),
            "doubling, up to the limit: {capacity} slots for {} entries",
            i + 1
        );
    }
    assert_eq!(map.slots.capacity(), 100);
    map.put(SmolStr::new("one more"), 100);
    assert_eq!(map.len(), 101);
    assert!(map.slots.capacity() > 101, "doubles past the limit");
}

/// `values_mut` reaches every held value once, and no removed one.
#[test]
fn values_mut_reaches_each_held_value() {
    let mut map = LruMap::<u32>::default();
    for (i, k) in ["a", "b", "c", "d"].into_iter().enumerate() {
        map.put(SmolStr::new(k), u32::try_from(i).unwrap_or(0));
    }
    map.pop("b");
    for value in map.values_mut() {
        *value += 10;
    }
    let mut held: Vec<_> = map.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    held.sort();
    assert_eq!(held, [("a".into(), 10), ("c".into(), 12), ("d".into(), 13)]);
}

/// Walked from both ends at once, the entries are each met once, and the
/// iterator says how many are left.
#[test]
fn iterating_from_both_ends_meets_each_entry_once() {
    let mut map = LruMap::<u32>::default();
    for (i, k) in ["a", "b", "c", "d", "e"].into_iter().enumerate() {
        map.put(SmolStr::new(k), u32::try_from(i).unwrap_or(0));
    }
    let mut iter = map.iter();
    assert_eq!(iter.len(), 5);
    let mut met = Vec::new();
    while let Some((front, _)) = iter.next() {
        met.push(front.to_string());
        assert_eq!(iter.size_hint(), (5 - met.len(), Some(5 - met.len())));
        if let Some((back, _)) = iter.next_back() {
            met.push(back.to_string());
            assert_eq!(iter.len(), 5 - met.len());
        }
    }
    assert_eq!(met, ["e", "a", "d", "b", "c"]);
    assert_eq!(iter.next_back(), None);
}
