//! [`AccountStore`](crate::store::AccountStore) on SQLite: the shared operations
//! (`store/sql/accounts.rs`) with this dialect's list statement.

use super::SqliteStore;
use crate::store::sql::accounts::AccountSql;
use crate::store::token_cache::TokenCache;

impl AccountSql for SqliteStore {
    /// `WHERE true` disambiguates the upsert (SQLite would read `ON` as a join's).
    const ACCEPT_TERMS: &'static str = "INSERT INTO accepted_terms (user_id, url, accepted_ms) \
         SELECT $1, value, $2 FROM json_each($3) WHERE true \
         ON CONFLICT (user_id, url) DO NOTHING";

    fn tokens(&self) -> &TokenCache {
        &self.tokens
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::open_temp;
    use crate::store::AccountStore as _;

    #[tokio::test]
    async fn cached_token_owner_is_forgotten_on_logout() {
        let (_dir, store) = open_temp().await;
        store
            .create_access_token(
                "t",
                &crate::domain::UserId::parse("@u:hs").expect("a user ID"),
                crate::domain::Timestamp::from_millis(1),
            )
            .await
            .expect("create");
        assert!(
            store
                .access_token_owner("t")
                .await
                .expect("owner")
                .is_some()
        );
        assert!(
            store
                .access_token_owner("t")
                .await
                .expect("cached")
                .is_some()
        );
        assert!(store.delete_access_token("t").await.expect("logout"));
        assert_eq!(store.access_token_owner("t").await.expect("owner"), None);
        store.close().await;
    }
}
