//! [`SessionStore`], once for both backends.

use std::future::Future;

use async_trait::async_trait;
use sqlx::Transaction;

use super::{
    Affected as _, Backend, Bind as _, Columns as _, Exec as _, conflict, conn, fetch_mapped,
    read_mapped,
};
use crate::domain::{ClientSecret, Sid, Timestamp};
use crate::store::rows::session_from_row;
use crate::store::{
    NewSession, SessionRequest, SessionRequestOutcome, SessionStore, StoreResult, Threepid,
    ValidationSession,
};

/// What a backend adds to the shared session operations.
pub(in crate::store) trait SessionSql: Backend {
    /// Makes concurrent `request_session`s for `candidate`'s `(medium, address,
    /// client_secret)` take turns from here to the end of `tx`, so that one creates the
    /// session and the others see it.
    fn lock_scope<'a>(
        tx: &'a mut Transaction<'static, Self::Db>,
        candidate: &'a NewSession,
    ) -> impl Future<Output = StoreResult<()>> + Send + 'a;
}

const SELECT_BY_SCOPE: &str = concat!(
    session_select!(),
    "WHERE medium = $1 AND address = $2 AND client_secret = $3"
);

#[async_trait]
impl<B: SessionSql> SessionStore for B {
    async fn request_session(
        &self,
        candidate: &NewSession,
        stale_before: Timestamp,
        now: Timestamp,
    ) -> StoreResult<SessionRequest> {
        let mut tx = self.begin().await?;
        B::lock_scope(&mut tx, candidate).await?;
        let query = sqlx::query(SELECT_BY_SCOPE)
            .medium(candidate.medium)
            .text(&candidate.address)
            .text(&candidate.client_secret);
        let existing = fetch_mapped::<B, _>(query, &mut tx, session_from_row).await?;

        let result = match existing {
            Some(mut session) if session.lifetime_start() >= stale_before => {
                if candidate.send_attempt > session.send_attempt {
                    sqlx::query(
                        "UPDATE validation_sessions SET send_attempt = $1, modified_ms = $2, \
                         next_link = COALESCE($3, next_link) WHERE sid = $4",
                    )
                    .int(candidate.send_attempt)
                    .time(now)
                    .opt_text(candidate.next_link.as_deref())
                    .text(&session.sid)
                    .execute((*tx).ex())
                    .await
                    .map_err(B::db_err)?;
                    session.send_attempt = candidate.send_attempt;
                    session.modified_at = now;
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
                        .text(&stale.sid)
                        .execute((*tx).ex())
                        .await
                        .map_err(B::db_err)?;
                }
                sqlx::query(
                    "INSERT INTO validation_sessions (sid, medium, address, client_secret, token, \
                     send_attempt, next_link, created_ms, modified_ms, validated_ms, failed_submits) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, NULL, 0)",
                )
                .text(&candidate.sid)
                .medium(candidate.medium)
                .text(&candidate.address)
                .text(&candidate.client_secret)
                .text(&candidate.token)
                .int(candidate.send_attempt)
                .opt_text(candidate.next_link.as_deref())
                .time(now)
                .execute((*tx).ex())
                .await
                .map_err(conflict::<B>("session id exists"))?;
                SessionRequest {
                    session: ValidationSession {
                        sid: candidate.sid.clone(),
                        medium: candidate.medium,
                        address: candidate.address.clone(),
                        client_secret: candidate.client_secret.clone(),
                        token: candidate.token.clone(),
                        send_attempt: candidate.send_attempt,
                        next_link: candidate.next_link.clone(),
                        created_at: now,
                        modified_at: now,
                        validated_at: None,
                        failed_submits: 0,
                    },
                    outcome: SessionRequestOutcome::Created,
                }
            }
        };
        tx.commit().await.map_err(B::db_err)?;
        Ok(result)
    }

    async fn get_session(&self, sid: &Sid) -> StoreResult<Option<ValidationSession>> {
        // A `Sid` (like a `ClientSecret`) is `[0-9a-zA-Z.=_-]`: storable by every backend.
        let query = sqlx::query(concat!(session_select!(), "WHERE sid = $1")).text(sid);
        read_mapped(self, query, session_from_row).await
    }

    async fn find_session(
        &self,
        threepid: &Threepid,
        client_secret: &ClientSecret,
    ) -> StoreResult<Option<ValidationSession>> {
        if !B::storable(&threepid.address) {
            return Ok(None);
        }
        let query = sqlx::query(SELECT_BY_SCOPE)
            .medium(threepid.medium)
            .text(&threepid.address)
            .text(client_secret);
        read_mapped(self, query, session_from_row).await
    }

    async fn mark_session_validated(
        &self,
        sid: &Sid,
        now: Timestamp,
        max_failures: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE validation_sessions SET validated_ms = COALESCE(validated_ms, $1), \
             modified_ms = CASE WHEN validated_ms IS NULL THEN $1 ELSE modified_ms END \
             WHERE sid = $2 AND failed_submits < $3",
        )
        .time(now)
        .text(sid)
        .int(max_failures)
        .execute(conn::<B>(self.writes()?).await?.ex())
        .await
        .map_err(B::db_err)?;
        Ok(done.affected() == 1)
    }

    async fn record_failed_submit(&self, sid: &Sid, max_failures: i64) -> StoreResult<Option<i64>> {
        sqlx::query(
            "UPDATE validation_sessions SET failed_submits = failed_submits + 1 \
             WHERE sid = $1 AND failed_submits < $2 RETURNING failed_submits",
        )
        .text(sid)
        .int(max_failures)
        .fetch_optional(conn::<B>(self.writes()?).await?.ex())
        .await
        .map_err(B::db_err)?
        .map(|row| row.int("failed_submits").map_err(B::db_err))
        .transpose()
    }

    async fn delete_sessions_modified_before(&self, cutoff: Timestamp) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM validation_sessions WHERE modified_ms < $1")
            .time(cutoff)
            .execute(conn::<B>(self.writes()?).await?.ex())
            .await
            .map_err(B::db_err)?;
        Ok(done.affected())
    }
}
