//! [`LruMap`]: a namespace's entries, in recency order, each reachable by its
//! key and by a [`Handle`].
//!
//! The entries live in one array of slots, linked from the most recently
//! used to the least; a hash table maps each key to its slot. A handle names
//! a slot and the slot's generation, so a host that replays hits it served
//! itself (`Cache::replay`) names each entry by its handle: the replay then
//! moves the entry without hashing its key, probing the table or comparing
//! keys, which were most of a replayed hit's cost. A slot's generation
//! changes whenever its entry leaves, so a handle outliving its entry names
//! nothing rather than another entry.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use smol_str::SmolStr;

use crate::key_hash::KeyHashBuilder;

/// An entry's key as the LRU holds it: up to 23 bytes inline, so a lookup
/// compares it on the entry's own cache line instead of following a pointer
/// to its bytes. A longer key (a supergroup's `chat:user`, 25 bytes) is on the
/// heap, as every key was before.
pub(crate) type Key = SmolStr;

/// The end of a list.
const NIL: u32 = u32::MAX;

/// Where an entry sits in its [`LruMap`], with the generation of that place:
/// valid while the entry stays, naming nothing once it has left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handle {
    /// The entry's slot.
    pub slot: u32,
    /// The slot's generation while the entry holds it.
    pub generation: u32,
}

/// A slot: an entry and its neighbours in recency order, or a free slot
/// whose `next` is the next free slot.
struct Slot<V> {
    entry: Option<(Key, V)>,
    /// Towards the most recently used end.
    prev: u32,
    /// Towards the least recently used end (for a free slot: the next free one).
    next: u32,
    generation: u32,
}

/// An unbounded map in recency order (see the module doc): its owner evicts,
/// with [`pop_lru`](Self::pop_lru).
pub(crate) struct LruMap<V> {
    index: HashTable<u32>,
    slots: Vec<Slot<V>>,
    hasher: KeyHashBuilder,
    /// The most recently used entry, and the least.
    head: u32,
    tail: u32,
    /// The first free slot.
    free: u32,
    len: usize,
    /// The entries its owner holds at most: the slots grow by doubling, but
    /// not past it, so a full namespace has no unused slots.
    limit: usize,
}

impl<V> Default for LruMap<V> {
    fn default() -> Self {
        Self {
            index: HashTable::new(),
            slots: Vec::new(),
            hasher: KeyHashBuilder::default(),
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
            limit: usize::MAX,
        }
    }
}

impl<V> LruMap<V> {
    /// How many entries its owner will hold at most (see `limit`); it still
    /// holds more if given more.
    pub(crate) fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    fn find(&self, key: &str) -> Option<u32> {
        self.find_hashed(self.hasher.hash_one(key), key)
    }

    fn find_hashed(&self, hash: u64, key: &str) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&at| {
                slots
                    .get(at as usize)
                    .and_then(|s| s.entry.as_ref())
                    .is_some_and(|(k, _)| k == key)
            })
            .copied()
    }

    fn value_mut(&mut self, at: u32) -> Option<&mut V> {
        let (_, value) = self.slots.get_mut(at as usize)?.entry.as_mut()?;
        Some(value)
    }

    /// The value of `key`, made the most recently used.
    pub(crate) fn get(&mut self, key: &str) -> Option<&V> {
        self.get_mut(key).map(|v| &*v)
    }

    /// The value of `key`, made the most recently used.
    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut V> {
        let at = self.find(key)?;
        self.move_to_front(at);
        self.value_mut(at)
    }

    /// The value of `key` and its handle, made the most recently used.
    pub(crate) fn touch(&mut self, key: &str) -> Option<(Handle, &mut V)> {
        let at = self.find(key)?;
        self.move_to_front(at);
        let slot = self.slots.get_mut(at as usize)?;
        let handle = Handle {
            slot: at,
            generation: slot.generation,
        };
        let (_, value) = slot.entry.as_mut()?;
        Some((handle, value))
    }

    /// The value of the entry `handle` names, made the most recently used;
    /// `None` if it names no entry (it has left since).
    pub(crate) fn touch_at(&mut self, handle: Handle) -> Option<&mut V> {
        let slot = self.slots.get(handle.slot as usize)?;
        if slot.generation != handle.generation || slot.entry.is_none() {
            return None;
        }
        self.move_to_front(handle.slot);
        self.value_mut(handle.slot)
    }

    /// The key of the entry `handle` names, if it names one.
    pub(crate) fn key_at(&self, handle: Handle) -> Option<&Key> {
        let slot = self.slots.get(handle.slot as usize)?;
        if slot.generation != handle.generation {
            return None;
        }
        slot.entry.as_ref().map(|(k, _)| k)
    }

    /// The value of `key`, its recency unchanged.
    pub(crate) fn peek(&self, key: &str) -> Option<&V> {
        let at = self.find(key)?;
        let (_, value) = self.slots.get(at as usize)?.entry.as_ref()?;
        Some(value)
    }

    /// The value of `key`, its recency unchanged.
    pub(crate) fn peek_mut(&mut self, key: &str) -> Option<&mut V> {
        let at = self.find(key)?;
        self.value_mut(at)
    }

    /// Whether `key` is held.
    pub(crate) fn contains(&self, key: &str) -> bool {
        self.find(key).is_some()
    }

    /// Holds `value` under `key` as the most recently used entry; returns the
    /// value it replaces.
    pub(crate) fn put(&mut self, key: Key, value: V) -> Option<V> {
        let hash = self.hasher.hash_one(&key);
        if let Some(at) = self.find_hashed(hash, &key) {
            self.move_to_front(at);
            let (_, held) = self.slots.get_mut(at as usize)?.entry.as_mut()?;
            return Some(std::mem::replace(held, value));
        }
        let at = self.take_free_slot((key, value));
        let (slots, hasher) = (&self.slots, &self.hasher);
        self.index.insert_unique(hash, at, |&i| {
            slots
                .get(i as usize)
                .and_then(|s| s.entry.as_ref())
                .map_or(0, |(k, _)| hasher.hash_one(k))
        });
        self.link_front(at);
        self.len += 1;
        None
    }

    /// A free slot holding `entry`, unlinked; the array grows if none is free.
    fn take_free_slot(&mut self, entry: (Key, V)) -> u32 {
        match self.slots.get_mut(self.free as usize) {
            Some(slot) => {
                let at = self.free;
                self.free = slot.next;
                slot.entry = Some(entry);
                at
            }
            None => {
                // A map holds fewer than `u32::MAX` entries: a namespace's
                // capacity is a `u32`, and it evicts past it.
                let at = u32::try_from(self.slots.len()).unwrap_or(NIL);
                let len = self.slots.len();
                if len == self.slots.capacity() {
                    let double = len.max(4);
                    let room = self.limit.saturating_sub(len);
                    self.slots
                        .reserve_exact(if room == 0 { double } else { double.min(room) });
                }
                self.slots.push(Slot {
                    entry: Some(entry),
                    prev: NIL,
                    next: NIL,
                    generation: 0,
                });
                at
            }
        }
    }

    /// Removes `key`; returns its value.
    pub(crate) fn pop(&mut self, key: &str) -> Option<V> {
        let hash = self.hasher.hash_one(key);
        let at = self.find_hashed(hash, key)?;
        self.remove_hashed(at, hash).map(|(_, v)| v)
    }

    /// Removes the least recently used entry.
    pub(crate) fn pop_lru(&mut self) -> Option<(Key, V)> {
        self.remove_at(self.tail)
    }

    /// Makes `key` the least recently used entry.
    pub(crate) fn demote(&mut self, key: &str) {
        if let Some(at) = self.find(key) {
            self.unlink(at);
            self.link_back(at);
        }
    }

    /// Removes every entry. Handles given before name nothing after.
    pub(crate) fn clear(&mut self) {
        self.index.clear();
        let mut free = NIL;
        for (at, slot) in self.slots.iter_mut().enumerate().rev() {
            if slot.entry.take().is_some() {
                slot.generation = slot.generation.wrapping_add(1);
            }
            slot.prev = NIL;
            slot.next = free;
            // The slots' count fits in a u32 (see `take_free_slot`).
            free = u32::try_from(at).unwrap_or(NIL);
        }
        self.free = free;
        self.head = NIL;
        self.tail = NIL;
        self.len = 0;
    }

    /// The entries, most recently used first; `.rev()` for least first.
    pub(crate) fn iter(&self) -> Iter<'_, V> {
        Iter {
            slots: &self.slots,
            front: self.head,
            back: self.tail,
            left: self.len,
        }
    }

    /// Every value, in no particular order.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.slots
            .iter_mut()
            .filter_map(|s| s.entry.as_mut().map(|(_, v)| v))
    }

    /// Takes the entry out of slot `at`, unlinks it and frees the slot.
    fn remove_at(&mut self, at: u32) -> Option<(Key, V)> {
        let (key, _) = self.slots.get(at as usize)?.entry.as_ref()?;
        self.remove_hashed(at, self.hasher.hash_one(key))
    }

    /// [`remove_at`](Self::remove_at), given the hash of the slot's key.
    fn remove_hashed(&mut self, at: u32, hash: u64) -> Option<(Key, V)> {
        self.slots.get(at as usize)?.entry.as_ref()?;
        if let Ok(found) = self.index.find_entry(hash, |&i| i == at) {
            found.remove();
        }
        self.unlink(at);
        let free = self.free;
        let slot = self.slots.get_mut(at as usize)?;
        let entry = slot.entry.take();
        slot.generation = slot.generation.wrapping_add(1);
        slot.next = free;
        slot.prev = NIL;
        self.free = at;
        self.len -= 1;
        entry
    }

    fn move_to_front(&mut self, at: u32) {
        if self.head != at {
            self.unlink(at);
            self.link_front(at);
        }
    }

    fn unlink(&mut self, at: u32) {
        let Some(slot) = self.slots.get(at as usize) else {
            return;
        };
        let (prev, next) = (slot.prev, slot.next);
        match self.slots.get_mut(prev as usize) {
            Some(p) => p.next = next,
            None => self.head = next,
        }
        match self.slots.get_mut(next as usize) {
            Some(n) => n.prev = prev,
            None => self.tail = prev,
        }
    }

    fn link_front(&mut self, at: u32) {
        let head = self.head;
        if let Some(slot) = self.slots.get_mut(at as usize) {
            slot.prev = NIL;
            slot.next = head;
        }
        match self.slots.get_mut(head as usize) {
            Some(h) => h.prev = at,
            None => self.tail = at,
        }
        self.head = at;
    }

    fn link_back(&mut self, at: u32) {
        let tail = self.tail;
        if let Some(slot) = self.slots.get_mut(at as usize) {
            slot.prev = tail;
            slot.next = NIL;
        }
        match self.slots.get_mut(tail as usize) {
            Some(t) => t.next = at,
            None => self.head = at,
        }
        self.tail = at;
    }
}

/// The entries of an [`LruMap`] in recency order, from either end.
pub(crate) struct Iter<'a, V> {
    slots: &'a [Slot<V>],
    front: u32,
    back: u32,
    left: usize,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a Key, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let slot = self.slots.get(self.front as usize)?;
        let (k, v) = slot.entry.as_ref()?;
        self.front = slot.next;
        self.left -= 1;
        Some((k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<V> DoubleEndedIterator for Iter<'_, V> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let slot = self.slots.get(self.back as usize)?;
        let (k, v) = slot.entry.as_ref()?;
        self.back = slot.prev;
        self.left -= 1;
        Some((k, v))
    }
}

impl<V> ExactSizeIterator for Iter<'_, V> {}

#[cfg(test)]
mod tests;
