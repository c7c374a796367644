//! [`HitLog`]: the hits the read path served and has not replayed yet, per
//! entry, in the order of each entry's last hit.
//!
//! An entry is a small index (a *slot*, see `read_path.rs`), and the log is a
//! doubly linked list threaded through one dense array of links, one per
//! slot. A hit moves its slot to the end of the list and counts it: no hash,
//! no allocation, and three links touched, where a map keyed by entry cost a
//! hash, a probe and a heap node per entry.

/// The end of the list.
const NONE: u32 = u32::MAX;

/// A pending hit count at which the hits are replayed before the next read:
/// far below `u32::MAX`, so that one `get-many` cannot overflow a count.
pub(super) const SATURATED: u32 = 1 << 31;

/// One slot's place in the list and its pending hits (0: not in the list).
#[derive(Clone, Copy)]
struct Link {
    prev: u32,
    next: u32,
    hits: u32,
}

const UNLINKED: Link = Link {
    prev: NONE,
    next: NONE,
    hits: 0,
};

/// The pending hits (see the module doc).
pub(super) struct HitLog {
    links: Vec<Link>,
    /// The least recently hit slot in the list, and the most recently hit one.
    head: u32,
    tail: u32,
    /// Slots in the list.
    pending: usize,
    /// A slot's count reached [`SATURATED`].
    saturated: bool,
}

impl HitLog {
    pub(super) fn new() -> Self {
        Self {
            links: Vec::new(),
            head: NONE,
            tail: NONE,
            pending: 0,
            saturated: false,
        }
    }

    /// Makes room for slots `0..slots`.
    pub(super) fn cover(&mut self, slots: usize) {
        if self.links.len() < slots {
            self.links.resize(slots, UNLINKED);
        }
    }

    /// Entries with pending hits.
    pub(super) fn len(&self) -> usize {
        self.pending
    }

    /// Whether some entry's count reached [`SATURATED`].
    pub(super) fn is_saturated(&self) -> bool {
        self.saturated
    }

    /// Whether `slot` has pending hits.
    pub(super) fn is_pending(&self, slot: u32) -> bool {
        self.links[slot as usize].hits > 0
    }

    /// Logs one hit of `slot` as the most recent. `slot` must be covered.
    pub(super) fn hit(&mut self, slot: u32) {
        let link = self.links[slot as usize];
        if link.hits == 0 {
            self.pending += 1;
            self.append(slot);
        } else if self.tail != slot {
            self.unlink(slot, link);
            self.append(slot);
        }
        let hits = &mut self.links[slot as usize].hits;
        *hits += 1;
        self.saturated |= *hits >= SATURATED;
    }

    /// Takes every pending slot with its hits, least recently hit first, and
    /// empties the log.
    pub(super) fn drain(&mut self) -> Vec<(u32, u32)> {
        let mut out = Vec::with_capacity(self.pending);
        let mut slot = self.head;
        while slot != NONE {
            let link = std::mem::replace(&mut self.links[slot as usize], UNLINKED);
            out.push((slot, link.hits));
            slot = link.next;
        }
        self.head = NONE;
        self.tail = NONE;
        self.pending = 0;
        self.saturated = false;
        out
    }

    /// Forgets every pending hit and every slot.
    pub(super) fn clear(&mut self) {
        self.links.clear();
        self.head = NONE;
        self.tail = NONE;
        self.pending = 0;
        self.saturated = false;
    }

    fn unlink(&mut self, slot: u32, link: Link) {
        match link.prev {
            NONE => self.head = link.next,
            prev => self.links[prev as usize].next = link.next,
        }
        match link.next {
            NONE => self.tail = link.prev,
            next => self.links[next as usize].prev = link.prev,
        }
        let link = &mut self.links[slot as usize];
        link.prev = NONE;
        link.next = NONE;
    }

    fn append(&mut self, slot: u32) {
        let tail = self.tail;
        let link = &mut self.links[slot as usize];
        link.prev = tail;
        link.next = NONE;
        match tail {
            NONE => self.head = slot,
            tail => self.links[tail as usize].next = slot,
        }
        self.tail = slot;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(hits: &[u32]) -> HitLog {
        let mut log = HitLog::new();
        log.cover(8);
        for &slot in hits {
            log.hit(slot);
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
        log.hit(0); // head -> tail: 1 2 0
        log.hit(2); // middle -> tail: 1 0 2
        log.hit(2); // tail stays: 1 0 2
        log.hit(1); // head -> tail: 0 2 1
        assert_eq!(log.drain(), vec![(0, 2), (2, 3), (1, 2)]);
        let mut log = log_of(&[5]);
        log.hit(5);
        assert_eq!(log.drain(), vec![(5, 2)]);
    }

    /// After a drain the log starts over; a clear forgets the slots too.
    #[test]
    fn drains_and_clears_start_over() {
        let mut log = log_of(&[1, 2]);
        log.drain();
        log.hit(2);
        log.hit(1);
        assert_eq!(log.drain(), vec![(2, 1), (1, 1)]);
        log.hit(4);
        log.clear();
        assert_eq!((log.len(), log.drain()), (0, vec![]));
        log.cover(1);
        log.hit(0);
        assert_eq!(log.drain(), vec![(0, 1)]);
    }

    /// A count reaching SATURATED is reported until the next drain.
    #[test]
    fn saturation_is_reported_until_drained() {
        let mut log = log_of(&[1]);
        log.links[1].hits = SATURATED - 2;
        log.hit(1);
        assert!(!log.is_saturated());
        log.hit(1);
        assert!(log.is_saturated());
        assert_eq!(log.drain(), vec![(1, SATURATED)]);
        assert!(!log.is_saturated());
    }
}
