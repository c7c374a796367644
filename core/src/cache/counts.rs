//! Hit and miss counts that a failed call leaves as they were: every count made
//! during a call is journaled, and undone if the call fails. A host that calls
//! again after answering a `pending` storage request thus counts each lookup
//! once, as one call over a storage that answers at once would.

use super::Cache;
use crate::CacheError;

/// A count made during the current call: in namespace `.0`, a hit (`true`) or a
/// miss.
pub(crate) type Counted = (usize, bool);

impl<S> Cache<S> {
    /// Counts a hit (`hit`) or a miss in namespace `idx`.
    pub(crate) fn count(&mut self, idx: usize, hit: bool) {
        let ns = &mut self.namespaces[idx];
        if hit {
            ns.hits += 1;
        } else {
            ns.misses += 1;
        }
        self.counted.push((idx, hit));
    }

    /// Begins a call (calls nest: a bot call makes generic ones); returns where
    /// its journal starts, for [`Cache::end_call`].
    pub fn begin_call(&mut self) -> usize {
        self.depth += 1;
        self.counted.len()
    }

    /// Ends the call begun at `mark`: its counts stay if it succeeded (`ok`), and
    /// are undone if it failed. The journal is kept until the outermost call ends,
    /// since an outer call may still fail.
    pub fn end_call(&mut self, mark: usize, ok: bool) {
        self.depth -= 1;
        if !ok {
            for &(idx, hit) in &self.counted[mark..] {
                let ns = &mut self.namespaces[idx];
                if hit {
                    ns.hits -= 1;
                } else {
                    ns.misses -= 1;
                }
            }
            self.counted.truncate(mark);
        } else if self.depth == 0 {
            self.counted.clear();
        }
    }

    /// Runs `f` as one call: if it fails, the counts are as before it.
    pub(crate) fn counted<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, CacheError>,
    ) -> Result<R, CacheError> {
        let mark = self.begin_call();
        let result = f(self);
        self.end_call(mark, result.is_ok());
        result
    }
}
