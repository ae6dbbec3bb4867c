//! [`InviteStore`], once for both backends.

use std::future::Future;

use async_trait::async_trait;
use sqlx::Database;

use super::{
    Affected as _, Backend, Bind as _, Columns as _, Exec as _, conflict, conn, read_mapped,
};
use crate::crypto::SecretString;
use crate::domain::{Timestamp, UserId};
use crate::store::rows::invite_from_row;
use crate::store::{
    Invite, InviteStore, NewEphemeralKey, NewInvite, PendingDeliveries, PendingDelivery,
    StoreResult, Threepid,
};

/// What a backend adds to the shared invite operations. The four delivery updates take
/// `$1` (a time) and the token list `$2` ([`Backend::bind_list`]), `DEFER` also `$3` (now);
/// each changes only undelivered invites (PostgreSQL: and releases their claims).
pub(in crate::store) trait InviteSql: Backend {
    const MARK_DELIVERED: &'static str;
    const RECORD_FAILURE: &'static str;
    const DEFER: &'static str;
    const ABANDON: &'static str;
    /// A row if `$1` is a known ephemeral public key unexpired at `$2`.
    const KEY_VALID: &'static str;

    /// The rows of [`InviteStore::pending_deliveries`]: the invite's columns
    /// (`invite_columns!`) and the bound `mxid`, in `(created_ms, token)` order.
    fn pending_rows(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> impl Future<Output = StoreResult<Vec<<Self::Db as Database>::Row>>> + Send;
}

#[async_trait]
impl<B: InviteSql> InviteStore for B {
    async fn store_invite(
        &self,
        invite: &NewInvite,
        key: &NewEphemeralKey,
        now: Timestamp,
    ) -> StoreResult<()> {
        let conflict = conflict::<B>("invite token or ephemeral key exists");
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO invites (token, medium, address, room_id, sender, params, created_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .text(&invite.token)
        .medium(invite.medium)
        .text(&invite.address)
        .text(&invite.room_id)
        .text(&invite.sender)
        // The column stays for old rows; nothing is kept in it (issue 21).
        .text("{}")
        .time(now)
        .execute((*tx).ex())
        .await
        .map_err(&conflict)?;
        sqlx::query(
            "INSERT INTO ephemeral_keys (public_key, invite_token, private_key, created_ms, \
             expires_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .text(&key.public_key)
        .text(&invite.token)
        .opt_text(key.private_key.as_ref().map(SecretString::expose))
        .time(now)
        .opt_time(key.expires_at)
        .execute((*tx).ex())
        .await
        .map_err(&conflict)?;
        tx.commit().await.map_err(B::db_err)
    }

    async fn get_invite(&self, token: &str) -> StoreResult<Option<Invite>> {
        if !B::storable(token) {
            return Ok(None);
        }
        let query = sqlx::query(concat!(invite_select!(), "WHERE i.token = $1")).text(token);
        read_mapped(self, query, invite_from_row).await
    }

    async fn undelivered_invites(&self, threepid: &Threepid) -> StoreResult<Vec<Invite>> {
        if !B::storable(&threepid.address) {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            invite_select!(),
            "WHERE i.medium = $1 AND i.address = $2 AND i.delivered_ms IS NULL \
             AND i.abandoned_ms IS NULL ORDER BY i.created_ms, i.token"
        ))
        .medium(threepid.medium)
        .text(&threepid.address)
        .fetch_all(conn::<B>(self.reads()?).await?.ex())
        .await
        .map_err(B::db_err)?;
        rows.iter().map(invite_from_row).collect()
    }

    async fn pending_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<PendingDelivery>> {
        self.pending_rows(now, limit)
            .await?
            .iter()
            .map(|row| {
                Ok(PendingDelivery {
                    invite: invite_from_row(row)?,
                    mxid: row.parsed("mxid", UserId::parse).map_err(B::db_err)?,
                })
            })
            .collect()
    }

    async fn mark_invites_delivered(&self, tokens: &[String], now: Timestamp) -> StoreResult<u64> {
        update_listed(self, B::MARK_DELIVERED, now, tokens, None).await
    }

    async fn record_delivery_failure(
        &self,
        tokens: &[String],
        next_attempt: Timestamp,
    ) -> StoreResult<u64> {
        update_listed(self, B::RECORD_FAILURE, next_attempt, tokens, None).await
    }

    async fn defer_deliveries(
        &self,
        tokens: &[String],
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<u64> {
        update_listed(self, B::DEFER, until, tokens, Some(now)).await
    }

    async fn abandon_deliveries(&self, tokens: &[String], now: Timestamp) -> StoreResult<u64> {
        update_listed(self, B::ABANDON, now, tokens, None).await
    }

    async fn is_ephemeral_key_valid(&self, public_key: &str, now: Timestamp) -> StoreResult<bool> {
        if !B::storable(public_key) {
            return Ok(false);
        }
        let found = sqlx::query(B::KEY_VALID)
            .text(public_key)
            .time(now)
            .fetch_optional(conn::<B>(self.reads()?).await?.ex())
            .await
            .map_err(B::db_err)?;
        Ok(found.is_some())
    }
}

/// Runs one of the delivery updates (`$1` = `time`, `$2` = `tokens`, `$3` = `now`, if any);
/// returns how many invites changed.
async fn update_listed<B: InviteSql>(
    store: &B,
    sql: &'static str,
    time: Timestamp,
    tokens: &[String],
    now: Option<Timestamp>,
) -> StoreResult<u64> {
    if tokens.is_empty() {
        return Ok(0);
    }
    let mut query = B::bind_list(sqlx::query(sql).time(time), tokens)?;
    if let Some(now) = now {
        query = query.time(now);
    }
    let done = query
        .execute(conn::<B>(store.writes()?).await?.ex())
        .await
        .map_err(B::db_err)?;
    Ok(done.affected())
}

/// The delivery queue's length and the wait of its oldest invite, in one statement over the
/// undelivered invites' partial index (the metrics' reading; the queue is the store).
pub(in crate::store) async fn delivery_queue<B: Backend>(
    store: &B,
    now: Timestamp,
) -> StoreResult<PendingDeliveries> {
    let query = sqlx::query(
        "SELECT count(*) AS pending, min(coalesce(i.delivery_started_ms, a.ts)) AS since \
         FROM invites AS i \
         JOIN associations AS a ON a.medium = i.medium AND a.address = i.address \
         WHERE i.delivered_ms IS NULL AND i.abandoned_ms IS NULL",
    );
    let reading = read_mapped::<B, _>(store, query, |row| {
        let pending = row.int("pending").map_err(B::db_err)?;
        let since = row.opt_int("since").map_err(B::db_err)?;
        Ok(PendingDeliveries {
            invites: u64::try_from(pending).unwrap_or(0),
            oldest_age: since.map(|since| now.since(Timestamp::from_millis(since))),
        })
    })
    .await?;
    Ok(reading.unwrap_or_default())
}
