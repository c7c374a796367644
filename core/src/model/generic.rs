//! The generic cache against the model: three namespaces (memory-only,
//! on-change, on-shutdown) and one name that is not configured.

use std::collections::BTreeMap;

use arbitrary::Arbitrary;

use super::{check, json_error, key_error, Expected, FailSpec, Faults, Json, Key, StorageFn};
use crate::{Cache, MockStorage, NamespaceConfig, Persistence};

/// The namespaces: name, initial capacity, persistence.
const NAMESPACES: [(&str, u32, Persistence); 3] = [
    ("m", 3, Persistence::MemoryOnly),
    ("c", 2, Persistence::OnChange),
    ("s", 2, Persistence::OnShutdown),
];
/// A namespace that is never configured.
const UNKNOWN: &str = "nope";

/// A namespace: `n % 4` is 0 for `m` (memory-only, capacity 3), 1 for `c`
/// (on-change, 2), 2 for `s` (on-shutdown, 2), 3 for a name never configured.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub struct Ns(pub u8);

impl Ns {
    fn index(self) -> Option<usize> {
        let i = usize::from(self.0 % 4);
        (i < NAMESPACES.len()).then_some(i)
    }

    fn name(self) -> &'static str {
        self.index().map_or(UNKNOWN, |i| NAMESPACES[i].0)
    }
}

/// One operation of a generic scenario.
#[derive(Arbitrary, Clone, Debug)]
pub enum GenericOp {
    /// `get`.
    Get(Ns, Key),
    /// `get_many`.
    GetMany(Ns, Vec<Key>),
    /// `set`.
    Set(Ns, Key, Json),
    /// `set_many`.
    SetMany(Ns, Vec<(Key, Json)>),
    /// `delete`.
    Delete(Ns, Key),
    /// `clear_namespace`.
    Clear(Ns),
    /// `persist_all`.
    Persist,
    /// `load_from_storage`.
    Load,
    /// `configure` with the same namespaces and capacities `n % 5` (0 is invalid).
    Resize([u8; 3]),
    /// Sets or removes the rule for writing calls.
    FailWrites(Option<FailSpec>),
    /// Sets or removes the rule for reading calls.
    FailReads(Option<FailSpec>),
}

/// The reference model.
#[derive(Default)]
struct Model {
    /// Capacities, as configured.
    caps: [u32; 3],
    /// Memory-only namespace: (key, value), least recent first.
    lru: Vec<(String, String)>,
    /// Persisted namespaces: acknowledged (namespace index, key) → value.
    durable: BTreeMap<(usize, String), String>,
}

impl Model {
    fn get(&mut self, ns: usize, key: &str) -> Option<String> {
        if NAMESPACES[ns].2 == Persistence::MemoryOnly {
            let i = self.lru.iter().position(|(k, _)| k == key)?;
            let entry = self.lru.remove(i);
            self.lru.push(entry.clone());
            Some(entry.1)
        } else {
            self.durable.get(&(ns, key.to_owned())).cloned()
        }
    }

    fn set(&mut self, ns: usize, key: &str, value: &str) {
        if NAMESPACES[ns].2 == Persistence::MemoryOnly {
            self.lru.retain(|(k, _)| k != key);
            self.lru.push((key.into(), value.into()));
            self.trim();
        } else {
            self.durable.insert((ns, key.into()), value.into());
        }
    }

    fn trim(&mut self) {
        let excess = self.lru.len().saturating_sub(self.caps[0] as usize);
        self.lru.drain(..excess);
    }

    fn delete(&mut self, ns: usize, key: &str) {
        if NAMESPACES[ns].2 == Persistence::MemoryOnly {
            self.lru.retain(|(k, _)| k != key);
        } else {
            self.durable.remove(&(ns, key.to_owned()));
        }
    }

    fn clear(&mut self, ns: usize) {
        if NAMESPACES[ns].2 == Persistence::MemoryOnly {
            self.lru.clear();
        } else {
            self.durable.retain(|(n, _), _| *n != ns);
        }
    }

    fn durable_of(&self, ns: usize) -> BTreeMap<String, String> {
        self.durable
            .iter()
            .filter(|((n, _), _)| *n == ns)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect()
    }
}

fn table(caps: [u32; 3]) -> Vec<NamespaceConfig> {
    NAMESPACES
        .iter()
        .zip(caps)
        .map(|(&(name, _, persistence), max_entries)| NamespaceConfig {
            name: name.into(),
            max_entries,
            persistence,
        })
        .collect()
}

fn new_cache(storage: MockStorage) -> Result<Cache<MockStorage>, String> {
    let mut cache = Cache::new(storage);
    cache
        .configure(table(NAMESPACES.map(|(_, cap, _)| cap)))
        .map_err(|e| format!("configure: {e:?}"))?;
    Ok(cache)
}

/// The error a call on `ns` with these keys and values must fail with, if any,
/// in the cache's order of checks: keys and values, then the namespace.
fn expected<'a>(ns: Ns, keys: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Expected {
    for (key, value) in keys {
        if let Some(e) = key_error(key).or_else(|| value.and_then(json_error)) {
            return Some(e);
        }
    }
    ns.index().is_none().then_some("unknown-namespace")
}

/// Whether a mutation of `ns` must write (on-change) and so must fail while
/// every write fails.
fn must_write(ns: Ns, faults: &Faults) -> bool {
    ns.index()
        .is_some_and(|i| NAMESPACES[i].2 == Persistence::OnChange)
        && faults.write_always_fails(StorageFn::Write)
}

/// Runs `ops`, then checks storage and a restarted cache.
pub(super) fn run(ops: &[GenericOp]) -> Result<(), String> {
    let mut cache = new_cache(MockStorage::new())?;
    let mut model = Model {
        caps: NAMESPACES.map(|(_, cap, _)| cap),
        ..Model::default()
    };
    let mut faults = Faults::default();
    for (step, op) in ops.iter().enumerate() {
        let what = format!("step {step}: {op:?}");
        match op {
            GenericOp::Get(ns, key) => {
                let key = key.text();
                let r = cache.get(ns.name(), &key);
                if check(&what, &r, expected(*ns, [(key.as_str(), None)]), &faults)? {
                    let want = ns.index().and_then(|i| model.get(i, &key));
                    if r != Ok(want.clone()) {
                        return Err(format!("{what}: got {r:?}, model has {want:?}"));
                    }
                }
            }
            GenericOp::GetMany(ns, keys) => {
                let keys: Vec<String> = keys.iter().map(Key::text).collect();
                let r = cache.get_many(ns.name(), &keys);
                let exp = expected(*ns, keys.iter().map(|k| (k.as_str(), None)));
                if check(&what, &r, exp, &faults)? {
                    let want: Vec<_> = keys
                        .iter()
                        .map(|k| ns.index().and_then(|i| model.get(i, k)))
                        .collect();
                    if r != Ok(want.clone()) {
                        return Err(format!("{what}: got {r:?}, model has {want:?}"));
                    }
                }
            }
            GenericOp::Set(ns, key, value) => {
                let (key, value) = (key.text(), value.text(step));
                let exp = expected(*ns, [(key.as_str(), Some(value.as_str()))]);
                let r = cache.set(ns.name(), key.clone(), value.clone());
                if exp.is_none() && must_write(*ns, &faults) && r.is_ok() {
                    return Err(format!(
                        "{what}: on-change set acknowledged without a write"
                    ));
                }
                if check(&what, &r, exp, &faults)? {
                    if let Some(i) = ns.index() {
                        model.set(i, &key, &value);
                    }
                }
            }
            GenericOp::SetMany(ns, entries) => {
                let entries: Vec<(String, String)> = entries
                    .iter()
                    .map(|(k, v)| (k.text(), v.text(step)))
                    .collect();
                let exp = expected(
                    *ns,
                    entries.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))),
                );
                let r = cache.set_many(ns.name(), entries.clone());
                if exp.is_none() && !entries.is_empty() && must_write(*ns, &faults) && r.is_ok() {
                    return Err(format!(
                        "{what}: on-change set acknowledged without a write"
                    ));
                }
                if check(&what, &r, exp, &faults)? {
                    if let Some(i) = ns.index() {
                        for (k, v) in &entries {
                            model.set(i, k, v);
                        }
                    }
                }
            }
            GenericOp::Delete(ns, key) => {
                let key = key.text();
                let r = cache.delete(ns.name(), &key);
                if check(&what, &r, expected(*ns, [(key.as_str(), None)]), &faults)? {
                    if let Some(i) = ns.index() {
                        model.delete(i, &key);
                    }
                }
            }
            GenericOp::Clear(ns) => {
                let r = cache.clear_namespace(ns.name());
                if check(&what, &r, expected(*ns, []), &faults)? {
                    if let Some(i) = ns.index() {
                        model.clear(i);
                    }
                }
            }
            GenericOp::Persist => {
                let r = cache.persist_all();
                if check(&what, &r, None, &faults)? && cache.stats().iter().any(|s| s.dirty != 0) {
                    return Err(format!("{what}: dirty entries after persist_all"));
                }
            }
            GenericOp::Load => {
                let r = cache.load_from_storage();
                if check(&what, &r, None, &faults)? {
                    if let Ok(report) = &r {
                        if !report.skipped.is_empty() {
                            return Err(format!("{what}: skipped {:?}", report.skipped));
                        }
                    }
                }
            }
            GenericOp::Resize(caps) => {
                let caps = caps.map(|n| u32::from(n % 5));
                let exp = caps.contains(&0).then_some("invalid-config");
                let r = cache.configure(table(caps));
                if check(&what, &r, exp, &faults)? {
                    model.caps = caps;
                    model.trim();
                }
            }
            GenericOp::FailWrites(spec) => faults.set(cache.storage_mut(), true, spec.clone()),
            GenericOp::FailReads(spec) => faults.set(cache.storage_mut(), false, spec.clone()),
        }
        for stats in cache.stats() {
            if stats.size > stats.max_entries {
                return Err(format!("{what}: over capacity: {stats:?}"));
            }
        }
        let stored = cache.storage().rows_of("c");
        if stored != model.durable_of(1) {
            return Err(format!(
                "{what}: on-change storage {stored:?}, model {:?}",
                model.durable_of(1)
            ));
        }
    }
    finish(cache, &model)
}

/// Heals the storage and persists: storage now holds exactly what was
/// acknowledged, and a restart over it serves the same persisted data.
fn finish(mut cache: Cache<MockStorage>, model: &Model) -> Result<(), String> {
    cache.storage_mut().fail_writes = None;
    cache.storage_mut().fail_reads = None;
    cache
        .persist_all()
        .map_err(|e| format!("final persist_all: {e:?}"))?;
    for (i, &(name, _, persistence)) in NAMESPACES.iter().enumerate() {
        let stored = cache.storage().rows_of(name);
        let want = if persistence.is_persisted() {
            model.durable_of(i)
        } else {
            BTreeMap::new()
        };
        if stored != want {
            return Err(format!(
                "final storage of {name}: {stored:?}, model {want:?}"
            ));
        }
    }
    let mut restarted = new_cache(cache.storage().clone())?;
    let report = restarted
        .load_from_storage()
        .map_err(|e| format!("restart load: {e:?}"))?;
    if !report.skipped.is_empty() {
        return Err(format!("restart load skipped {:?}", report.skipped));
    }
    for ((i, key), value) in &model.durable {
        let got = restarted.get(NAMESPACES[*i].0, key);
        if got != Ok(Some(value.clone())) {
            return Err(format!(
                "after restart {}/{key}: {got:?}, model {value:?}",
                NAMESPACES[*i].0
            ));
        }
    }
    if let Some((key, _)) = model.lru.first() {
        let got = restarted.get("m", key);
        if got != Ok(None) {
            return Err(format!("memory-only m/{key} survived a restart: {got:?}"));
        }
    }
    Ok(())
}
