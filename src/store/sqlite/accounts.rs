//! [`AccountStore`] on SQLite, with the in-memory cache of access-token owners.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use sqlx::Row as _;

use super::{SqliteStore, db_err, json_array};
use crate::crypto::b64;
use crate::crypto::tokens::{access_token_digest, access_token_sha256};
use crate::store::{AccessTokenOwner, AccountStore, StoreError, StoreResult};

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
            "INSERT INTO access_tokens (token_hash, user_id, created_ms, last_used_ms) VALUES (?1, ?2, ?3, ?3)",
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
        let row = sqlx::query(
            "SELECT user_id, created_ms, last_used_ms FROM access_tokens WHERE token_hash = ?1",
        )
        .bind(&digest)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        let owner = row
            .map(|row| {
                Ok(AccessTokenOwner {
                    user_id: row.try_get("user_id").map_err(db_err)?,
                    created_ms: row.try_get("created_ms").map_err(db_err)?,
                    last_used_ms: row.try_get("last_used_ms").map_err(db_err)?,
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

    async fn touch_access_token(&self, token: &str, now_ms: i64) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE access_tokens SET last_used_ms = ?2 WHERE token_hash = ?1 AND last_used_ms < ?2",
        )
        .bind(access_token_digest(token))
        .bind(now_ms)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        if done.rows_affected() > 0 {
            // The cached owner carries the old time: read the new one next.
            self.tokens.remove(&access_token_sha256(token));
        }
        Ok(())
    }

    async fn trim_access_tokens(&self, user_id: &str, keep: u32) -> StoreResult<u64> {
        let gone: Vec<String> = sqlx::query_scalar(
            "DELETE FROM access_tokens WHERE user_id = ?1 AND token_hash NOT IN \
             (SELECT token_hash FROM access_tokens WHERE user_id = ?1 \
              ORDER BY created_ms DESC, token_hash DESC LIMIT ?2) \
             RETURNING token_hash",
        )
        .bind(user_id)
        .bind(i64::from(keep))
        .fetch_all(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(self.tokens.remove_all_stored(&gone))
    }

    async fn purge_unused_access_tokens(&self, unused_since_ms: i64) -> StoreResult<u64> {
        let gone: Vec<String> = sqlx::query_scalar(
            "DELETE FROM access_tokens WHERE last_used_ms < ?1 RETURNING token_hash",
        )
        .bind(unused_since_ms)
        .fetch_all(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(self.tokens.remove_all_stored(&gone))
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
