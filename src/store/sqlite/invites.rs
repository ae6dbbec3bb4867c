//! [`InviteStore`] on SQLite.

use crate::store::rows::invite_from_row;
use async_trait::async_trait;
use sqlx::Row as _;

use super::{SqliteStore, db_err, json_array};
use crate::crypto::SecretString;
use crate::store::{
    Invite, InviteStore, NewEphemeralKey, NewInvite, PendingDelivery, StoreError, StoreResult,
    Threepid,
};

#[async_trait]
impl InviteStore for SqliteStore {
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
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO invites (token, medium, address, room_id, sender, params, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
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
             VALUES (?1, ?2, ?3, ?4, ?5)",
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
        sqlx::query(concat!(invite_select!(), "WHERE i.token = ?1"))
            .bind(token)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|row| invite_from_row(&row))
            .transpose()
    }

    async fn undelivered_invites(&self, threepid: &Threepid) -> StoreResult<Vec<Invite>> {
        let rows = sqlx::query(concat!(
            invite_select!(),
            "WHERE i.medium = ?1 AND i.address = ?2 AND i.delivered_ms IS NULL AND i.abandoned_ms IS NULL \
             ORDER BY i.created_ms, i.token"
        ))
        .bind(&threepid.medium)
        .bind(&threepid.address)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter().map(invite_from_row).collect()
    }

    async fn pending_deliveries(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<PendingDelivery>> {
        let rows = sqlx::query(concat!(
            invite_columns!(),
            ", a.mxid ",
            invite_from!(),
            "JOIN associations AS a ON a.medium = i.medium AND a.address = i.address \
             WHERE i.delivered_ms IS NULL AND i.abandoned_ms IS NULL \
             AND (i.next_attempt_ms IS NULL OR i.next_attempt_ms <= ?1) \
             ORDER BY i.created_ms, i.token LIMIT ?2"
        ))
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
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
            "UPDATE invites SET delivered_ms = ?1 \
             WHERE delivered_ms IS NULL AND token IN (SELECT value FROM json_each(?2))",
        )
        .bind(now_ms)
        .bind(json_array(tokens)?)
        .execute(&self.writer)
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
            "UPDATE invites SET delivery_attempts = delivery_attempts + 1, next_attempt_ms = ?1 \
             WHERE delivered_ms IS NULL AND token IN (SELECT value FROM json_each(?2))",
        )
        .bind(next_attempt_ms)
        .bind(json_array(tokens)?)
        .execute(&self.writer)
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
            "UPDATE invites SET next_attempt_ms = ?1, \
             delivery_started_ms = coalesce(delivery_started_ms, ?3) \
             WHERE delivered_ms IS NULL AND token IN (SELECT value FROM json_each(?2))",
        )
        .bind(until_ms)
        .bind(json_array(tokens)?)
        .bind(now_ms)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn abandon_deliveries(&self, tokens: &[String], now_ms: i64) -> StoreResult<u64> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE invites SET abandoned_ms = ?1 \
             WHERE delivered_ms IS NULL AND abandoned_ms IS NULL \
             AND token IN (SELECT value FROM json_each(?2))",
        )
        .bind(now_ms)
        .bind(json_array(tokens)?)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn is_ephemeral_key_valid(&self, public_key: &str, now_ms: i64) -> StoreResult<bool> {
        let found = sqlx::query_scalar::<_, i64>(
            "SELECT 1 FROM ephemeral_keys WHERE public_key = ?1 \
             AND (expires_ms IS NULL OR expires_ms > ?2) \
             UNION ALL SELECT 1 FROM unowned_ephemeral_keys WHERE public_key = ?1 LIMIT 1",
        )
        .bind(public_key)
        .bind(now_ms)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        Ok(found.is_some())
    }
}
