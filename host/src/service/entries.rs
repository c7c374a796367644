//! [`Entries`]: the component's entries the read path knows of, each by a
//! small index (its *slot*), which the copies and the hit log use.
//!
//! An entry has a slot while it has copies or hits pending replay. The slot
//! holds the entry's name inline (its namespace as an index, its key inline up
//! to 23 bytes), so that a replay, which names each hit entry, reads one line
//! per entry rather than three allocations. It also holds the component's
//! handle of the entry once a `sync` has given it, by which later replays
//! name the entry without its key.

use cache_core::Handle;
use hashbrown::HashMap;
use smol_str::SmolStr;

/// A (namespace, key) of the component, its namespace by index into
/// [`Entries`]' names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct EntryId {
    namespace: u32,
    key: SmolStr,
}

/// An entry with a slot, the reads (`R`) whose copies came from it, and the
/// component's handle of the entry once a `sync` has given it.
struct Slot<R> {
    entry: EntryId,
    reads: Vec<R>,
    handle: Option<Handle>,
}

/// The slots in use, found by entry (see the module doc).
pub(super) struct Entries<R> {
    /// The names of the namespaces of the entries with slots; forgotten once
    /// no slot is in use.
    namespaces: Vec<Box<str>>,
    /// `None`: free, listed in `free`.
    slots: Vec<Option<Slot<R>>>,
    by_entry: HashMap<EntryId, u32>,
    free: Vec<u32>,
}

impl<R> Entries<R> {
    pub(super) fn new() -> Self {
        Self {
            namespaces: Vec::new(),
            slots: Vec::new(),
            by_entry: HashMap::new(),
            free: Vec::new(),
        }
    }

    /// The index of `namespace` among the names, if an entry of it has a slot.
    fn namespace_index(&self, namespace: &str) -> Option<usize> {
        self.namespaces.iter().position(|n| **n == *namespace)
    }

    fn id(&self, namespace: &str, key: &str) -> Option<EntryId> {
        let namespace = self.namespace_index(namespace)?;
        Some(EntryId {
            // Namespaces are fewer than slots, which `claim` numbers with a `u32`.
            namespace: u32::try_from(namespace).ok()?,
            key: SmolStr::new(key),
        })
    }

    /// The slot of `(namespace, key)`, if it has one.
    pub(super) fn find(&self, namespace: &str, key: &str) -> Option<u32> {
        self.by_entry.get(&self.id(namespace, key)?).copied()
    }

    /// The slot of `(namespace, key)`, given one if it has none; `None` past
    /// `u32::MAX` slots, which no bounded set of copies reaches.
    pub(super) fn claim(&mut self, namespace: &str, key: &str) -> Option<u32> {
        let id = match self.id(namespace, key) {
            Some(id) => id,
            None => {
                let index = u32::try_from(self.namespaces.len()).ok()?;
                self.namespaces.push(namespace.into());
                EntryId {
                    namespace: index,
                    key: SmolStr::new(key),
                }
            }
        };
        if let Some(&slot) = self.by_entry.get(&id) {
            return Some(slot);
        }
        let held = Some(Slot {
            entry: id.clone(),
            reads: Vec::new(),
            handle: None,
        });
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = held;
                slot
            }
            None => {
                let slot = u32::try_from(self.slots.len()).ok()?;
                self.slots.push(held);
                slot
            }
        };
        self.by_entry.insert(id, slot);
        Some(slot)
    }

    /// The entry of `slot` as (namespace index, key), if the slot is in use.
    pub(super) fn entry(&self, slot: u32) -> Option<(u32, &str)> {
        let held = self.slots.get(slot as usize)?.as_ref()?;
        Some((held.entry.namespace, &held.entry.key))
    }

    /// The component's handle of the entry of `slot`, if a `sync` gave one
    /// since the slot was claimed.
    pub(super) fn handle(&self, slot: u32) -> Option<Handle> {
        self.slots.get(slot as usize)?.as_ref()?.handle
    }

    /// Keeps `handle` as the component's handle of the entry of `slot`, if
    /// the slot is in use.
    pub(super) fn set_handle(&mut self, slot: u32, handle: Option<Handle>) {
        if let Some(held) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) {
            held.handle = handle;
        }
    }

    /// The names of the namespace indexes [`entry`](Self::entry) gives.
    pub(super) fn namespaces(&self) -> &[Box<str>] {
        &self.namespaces
    }

    /// The reads copied from the entry of `slot`, if the slot is in use.
    pub(super) fn reads_mut(&mut self, slot: u32) -> Option<&mut Vec<R>> {
        Some(&mut self.slots.get_mut(slot as usize)?.as_mut()?.reads)
    }

    /// Whether the entry of `slot` has no copies (also if the slot is free).
    pub(super) fn has_no_reads(&self, slot: u32) -> bool {
        self.slots
            .get(slot as usize)
            .and_then(Option::as_ref)
            .is_none_or(|held| held.reads.is_empty())
    }

    /// Frees `slot` for another entry.
    pub(super) fn free(&mut self, slot: u32) {
        let Some(held) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.by_entry.remove(&held.entry);
        self.free.push(slot);
        if self.by_entry.is_empty() {
            self.namespaces.clear();
        }
    }

    /// The slots in use.
    pub(super) fn in_use(&self) -> Vec<u32> {
        self.by_entry.values().copied().collect()
    }

    /// The slots in use of the entries of `namespace`.
    pub(super) fn in_namespace(&self, namespace: &str) -> Vec<u32> {
        let Some(index) = self.namespace_index(namespace) else {
            return Vec::new();
        };
        self.by_entry
            .iter()
            .filter(|(entry, _)| entry.namespace as usize == index)
            .map(|(_, &slot)| slot)
            .collect()
    }

    /// Slots ever given out and not reused yet, free ones included.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Frees every slot.
    pub(super) fn clear(&mut self) {
        self.namespaces.clear();
        self.slots.clear();
        self.by_entry.clear();
        self.free.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A slot names its entry until it is freed; a freed slot is reused, and
    /// the namespaces are forgotten once no slot is in use.
    #[test]
    fn slots_name_their_entries_until_freed() {
        let mut entries = Entries::<()>::new();
        let a = entries.claim("n", "a").expect("a slot");
        let b = entries.claim("m", "a").expect("a slot");
        assert_ne!(a, b, "the same key in another namespace");
        assert_eq!(entries.claim("n", "a"), Some(a));
        assert_eq!(entries.find("n", "a"), Some(a));
        assert_eq!(entries.find("n", "b"), None);
        let (namespace, key) = entries.entry(b).expect("in use");
        assert_eq!(
            (&*entries.namespaces()[namespace as usize], key),
            ("m", "a")
        );
        assert_eq!(entries.in_namespace("m"), [b]);
        entries.free(b);
        assert_eq!(entries.entry(b), None);
        assert_eq!(entries.find("m", "a"), None);
        assert!(entries.in_namespace("m").is_empty());
        let long = "k".repeat(40);
        assert_eq!(entries.claim("n", &long), Some(b), "b's slot is reused");
        assert_eq!(entries.entry(b), Some((0, long.as_str())));
        entries.free(a);
        entries.free(b);
        assert!(entries.namespaces().is_empty());
        assert_eq!(entries.capacity(), 2);
    }

    /// The reads of a slot are its own, and a slot without reads says so.
    #[test]
    fn reads_belong_to_their_slot() {
        let mut entries = Entries::<&str>::new();
        let a = entries.claim("n", "a").expect("a slot");
        let b = entries.claim("n", "b").expect("a slot");
        assert!(entries.has_no_reads(a));
        entries.reads_mut(a).expect("in use").push("get a");
        assert!(!entries.has_no_reads(a));
        assert!(entries.has_no_reads(b));
        assert_eq!(entries.in_use().len(), 2);
        entries.clear();
        assert_eq!(entries.reads_mut(a), None);
        assert!(entries.in_use().is_empty());
    }
}
