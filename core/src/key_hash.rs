//! How a namespace's maps hash their keys.

use std::hash::{BuildHasher, Hasher};

use hashbrown::DefaultHashBuilder;

/// Builds the [`KeyHasher`]s of a map or set whose keys each hash as one
/// `str` (a namespace's [`Key`](crate::lru_map::Key)s, or `&str`s):
/// hashbrown's default hasher, minus a constant.
#[derive(Clone, Default)]
pub(crate) struct KeyHashBuilder(DefaultHashBuilder);

impl BuildHasher for KeyHashBuilder {
    type Hasher = KeyHasher;

    #[inline]
    fn build_hasher(&self) -> Self::Hasher {
        KeyHasher(self.0.build_hasher())
    }
}

/// A hasher for values that hash as one `str`: their bytes, as the inner
/// hasher hashes them, without the `0xff` that `str`'s `Hash` writes after
/// them. That byte keeps a sequence of hashed strings prefix-free; a key is
/// one string, so it adds nothing, and on wasm32 the default hasher pays a
/// 128-bit shift and a final multiply for it on every lookup. Its methods are
/// `#[inline]` so that the component, another crate, inlines them into each
/// lookup: called, a replayed hit costs 90 instructions more.
pub(crate) struct KeyHasher(<DefaultHashBuilder as BuildHasher>::Hasher);

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    /// Only `str`'s terminator reaches it (see the type's doc).
    #[inline]
    fn write_u8(&mut self, _terminator: u8) {}

    #[inline]
    fn finish(&self) -> u64 {
        self.0.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smol_str::SmolStr;

    fn hash(builder: &KeyHashBuilder, key: &str) -> u64 {
        builder.hash_one(key)
    }

    /// Keys that differ hash apart (two equal hashes of random 64-bit seeds
    /// would be a 2^-64 chance), and a key hashes alike as a `str` and as the
    /// LRU's `SmolStr`, inline or not.
    #[test]
    fn hashes_the_key_bytes() {
        let builder = KeyHashBuilder::default();
        let long = "x".repeat(40);
        let keys = ["", "a", "b", "ab", "ba", "user:1", "user:2", &long];
        for (i, a) in keys.iter().enumerate() {
            assert_eq!(hash(&builder, a), builder.hash_one(SmolStr::new(a)));
            for b in &keys[i + 1..] {
                assert_ne!(hash(&builder, a), hash(&builder, b), "{a:?} and {b:?}");
            }
        }
    }
}
