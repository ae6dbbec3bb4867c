//! [`AccountStore`] on PostgreSQL, with this instance's cache of access-token owners.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use sqlx::Row as _;

use super::{PostgresStore, db_err};
use crate::crypto::b64;
use crate::crypto::tokens::{access_token_digest, access_token_sha256};
use crate::store::{AccessTokenOwner, AccountStore, StoreError, StoreResult};

#[async_trait]
impl AccountStore for PostgresStore {
    async fn create_access_token(
        &self,
        token: &str,
        user_id: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.tx().await?;
        sqlx::query("INSERT INTO accounts (user_id, created_ms) VALUES ($1, $2) ON CONFLICT (user_id) DO NOTHING")
            .bind(user_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, user_id, created_ms, last_used_ms) VALUES ($1, $2, $3, $3)",
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
        let tokens = &self.inner.tokens;
        let raw = access_token_sha256(token);
        if let Some(owner) = tokens.get(&raw) {
            return Ok(Some(owner));
        }
        let generation = tokens.generation.load(Ordering::Acquire);
        let row = sqlx::query(
            "SELECT user_id, created_ms, last_used_ms FROM access_tokens WHERE token_hash = $1",
        )
        .bind(b64::encode_url_safe(&raw))
        .fetch_optional(self.pool()?)
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
            tokens.insert(generation, raw, owner.clone());
        }
        Ok(owner)
    }

    async fn delete_access_token(&self, token: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM access_tokens WHERE token_hash = $1")
            .bind(access_token_digest(token))
            .execute(self.pool()?)
            .await;
        // Forget it even if the DELETE failed: the next request asks the database.
        self.inner.tokens.remove(&access_token_sha256(token));
        Ok(done.map_err(db_err)?.rows_affected() == 1)
    }

    async fn touch_access_token(&self, token: &str, now_ms: i64) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE access_tokens SET last_used_ms = $2 WHERE token_hash = $1 AND last_used_ms < $2",
        )
        .bind(access_token_digest(token))
        .bind(now_ms)
        .execute(self.pool()?)
        .await
        .map_err(db_err)?;
        if done.rows_affected() > 0 {
            // The cached owner carries the old time: read the new one next.
            self.inner.tokens.remove(&access_token_sha256(token));
        }
        Ok(())
    }

    async fn trim_access_tokens(&self, user_id: &str, keep: u32) -> StoreResult<u64> {
        let gone: Vec<String> = sqlx::query_scalar(
            "DELETE FROM access_tokens WHERE user_id = $1 AND token_hash NOT IN \
             (SELECT token_hash FROM access_tokens WHERE user_id = $1 \
              ORDER BY created_ms DESC, token_hash DESC LIMIT $2) \
             RETURNING token_hash",
        )
        .bind(user_id)
        .bind(i64::from(keep))
        .fetch_all(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(self.inner.tokens.remove_all_stored(&gone))
    }

    async fn purge_unused_access_tokens(&self, unused_since_ms: i64) -> StoreResult<u64> {
        let gone: Vec<String> = sqlx::query_scalar(
            "DELETE FROM access_tokens WHERE last_used_ms < $1 RETURNING token_hash",
        )
        .bind(unused_since_ms)
        .fetch_all(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(self.inner.tokens.remove_all_stored(&gone))
    }

    async fn accept_terms(&self, user_id: &str, urls: &[String], now_ms: i64) -> StoreResult<()> {
        if urls.is_empty() {
            return Ok(());
        }
        // One statement, so all URLs land or none.
        sqlx::query(
            "INSERT INTO accepted_terms (user_id, url, accepted_ms) \
             SELECT $1, url, $2 FROM unnest($3::text[]) AS u (url) \
             ON CONFLICT (user_id, url) DO NOTHING",
        )
        .bind(user_id)
        .bind(now_ms)
        .bind(urls)
        .execute(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn accepted_terms(&self, user_id: &str) -> StoreResult<Vec<String>> {
        sqlx::query_scalar::<_, String>(
            "SELECT url FROM accepted_terms WHERE user_id = $1 ORDER BY url",
        )
        .bind(user_id)
        .fetch_all(self.pool()?)
        .await
        .map_err(db_err)
    }
}
