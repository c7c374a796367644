//! [`HitLog`]: the hits the read path served and has not replayed yet, per
//! entry, in the order of each entry's last hit.
//!
//! Entries are small indexes (*slots*, see `entries.rs`). The log is a
//! doubly linked list threaded through a dense array with one link per
//! *pending* entry, found by slot through a small map: both hold only the
//! entries hit since the last replay (at most about
//! [`MAX_PENDING_HITS`](super::read_path::MAX_PENDING_HITS)), so they stay in
//! the CPU caches whatever the size of the cache, and a hit allocates nothing.

use hashbrown::hash_map::Entry;
use hashbrown::HashMap;

/// The end of the list.
const NONE: usize = usize::MAX;

/// A hint for [`HitLog::hit`] that names no link.
pub(super) const NO_HINT: u32 = u32::MAX;

/// A pending hit count at which the hits are replayed before the next read:
/// far below `u32::MAX`, so that one `get-many` cannot overflow a count.
pub(super) const SATURATED: u32 = 1 << 31;

/// A pending entry: its slot, its neighbours in the list, and its hits.
struct Link {
    slot: u32,
    hits: u32,
    prev: usize,
    next: usize,
}

/// The pending hits (see the module doc).
pub(super) struct HitLog {
    /// Each pending slot's index in `links`.
    index: HashMap<u32, usize>,
    links: Vec<Link>,
    /// The least recently hit entry in the list, and the most recently hit one.
    head: usize,
    tail: usize,
    /// An entry's count reached [`SATURATED`].
    saturated: bool,
}

impl HitLog {
    pub(super) fn new() -> Self {
        Self {
            index: HashMap::new(),
            links: Vec::new(),
            head: NONE,
            tail: NONE,
            saturated: false,
        }
    }

    /// Entries with pending hits.
    pub(super) fn len(&self) -> usize {
        self.links.len()
    }

    /// Whether some entry's count reached [`SATURATED`].
    pub(super) fn is_saturated(&self) -> bool {
        self.saturated
    }

    /// Whether `slot` has pending hits.
    pub(super) fn is_pending(&self, slot: u32) -> bool {
        self.index.contains_key(&slot)
    }

    /// Logs one hit of `slot` as the most recent. `hint` is where the
    /// caller last saw the slot's link (any value will do: it is checked, and
    /// updated); a right one saves the map's lookup, whose lines a hit would
    /// otherwise touch.
    pub(super) fn hit(&mut self, slot: u32, hint: &mut u32) {
        let found = match self.links.get(*hint as usize) {
            // A slot has at most one link: this one is the slot's.
            Some(link) if link.slot == slot => Some(*hint as usize),
            // One lookup finds the link or makes the slot's place for it.
            _ => match self.index.entry(slot) {
                Entry::Occupied(link) => Some(*link.get()),
                Entry::Vacant(place) => {
                    place.insert(self.links.len());
                    None
                }
            },
        };
        let at = match found {
            Some(at) => {
                if self.tail != at {
                    self.unlink(at);
                    self.append(at);
                }
                at
            }
            None => {
                let at = self.links.len();
                self.links.push(Link {
                    slot,
                    prev: NONE,
                    next: NONE,
                    hits: 0,
                });
                self.append(at);
                at
            }
        };
        let hits = &mut self.links[at].hits;
        *hits += 1;
        self.saturated |= *hits >= SATURATED;
        *hint = u32::try_from(at).unwrap_or(NO_HINT);
    }

    /// Takes every pending slot with its hits, least recently hit first, and
    /// empties the log.
    pub(super) fn drain(&mut self) -> Vec<(u32, u32)> {
        let mut out = Vec::with_capacity(self.links.len());
        let mut at = self.head;
        while at != NONE {
            let link = &self.links[at];
            out.push((link.slot, link.hits));
            at = link.next;
        }
        self.clear();
        out
    }

    /// Forgets every pending hit.
    pub(super) fn clear(&mut self) {
        self.index.clear();
        self.links.clear();
        self.head = NONE;
        self.tail = NONE;
        self.saturated = false;
    }

    fn unlink(&mut self, at: usize) {
        let (prev, next) = {
            let link = &self.links[at];
            (link.prev, link.next)
        };
        match prev {
            NONE => self.head = next,
            prev => self.links[prev].next = next,
        }
        match next {
            NONE => self.tail = prev,
            next => self.links[next].prev = prev,
        }
    }

    fn append(&mut self, at: usize) {
        let tail = self.tail;
        let link = &mut self.links[at];
        link.prev = tail;
        link.next = NONE;
        match tail {
            NONE => self.head = at,
            tail => self.links[tail].next = at,
        }
        self.tail = at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hits without a hint worth anything.
    fn hit(log: &mut HitLog, slot: u32) {
        let mut hint = NO_HINT;
        log.hit(slot, &mut hint);
    }

    fn log_of(hits: &[u32]) -> HitLog {
        let mut log = HitLog::new();
        for &slot in hits {
            hit(&mut log, slot);
        }
        log
    }

    /// Each slot once, in the order of its last hit, with all its hits.
    #[test]
    fn drains_in_the_order_of_last_hits_with_counts() {
        let mut log = log_of(&[3, 1, 3, 2, 1, 1, 0]);
        assert_eq!(log.len(), 4);
        assert!(log.is_pending(2) && !log.is_pending(4));
        assert_eq!(log.drain(), vec![(3, 2), (2, 1), (1, 3), (0, 1)]);
        assert_eq!(log.len(), 0);
        assert!(!log.is_pending(3));
        assert_eq!(log.drain(), vec![]);
    }

    /// Moving the head, the tail and a middle slot keeps the list whole.
    #[test]
    fn moves_from_every_position() {
        let mut log = log_of(&[0, 1, 2]);
        hit(&mut log, 0); // head -> tail: 1 2 0
        hit(&mut log, 2); // middle -> tail: 1 0 2
        hit(&mut log, 2); // tail stays: 1 0 2
        hit(&mut log, 1); // head -> tail: 0 2 1
        assert_eq!(log.drain(), vec![(0, 2), (2, 3), (1, 2)]);
        let mut log = log_of(&[5]);
        hit(&mut log, 5);
        assert_eq!(log.drain(), vec![(5, 2)]);
    }

    /// After a drain or a clear the log starts over.
    #[test]
    fn drains_and_clears_start_over() {
        let mut log = log_of(&[1, 2]);
        log.drain();
        hit(&mut log, 2);
        hit(&mut log, 1);
        assert_eq!(log.drain(), vec![(2, 1), (1, 1)]);
        hit(&mut log, 4);
        log.clear();
        assert_eq!((log.len(), log.drain()), (0, vec![]));
        hit(&mut log, 0);
        assert_eq!(log.drain(), vec![(0, 1)]);
    }

    /// Against a model (each slot's last position and count), over a long
    /// mixed sequence: every move keeps the rest of the list linked. Each
    /// slot has two hints (two copies of one entry), kept across drains, so
    /// hints are right, stale, or point at another slot's link.
    #[test]
    fn matches_a_model_over_a_long_sequence() {
        let mut log = HitLog::new();
        let mut hints = [[NO_HINT; 2]; 10];
        let mut last = [None; 10];
        let mut counts = [0u32; 10];
        let mut x = 7u32;
        for i in 0..500 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let slot = (x >> 16) % 10;
            log.hit(slot, &mut hints[slot as usize][(x >> 8) as usize % 2]);
            last[slot as usize] = Some(i);
            counts[slot as usize] += 1;
            if i % 97 == 96 {
                let mut expected: Vec<(usize, u32)> = (0..10)
                    .filter_map(|s| last[s].map(|at| (at, s as u32)))
                    .collect();
                expected.sort();
                let expected: Vec<(u32, u32)> = expected
                    .into_iter()
                    .map(|(_, s)| (s, counts[s as usize]))
                    .collect();
                assert_eq!(log.drain(), expected, "after hit {i}");
                last = [None; 10];
                counts = [0; 10];
            }
        }
    }

    /// A right hint finds the slot's link without the map; a wrong one
    /// (another slot's link, or past the end) falls back to it.
    #[test]
    fn a_right_hint_is_used_and_a_wrong_one_is_not() {
        let mut log = HitLog::new();
        let (mut three, mut five) = (NO_HINT, NO_HINT);
        log.hit(3, &mut three);
        log.hit(5, &mut five);
        assert_eq!((three, five), (0, 1));
        let mut wrong = three; // link 0 is slot 3's: not used for 5
        log.hit(5, &mut wrong);
        log.index.clear(); // only the hint can find slot 3's link now
        log.hit(3, &mut three);
        assert_eq!(log.drain(), vec![(5, 2), (3, 2)]);
    }

    /// A count reaching SATURATED is reported until the next drain.
    #[test]
    fn saturation_is_reported_until_drained() {
        let mut log = log_of(&[1]);
        log.links[0].hits = SATURATED - 2;
        hit(&mut log, 1);
        assert!(!log.is_saturated());
        hit(&mut log, 1);
        assert!(log.is_saturated());
        assert_eq!(log.drain(), vec![(1, SATURATED)]);
        assert!(!log.is_saturated());
    }
}
