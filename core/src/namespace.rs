//! One namespace: an LRU map plus the changes it owes its storage.

use hashbrown::HashSet;
use lru::LruCache;

use crate::storage::{Batch, Row, RowKey};

/// When a namespace's changes reach storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Persistence {
    /// Never: storage is not called for this namespace.
    MemoryOnly,
    /// On every mutation, before the call returns.
    OnChange,
    /// On `persist_all`, or when a changed entry has to be evicted.
    OnShutdown,
}

impl Persistence {
    /// True for the policies whose data lives in storage too.
    pub fn is_persisted(self) -> bool {
        self != Persistence::MemoryOnly
    }
}

/// The configuration of one namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceConfig {
    /// Unique, non-empty name of at most 1024 bytes.
    pub name: String,
    /// Capacity in entries, at least 1.
    pub max_entries: u32,
    /// When changes reach storage.
    pub persistence: Persistence,
}

/// A snapshot of one namespace's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamespaceStats {
    /// The namespace's name.
    pub name: String,
    /// Its persistence policy.
    pub persistence: Persistence,
    /// Entries held in memory.
    pub size: u32,
    /// Its capacity.
    pub max_entries: u32,
    /// Pending changes: dirty entries, deleted keys and a pending clear.
    pub dirty: u32,
    /// Lookups answered from memory.
    pub hits: u64,
    /// Lookups not found in memory.
    pub misses: u64,
    /// Entries dropped because the namespace was full.
    pub evictions: u64,
}

/// A cached value and whether storage has yet to see it.
pub(crate) struct Entry {
    pub(crate) value: Box<str>,
    pub(crate) dirty: bool,
}

/// The live state of one namespace.
pub(crate) struct Namespace {
    pub(crate) config: NamespaceConfig,
    /// Unbounded: the cache evicts itself, so it can write a dirty entry first.
    pub(crate) entries: LruCache<Box<str>, Entry>,
    /// On-shutdown only: keys deleted since the last write of this namespace.
    pub(crate) deleted: HashSet<Box<str>>,
    /// On-shutdown only: the whole namespace was cleared since the last write.
    pub(crate) cleared: bool,
    /// How many entries are dirty.
    pub(crate) dirty_entries: u32,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) evictions: u64,
}

impl Namespace {
    pub(crate) fn new(config: NamespaceConfig) -> Self {
        Namespace {
            config,
            entries: LruCache::unbounded(),
            deleted: HashSet::new(),
            cleared: false,
            dirty_entries: 0,
            hits: 0,
            misses: 0,
            evictions: 0,
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.config.name
    }

    pub(crate) fn persistence(&self) -> Persistence {
        self.config.persistence
    }

    pub(crate) fn capacity(&self) -> usize {
        self.config.max_entries as usize
    }

    /// Whether storage may still hold a value for `key` that the cache should
    /// see: not when the key, or the whole namespace, was deleted in memory
    /// and that deletion has not been written yet.
    pub(crate) fn storage_may_have(&self, key: &str) -> bool {
        self.persistence().is_persisted() && !self.cleared && !self.deleted.contains(key)
    }

    /// The storage row for an entry of this namespace.
    pub(crate) fn row<'a>(&'a self, key: &'a str, value: &'a str) -> Row<'a> {
        Row {
            namespace: self.name(),
            key,
            value,
        }
    }

    /// Count of changes not yet written (on-shutdown namespaces only).
    pub(crate) fn pending(&self) -> u32 {
        let deleted = u32::try_from(self.deleted.len()).unwrap_or(u32::MAX);
        self.dirty_entries
            .saturating_add(deleted)
            .saturating_add(u32::from(self.cleared))
    }

    /// Adds this namespace's pending clear and deletes to `batch`.
    pub(crate) fn push_pending_removals<'a>(&'a self, batch: &mut Batch<'a>) {
        if self.cleared {
            batch.clear.push(self.name());
        }
        batch.delete.extend(self.deleted.iter().map(|key| RowKey {
            namespace: self.name(),
            key,
        }));
    }

    /// Adds every pending change of this namespace to `batch`.
    pub(crate) fn push_all_pending<'a>(&'a self, batch: &mut Batch<'a>) {
        self.push_pending_removals(batch);
        if self.dirty_entries > 0 {
            batch.upsert.extend(
                self.entries
                    .iter()
                    .rev()
                    .filter(|(_, e)| e.dirty)
                    .map(|(key, e)| self.row(key, &e.value)),
            );
        }
    }

    /// Forgets pending clears and deletes, once a write has carried them.
    pub(crate) fn mark_removals_written(&mut self) {
        self.cleared = false;
        self.deleted.clear();
    }

    /// Marks everything clean, once a write has carried every pending change.
    pub(crate) fn mark_all_written(&mut self) {
        self.mark_removals_written();
        if self.dirty_entries > 0 {
            for (_, entry) in self.entries.iter_mut() {
                entry.dirty = false;
            }
            self.dirty_entries = 0;
        }
    }

    /// Drops the least recent entries until at most `capacity` remain. The
    /// caller has already written the dirty ones among them.
    pub(crate) fn evict_to(&mut self, capacity: usize) {
        while self.entries.len() > capacity {
            match self.entries.pop_lru() {
                Some((_, entry)) => {
                    if entry.dirty {
                        self.dirty_entries -= 1;
                    }
                    self.evictions += 1;
                }
                None => break,
            }
        }
    }

    pub(crate) fn stats(&self) -> NamespaceStats {
        NamespaceStats {
            name: self.config.name.clone(),
            persistence: self.persistence(),
            size: u32::try_from(self.entries.len()).unwrap_or(u32::MAX),
            max_entries: self.config.max_entries,
            dirty: self.pending(),
            hits: self.hits,
            misses: self.misses,
            evictions: self.evictions,
        }
    }
}
