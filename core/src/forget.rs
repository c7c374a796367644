//! Dropping cached data without writing it, because another process changed
//! what storage holds (`forget*` in `wit/cache.wit` and `wit/bot.wit`). None
//! of these calls storage or changes a counter or the recency of other keys.

use serde_json::Value;

use crate::namespace::{Key, Namespace};
use crate::{Cache, Persistence, Storage};

impl<S: Storage> Cache<S> {
    /// Drops the entry of `key` and any pending change of it (a dirty value or
    /// a pending delete): the stored row is newer. `true` if either was held;
    /// an unknown namespace is `false`.
    pub fn forget(&mut self, namespace: &str, key: &str) -> bool {
        let Some(ns) = self.namespace_mut(namespace) else {
            return false;
        };
        let deleted = ns.deleted.remove(key);
        let entry = ns.entries.pop(key);
        ns.changes.note(key);
        if entry.as_ref().is_some_and(|e| e.dirty) {
            ns.dirty_entries -= 1;
        }
        deleted || entry.is_some()
    }

    /// [`forget`](Cache::forget) of every key of the namespace, and of a
    /// pending clear. Returns how many entries were dropped.
    pub fn forget_namespace(&mut self, namespace: &str) -> u32 {
        let Some(ns) = self.namespace_mut(namespace) else {
            return 0;
        };
        let dropped = u32::try_from(ns.entries.len()).unwrap_or(u32::MAX);
        ns.entries.clear();
        ns.changes.note_all();
        ns.deleted.clear();
        ns.cleared = false;
        ns.dirty_entries = 0;
        dropped
    }

    /// Drops every clean entry of every persisted namespace: this process may
    /// have missed other processes' changes. Dirty entries keep their pending
    /// change but lose their mirrored field, whose durable home may have
    /// changed. Memory-only namespaces are untouched. Returns how many entries
    /// were dropped.
    pub fn forget_all(&mut self) -> u32 {
        let mut dropped = 0u32;
        for ns in self.namespaces_mut() {
            if ns.persistence() == Persistence::MemoryOnly {
                continue;
            }
            let clean: Vec<Key> = ns
                .entries
                .iter()
                .filter(|(_, e)| !e.dirty)
                .map(|(k, _)| k.clone())
                .collect();
            for key in &clean {
                ns.entries.pop(key);
                ns.changes.note(key);
            }
            dropped = dropped.saturating_add(u32::try_from(clean.len()).unwrap_or(u32::MAX));
            if let Some(field) = ns.declared.mirror_field().map(Box::<str>::from) {
                let keys: Vec<Key> = ns.entries.iter().map(|(k, _)| k.clone()).collect();
                for key in keys {
                    drop_field(ns, &key, &field);
                }
            }
        }
        dropped
    }

    /// Drops one top-level field of the cached JSON object under `key`, keeping
    /// its dirty mark and recency. `true` if the field was there.
    pub fn forget_field(&mut self, namespace: &str, key: &str, field: &str) -> bool {
        self.namespace_mut(namespace)
            .is_some_and(|ns| drop_field(ns, key, field))
    }
}

/// Removes `field` from the object cached under `key` in `ns`.
fn drop_field(ns: &mut Namespace, key: &str, field: &str) -> bool {
    let Some(entry) = ns.entries.peek_mut(key) else {
        return false;
    };
    let mut value = match entry.parsed.take() {
        Some(parsed) => *parsed,
        None => match serde_json::from_str::<Value>(&entry.value) {
            Ok(value) => value,
            Err(_) => return false,
        },
    };
    let removed = value
        .as_object_mut()
        .is_some_and(|object| object.remove(field).is_some());
    if removed {
        entry.value = value.to_string().into_boxed_str();
        ns.changes.note(key);
    }
    entry.parsed = Some(Box::new(value));
    removed
}
