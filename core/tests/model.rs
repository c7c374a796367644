//! Property test: random operation sequences, with storage writes failing at
//! random, against a simple reference model.
//!
//! The model is deliberately naive: a `Vec` in recency order for the
//! memory-only namespace (exact LRU behaviour), and for persisted namespaces
//! the map of acknowledged values, which the cache must always return
//! (through read-through after evictions) and which storage must hold exactly
//! after a final `persist_all`, and which a fresh cache must load back.

use std::collections::BTreeMap;

use cache_core::{
    Cache, CacheError, FailRule, MockStorage, NamespaceConfig, Persistence, StorageError,
    StorageErrorKind,
};
use proptest::prelude::*;

const NAMESPACES: [(&str, u32, Persistence); 3] = [
    ("m", 3, Persistence::MemoryOnly),
    ("c", 2, Persistence::OnChange),
    ("s", 2, Persistence::OnShutdown),
];

#[derive(Clone, Debug)]
enum Op {
    Get(usize, u8),
    Set(usize, u8),
    Delete(usize, u8),
    GetMany(usize, Vec<u8>),
    SetMany(usize, Vec<u8>),
    Clear(usize),
    Persist,
    FailWrites(bool),
}

fn op() -> impl Strategy<Value = Op> {
    let ns = 0..NAMESPACES.len();
    let key = 0u8..6;
    prop_oneof![
        4 => (ns.clone(), key.clone()).prop_map(|(n, k)| Op::Get(n, k)),
        4 => (ns.clone(), key.clone()).prop_map(|(n, k)| Op::Set(n, k)),
        2 => (ns.clone(), key.clone()).prop_map(|(n, k)| Op::Delete(n, k)),
        1 => (ns.clone(), prop::collection::vec(key.clone(), 0..5)).prop_map(|(n, k)| Op::GetMany(n, k)),
        2 => (ns.clone(), prop::collection::vec(key, 0..5)).prop_map(|(n, k)| Op::SetMany(n, k)),
        1 => ns.prop_map(Op::Clear),
        1 => Just(Op::Persist),
        1 => any::<bool>().prop_map(Op::FailWrites),
    ]
}

/// The reference model.
#[derive(Default)]
struct Model {
    /// Memory-only namespace: (key, value), least recent first.
    lru: Vec<(String, String)>,
    /// Persisted namespaces: acknowledged (namespace, key) → value.
    durable: BTreeMap<(String, String), String>,
}

impl Model {
    fn get(&mut self, ns: usize, key: &str) -> Option<String> {
        let (name, _, persistence) = NAMESPACES[ns];
        if persistence == Persistence::MemoryOnly {
            let i = self.lru.iter().position(|(k, _)| k == key)?;
            let entry = self.lru.remove(i);
            self.lru.push(entry.clone());
            Some(entry.1)
        } else {
            self.durable.get(&(name.into(), key.into())).cloned()
        }
    }

    fn set(&mut self, ns: usize, key: &str, value: &str) {
        let (name, capacity, persistence) = NAMESPACES[ns];
        if persistence == Persistence::MemoryOnly {
            self.lru.retain(|(k, _)| k != key);
            self.lru.push((key.into(), value.into()));
            if self.lru.len() > capacity as usize {
                self.lru.remove(0);
            }
        } else {
            self.durable.insert((name.into(), key.into()), value.into());
        }
    }

    fn delete(&mut self, ns: usize, key: &str) {
        let (name, _, persistence) = NAMESPACES[ns];
        if persistence == Persistence::MemoryOnly {
            self.lru.retain(|(k, _)| k != key);
        } else {
            self.durable.remove(&(name.into(), key.into()));
        }
    }

    fn clear(&mut self, ns: usize) {
        let (name, _, persistence) = NAMESPACES[ns];
        if persistence == Persistence::MemoryOnly {
            self.lru.clear();
        } else {
            self.durable.retain(|(n, _), _| n != name);
        }
    }

    fn durable_of(&self, name: &str) -> BTreeMap<String, String> {
        self.durable
            .iter()
            .filter(|((n, _), _)| n == name)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn new_cache(storage: MockStorage) -> Cache<MockStorage> {
    let mut cache = Cache::new(storage);
    let config = NAMESPACES
        .iter()
        .map(|&(name, max_entries, persistence)| NamespaceConfig {
            name: name.into(),
            max_entries,
            persistence,
        })
        .collect();
    cache.configure(config).expect("valid configuration");
    cache
}

/// Checks that an operation either succeeded or failed only because writes
/// were failing, and says whether the model should apply it.
fn acknowledged<T: std::fmt::Debug>(
    result: &Result<T, CacheError>,
    failing: bool,
    ns: usize,
) -> Result<bool, TestCaseError> {
    match result {
        Ok(_) => Ok(true),
        Err(CacheError::Storage(_)) => {
            prop_assert!(failing, "storage error while storage was healthy");
            prop_assert!(
                NAMESPACES[ns].2 != Persistence::MemoryOnly,
                "a memory-only namespace reached storage"
            );
            Ok(false)
        }
        Err(e) => Err(TestCaseError::fail(format!("unexpected error {e:?}"))),
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut cache = new_cache(MockStorage::new());
    let mut model = Model::default();
    let mut failing = false;
    for (step, op) in ops.into_iter().enumerate() {
        let value = format!("{{\"v\":{step}}}");
        match op {
            Op::Get(ns, k) => {
                let key = format!("k{k}");
                let got = cache.get(NAMESPACES[ns].0, &key);
                prop_assert_eq!(
                    got,
                    Ok(model.get(ns, &key)),
                    "get {} {}",
                    NAMESPACES[ns].0,
                    key
                );
            }
            Op::GetMany(ns, keys) => {
                let keys: Vec<String> = keys.iter().map(|k| format!("k{k}")).collect();
                let got = cache.get_many(NAMESPACES[ns].0, &keys);
                let want: Vec<_> = keys.iter().map(|k| model.get(ns, k)).collect();
                prop_assert_eq!(got, Ok(want));
            }
            Op::Set(ns, k) => {
                let key = format!("k{k}");
                let r = cache.set(NAMESPACES[ns].0, key.clone(), value.clone());
                if NAMESPACES[ns].2 == Persistence::OnChange && failing {
                    prop_assert!(r.is_err(), "on-change set acknowledged without a write");
                }
                if acknowledged(&r, failing, ns)? {
                    model.set(ns, &key, &value);
                }
            }
            Op::SetMany(ns, keys) => {
                let entries: Vec<(String, String)> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| (format!("k{k}"), format!("{{\"v\":{step},\"i\":{i}}}")))
                    .collect();
                let r = cache.set_many(NAMESPACES[ns].0, entries.clone());
                if acknowledged(&r, failing, ns)? {
                    for (k, v) in &entries {
                        model.set(ns, k, v);
                    }
                }
            }
            Op::Delete(ns, k) => {
                let key = format!("k{k}");
                let r = cache.delete(NAMESPACES[ns].0, &key);
                if acknowledged(&r, failing, ns)? {
                    model.delete(ns, &key);
                }
            }
            Op::Clear(ns) => {
                let r = cache.clear_namespace(NAMESPACES[ns].0);
                if acknowledged(&r, failing, ns)? {
                    model.clear(ns);
                }
            }
            Op::Persist => {
                let r = cache.persist_all();
                if r.is_ok() {
                    prop_assert!(cache.stats().iter().all(|s| s.dirty == 0));
                } else {
                    prop_assert!(failing, "persist failed while storage was healthy: {r:?}");
                }
            }
            Op::FailWrites(on) => {
                failing = on;
                cache.storage_mut().fail_writes = on.then(|| {
                    FailRule::always(StorageError::new(StorageErrorKind::Full, "disk full"))
                });
            }
        }
        for stats in cache.stats() {
            prop_assert!(stats.size <= stats.max_entries, "{stats:?}");
        }
    }

    // Heal, persist: storage now holds exactly what was acknowledged.
    cache.storage_mut().fail_writes = None;
    cache
        .persist_all()
        .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    for &(name, _, persistence) in &NAMESPACES {
        if persistence.is_persisted() {
            prop_assert_eq!(
                cache.storage().rows_of(name),
                model.durable_of(name),
                "storage of {}",
                name
            );
        } else {
            prop_assert!(cache.storage().rows_of(name).is_empty());
        }
    }

    // A restart over the same storage serves the same persisted data.
    let mut restarted = new_cache(cache.storage().clone());
    let report = restarted
        .load_from_storage()
        .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
    prop_assert!(report.skipped.is_empty());
    for ((name, key), value) in &model.durable {
        prop_assert_eq!(restarted.get(name, key), Ok(Some(value.clone())));
    }
    prop_assert_eq!(restarted.get("m", "k0"), Ok(None));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    #[test]
    fn matches_the_reference_model(ops in prop::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
