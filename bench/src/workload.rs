//! The keys, values and access pattern every measurement shares: chat-id keys
//! such as `-1001234567890`, JSON values of 64 bytes and of 2 KiB, and a fixed
//! pseudo-random sequence of key indices.

use serde::Serialize;

/// The two value sizes of the issue: ~64 bytes and ~2 KiB of JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Size {
    /// 64 bytes.
    Small,
    /// 2048 bytes.
    Large,
}

impl Size {
    /// Both sizes, small first.
    pub const ALL: [Size; 2] = [Size::Small, Size::Large];

    /// Bytes of each value.
    pub fn bytes(self) -> usize {
        match self {
            Size::Small => 64,
            Size::Large => 2048,
        }
    }

    /// Short label: `64 B` or `2 KiB`.
    pub fn label(self) -> &'static str {
        match self {
            Size::Small => "64 B",
            Size::Large => "2 KiB",
        }
    }

    /// The namespace holding values of this size (the no-op component answers
    /// with a value of the same size for the same namespace).
    pub fn namespace(self) -> &'static str {
        match self {
            Size::Small => "v64",
            Size::Large => "v2k",
        }
    }

    /// Suffix of the Python script's result keys (`get64`, `get2k`).
    pub fn suffix(self) -> &'static str {
        match self {
            Size::Small => "64",
            Size::Large => "2k",
        }
    }
}

/// The key of entry `i`: a supergroup-style chat id in decimal.
pub fn key(i: usize) -> String {
    format!("-100{}", 1_234_567_890u64 + 7 * i as u64)
}

/// JSON text of exactly `size.bytes()` bytes for entry `i`: a chat-like
/// object (settings and info), padded with a string field.
pub fn value(i: usize, size: Size) -> String {
    let target = size.bytes();
    let mut body = format!("{{\"id\":{i},\"lang\":\"en\"");
    if size == Size::Large {
        body.push_str(",\"settings\":{");
        let mut n = 0;
        while body.len() < target - 200 {
            if n > 0 {
                body.push(',');
            }
            body.push_str(&format!("\"setting_{n}\":\"value number {n} of chat {i}\""));
            n += 1;
        }
        body.push('}');
    }
    body.push_str(",\"pad\":\"");
    // Closing `"}` takes 2 bytes.
    while body.len() < target - 2 {
        body.push('x');
    }
    body.push_str("\"}");
    body
}

/// `n` indices in `0..keys`, from a fixed xorshift sequence (the same every run).
pub fn pattern(n: usize, keys: usize) -> Vec<usize> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % keys as u64) as usize
        })
        .collect()
}

/// What the Python script reads.
#[derive(Serialize)]
pub struct PythonWorkload<'a> {
    /// The keys.
    pub keys: &'a [String],
    /// Values per size suffix (`64`, `2k`), one per key.
    pub values: std::collections::BTreeMap<&'static str, &'a [String]>,
    /// Indices into `keys`, in access order.
    pub pattern: &'a [usize],
    /// Untimed rounds.
    pub warmup: usize,
    /// Timed rounds.
    pub reps: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_the_exact_size_and_are_json() {
        for size in Size::ALL {
            for i in [0, 7, 999_999] {
                let v = value(i, size);
                assert_eq!(v.len(), size.bytes(), "{v}");
                serde_json::from_str::<serde_json::Value>(&v).expect("JSON");
            }
        }
    }

    #[test]
    fn pattern_is_in_range() {
        assert!(pattern(1000, 10).iter().all(|&i| i < 10));
    }
}
