//! Accounts: access tokens (stored as digests) and accepted terms: the struct and
//! [`AccountStore`].

use std::time::Duration;

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::{Timestamp, UserId};

/// The owner of an access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenOwner {
    pub user_id: UserId,
    /// When this token was issued.
    pub created_at: Timestamp,
    /// When it was last used, to within [`TOKEN_USE_RESOLUTION`] (the caller records use
    /// with [`AccountStore::touch_access_token`] when this is older than that).
    pub last_used_at: Timestamp,
}

/// How stale a token's `last_used_at` may get before a use is recorded again: one write per
/// token per hour, not one per authenticated request.
pub const TOKEN_USE_RESOLUTION: Duration = Duration::from_secs(3600);

/// Access tokens and terms acceptance. Used as `Arc<dyn AccountStore>`.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Records a new access token for `user_id` (creating the account on first use). Only a
    /// SHA-256 digest of `token` is stored.
    async fn create_access_token(
        &self,
        token: &str,
        user_id: &UserId,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// The owner of `token`, found by digest.
    async fn access_token_owner(&self, token: &str) -> StoreResult<Option<AccessTokenOwner>>;

    /// Deletes `token` (logout). `true` if it existed.
    async fn delete_access_token(&self, token: &str) -> StoreResult<bool>;

    /// Records a use of `token` at `now` (its `last_used_at`).
    async fn touch_access_token(&self, token: &str, now: Timestamp) -> StoreResult<()>;

    /// Deletes all but the `keep` newest tokens of `user_id` (by `created_at`, then digest);
    /// returns how many went.
    async fn trim_access_tokens(&self, user_id: &UserId, keep: u32) -> StoreResult<u64>;

    /// Deletes every token not used since `unused_since` (`last_used_at` before it);
    /// returns how many went.
    async fn purge_unused_access_tokens(&self, unused_since: Timestamp) -> StoreResult<u64>;

    // ----- terms -----

    /// Adds `urls` to the set of policy URLs `user_id` has accepted (append-only, duplicates
    /// ignored, one transaction).
    async fn accept_terms(
        &self,
        user_id: &UserId,
        urls: &[String],
        now: Timestamp,
    ) -> StoreResult<()>;

    /// The policy URLs `user_id` has accepted, sorted.
    async fn accepted_terms(&self, user_id: &UserId) -> StoreResult<Vec<String>>;
}
