//! Accounts: access tokens (stored as digests) and accepted terms: the struct and
//! [`AccountStore`].

use async_trait::async_trait;

use super::StoreResult;

/// The owner of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenOwner {
    pub user_id: String,
    /// When this token was issued.
    pub created_ms: i64,
}

/// Access tokens and terms acceptance. Used as `Arc<dyn AccountStore>`.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Records a new access token for `user_id` (creating the account on first use). Only a
    /// SHA-256 digest of `token` is stored.
    async fn create_access_token(&self, token: &str, user_id: &str, now_ms: i64)
    -> StoreResult<()>;

    /// The owner of `token`, found by digest.
    async fn access_token_owner(&self, token: &str) -> StoreResult<Option<AccessTokenOwner>>;

    /// Deletes `token` (logout). `true` if it existed.
    async fn delete_access_token(&self, token: &str) -> StoreResult<bool>;

    // ----- terms -----

    /// Adds `urls` to the set of policy URLs `user_id` has accepted (append-only, duplicates
    /// ignored, one transaction).
    async fn accept_terms(&self, user_id: &str, urls: &[String], now_ms: i64) -> StoreResult<()>;

    /// The policy URLs `user_id` has accepted, sorted.
    async fn accepted_terms(&self, user_id: &str) -> StoreResult<Vec<String>>;
}
