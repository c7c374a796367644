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
//! - A host may keep its own form of an answer with its copy (an
//!   [`Attachment`]: the Python binding keeps the answer's Python objects), so
//!   that a hit finds both in one lookup; it goes with the copy.

use std::hash::Hash;
use std::sync::Arc;

use cache_core::{Handle, Read};
use hashbrown::HashMap;
use smol_str::SmolStr;

use super::entries::Entries;
use super::hit_log::{HitLog, NO_HINT, SATURATED};
use crate::bindings::exports::gromozeka::cache::types::{Change, HitBatch, SyncReport};

/// Entries with hits served from copies that are replayed at the latest when
/// this many are pending: the log's memory is bounded, and a replay's cost is
/// spread thin. Repeated hits of one entry take one place.
pub const MAX_PENDING_HITS: usize = 1024;

/// Both numbers of "no handle" in `hit-batch` and `sync-report`.
const NO_HANDLE: u32 = u32::MAX;

/// Copies held at most, per entry the namespace table allows (its total
/// `max-entries`): a copy exists only for an entry the component holds, but a
/// user's state has one read per item.
const COPIES_PER_ENTRY: usize = 2;

/// A read whose answer is copied, as the copies are keyed: its strings
/// inline up to 23 bytes (a namespace, a state key, most keys), so that a
/// lookup compares them without reading another cache line.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CopyKey(Read<SmolStr>);

impl CopyKey {
    fn of(read: Read<&str>) -> Self {
        Self(read.map_strings(SmolStr::new))
    }
}

// `Read<&str>` and `CopyKey` hash alike: `CopyKey` hashes its one field, and
// `Read`'s derived `Hash` hashes a `SmolStr` as its `str`.
impl hashbrown::Equivalent<CopyKey> for Read<&str> {
    fn equivalent(&self, key: &CopyKey) -> bool {
        self.matches(&key.0)
    }
}

/// What a host keeps with a copy besides its text (see
/// [`CacheService::with_read_copy`](super::CacheService::with_read_copy)):
/// dropped with the copy, under the service's lock, possibly on a background
/// thread (a change of another process), so its `Drop` must not call the
/// service. `()` (the default) keeps nothing.
pub trait Attachment: Send + 'static {
    /// The memory it holds, counted in [`ReadPathStats::bytes`] while it is
    /// kept. Asked once, when it is attached.
    fn bytes(&self) -> usize;
}

impl Attachment for () {
    fn bytes(&self) -> usize {
        0
    }
}

/// A copy of an answer, the host's attachment, the slot of the entry it came
/// from, and where its last hit found the entry in the hit log (a hint, see
/// [`HitLog::hit`]).
struct Copy<A> {
    text: Arc<str>,
    attachment: Option<A>,
    slot: u32,
    hint: u32,
}

impl<A: Attachment> Copy<A> {
    /// The bytes counted for this copy of `read`'s answer: its key, its text,
    /// its attachment and the bookkeeping.
    fn bytes(&self, read: &CopyKey) -> usize {
        let key = match &read.0 {
            Read::Get { namespace, key } => namespace.len() + key.len(),
            Read::UserState { state_key, .. } => state_key.len(),
            _ => 0,
        };
        COPY_OVERHEAD + key + self.text.len() + self.attachment.as_ref().map_or(0, A::bytes)
    }
}

/// What the read path holds and did since the service started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadPathStats {
    /// Whether hits are served from copies (see
    /// [`CacheService::set_read_path`](super::CacheService::set_read_path)).
    pub enabled: bool,
    /// Copies held now.
    pub copies: u64,
    /// Bytes the copies hold: their texts, keys and bookkeeping, and what
    /// their attachments report ([`Attachment::bytes`]).
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
pub(super) struct ReadPath<A> {
    enabled: bool,
    copies: HashMap<CopyKey, Copy<A>>,
    /// The entries with copies or pending hits, each with the reads copied from it.
    entries: Entries<CopyKey>,
    /// The slots hit since the last `sync`, with their hits.
    hits: HitLog,
    /// The slots of the batch [`take_hits`](Self::take_hits) made last, in
    /// its order (`None`: freed since), to keep the handles `sync` returns.
    in_flight: Vec<Option<u32>>,
    /// A call entered the component since the last `sync`: its changes are unknown.
    unsynced: bool,
    bytes: usize,
    served: u64,
    syncs: u64,
    stale: u64,
}

/// Bytes of bookkeeping counted per copy besides its texts.
const COPY_OVERHEAD: usize = 96;

impl<A: Attachment> ReadPath<A> {
    pub(super) fn new(enabled: bool) -> Self {
        Self {
            enabled,
            copies: HashMap::new(),
            entries: Entries::new(),
            hits: HitLog::new(),
            in_flight: Vec::new(),
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

    /// `answer` of the copy of `read`'s answer and its attachment, if one may
    /// be served now (the hit is then logged).
    pub(super) fn lookup<T>(
        &mut self,
        read: Read<&str>,
        answer: impl FnOnce(&Arc<str>, &mut Option<A>) -> T,
    ) -> Lookup<T> {
        let Some(copy) = self.copies.get_mut(&read) else {
            return Lookup::Absent;
        };
        if self.unsynced {
            return Lookup::NeedsSync;
        }
        self.hits.hit(copy.slot, &mut copy.hint);
        self.served += 1;
        Lookup::Served(answer(&copy.text, &mut copy.attachment))
    }

    /// Keeps `attachment` with the copy of `read`'s answer if that copy still
    /// holds `text` (the very answer the attachment was made from); otherwise
    /// hands it back. Logs no hit.
    pub(super) fn attach(
        &mut self,
        read: Read<&str>,
        text: &Arc<str>,
        attachment: A,
    ) -> Result<(), A> {
        match self.copies.get_mut(&read) {
            Some(copy) if Arc::ptr_eq(&copy.text, text) => {
                let held = attachment.bytes();
                let replaced = copy.attachment.replace(attachment);
                self.bytes = self.bytes.saturating_sub(replaced.map_or(0, |a| a.bytes())) + held;
                Ok(())
            }
            _ => Err(attachment),
        }
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
                // The copies are borrowed shared here: their hints stay as they are.
                let mut hint = copy.hint;
                self.hits.hit(copy.slot, &mut hint);
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
        self.hits.len() > 0
    }

    /// Whether the pending hits reached their bound.
    pub(super) fn hits_full(&self) -> bool {
        self.hits.len() >= MAX_PENDING_HITS || self.hits.is_saturated()
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
    /// `wit/types.wit`): each entry once, in the order of its last hit, by
    /// its handle where a `sync` gave one, otherwise by its key.
    pub(super) fn take_hits(&mut self) -> HitBatch {
        let mut batch = HitBatch {
            namespaces: Vec::new(),
            entries: Vec::with_capacity(3 * self.hits.len()),
            keys: String::new(),
            handles: Vec::with_capacity(2 * self.hits.len()),
        };
        self.in_flight.clear();
        // The batch's index of each of `entries`' namespaces, once it has one.
        let mut in_batch = vec![u32::MAX; self.entries.namespaces().len()];
        for (slot, hits) in self.hits.drain() {
            let Some((namespace, key)) = self.entries.entry(slot) else {
                // Never: a slot with pending hits stays in use until this replay.
                tracing::error!(slot, "a pending hit named a free slot; it is not replayed");
                continue;
            };
            let Some(index) = in_batch.get_mut(namespace as usize) else {
                tracing::error!(
                    slot,
                    "a slot named an unknown namespace; it is not replayed"
                );
                continue;
            };
            if *index == u32::MAX {
                // Namespaces are few: their count fits in a u32.
                *index = u32::try_from(batch.namespaces.len()).unwrap_or(u32::MAX);
                batch
                    .namespaces
                    .push(self.entries.namespaces()[namespace as usize].to_string());
            }
            match self.entries.handle(slot) {
                Some(handle) => {
                    batch.entries.extend([*index, 0, hits]);
                    batch.handles.extend([handle.slot, handle.generation]);
                }
                None => {
                    // Keys are at most 1 KiB: a length fits in a u32.
                    let len = u32::try_from(key.len()).unwrap_or(u32::MAX);
                    batch.entries.extend([*index, len, hits]);
                    batch.keys.push_str(key);
                    batch.handles.extend([NO_HANDLE; 2]);
                }
            }
            if self.entries.has_no_reads(slot) {
                self.release(slot);
                self.in_flight.push(None);
            } else {
                self.in_flight.push(Some(slot));
            }
        }
        batch
    }

    /// Applies what a `sync` of [`take_hits`](Self::take_hits)' batch
    /// returned: the entries' handles are kept, then the copies of changed
    /// entries go.
    pub(super) fn synced(&mut self, report: SyncReport) {
        self.syncs += 1;
        self.unsynced = false;
        let handles = report.handles.chunks_exact(2).map(|pair| match *pair {
            [slot, generation] if slot != NO_HANDLE => Some(Handle { slot, generation }),
            _ => None,
        });
        for (slot, handle) in self.in_flight.drain(..).zip(handles) {
            if let Some(slot) = slot {
                self.entries.set_handle(slot, handle);
            }
        }
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
                    if let Some(slot) = self.entries.find(&namespace, &key) {
                        self.drop_entry(slot);
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
        let (namespace, key) = read.entry();
        if expires(namespace) {
            return;
        }
        if self.copies.len() >= max_entries.saturating_mul(COPIES_PER_ENTRY) {
            self.drop_copies();
        }
        let owned = CopyKey::of(read);
        self.remove_copy(&owned);
        let Some(slot) = self.entries.claim(namespace, &key) else {
            return;
        };
        // Never `None` (a claimed slot is in use); if it were, a copy its
        // entry could not drop must not be made.
        let Some(reads) = self.entries.reads_mut(slot) else {
            return;
        };
        reads.push(owned.clone());
        let copy = Copy {
            text: Arc::clone(text),
            attachment: None,
            slot,
            hint: NO_HINT,
        };
        self.bytes += copy.bytes(&owned);
        self.copies.insert(owned, copy);
    }

    /// Frees `slot`, which has no copies left, unless its hits are pending:
    /// it then names its entry until the `sync` that replays them.
    fn release(&mut self, slot: u32) {
        if self.hits.is_pending(slot) {
            return;
        }
        self.entries.free(slot);
    }

    /// Drops every copy read from the entry of `slot`.
    fn drop_entry(&mut self, slot: u32) {
        let Some(reads) = self.entries.reads_mut(slot).map(std::mem::take) else {
            return;
        };
        for read in reads {
            if let Some(copy) = self.copies.remove(&read) {
                self.bytes = self.bytes.saturating_sub(copy.bytes(&read));
            }
        }
        self.release(slot);
    }

    /// Drops every copy and forgets the pending hits: the instance they
    /// belonged to is gone.
    pub(super) fn reset(&mut self) {
        self.copies.clear();
        self.entries.clear();
        self.hits.clear();
        self.bytes = 0;
        self.unsynced = false;
    }

    /// Drops every copy; the slots with pending hits stay until the `sync`.
    fn drop_copies(&mut self) {
        self.copies.clear();
        self.bytes = 0;
        for slot in self.entries.in_use() {
            if let Some(reads) = self.entries.reads_mut(slot) {
                reads.clear();
            }
            self.release(slot);
        }
    }

    fn drop_namespace(&mut self, namespace: &str) {
        for slot in self.entries.in_namespace(namespace) {
            self.drop_entry(slot);
        }
    }

    /// Removes one copy, and frees its entry's slot if it was the last.
    fn remove_copy(&mut self, read: &CopyKey) {
        let Some(copy) = self.copies.remove(read) else {
            return;
        };
        self.bytes = self.bytes.saturating_sub(copy.bytes(read));
        let last = match self.entries.reads_mut(copy.slot) {
            Some(reads) => {
                reads.retain(|r| r != read);
                reads.is_empty()
            }
            None => false,
        };
        if last {
            self.release(copy.slot);
        }
    }
}

/// A lookup's answer that is the copy's text.
pub(super) fn text_of<A>(text: &Arc<str>, _: &mut Option<A>) -> Arc<str> {
    Arc::clone(text)
}

#[cfg(test)]
mod tests;
