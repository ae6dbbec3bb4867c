//! [`AccountStore`], once for both backends, with the backend's cache of token owners.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use sqlx::Database;
use sqlx::query::Query;

use super::{Affected as _, Backend, Bind as _, Columns as _, Exec as _, conflict, conn};
use crate::crypto::b64;
use crate::crypto::tokens::{access_token_digest, access_token_sha256};
use crate::domain::{Timestamp, UserId};
use crate::store::token_cache::TokenCache;
use crate::store::{AccessTokenOwner, AccountStore, StoreResult};

/// What a backend adds to the shared account operations.
pub(in crate::store) trait AccountSql: Backend {
    /// Inserts `($1 user, $2 now, url)` into `accepted_terms` for every URL of the list `$3`
    /// ([`Backend::bind_list`]), leaving those already there.
    const ACCEPT_TERMS: &'static str;

    /// This store's cache of token owners (its lifetime is the backend's).
    fn tokens(&self) -> &TokenCache;
}

#[async_trait]
impl<B: AccountSql> AccountStore for B {
    async fn create_access_token(
        &self,
        token: &str,
        user_id: &UserId,
        now: Timestamp,
    ) -> StoreResult<()> {
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (user_id, created_ms) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO NOTHING",
        )
        .text(user_id)
        .time(now)
        .execute((*tx).ex())
        .await
        .map_err(B::db_err)?;
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, user_id, created_ms, last_used_ms) \
             VALUES ($1, $2, $3, $3)",
        )
        .text(&access_token_digest(token))
        .text(user_id)
        .time(now)
        .execute((*tx).ex())
        .await
        .map_err(conflict::<B>("access token exists"))?;
        tx.commit().await.map_err(B::db_err)
    }

    async fn access_token_owner(&self, token: &str) -> StoreResult<Option<AccessTokenOwner>> {
        let raw = access_token_sha256(token);
        if let Some(owner) = self.tokens().get(&raw) {
            return Ok(Some(owner));
        }
        // Boxed on its own: the pool and query states are large, and held inline they made
        // every cached answer (each authenticated request) allocate and move them too
        // (docs/benchmarks.md, issue 24).
        Box::pin(token_owner_from_database(self, raw)).await
    }

    async fn delete_access_token(&self, token: &str) -> StoreResult<bool> {
        let done = match conn::<B>(self.writes()?).await {
            Ok(mut conn) => sqlx::query("DELETE FROM access_tokens WHERE token_hash = $1")
                .text(&access_token_digest(token))
                .execute(conn.ex())
                .await
                .map_err(B::db_err),
            Err(e) => Err(e),
        };
        // Forget it even if the DELETE failed: the next request asks the database.
        self.tokens().remove(&access_token_sha256(token));
        Ok(done?.affected() == 1)
    }

    async fn touch_access_token(&self, token: &str, now: Timestamp) -> StoreResult<()> {
        let done = sqlx::query(
            "UPDATE access_tokens SET last_used_ms = $2 WHERE token_hash = $1 AND last_used_ms < $2",
        )
        .text(&access_token_digest(token))
        .time(now)
        .execute(conn::<B>(self.writes()?).await?.ex())
        .await
        .map_err(B::db_err)?;
        if done.affected() > 0 {
            // The cached owner carries the old time: read the new one next.
            self.tokens().remove(&access_token_sha256(token));
        }
        Ok(())
    }

    async fn trim_access_tokens(&self, user_id: &UserId, keep: u32) -> StoreResult<u64> {
        let query = sqlx::query(
            "DELETE FROM access_tokens WHERE user_id = $1 AND token_hash NOT IN \
             (SELECT token_hash FROM access_tokens WHERE user_id = $1 \
              ORDER BY created_ms DESC, token_hash DESC LIMIT $2) \
             RETURNING token_hash",
        )
        .text(user_id)
        .int(i64::from(keep));
        forget_deleted(self, query).await
    }

    async fn purge_unused_access_tokens(&self, unused_since: Timestamp) -> StoreResult<u64> {
        let query =
            sqlx::query("DELETE FROM access_tokens WHERE last_used_ms < $1 RETURNING token_hash")
                .time(unused_since);
        forget_deleted(self, query).await
    }

    async fn accept_terms(
        &self,
        user_id: &UserId,
        urls: &[String],
        now: Timestamp,
    ) -> StoreResult<()> {
        if urls.is_empty() {
            return Ok(());
        }
        // One statement, so all URLs land or none.
        let query = sqlx::query(B::ACCEPT_TERMS).text(user_id).time(now);
        B::bind_list(query, urls)?
            .execute(conn::<B>(self.writes()?).await?.ex())
            .await
            .map_err(B::db_err)?;
        Ok(())
    }

    async fn accepted_terms(&self, user_id: &UserId) -> StoreResult<Vec<String>> {
        sqlx::query("SELECT url FROM accepted_terms WHERE user_id = $1 ORDER BY url")
            .text(user_id)
            .fetch_all(conn::<B>(self.reads()?).await?.ex())
            .await
            .map_err(B::db_err)?
            .iter()
            .map(|row| row.text("url").map_err(B::db_err))
            .collect()
    }
}

/// Runs a `DELETE … RETURNING token_hash` and forgets the deleted tokens' cached owners.
async fn forget_deleted<B: AccountSql>(
    store: &B,
    query: Query<'static, B::Db, <B::Db as Database>::Arguments>,
) -> StoreResult<u64> {
    let gone = query
        .fetch_all(conn::<B>(store.writes()?).await?.ex())
        .await
        .map_err(B::db_err)?
        .iter()
        .map(|row| row.text("token_hash").map_err(B::db_err))
        .collect::<StoreResult<Vec<String>>>()?;
    Ok(store.tokens().remove_all_stored(&gone))
}

/// The owner of the token whose SHA-256 is `raw`, from the database, cached on the way out.
async fn token_owner_from_database<B: AccountSql>(
    store: &B,
    raw: [u8; 32],
) -> StoreResult<Option<AccessTokenOwner>> {
    let tokens = store.tokens();
    let generation = tokens.generation.load(Ordering::Acquire);
    let row = sqlx::query(
        "SELECT user_id, created_ms, last_used_ms FROM access_tokens WHERE token_hash = $1",
    )
    .text(&b64::encode_url_safe(&raw))
    .fetch_optional(conn::<B>(store.reads()?).await?.ex())
    .await
    .map_err(B::db_err)?;
    let owner = row
        .map(|row| {
            Ok(AccessTokenOwner {
                user_id: row.parsed("user_id", UserId::parse).map_err(B::db_err)?,
                created_at: row.time("created_ms").map_err(B::db_err)?,
                last_used_at: row.time("last_used_ms").map_err(B::db_err)?,
            })
        })
        .transpose()?;
    if let Some(owner) = &owner {
        tokens.insert(generation, raw, owner.clone());
    }
    Ok(owner)
}
