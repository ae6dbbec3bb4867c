//! [`SessionStore`](crate::store::SessionStore) on PostgreSQL: the shared operations
//! (`store/sql/sessions.rs`) with a scope lock that holds across instances.

use sqlx::{Postgres, Transaction};

use super::{PostgresStore, SESSION_SCOPE, db_err};
use crate::store::sql::sessions::SessionSql;
use crate::store::{NewSession, StoreResult};

impl SessionSql for PostgresStore {
    /// A transaction-scoped advisory lock on a hash of the scope: concurrent requests from
    /// any instance take turns (a hash collision only makes two scopes wait for each other).
    async fn lock_scope(
        tx: &mut Transaction<'static, Postgres>,
        candidate: &NewSession,
    ) -> StoreResult<()> {
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2 || ' ' || $3 || ' ' || $4))")
            .bind(SESSION_SCOPE)
            .bind(candidate.medium.as_str())
            .bind(&candidate.address)
            .bind(candidate.client_secret.as_str())
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        Ok(())
    }
}
