//! [`AccountStore`] on SQLite, with the in-memory cache of access-token owners.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Row as _;

use super::{SqliteStore, db_err, json_array};
use crate::crypto::b64;
use crate::crypto::tokens::{access_token_digest, access_token_sha256};
use crate::store::{AccessTokenOwner, AccountStore, StoreError, StoreResult};

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
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    pub(super) generation: AtomicU64,
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
    pub(super) fn get(&self, digest: &[u8; 32]) -> Option<AccessTokenOwner> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (owner, cached_at) = entries.get(digest)?;
        (crate::clock::monotonic_now().saturating_sub(*cached_at) < TOKEN_CACHE_TTL)
            .then(|| owner.clone())
    }

    /// Caches `owner` unless a deletion happened after `generation` was read.
    pub(super) fn insert(&self, generation: u64, digest: [u8; 32], owner: AccessTokenOwner) {
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
    pub(super) fn remove(&self, digest: &[u8; 32]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(digest);
    }
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn create_access_token(
        &self,
        token: &str,
        user_id: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO accounts (user_id, created_ms) VALUES (?1, ?2) ON CONFLICT (user_id) DO NOTHING")
            .bind(user_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, user_id, created_ms) VALUES (?1, ?2, ?3)",
        )
        .bind(access_token_digest(token))
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict("access token exists"),
            other => other,
        })?;
        tx.commit().await.map_err(db_err)
    }

    async fn access_token_owner(&self, token: &str) -> StoreResult<Option<AccessTokenOwner>> {
        let raw = access_token_sha256(token);
        if let Some(owner) = self.tokens.get(&raw) {
            return Ok(Some(owner));
        }
        let digest = b64::encode_url_safe(&raw);
        let generation = self.tokens.generation.load(Ordering::Acquire);
        let row =
            sqlx::query("SELECT user_id, created_ms FROM access_tokens WHERE token_hash = ?1")
                .bind(&digest)
                .fetch_optional(&self.reader)
                .await
                .map_err(db_err)?;
        let owner = row
            .map(|row| {
                Ok(AccessTokenOwner {
                    user_id: row.try_get("user_id").map_err(db_err)?,
                    created_ms: row.try_get("created_ms").map_err(db_err)?,
                })
            })
            .transpose()?;
        if let Some(owner) = &owner {
            self.tokens.insert(generation, raw, owner.clone());
        }
        Ok(owner)
    }

    async fn delete_access_token(&self, token: &str) -> StoreResult<bool> {
        let digest = access_token_digest(token);
        let done = sqlx::query("DELETE FROM access_tokens WHERE token_hash = ?1")
            .bind(&digest)
            .execute(&self.writer)
            .await;
        // Forget it even if the DELETE failed: the next request asks the database.
        self.tokens.remove(&access_token_sha256(token));
        Ok(done.map_err(db_err)?.rows_affected() == 1)
    }

    async fn accept_terms(&self, user_id: &str, urls: &[String], now_ms: i64) -> StoreResult<()> {
        if urls.is_empty() {
            return Ok(());
        }
        // One statement, so all URLs land or none; `WHERE true` disambiguates the upsert.
        sqlx::query(
            "INSERT INTO accepted_terms (user_id, url, accepted_ms) \
             SELECT ?1, value, ?2 FROM json_each(?3) WHERE true \
             ON CONFLICT (user_id, url) DO NOTHING",
        )
        .bind(user_id)
        .bind(now_ms)
        .bind(json_array(urls)?)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn accepted_terms(&self, user_id: &str) -> StoreResult<Vec<String>> {
        sqlx::query_scalar::<_, String>(
            "SELECT url FROM accepted_terms WHERE user_id = ?1 ORDER BY url",
        )
        .bind(user_id)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::open_temp;
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

    #[tokio::test]
    async fn cached_token_owner_is_forgotten_on_logout() {
        let (_dir, store) = open_temp().await;
        store
            .create_access_token("t", "@u:hs", 1)
            .await
            .expect("create");
        assert!(
            store
                .access_token_owner("t")
                .await
                .expect("owner")
                .is_some()
        );
        assert!(
            store
                .access_token_owner("t")
                .await
                .expect("cached")
                .is_some()
        );
        assert!(store.delete_access_token("t").await.expect("logout"));
        assert_eq!(store.access_token_owner("t").await.expect("owner"), None);
        store.close().await;
    }
}
