//! Owners of recently presented access tokens, in memory: an authenticated request (every v2
//! lookup) then costs no database query. Shared by the backends; each chooses how long an
//! entry is believed, which bounds how long a token deleted elsewhere (another process on
//! the same database) stays usable here.

use std::sync::Mutex;

use hashlink::LruCache;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::AccessTokenOwner;
use super::digest_hash::DigestHashKey;

/// Entries kept by [`TokenCache`]; past it the least recently used token is forgotten.
const TOKEN_CACHE_CAPACITY: usize = 4096;
/// How long a cached token owner is believed without asking the database again. Bounds how
/// long a token deleted by *another* process (the sqlite3 shell, a second server on the same
/// file) stays usable here; logout through this store takes effect immediately.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(60);

/// Owners of recently presented access tokens, keyed by token digest (the cache holds no
/// token). Bounded by a `hashlink::LruCache`: past [`TOKEN_CACHE_CAPACITY`] the least
/// recently used token is forgotten, in O(1) (it used to be cleared whole, which sent every
/// live token back to the database at once).
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
    /// The table's hash key (a copy of what `entries` hashes with), for the tests.
    #[cfg(test)]
    key: DigestHashKey,
    /// Keyed by the token's raw SHA-256 (the stored digest before encoding).
    /// Hashed with a key drawn per cache (`super::digest_hash`), so which digests share a
    /// bucket cannot be worked out from outside.
    entries: Mutex<LruCache<[u8; 32], (AccessTokenOwner, Duration), DigestHashKey>>,
}

impl TokenCache {
    pub(crate) fn get(&self, digest: &[u8; 32]) -> Option<AccessTokenOwner> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (owner, cached_at) = entries.get(digest)?;
        (crate::clock::monotonic_now().saturating_sub(*cached_at) < self.ttl).then(|| owner.clone())
    }

    /// Caches `owner` unless a deletion happened after `generation` was read.
    pub(crate) fn insert(&self, generation: u64, digest: [u8; 32], owner: AccessTokenOwner) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        entries.insert(digest, (owner, crate::clock::monotonic_now()));
    }

    /// Forgets the token whose stored digest (URL-safe base64, as in the `token_hash`
    /// column) is `stored`; called after its row was deleted.
    pub(crate) fn remove_stored(&self, stored: &str) {
        match crate::crypto::b64::decode_array::<32>(stored) {
            Ok(digest) => self.remove(&digest),
            // Not a digest this server wrote: nothing cached under it.
            Err(_) => {
                self.generation.fetch_add(1, Ordering::AcqRel);
            }
        }
    }

    /// Forgets every token of `stored` (rows just deleted); returns how many there were.
    pub(crate) fn remove_all_stored(&self, stored: &[String]) -> u64 {
        stored.iter().for_each(|s| self.remove_stored(s));
        stored.len() as u64
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
        let key = DigestHashKey::random();
        Self {
            ttl,
            #[cfg(test)]
            key,
            generation: AtomicU64::new(0),
            entries: Mutex::new(LruCache::with_hasher(TOKEN_CACHE_CAPACITY, key)),
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
    use crate::domain::{Timestamp, UserId};

    fn user(id: &str) -> UserId {
        UserId::parse(id).expect("a user ID")
    }

    #[test]
    fn token_cache_does_not_resurrect_a_deleted_token() {
        let cache = TokenCache::default();
        let owner = AccessTokenOwner {
            user_id: user("@u:hs"),
            created_at: Timestamp::from_millis(1),
            last_used_at: Timestamp::from_millis(1),
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
            user_id: user("@v:hs"),
            created_at: Timestamp::from_millis(2),
            last_used_at: Timestamp::from_millis(2),
        };
        let generation = cache.generation.load(Ordering::Acquire);
        cache.insert(generation, d, owner.clone());
        cache.insert(generation, twin, other.clone());
        assert_eq!(cache.get(&d), Some(owner));
        assert_eq!(cache.get(&twin), Some(other));
    }

    #[test]
    fn past_its_bound_the_least_recently_used_token_goes() {
        let cache = TokenCache::default();
        let owner = AccessTokenOwner {
            user_id: user("@u:hs"),
            created_at: Timestamp::from_millis(1),
            last_used_at: Timestamp::from_millis(1),
        };
        let digest = |i: usize| {
            let mut d = [0u8; 32];
            d[..8].copy_from_slice(&(i as u64).to_le_bytes());
            d
        };
        let generation = cache.generation.load(Ordering::Acquire);
        for i in 0..TOKEN_CACHE_CAPACITY {
            cache.insert(generation, digest(i), owner.clone());
        }
        assert!(cache.get(&digest(0)).is_some());
        cache.insert(generation, digest(TOKEN_CACHE_CAPACITY), owner.clone());
        let len = cache.entries.lock().map(|e| e.len()).unwrap_or_default();
        assert_eq!(len, TOKEN_CACHE_CAPACITY);
        assert!(cache.get(&digest(0)).is_some(), "used recently: kept");
        assert!(cache.get(&digest(1)).is_none(), "least recently used: gone");
        assert!(cache.get(&digest(2)).is_some(), "the others stay cached");
    }

    #[test]
    fn two_caches_hash_the_same_digest_differently() {
        use std::hash::BuildHasher;
        let hash_in = |cache: &TokenCache| cache.key.hash_one([7u8; 32]);
        assert_ne!(
            hash_in(&TokenCache::default()),
            hash_in(&TokenCache::default())
        );
    }
}
