//! The host's read path: hits answered from the host's copies of earlier
//! answers, without entering the component, while the component's LRU stays
//! exact (`sync` in `wit/cache.wit`).
//!
//! - A copy is made only of a successful read that returned a value without
//!   calling storage, outside namespaces whose entries expire: replaying it is
//!   then a plain hit of one entry ([`cache_core::Read::entry`]).
//! - Every hit served from a copy is logged in order, and the log is replayed
//!   into the component (`sync`) before any other call enters it, and when it
//!   reaches [`MAX_PENDING_HITS`]. No record is dropped, so recency, hit counts
//!   and evictions are what they would have been had every read entered it.
//! - After any call that may have changed an entry, a copy is served only after
//!   a `sync` has brought back the component's change journal and the copies of
//!   every changed entry are dropped. A trap, a restart, a new storage and
//!   `close` drop every copy.
//! - The copies are bounded ([`ReadPath::insert`]) and their bytes counted
//!   ([`ReadPathStats`]).

use std::hash::Hash;
use std::sync::Arc;

use cache_core::Read;
use hashbrown::HashMap;
use lru::LruCache;

use crate::bindings::exports::gromozeka::cache::types::{Change, HitBatch, SyncReport};

/// Entries with hits served from copies that are replayed at the latest when
/// this many are pending: the log's memory is bounded, and a replay's cost is
/// spread thin. Repeated hits of one entry take one place.
pub const MAX_PENDING_HITS: usize = 1024;

/// Copies held at most, per entry the namespace table allows (its total
/// `max-entries`): a copy exists only for an entry the component holds, but a
/// user's state has one read per item.
const COPIES_PER_ENTRY: usize = 2;

/// The entry a read's answer comes from, as the core defines it.
fn entry_of(read: Read<&str>) -> EntryId {
    let (namespace, key) = read.entry();
    EntryId {
        namespace: namespace.into(),
        key: key.into(),
    }
}

/// A (namespace, key) of the component.
#[derive(Debug, PartialEq, Eq, Hash)]
struct EntryId {
    namespace: Box<str>,
    key: Box<str>,
}

/// A copy of an answer, and the entry it came from.
struct Copy {
    text: Arc<str>,
    entry: Arc<EntryId>,
}

/// What the read path holds and did since the service started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadPathStats {
    /// Whether hits are served from copies (see
    /// [`CacheService::set_read_path`](super::CacheService::set_read_path)).
    pub enabled: bool,
    /// Copies held now.
    pub copies: u64,
    /// Bytes the copies hold: their texts, keys and bookkeeping.
    pub bytes: u64,
    /// Reads answered from a copy.
    pub served: u64,
    /// `sync` calls made (each replays the pending hits in one call).
    pub syncs: u64,
    /// Replayed hits the component found no entry for: copies that should
    /// have been dropped. Always 0 unless the read path has a defect (each is logged).
    pub stale: u64,
}

/// What a lookup found.
pub(super) enum Lookup<T = Arc<str>> {
    /// The answer, from copies; the hits are logged.
    Served(T),
    /// The copies exist, but an entry may have changed since the last `sync`.
    NeedsSync,
    /// No copy (of one of the keys): the read enters the component.
    Absent,
}

/// The copies, the pending hits and whether a `sync` is due (see the module doc).
pub(super) struct ReadPath {
    enabled: bool,
    copies: HashMap<Read<Box<str>>, Copy>,
    by_entry: HashMap<Arc<EntryId>, Vec<Read<Box<str>>>>,
    /// The entries hit since the last `sync`, least recently hit first, with
    /// their hits; keyed by the entry's address, which its `Arc` held here keeps.
    hits: LruCache<usize, (Arc<EntryId>, u32)>,
    /// An entry's pending hits reached [`SATURATED`]: a `sync` is due.
    saturated: bool,
    /// A call entered the component since the last `sync`: its changes are unknown.
    unsynced: bool,
    bytes: usize,
    served: u64,
    syncs: u64,
    stale: u64,
}

/// Bytes of bookkeeping counted per copy besides its texts.
const COPY_OVERHEAD: usize = 96;

impl ReadPath {
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            copies: HashMap::new(),
            by_entry: HashMap::new(),
            hits: LruCache::unbounded(),
            saturated: false,
            unsynced: false,
            bytes: 0,
            served: 0,
            syncs: 0,
            stale: 0,
        }
    }

    pub(super) fn stats(&self) -> ReadPathStats {
        ReadPathStats {
            enabled: self.enabled,
            copies: self.copies.len() as u64,
            bytes: self.bytes as u64,
            served: self.served,
            syncs: self.syncs,
            stale: self.stale,
        }
    }

    /// Turns serving from copies on or off; off drops every copy. Pending
    /// hits stay until the next `sync`.
    pub(super) fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        if !enabled {
            self.drop_copies();
        }
    }

    /// `answer` of the copy of `read`'s answer, if one may be served now (the
    /// hit is then logged).
    pub(super) fn lookup<T>(
        &mut self,
        read: Read<&str>,
        answer: impl FnOnce(&Arc<str>) -> T,
    ) -> Lookup<T> {
        let Some(copy) = self.copies.get(&read) else {
            return Lookup::Absent;
        };
        if self.unsynced {
            return Lookup::NeedsSync;
        }
        log_hit(&mut self.hits, &mut self.saturated, &copy.entry);
        self.served += 1;
        Lookup::Served(answer(&copy.text))
    }

    /// The copies of `get(namespace, key)` for every key of a `get-many`, if
    /// all may be served now, with the hits logged in the order of `keys` (the
    /// order `get-many` looks them up in). Otherwise nothing is logged: the
    /// whole call enters the component. An empty list enters it too, since
    /// only the component knows whether the namespace exists.
    pub(super) fn lookup_many(
        &mut self,
        namespace: &str,
        keys: &[String],
    ) -> Lookup<Vec<Arc<str>>> {
        // A batch adds at most `keys.len()` to a count that is below
        // `SATURATED` (the service replays past it), so no count overflows.
        if keys.is_empty() || keys.len() >= SATURATED as usize {
            return Lookup::Absent;
        }
        let mut found = Vec::with_capacity(keys.len());
        for key in keys {
            match self.copies.get(&Read::Get { namespace, key }) {
                Some(copy) => found.push(copy),
                None => return Lookup::Absent,
            }
        }
        if self.unsynced {
            return Lookup::NeedsSync;
        }
        let texts = found
            .into_iter()
            .map(|copy| {
                log_hit(&mut self.hits, &mut self.saturated, &copy.entry);
                Arc::clone(&copy.text)
            })
            .collect();
        self.served += keys.len() as u64;
        Lookup::Served(texts)
    }

    /// Whether a copy of `read`'s answer is held (servable or not).
    pub(super) fn has_copy(&self, read: Read<&str>) -> bool {
        self.copies.contains_key(&read)
    }

    /// Whether copies are made and served.
    pub(super) fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether hits wait to be replayed.
    pub(super) fn has_pending_hits(&self) -> bool {
        !self.hits.is_empty()
    }

    /// Whether the pending hits reached their bound.
    pub(super) fn hits_full(&self) -> bool {
        self.hits.len() >= MAX_PENDING_HITS || self.saturated
    }

    /// Whether a `sync` must run before a copy is served.
    pub(super) fn is_unsynced(&self) -> bool {
        self.unsynced
    }

    /// A call entered the component: entries may have changed.
    pub(super) fn entered(&mut self) {
        self.unsynced = true;
    }

    /// Undoes [`entered`](Self::entered) for a call that changed no entry a
    /// copy can depend on (a read that called no storage).
    pub(super) fn restore_synced(&mut self, was_unsynced: bool) {
        self.unsynced = was_unsynced;
    }

    /// The pending hits, as `sync` takes them (see `hit-batch` in
    /// `wit/types.wit`): each entry once, in the order of its last hit.
    pub(super) fn take_hits(&mut self) -> HitBatch {
        let mut batch = HitBatch {
            namespaces: Vec::new(),
            entries: Vec::with_capacity(self.hits.len()),
            keys: String::new(),
        };
        for (_, (entry, hits)) in self.hits.iter().rev() {
            let namespace = match batch
                .namespaces
                .iter()
                .position(|n| **n == *entry.namespace)
            {
                Some(i) => i,
                None => {
                    batch.namespaces.push(entry.namespace.to_string());
                    batch.namespaces.len() - 1
                }
            };
            // Keys are at most 1 KiB and namespaces few: both fit in a u32.
            let index = u32::try_from(namespace).unwrap_or(u32::MAX);
            let len = u32::try_from(entry.key.len()).unwrap_or(u32::MAX);
            batch.entries.push((index, len, *hits));
            batch.keys.push_str(&entry.key);
        }
        self.hits.clear();
        self.saturated = false;
        batch
    }

    /// Applies what a `sync` returned: the copies of changed entries go.
    pub(super) fn synced(&mut self, report: SyncReport) {
        self.syncs += 1;
        self.unsynced = false;
        if report.stale > 0 {
            self.stale += u64::from(report.stale);
            tracing::error!(
                stale = report.stale,
                "the read path served copies of entries the component no longer held; dropping every copy"
            );
            self.drop_copies();
        }
        for change in report.changes {
            match change {
                Change::Everything => self.drop_copies(),
                Change::WholeNamespace(namespace) => self.drop_namespace(&namespace),
                Change::Entry((namespace, key)) => {
                    let id = EntryId {
                        namespace: namespace.into(),
                        key: key.into(),
                    };
                    if let Some(reads) = self.by_entry.remove(&id) {
                        for read in reads {
                            self.remove_copy(&read);
                        }
                    }
                }
            }
        }
    }

    /// Keeps `text` as the answer of `read`, unless the read path is off, the
    /// entry's namespace expires entries, or the copies reached their bound
    /// (`max_entries`: the table's total capacity), in which case every copy
    /// goes first.
    pub(super) fn insert(
        &mut self,
        read: Read<&str>,
        text: &Arc<str>,
        expires: impl Fn(&str) -> bool,
        max_entries: usize,
    ) {
        if !self.enabled {
            return;
        }
        let entry = entry_of(read);
        if expires(&entry.namespace) {
            return;
        }
        if self.copies.len() >= max_entries.saturating_mul(COPIES_PER_ENTRY) {
            self.drop_copies();
        }
        let owned = read.into_owned();
        self.remove_copy(&owned);
        let entry = match self.by_entry.get_key_value(&entry) {
            Some((existing, _)) => Arc::clone(existing),
            None => Arc::new(entry),
        };
        self.bytes += copy_bytes(&owned, text);
        self.by_entry
            .entry(Arc::clone(&entry))
            .or_default()
            .push(owned.clone());
        self.copies.insert(
            owned,
            Copy {
                text: Arc::clone(text),
                entry,
            },
        );
    }

    /// Drops every copy and forgets the pending hits: the instance they
    /// belonged to is gone.
    pub(super) fn reset(&mut self) {
        self.drop_copies();
        self.hits.clear();
        self.saturated = false;
        self.unsynced = false;
    }

    fn drop_copies(&mut self) {
        self.copies.clear();
        self.by_entry.clear();
        self.bytes = 0;
    }

    fn drop_namespace(&mut self, namespace: &str) {
        let gone: Vec<Arc<EntryId>> = self
            .by_entry
            .keys()
            .filter(|e| &*e.namespace == namespace)
            .cloned()
            .collect();
        for entry in gone {
            if let Some(reads) = self.by_entry.remove(&entry) {
                for read in reads {
                    self.remove_copy(&read);
                }
            }
        }
    }

    /// Removes one copy (its entry's list is the caller's to fix).
    fn remove_copy(&mut self, read: &Read<Box<str>>) {
        if let Some(copy) = self.copies.remove(read) {
            self.bytes = self.bytes.saturating_sub(copy_bytes(read, &copy.text));
            if let Some(reads) = self.by_entry.get_mut(&copy.entry) {
                reads.retain(|r| r != read);
                if reads.is_empty() {
                    self.by_entry.remove(&copy.entry);
                }
            }
        }
    }
}

/// A pending hit count at which the hits are replayed before the next read:
/// far below `u32::MAX`, so that one `get-many` cannot overflow a count.
const SATURATED: u32 = 1 << 31;

/// Logs one hit of `entry` as its most recent (see [`ReadPath::take_hits`]).
fn log_hit(
    hits: &mut LruCache<usize, (Arc<EntryId>, u32)>,
    saturated: &mut bool,
    entry: &Arc<EntryId>,
) {
    let address = Arc::as_ptr(entry) as usize;
    match hits.get_mut(&address) {
        Some((_, count)) => {
            *count += 1;
            *saturated |= *count >= SATURATED;
        }
        None => {
            hits.put(address, (Arc::clone(entry), 1));
        }
    }
}

fn copy_bytes(read: &Read<Box<str>>, text: &str) -> usize {
    let key = match read {
        Read::Get { namespace, key } => namespace.len() + key.len(),
        Read::UserState { state_key, .. } => state_key.len(),
        _ => 0,
    };
    COPY_OVERHEAD + key + text.len()
}

#[cfg(test)]
mod tests {
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
        let mut path = ReadPath::new(true);
        path.insert(get("k"), &Arc::from("1"), |_| false, 10);
        let clean = SyncReport {
            changes: Vec::new(),
            stale: 0,
        };
        path.synced(clean);
        let stats = path.stats();
        assert_eq!((stats.copies, stats.stale, stats.syncs), (1, 0, 1));
        path.synced(SyncReport {
            changes: Vec::new(),
            stale: 2,
        });
        let stats = path.stats();
        assert_eq!((stats.copies, stats.stale, stats.syncs), (0, 2, 2));
        assert_eq!(stats.bytes, 0);
    }

    /// The bytes counted are those of the copies held: a copy replaced is not
    /// counted twice, and past the bound every copy goes first.
    #[test]
    fn copies_are_counted_once_and_bounded() {
        let mut path = ReadPath::new(true);
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

    /// A change of an entry drops every copy read from it, also after one of
    /// them was made again.
    #[test]
    fn a_changed_entry_drops_all_its_copies() {
        let mut path = ReadPath::new(true);
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
        });
        assert_eq!((path.stats().copies, path.stats().bytes), (0, 0));
    }
}
