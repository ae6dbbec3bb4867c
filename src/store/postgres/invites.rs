//! [`InviteStore`] on PostgreSQL. Delivery work is claimed: see `pending_deliveries`.

use crate::store::rows::invite_from_row;
use async_trait::async_trait;
use sqlx::Row as _;

use super::{PostgresStore, db_err, storable};
use crate::crypto::SecretString;
use crate::store::{
    Invite, InviteStore, NewEphemeralKey, NewInvite, PendingDelivery, StoreError, StoreResult,
    Threepid,
};

/// Columns of `invites i JOIN ephemeral_keys e`, as read by [`invite_from_row`].
/// How long a delivery claim holds: longer than a worker's pass over one batch normally
/// takes (each onbind call may take up to a minute); after it, an invite held by an instance
/// that stopped is taken over by another.
const CLAIM_LEASE_MS: i64 = 30 * 60 * 1000;

#[async_trait]
impl InviteStore for PostgresStore {
    async fn store_invite(
        &self,
        invite: &NewInvite,
        key: &NewEphemeralKey,
        now_ms: i64,
    ) -> StoreResult<()> {
        let conflict = |e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict("invite token or ephemeral key exists"),
            other => other,
        };
        let mut tx = self.tx().await?;
        sqlx::query(
            "INSERT INTO invites (token, medium, address, room_id, sender, params, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&invite.token)
        .bind(&invite.medium)
        .bind(&invite.address)
        .bind(&invite.room_id)
        .bind(&invite.sender)
        // The column stays for old rows; nothing is kept in it (issue 21).
        .bind("{}")
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        sqlx::query(
            "INSERT INTO ephemeral_keys (public_key, invite_token, private_key, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&key.public_key)
        .bind(&invite.token)
        .bind(key.private_key.as_ref().map(SecretString::expose))
        .bind(now_ms)
        .bind(key.expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        tx.commit().await.map_err(db_err)
    }

    async fn get_invite(&self, token: &str) -> StoreResult<Option<Invite>> {
        if !storable(token) {
            return Ok(None);
        }
        sqlx::query(concat!(invite_select!(), "WHERE i.token = $1"))
            .bind(token)
            .fetch_optional(self.pool()?)
            .await
            .map_err(db_err)?
            .map(|row| invite_from_row(&row))
            .transpose()
    }

    async fn undelivered_invites(&self, threepid: &Threepid) -> StoreResult<Vec<Invite>> {
        if !storable(&threepid.medium) || !storable(&threepid.address) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            invite_select!(),
            "WHERE i.medium = $1 AND i.address = $2 AND i.delivered_ms IS NULL AND i.abandoned_ms IS NULL \
             ORDER BY i.created_ms, i.token"
        ))
        .bind(&threepid.medium)
        .bind(&threepid.address)
        .fetch_all(self.pool()?)
        .await
        .map_err(db_err)?;
        rows.iter().map(invite_from_row).collect()
    }

    /// Claims what it returns for [`CLAIM_LEASE_MS`]: invites claimed by another instance
    /// whose lease runs are skipped, as are rows another instance is claiming right now
    /// (`SKIP LOCKED`), so two delivery workers never send the same invite. This instance
    /// gets its own claims again (a pass that stopped halfway resumes).
    async fn pending_deliveries(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<PendingDelivery>> {
        let mut tx = self.tx().await?;
        let claimed: Vec<String> = sqlx::query_scalar(
            "UPDATE invites SET claimed_by = $1, claimed_until_ms = $2 + $3 \
             WHERE token IN (SELECT i.token FROM invites AS i \
             JOIN associations AS a ON a.medium = i.medium AND a.address = i.address \
             WHERE i.delivered_ms IS NULL AND i.abandoned_ms IS NULL \
             AND (i.next_attempt_ms IS NULL OR i.next_attempt_ms <= $2) \
             AND (i.claimed_by IS NULL OR i.claimed_by = $1 OR i.claimed_until_ms <= $2) \
             ORDER BY i.created_ms, i.token LIMIT $4 FOR UPDATE OF i SKIP LOCKED) \
             RETURNING token",
        )
        .bind(self.inner.instance)
        .bind(now_ms)
        .bind(CLAIM_LEASE_MS)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        let rows = sqlx::query(concat!(
            invite_columns!(),
            ", a.mxid ",
            invite_from!(),
            "JOIN associations AS a ON a.medium = i.medium AND a.address = i.address \
             WHERE i.token = ANY($1) ORDER BY i.created_ms, i.token"
        ))
        .bind(&claimed)
        .fetch_all(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(PendingDelivery {
                    invite: invite_from_row(row)?,
                    mxid: row.try_get("mxid").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn mark_invites_delivered(&self, tokens: &[String], now_ms: i64) -> StoreResult<u64> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE invites SET delivered_ms = $1 \
             WHERE delivered_ms IS NULL AND token = ANY($2)",
        )
        .bind(now_ms)
        .bind(tokens)
        .execute(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn record_delivery_failure(
        &self,
        tokens: &[String],
        next_attempt_ms: i64,
    ) -> StoreResult<u64> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE invites SET delivery_attempts = delivery_attempts + 1, next_attempt_ms = $1, \
             claimed_by = NULL, claimed_until_ms = NULL \
             WHERE delivered_ms IS NULL AND token = ANY($2)",
        )
        .bind(next_attempt_ms)
        .bind(tokens)
        .execute(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn defer_deliveries(
        &self,
        tokens: &[String],
        until_ms: i64,
        now_ms: i64,
    ) -> StoreResult<u64> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE invites SET next_attempt_ms = $1, claimed_by = NULL, claimed_until_ms = NULL, \
             delivery_started_ms = coalesce(delivery_started_ms, $3) \
             WHERE delivered_ms IS NULL AND token = ANY($2)",
        )
        .bind(until_ms)
        .bind(tokens)
        .bind(now_ms)
        .execute(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn abandon_deliveries(&self, tokens: &[String], now_ms: i64) -> StoreResult<u64> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE invites SET abandoned_ms = $1, claimed_by = NULL, claimed_until_ms = NULL \
             WHERE delivered_ms IS NULL AND abandoned_ms IS NULL AND token = ANY($2)",
        )
        .bind(now_ms)
        .bind(tokens)
        .execute(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn is_ephemeral_key_valid(&self, public_key: &str, now_ms: i64) -> StoreResult<bool> {
        if !storable(public_key) {
            return Ok(false);
        }
        let found = sqlx::query_scalar::<_, i32>(
            "SELECT 1 FROM ephemeral_keys WHERE public_key = $1 \
             AND (expires_ms IS NULL OR expires_ms > $2) \
             LIMIT 1",
        )
        .bind(public_key)
        .bind(now_ms)
        .fetch_optional(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(found.is_some())
    }
}
