//! Storing entries as sequential sets would: the one write an on-change store or
//! an on-shutdown eviction needs first, then the entries.

use hashbrown::{HashMap, HashSet};

use super::{write, Cache, Mode, NewEntry};
use crate::config::Persistence;
use crate::key_hash::KeyHashBuilder;
use crate::namespace::{Entry, Namespace};
use crate::storage::{Batch, Storage};
use crate::CacheError;

impl<S: Storage> Cache<S> {
    /// Stores validated entries into namespace `idx` as sequential sets would,
    /// writing first whatever the policy requires: all entries for an
    /// on-change mutation, the dirty entries that must be evicted (with the
    /// namespace's pending removals) for on-shutdown. Nothing changes if that
    /// write fails: a mutation returns the error, a refresh just does not cache
    /// (unless the write is `pending`, which fails a refresh too).
    pub(crate) fn store(
        &mut self,
        idx: usize,
        mut entries: Vec<NewEntry>,
        mode: Mode,
    ) -> Result<(), CacheError> {
        keep_last_of_each_key(&mut entries);
        let Cache {
            namespaces,
            storage,
            now,
            ..
        } = self;
        let now = *now;
        let ns = &mut namespaces[idx];
        let persistence = ns.persistence();
        let dirty_after = |ns: &Namespace, key: &str| match mode {
            Mode::Mutation => persistence == Persistence::OnShutdown,
            Mode::Refresh => ns.entries.peek(key).is_some_and(|e| e.dirty),
        };

        let wrote_removals = {
            let mut batch = Batch::default();
            if persistence == Persistence::OnChange && mode == Mode::Mutation {
                for e in &entries {
                    ns.push_row(&mut batch, &e.key, &e.value);
                }
            }
            if persistence == Persistence::OnShutdown {
                // The entries sequential sets would evict: untouched ones from
                // the least recent end, then (if still over) the first new ones.
                let capacity = ns.capacity();
                let new_keys = entries
                    .iter()
                    .filter(|e| !ns.entries.contains(&e.key))
                    .count();
                let overflow = (ns.entries.len() + new_keys).saturating_sub(capacity);
                let mut evicted = Batch::default();
                if overflow > 0 {
                    push_evicted_dirty_rows(&mut evicted, ns, &entries, overflow, &dirty_after);
                }
                if !evicted.is_empty() {
                    ns.push_pending_removals(&mut batch);
                    batch.delete.append(&mut evicted.delete);
                    batch.upsert = evicted.upsert;
                }
            }
            if batch.is_empty() {
                false
            } else {
                match write(storage, &batch) {
                    Ok(()) => persistence == Persistence::OnShutdown,
                    Err(e) if mode == Mode::Refresh && !e.is_pending() => return Ok(()),
                    Err(e) => return Err(e),
                }
            }
        };

        if wrote_removals {
            ns.mark_removals_written();
        }
        for NewEntry { key, value, parsed } in entries {
            let dirty = dirty_after(ns, &key);
            if dirty {
                // A pending change replaces the key's tombstone (a refreshed key that
                // is dirty is held, so it has none).
                ns.deleted.remove(&*key);
            }
            ns.changes.note(&key);
            if let Some(old) = ns.entries.put(key, Entry::new(value, dirty, parsed, now)) {
                if old.dirty {
                    ns.dirty_entries -= 1;
                }
            }
            if dirty {
                ns.dirty_entries += 1;
            }
        }
        let capacity = ns.capacity();
        ns.evict_to(capacity, now);
        Ok(())
    }
}

/// Adds to `batch` the rows an on-shutdown store of `entries` must write
/// first: the dirty entries that `overflow` sequential sets would evict,
/// untouched ones from the least recent end, then (if still over) the first
/// new ones.
fn push_evicted_dirty_rows<'a>(
    batch: &mut Batch<'a>,
    ns: &'a Namespace,
    entries: &'a [NewEntry],
    mut overflow: usize,
    dirty_after: &dyn Fn(&Namespace, &str) -> bool,
) {
    let planned = PlannedKeys::new(entries);
    for (key, entry) in ns.entries.iter().rev() {
        if overflow == 0 {
            break;
        }
        if planned.contains(key) {
            continue;
        }
        overflow -= 1;
        if entry.dirty {
            ns.push_row(batch, key, &entry.value);
        }
    }
    for e in entries.iter().take(overflow) {
        if dirty_after(ns, &e.key) {
            ns.push_row(batch, &e.key, &e.value);
        }
    }
}

/// Keeps only the last entry of each key, in the order of those last entries:
/// the order in which sequential sets would leave them, most recent last.
fn keep_last_of_each_key(entries: &mut Vec<NewEntry>) {
    if entries.len() < 2 {
        return;
    }
    let keep: Vec<bool> = {
        let mut last: HashMap<&str, usize, KeyHashBuilder> =
            HashMap::with_capacity_and_hasher(entries.len(), KeyHashBuilder::default());
        for (i, e) in entries.iter().enumerate() {
            last.insert(&*e.key, i);
        }
        if last.len() == entries.len() {
            return;
        }
        entries
            .iter()
            .enumerate()
            .map(|(i, e)| last.get(&*e.key) == Some(&i))
            .collect()
    };
    let mut flags = keep.into_iter();
    entries.retain(|_| flags.next().unwrap_or(false));
}

/// Membership test over the keys of a store, cheap for the one-key case.
enum PlannedKeys<'a> {
    Few(&'a [NewEntry]),
    Many(HashSet<&'a str, KeyHashBuilder>),
}

impl<'a> PlannedKeys<'a> {
    fn new(entries: &'a [NewEntry]) -> Self {
        if entries.len() <= 8 {
            PlannedKeys::Few(entries)
        } else {
            PlannedKeys::Many(entries.iter().map(|e| &*e.key).collect())
        }
    }

    fn contains(&self, key: &str) -> bool {
        match self {
            PlannedKeys::Few(entries) => entries.iter().any(|e| &*e.key == key),
            PlannedKeys::Many(keys) => keys.contains(key),
        }
    }
}
