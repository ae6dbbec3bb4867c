//! [`SessionStore`] on PostgreSQL.

use crate::store::rows::session_from_row;
use async_trait::async_trait;

use super::{PostgresStore, SESSION_SCOPE, db_err, storable};
use crate::store::{
    NewSession, SessionRequest, SessionRequestOutcome, SessionStore, StoreError, StoreResult,
    ValidationSession,
};

#[async_trait]
impl SessionStore for PostgresStore {
    async fn request_session(
        &self,
        candidate: &NewSession,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<SessionRequest> {
        let mut tx = self.tx().await?;
        // Concurrent requests for one scope (from any instance) take turns: one creates the
        // session, the others see it.
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2 || ' ' || $3 || ' ' || $4))")
            .bind(SESSION_SCOPE)
            .bind(&candidate.medium)
            .bind(&candidate.address)
            .bind(&candidate.client_secret)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let existing = sqlx::query(concat!(
            session_select!(),
            "WHERE medium = $1 AND address = $2 AND client_secret = $3"
        ))
        .bind(&candidate.medium)
        .bind(&candidate.address)
        .bind(&candidate.client_secret)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|row| session_from_row(&row))
        .transpose()?;

        let result = match existing {
            Some(mut session) if session.lifetime_start_ms() >= stale_before_ms => {
                if candidate.send_attempt > session.send_attempt {
                    sqlx::query(
                        "UPDATE validation_sessions SET send_attempt = $1, modified_ms = $2, \
                         next_link = COALESCE($3, next_link) WHERE sid = $4",
                    )
                    .bind(candidate.send_attempt)
                    .bind(now_ms)
                    .bind(&candidate.next_link)
                    .bind(&session.sid)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    session.send_attempt = candidate.send_attempt;
                    session.modified_ms = now_ms;
                    if candidate.next_link.is_some() {
                        session.next_link.clone_from(&candidate.next_link);
                    }
                    SessionRequest {
                        session,
                        outcome: SessionRequestOutcome::Resend,
                    }
                } else {
                    SessionRequest {
                        session,
                        outcome: SessionRequestOutcome::Unchanged,
                    }
                }
            }
            stale => {
                if let Some(stale) = stale {
                    sqlx::query("DELETE FROM validation_sessions WHERE sid = $1")
                        .bind(&stale.sid)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query(
                    "INSERT INTO validation_sessions (sid, medium, address, client_secret, token, \
                     send_attempt, next_link, created_ms, modified_ms, validated_ms, failed_submits) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, NULL, 0)",
                )
                .bind(&candidate.sid)
                .bind(&candidate.medium)
                .bind(&candidate.address)
                .bind(&candidate.client_secret)
                .bind(&candidate.token)
                .bind(candidate.send_attempt)
                .bind(&candidate.next_link)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("session id exists"),
                    other => other,
                })?;
                SessionRequest {
                    session: ValidationSession {
                        sid: candidate.sid.clone(),
                        medium: candidate.medium.clone(),
                        address: candidate.address.clone(),
                        client_secret: candidate.client_secret.clone(),
                        token: candidate.token.clone(),
                        send_attempt: candidate.send_attempt,
                        next_link: candidate.next_link.clone(),
                        created_ms: now_ms,
                        modified_ms: now_ms,
                        validated_ms: None,
                        failed_submits: 0,
                    },
                    outcome: SessionRequestOutcome::Created,
                }
            }
        };
        tx.commit().await.map_err(db_err)?;
        Ok(result)
    }

    async fn get_session(&self, sid: &str) -> StoreResult<Option<ValidationSession>> {
        if !storable(sid) {
            return Ok(None);
        }
        sqlx::query(concat!(session_select!(), "WHERE sid = $1"))
            .bind(sid)
            .fetch_optional(self.pool()?)
            .await
            .map_err(db_err)?
            .map(|row| session_from_row(&row))
            .transpose()
    }

    async fn find_session(
        &self,
        medium: &str,
        address: &str,
        client_secret: &str,
    ) -> StoreResult<Option<ValidationSession>> {
        if ![medium, address, client_secret].into_iter().all(storable) {
            return Ok(None);
        }
        sqlx::query(concat!(
            session_select!(),
            "WHERE medium = $1 AND address = $2 AND client_secret = $3"
        ))
        .bind(medium)
        .bind(address)
        .bind(client_secret)
        .fetch_optional(self.pool()?)
        .await
        .map_err(db_err)?
        .map(|row| session_from_row(&row))
        .transpose()
    }

    async fn mark_session_validated(
        &self,
        sid: &str,
        now_ms: i64,
        max_failures: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE validation_sessions SET validated_ms = COALESCE(validated_ms, $1), \
             modified_ms = CASE WHEN validated_ms IS NULL THEN $1 ELSE modified_ms END \
             WHERE sid = $2 AND failed_submits < $3",
        )
        .bind(now_ms)
        .bind(sid)
        .bind(max_failures)
        .execute(self.pool()?)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_failed_submit(&self, sid: &str, max_failures: i64) -> StoreResult<Option<i64>> {
        sqlx::query_scalar::<_, i64>(
            "UPDATE validation_sessions SET failed_submits = failed_submits + 1 \
             WHERE sid = $1 AND failed_submits < $2 RETURNING failed_submits",
        )
        .bind(sid)
        .bind(max_failures)
        .fetch_optional(self.pool()?)
        .await
        .map_err(db_err)
    }

    async fn delete_sessions_modified_before(&self, cutoff_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM validation_sessions WHERE modified_ms < $1")
            .bind(cutoff_ms)
            .execute(self.pool()?)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }
}
