//! The table hash of a SHA-256 digest, keyed per table (the lookup index, the token cache).
//!
//! Why keyed: the lookup index's digests are SHA-256 of `"<address> <medium> <pepper>"`, and
//! the pepper is public to every registered user, so anyone can grind addresses offline until
//! many digests share the bytes an unkeyed hash reads, then bind them or probe with them
//! (hash flooding: every probe of that bucket walks the whole chain). With a secret key drawn
//! when the table is made, which bucket a digest lands in cannot be computed outside this
//! process, and two tables (two runs, two instances) place the same digest differently.
//!
//! Why not SipHash (std's `RandomState` itself): its cost over 32 bytes was a tenth of an
//! authenticated lookup's own work. The input is already uniform (a SHA-256 output nobody
//! can steer bit by bit), so one keyed 64×64→128-bit multiply of its first 16 bytes, folded
//! (foldhash's mixing step), is enough to hide the bucket: no allocation, a few cycles per
//! probe. The keys come from std's `RandomState` (SipHash outputs under the process's random
//! SipHash keys; each `RandomState` differs), so no new source of randomness is needed.

use std::hash::{BuildHasher, Hasher};

/// A table's secret key; `Copy`, and itself the `BuildHasher` for std's `HashMap`.
#[derive(Clone, Copy)]
pub(crate) struct DigestHashKey {
    k0: u64,
    k1: u64,
}

impl std::fmt::Debug for DigestHashKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A secret: never printed.
        f.write_str("DigestHashKey(..)")
    }
}

impl Default for DigestHashKey {
    /// A fresh random key (see [`DigestHashKey::random`]).
    fn default() -> Self {
        Self::random()
    }
}

impl DigestHashKey {
    /// A key nobody outside this process can know: two calls give different keys.
    pub(crate) fn random() -> Self {
        let state = std::collections::hash_map::RandomState::new();
        Self {
            k0: state.hash_one(0x6b30_u64),
            k1: state.hash_one(0x6b31_u64),
        }
    }

    /// The table hash of `digest` (its first 16 bytes; a missing word counts as zero).
    #[inline]
    pub(crate) fn hash(&self, digest: &[u8]) -> u64 {
        // Two fixed-size loads: no length-dependent copy (that was a `memcpy` call per probe).
        let word = |at: usize| {
            digest
                .get(at..at + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_le_bytes)
        };
        folded_multiply(word(0) ^ self.k0, word(8) ^ self.k1)
    }
}

/// The 128-bit product of `a` and `b`, its halves XORed.
#[inline]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let full = u128::from(a) * u128::from(b);
    (full as u64) ^ ((full >> 64) as u64)
}

impl BuildHasher for DigestHashKey {
    type Hasher = DigestHasher;

    fn build_hasher(&self) -> DigestHasher {
        DigestHasher {
            key: *self,
            value: 0,
        }
    }
}

/// See [`DigestHashKey`]. A `[u8; 32]` hashes as its length (ignored), then its bytes.
#[derive(Debug)]
pub(crate) struct DigestHasher {
    key: DigestHashKey,
    value: u64,
}

impl Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.value ^= self.key.hash(bytes);
    }

    fn write_usize(&mut self, _length: usize) {}

    fn finish(&self) -> u64 {
        self.value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_keys_place_the_same_digest_differently() {
        let digest = [0x5au8; 32];
        let (a, b) = (DigestHashKey::random(), DigestHashKey::random());
        assert_ne!(a.hash(&digest), b.hash(&digest));
        // Through the `BuildHasher` path (what `HashMap` uses) too, and consistently.
        assert_eq!(a.hash_one(digest), a.hash_one(digest));
        assert_ne!(a.hash_one(digest), b.hash_one(digest));
    }

    #[test]
    fn digests_sharing_an_unkeyed_prefix_land_apart() {
        // Equal first 8 bytes (what the old unkeyed hash read): the keyed hash still
        // depends on bytes 8..16.
        let key = DigestHashKey::random();
        let mut one = [1u8; 32];
        let mut two = [1u8; 32];
        one[9] = 2;
        two[9] = 3;
        assert_ne!(key.hash(&one), key.hash(&two));
    }
}
