//! [`AccountStore`](crate::store::AccountStore) on PostgreSQL: the shared operations
//! (`store/sql/accounts.rs`) with this dialect's list statement and this instance's cache of
//! token owners.

use super::PostgresStore;
use crate::store::sql::accounts::AccountSql;
use crate::store::token_cache::TokenCache;

impl AccountSql for PostgresStore {
    const ACCEPT_TERMS: &'static str = "INSERT INTO accepted_terms (user_id, url, accepted_ms) \
         SELECT $1, url, $2 FROM unnest($3::text[]) AS u (url) \
         ON CONFLICT (user_id, url) DO NOTHING";

    fn tokens(&self) -> &TokenCache {
        &self.inner.tokens
    }
}
