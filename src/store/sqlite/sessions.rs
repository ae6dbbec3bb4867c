//! [`SessionStore`](crate::store::SessionStore) on SQLite: the shared operations
//! (`store/sql/sessions.rs`) as they are.

use sqlx::{Sqlite, Transaction};

use super::SqliteStore;
use crate::store::sql::sessions::SessionSql;
use crate::store::{NewSession, StoreResult};

impl SessionSql for SqliteStore {
    /// Nothing to add: the transaction began `IMMEDIATE`, so it holds the database's one
    /// write lock already.
    async fn lock_scope(
        _tx: &mut Transaction<'static, Sqlite>,
        _candidate: &NewSession,
    ) -> StoreResult<()> {
        Ok(())
    }
}
