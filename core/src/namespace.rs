//! One namespace: an LRU map plus the changes it owes its storage.

use std::borrow::Cow;

use hashbrown::HashSet;
use serde_json::Value;

use crate::config::{NamespaceConfig, Persistence};
use crate::declared::{self, Declared};
use crate::key_hash::KeyHashBuilder;
pub(crate) use crate::lru_map::Key;
use crate::lru_map::{Handle, LruMap};
use crate::read_path::Journal;
use crate::storage::{Batch, Row, RowKey};

/// A snapshot of one namespace's counters. Serializes to the JSON encoding of
/// the WIT's `namespace-stats` (`conformance/README.md`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
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
    /// Entries dropped because they expired.
    pub expirations: u64,
}

/// The changes of one namespace not yet written to storage.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pending {
    /// Keys of dirty entries and of pending deletes, sorted by byte value.
    pub keys: Vec<String>,
    /// A clear of the whole namespace is pending (before the changes above).
    pub cleared: bool,
}

/// A cached value and whether storage has yet to see it.
pub(crate) struct Entry {
    pub(crate) value: Box<str>,
    pub(crate) dirty: bool,
    /// `value` parsed, kept once a JSON reader asked for it, so hot bot reads
    /// do not parse the entry again. Always equal to `value` when present.
    pub(crate) parsed: Option<Box<Value>>,
    /// When it was written, in the cache's time (see [`crate::Cache::set_time`]).
    pub(crate) written: u64,
}

impl Entry {
    pub(crate) fn new(
        value: Box<str>,
        dirty: bool,
        parsed: Option<Box<Value>>,
        written: u64,
    ) -> Self {
        Entry {
            value,
            dirty,
            parsed,
            written,
        }
    }
}

/// The live state of one namespace.
pub(crate) struct Namespace {
    pub(crate) config: NamespaceConfig,
    /// Its owner's declarations: a mirrored field (a top-level field whose
    /// durable home is elsewhere, dropped from every row written to or read
    /// from storage) and whether entries are records.
    pub(crate) declared: Declared,
    /// Unbounded: the cache evicts itself, so it can write a dirty entry first.
    pub(crate) entries: LruMap<Entry>,
    /// On-shutdown only: keys deleted since the last write of this namespace.
    pub(crate) deleted: HashSet<Key, KeyHashBuilder>,
    /// On-shutdown only: the whole namespace was cleared since the last write.
    pub(crate) cleared: bool,
    /// How many entries are dirty.
    pub(crate) dirty_entries: u32,
    pub(crate) hits: u64,
    pub(crate) misses: u64,
    pub(crate) evictions: u64,
    /// Memory-only only: entries expire this long after they were written.
    pub(crate) expire_after: Option<u64>,
    pub(crate) expirations: u64,
    /// Entries changed since the host last asked (see `journal.rs`).
    pub(crate) changes: Journal,
}

/// Whether an entry written at `written` is at least `after` old at `now`.
fn outlived(written: u64, now: u64, after: u64) -> bool {
    now.saturating_sub(written) >= after
}

impl Namespace {
    pub(crate) fn new(config: NamespaceConfig, declared: Declared) -> Self {
        let mut entries = LruMap::default();
        entries.set_limit(config.max_entries as usize);
        Namespace {
            config,
            declared,
            entries,
            deleted: HashSet::default(),
            cleared: false,
            dirty_entries: 0,
            hits: 0,
            misses: 0,
            evictions: 0,
            expire_after: None,
            expirations: 0,
            changes: Journal::default(),
        }
    }

    /// Whether an entry written at `written` has expired at `now`.
    pub(crate) fn expired(&self, written: u64, now: u64) -> bool {
        self.expire_after
            .is_some_and(|after| outlived(written, now, after))
    }

    /// Drops `key` if it has expired at `now`; `true` if it did. In a
    /// namespace without expiry, which is most, it looks nothing up: every
    /// read calls it before its own lookup. Inlined, so that such a read
    /// pays one test for it, not a call.
    #[inline]
    pub(crate) fn expire(&mut self, key: &str, now: u64) -> bool {
        match self.expire_after {
            None => false,
            Some(after) => self.expire_after_lookup(key, now, after),
        }
    }

    /// [`expire`](Self::expire) for the entry `handle` names, if it names one.
    /// Inlined, as `expire` is.
    #[inline]
    pub(crate) fn expire_at(&mut self, handle: Handle, now: u64) -> bool {
        match self.expire_after {
            None => false,
            Some(after) => match self.entries.key_at(handle).cloned() {
                Some(key) => self.expire_after_lookup(&key, now, after),
                None => false,
            },
        }
    }

    /// [`expire`](Self::expire) in a namespace whose entries expire `after`
    /// their write.
    fn expire_after_lookup(&mut self, key: &str, now: u64, after: u64) -> bool {
        let due = self
            .entries
            .peek(key)
            .is_some_and(|e| outlived(e.written, now, after));
        if due {
            self.entries.pop(key);
            self.changes.note(key);
            self.expirations += 1;
        }
        due
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

    /// The storage row for an entry of this namespace, its mirrored field dropped.
    pub(crate) fn row<'a>(&'a self, key: &'a str, value: &'a str) -> Row<'a> {
        Row {
            namespace: self.name(),
            key,
            value: self.without_mirror(value),
        }
    }

    /// Adds the storage row for an entry of this namespace to `batch`: an
    /// upsert, or a delete when the row would be an empty record (see
    /// [`crate::Cache::record`]).
    pub(crate) fn push_row<'a>(&'a self, batch: &mut Batch<'a>, key: &'a str, value: &'a str) {
        let row = self.row(key, value);
        if self.is_empty_record(&row.value) {
            batch.delete.push(RowKey {
                namespace: self.name(),
                key,
            });
        } else {
            batch.upsert.push(row);
        }
    }

    /// Whether `row_value` is no row here: an empty object in a record namespace.
    pub(crate) fn is_empty_record(&self, row_value: &str) -> bool {
        self.declared.record && declared::is_empty_object(row_value)
    }

    /// `value` without this namespace's mirrored field (borrowed when it has none).
    pub(crate) fn without_mirror<'a>(&self, value: &'a str) -> Cow<'a, str> {
        let Some(field) = self.declared.mirror_field() else {
            return Cow::Borrowed(value);
        };
        match parse_with_field(value, field) {
            Some(mut object) => {
                object.remove(field);
                Cow::Owned(Value::Object(object).to_string())
            }
            None => Cow::Borrowed(value),
        }
    }

    /// The mirrored field's value in `value`, if `value` is an object carrying it.
    pub(crate) fn mirrored_value(&self, value: &str) -> Option<Value> {
        let field = self.declared.mirror_field()?;
        parse_with_field(value, field).and_then(|mut object| object.remove(field))
    }

    /// Count of changes not yet written (on-shutdown namespaces only).
    pub(crate) fn pending(&self) -> u32 {
        let deleted = u32::try_from(self.deleted.len()).unwrap_or(u32::MAX);
        self.dirty_entries
            .saturating_add(deleted)
            .saturating_add(u32::from(self.cleared))
    }

    /// Adds this namespace's pending clear and deletes to `batch`, the deletes
    /// in key order: the set that holds them iterates in a per-process order,
    /// and the same pending changes make the same batch in every process and host.
    pub(crate) fn push_pending_removals<'a>(&'a self, batch: &mut Batch<'a>) {
        if self.cleared {
            batch.clear.push(self.name());
        }
        let start = batch.delete.len();
        batch.delete.extend(self.deleted.iter().map(|key| RowKey {
            namespace: self.name(),
            key,
        }));
        batch.delete[start..].sort_unstable_by_key(|row| row.key);
    }

    /// Adds every pending change of this namespace to `batch`.
    pub(crate) fn push_all_pending<'a>(&'a self, batch: &mut Batch<'a>) {
        self.push_pending_removals(batch);
        for (key, e) in self.entries.iter().rev().filter(|(_, e)| e.dirty) {
            self.push_row(batch, key, &e.value);
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
        for entry in self.entries.values_mut() {
            entry.dirty = false;
        }
        self.dirty_entries = 0;
    }

    /// Drops the least recent entries until at most `capacity` remain. The
    /// caller has already written the dirty ones among them.
    /// Expired entries (at time `now`) go first; expiry is memory-only, so
    /// none of them is dirty.
    pub(crate) fn evict_to(&mut self, capacity: usize, now: u64) {
        if self.entries.len() > capacity && self.expire_after.is_some() {
            let due: Vec<Key> = self
                .entries
                .iter()
                .filter(|(_, e)| self.expired(e.written, now))
                .map(|(k, _)| k.clone())
                .collect();
            for key in due {
                self.entries.pop(&key);
                self.changes.note(&key);
                self.expirations += 1;
            }
        }
        while self.entries.len() > capacity {
            match self.entries.pop_lru() {
                Some((key, entry)) => {
                    self.changes.note(&key);
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
            expirations: self.expirations,
        }
    }
}

/// `text` parsed as an object, if it is one and has the top-level `field`. A
/// text that does not even contain the quoted name is not parsed.
fn parse_with_field(text: &str, field: &str) -> Option<serde_json::Map<String, Value>> {
    let quoted = serde_json::to_string(field).ok()?;
    // An escaped name (`\u0073ettings`) is caught by parsing whenever escapes occur.
    if !text.contains(quoted.as_str()) && !text.contains("\\u") {
        return None;
    }
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) if object.contains_key(field) => Some(object),
        _ => None,
    }
}
