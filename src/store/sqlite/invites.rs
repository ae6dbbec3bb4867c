//! [`InviteStore`](crate::store::InviteStore) on SQLite: the shared operations
//! (`store/sql/invites.rs`) with this dialect's list statements (token lists are JSON arrays
//! expanded by `json_each`). One process delivers, so pending invites are not claimed.

use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, db_err};
use crate::domain::Timestamp;
use crate::store::StoreResult;
use crate::store::sql::invites::InviteSql;

impl InviteSql for SqliteStore {
    const MARK_DELIVERED: &'static str = "UPDATE invites SET delivered_ms = $1 \
         WHERE delivered_ms IS NULL AND token IN (SELECT value FROM json_each($2))";
    const RECORD_FAILURE: &'static str = "UPDATE invites SET delivery_attempts = delivery_attempts + 1, next_attempt_ms = $1 \
         WHERE delivered_ms IS NULL AND token IN (SELECT value FROM json_each($2))";
    const DEFER: &'static str = "UPDATE invites SET next_attempt_ms = $1, \
         delivery_started_ms = coalesce(delivery_started_ms, $3) \
         WHERE delivered_ms IS NULL AND token IN (SELECT value FROM json_each($2))";
    const ABANDON: &'static str = "UPDATE invites SET abandoned_ms = $1 \
         WHERE delivered_ms IS NULL AND abandoned_ms IS NULL \
         AND token IN (SELECT value FROM json_each($2))";
    /// Keys imported from sydent without their invite count too.
    const KEY_VALID: &'static str = "SELECT 1 FROM ephemeral_keys WHERE public_key = $1 \
         AND (expires_ms IS NULL OR expires_ms > $2) \
         UNION ALL SELECT 1 FROM unowned_ephemeral_keys WHERE public_key = $1 LIMIT 1";

    async fn pending_rows(&self, now: Timestamp, limit: u32) -> StoreResult<Vec<SqliteRow>> {
        sqlx::query(concat!(
            invite_columns!(),
            ", a.mxid ",
            invite_from!(),
            "JOIN associations AS a ON a.medium = i.medium AND a.address = i.address \
             WHERE i.delivered_ms IS NULL AND i.abandoned_ms IS NULL \
             AND (i.next_attempt_ms IS NULL OR i.next_attempt_ms <= $1) \
             ORDER BY i.created_ms, i.token LIMIT $2"
        ))
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)
    }
}
