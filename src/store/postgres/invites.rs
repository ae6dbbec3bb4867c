//! [`InviteStore`](crate::store::InviteStore) on PostgreSQL: the shared operations
//! (`store/sql/invites.rs`) with this dialect's list statements (`text[]` and `= ANY`), and
//! delivery work claimed per instance: see `pending_rows`.

use sqlx::postgres::PgRow;

use super::{PostgresStore, db_err};
use crate::domain::Timestamp;
use crate::store::StoreResult;
use crate::store::sql::invites::InviteSql;

/// How long a delivery claim holds: longer than a worker's pass over one batch normally
/// takes (each onbind call may take up to a minute); after it, an invite held by an instance
/// that stopped is taken over by another.
const CLAIM_LEASE_MS: i64 = 30 * 60 * 1000;

impl InviteSql for PostgresStore {
    const MARK_DELIVERED: &'static str = "UPDATE invites SET delivered_ms = $1 \
         WHERE delivered_ms IS NULL AND token = ANY($2)";
    const RECORD_FAILURE: &'static str = "UPDATE invites SET delivery_attempts = delivery_attempts + 1, next_attempt_ms = $1, \
         claimed_by = NULL, claimed_until_ms = NULL \
         WHERE delivered_ms IS NULL AND token = ANY($2)";
    const DEFER: &'static str = "UPDATE invites SET next_attempt_ms = $1, claimed_by = NULL, \
         claimed_until_ms = NULL, delivery_started_ms = coalesce(delivery_started_ms, $3) \
         WHERE delivered_ms IS NULL AND token = ANY($2)";
    const ABANDON: &'static str = "UPDATE invites SET abandoned_ms = $1, claimed_by = NULL, claimed_until_ms = NULL \
         WHERE delivered_ms IS NULL AND abandoned_ms IS NULL AND token = ANY($2)";
    const KEY_VALID: &'static str = "SELECT 1 FROM ephemeral_keys WHERE public_key = $1 \
         AND (expires_ms IS NULL OR expires_ms > $2) LIMIT 1";

    /// Claims what it returns for [`CLAIM_LEASE_MS`]: invites claimed by another instance
    /// whose lease runs are skipped, as are rows another instance is claiming right now
    /// (`SKIP LOCKED`), so two delivery workers never send the same invite. This instance
    /// gets its own claims again (a pass that stopped halfway resumes).
    async fn pending_rows(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<PgRow>> {
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
        .bind(now.as_millis())
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
        Ok(rows)
    }
}
