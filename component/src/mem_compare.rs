//! The guest's `memcmp`, eight bytes at a time.
//!
//! Every string and slice comparison in the guest calls `memcmp`: a lookup in
//! an LRU compares the key it finds with the one it was given. The `memcmp`
//! of Rust's own builtins compares one byte per iteration, which Cranelift
//! compiles to about 24 instructions a byte: 335 instructions to compare a
//! 14-byte key, a fifth of a replayed hit (`bench/ANALYSIS.md`). Defined here,
//! it replaces the builtins' weak definition when the component links.

use std::cmp::Ordering;

/// The order of two byte strings of equal length, as C's `memcmp` gives it:
/// negative, zero or positive as `a` sorts before, with or after `b` byte by
/// byte. Only the first `min(a.len(), b.len())` bytes are compared.
#[inline(never)]
pub fn compare(a: &[u8], b: &[u8]) -> i32 {
    let n = a.len().min(b.len());
    let (a, b) = (a.split_at(n).0, b.split_at(n).0);
    let (words_a, tail_a) = a.as_chunks::<8>();
    let (words_b, tail_b) = b.as_chunks::<8>();
    for (x, y) in words_a.iter().zip(words_b) {
        if u64::from_ne_bytes(*x) != u64::from_ne_bytes(*y) {
            return words_order(x, y);
        }
    }
    if tail_a.is_empty() {
        return 0;
    }
    // With eight bytes or more, the last eight (overlapping bytes already
    // found equal) hold the first difference, if there is one.
    if let (Some(x), Some(y)) = (a.last_chunk::<8>(), b.last_chunk::<8>()) {
        return if u64::from_ne_bytes(*x) == u64::from_ne_bytes(*y) {
            0
        } else {
            words_order(x, y)
        };
    }
    for (x, y) in tail_a.iter().zip(tail_b) {
        if x != y {
            return i32::from(*x) - i32::from(*y);
        }
    }
    0
}

/// -1, 0 or 1 as `x` sorts before, with or after `y` byte by byte.
fn words_order(x: &[u8; 8], y: &[u8; 8]) -> i32 {
    match u64::from_be_bytes(*x).cmp(&u64::from_be_bytes(*y)) {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

/// C's `memcmp`, for the guest (see the module doc).
///
/// # Safety
/// `a` and `b` each point to `n` readable bytes, as C requires.
#[cfg(target_arch = "wasm32")]
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    if n == 0 {
        return 0;
    }
    // SAFETY: the caller's promise above; `n > 0`, so neither is null.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(a, n),
            std::slice::from_raw_parts(b, n),
        )
    };
    compare(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sign(order: Ordering) -> i32 {
        order as i32
    }

    proptest! {
        /// The order is the slices' own, for every length around the word
        /// size and a difference anywhere.
        #[test]
        fn orders_as_slices_do(a in proptest::collection::vec(any::<u8>(), 0..40), at: usize, by: u8) {
            let mut b = a.clone();
            if !b.is_empty() {
                let i = at % b.len();
                b[i] = b[i].wrapping_add(by);
            }
            prop_assert_eq!(compare(&a, &b).signum(), sign(a.cmp(&b)));
            prop_assert_eq!(compare(&b, &a).signum(), sign(b.cmp(&a)));
        }
    }

    /// The first difference decides, not a later one in the same word.
    #[test]
    fn the_first_difference_decides() {
        assert!(compare(b"abcdefgh", b"abddefga") < 0);
        assert!(compare(b"0123456789abcdeZ", b"0123456789abcdeA") > 0);
        assert!(compare(b"0123456789a", b"0123456789b") < 0);
        assert!(compare(&[0xff], &[0x01]) > 0);
        assert_eq!(compare(b"", b""), 0);
        assert_eq!(
            compare(b"same key 25 bytes long!!!", b"same key 25 bytes long!!!"),
            0
        );
    }
}
