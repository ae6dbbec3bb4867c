//! Owners of recently presented access tokens, in memory: an authenticated request (every v2
//! lookup) then costs no database query. Shared by the backends; each chooses how long an
//! entry is believed, which bounds how long a token deleted elsewhere (another process on
//! the same database) stays usable here.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::AccessTokenOwner;

/// Entries kept by [`TokenCache`] before it starts over.
const TOKEN_CACHE_CAPACITY: usize = 4096;
/// How long a cached token owner is believed without asking the database again. Bounds how
/// long a token deleted by *another* process (the sqlite3 shell, a second server on the same
/// file) stays usable here; logout through this store takes effect immediately.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(60);

/// Owners of recently presented access tokens, keyed by token digest (the cache holds no
/// token). Bounded: when full it is cleared, which costs one query per token afterwards.
/// Only found tokens are cached, so random tokens cannot fill it with misses.
///
/// A lookup that races with a deletion must not re-insert the deleted token: every deletion
/// bumps `generation`, and a lookup only caches its result if no deletion happened since it
/// started reading.
#[derive(Debug)]
pub(crate) struct TokenCache {
    /// How long a cached owner is believed without asking the database again.
    ttl: Duration,
    pub(crate) generation: AtomicU64,
    /// Keyed by the token's raw SHA-256 (the stored digest before encoding).
    entries: Mutex<HashMap<[u8; 32], (AccessTokenOwner, Duration), DigestHash>>,
}

/// Hashes a SHA-256 digest by taking 8 of its bytes: digests are uniform already, and SipHash
/// over 32 bytes was a tenth of an authenticated lookup's own work. Not a way in for hash
/// flooding: only tokens this server issued are ever inserted, and a digest cannot be chosen
/// without inverting SHA-256 — a probe with any other costs at most the probe length the
/// stored ones make.
#[derive(Debug, Default, Clone, Copy)]
struct DigestHash;

impl std::hash::BuildHasher for DigestHash {
    type Hasher = DigestHasher;

    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

/// See [`DigestHash`]. A `[u8; 32]` hashes as its length, then its bytes.
#[derive(Debug)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(word);
    }

    fn write_usize(&mut self, _length: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

impl TokenCache {
    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<AccessTokenOwner> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (owner, cached_at) = entries.get(digest)?;
        (crate::clock::monotonic_now().saturating_sub(*cached_at) < self.ttl).then(|| owner.clone())
    }

    /// Caches `owner` unless a deletion happened after `generation` was read.
    pub(crate) fn insert(&self, generation: u64, digest: [u8; 32], owner: AccessTokenOwner) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= TOKEN_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(digest, (owner, crate::clock::monotonic_now()));
    }

    /// Forgets `digest`; called after the row was deleted.
    pub(crate) fn remove(&self, digest: &[u8; 32]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(digest);
    }
}

impl TokenCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            generation: AtomicU64::new(0),
            entries: Mutex::default(),
        }
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(TOKEN_CACHE_TTL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_cache_does_not_resurrect_a_deleted_token() {
        let cache = TokenCache::default();
        let owner = AccessTokenOwner {
            user_id: "@u:hs".into(),
            created_ms: 1,
        };
        // A lookup reads the generation, then a logout deletes the token before the lookup
        // caches what it read: the stale result is not cached.
        let generation = cache.generation.load(Ordering::Acquire);
        let d = [7u8; 32];
        cache.remove(&d);
        cache.insert(generation, d, owner.clone());
        assert_eq!(cache.get(&d), None);
        let generation = cache.generation.load(Ordering::Acquire);
        cache.insert(generation, d, owner.clone());
        assert_eq!(cache.get(&d), Some(owner.clone()));
        cache.remove(&d);
        assert_eq!(cache.get(&d), None);
        // Digests alike in the bytes the table hashes are still told apart.
        let mut twin = d;
        twin[31] = 8;
        let other = AccessTokenOwner {
            user_id: "@v:hs".into(),
            created_ms: 2,
        };
        let generation = cache.generation.load(Ordering::Acquire);
        cache.insert(generation, d, owner.clone());
        cache.insert(generation, twin, other.clone());
        assert_eq!(cache.get(&d), Some(owner));
        assert_eq!(cache.get(&twin), Some(other));
    }
}
