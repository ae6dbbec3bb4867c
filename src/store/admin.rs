//! The operator's view of one data subject (a user or a 3PID) across every area, for the
//! admin API: what is held about it, and erasing it. A trait of its own rather than methods
//! of each area because an erasure must be one transaction across all of them (a half-erased
//! subject is the worst outcome of a GDPR request); its statements are the same on both
//! backends, so it has no dialect part. Used as `Arc<dyn AdminStore>`.

use async_trait::async_trait;

use super::{Association, Invite, StoreResult, Threepid};
use crate::domain::{Medium, Timestamp, UserId};

/// Whose records: a user, with everything bound to it, or one 3PID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    User(UserId),
    Threepid(Threepid),
}

/// A validation session without its secrets (token, client secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    pub sid: String,
    pub medium: Medium,
    pub address: String,
    pub created_at: Timestamp,
    pub validated_at: Option<Timestamp>,
}

/// One access token's use (the token itself is stored only as a digest, never shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenUse {
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
}

/// A user's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRecords {
    pub user_id: UserId,
    pub created_at: Timestamp,
    /// Oldest first.
    pub tokens: Vec<TokenUse>,
    /// By URL.
    pub accepted_terms: Vec<String>,
}

/// Everything held about a subject. The 3PIDs concerned are the subject's own, or those bound
/// to the user.
#[derive(Debug, Clone, PartialEq)]
pub struct SubjectRecords {
    /// By `(medium, address)`.
    pub associations: Vec<Association>,
    /// Invites to the 3PIDs concerned and, for a user, those it sent; delivered or not; oldest
    /// first.
    pub invites: Vec<Invite>,
    /// Validation sessions of the 3PIDs concerned, oldest first.
    pub sessions: Vec<SessionSummary>,
    /// A user's account, if it registered.
    pub account: Option<AccountRecords>,
}

/// How many rows of each kind an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Erased {
    pub associations: u64,
    pub invites: u64,
    pub ephemeral_keys: u64,
    pub sessions: u64,
    pub tokens: u64,
    pub accepted_terms: u64,
}

#[async_trait]
pub trait AdminStore: Send + Sync {
    /// Everything held about `subject` (one read snapshot per kind of row).
    async fn subject_records(&self, subject: &Subject) -> StoreResult<SubjectRecords>;

    /// Removes what [`Self::subject_records`] finds (invites with their ephemeral keys), and
    /// for a user its account, in one transaction; lookups stop answering the associations at
    /// its commit (on PostgreSQL, other instances within the change-log delay).
    async fn erase_subject(&self, subject: &Subject) -> StoreResult<Erased>;

    /// Deletes every access token of `user_id`; how many there were. The token cache forgets
    /// them at once here (other PostgreSQL instances within their cache's lifetime).
    async fn revoke_access_tokens(&self, user_id: &UserId) -> StoreResult<u64>;
}
