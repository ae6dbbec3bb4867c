//! Third-party invites, their ephemeral keys and their delivery: the structs and
//! [`InviteStore`].

use async_trait::async_trait;

use super::{StoreResult, Threepid};
use crate::crypto::SecretString;
use crate::domain::{Medium, Timestamp, UserId};

/// A pending third-party invite from `store-invite`: only what `onbind` delivery and
/// `sign-ed25519` read. The display fields of the request (room name, avatars, extra keys)
/// served the invitation mail, sent before the invite is stored, and are not kept: a
/// store-invite body may be 256 KiB (issue 21).
#[derive(Debug, Clone, PartialEq)]
pub struct NewInvite {
    pub token: String,
    pub medium: Medium,
    /// Canonical ([`Medium::canonical_address`]).
    pub address: String,
    pub room_id: String,
    /// Kept as the homeserver sent it (sydent's invites carry senders it never checked).
    pub sender: String,
}

/// The ephemeral key pair issued with an invite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEphemeralKey {
    /// The public key string exactly as returned to the homeserver (compared verbatim).
    pub public_key: String,
    /// The private seed, if the caller wants it kept (e.g. to re-send the invite email).
    pub private_key: Option<SecretString>,
    /// After this instant the key is no longer valid; `None` = valid forever (sydent).
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralKey {
    pub public_key: String,
    pub private_key: Option<SecretString>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
}

/// A stored invite with its ephemeral key.
#[derive(Debug, Clone, PartialEq)]
pub struct Invite {
    pub token: String,
    pub medium: Medium,
    pub address: String,
    pub room_id: String,
    pub sender: String,
    pub created_at: Timestamp,
    /// When the homeserver acknowledged the `onbind` callback.
    pub delivered_at: Option<Timestamp>,
    /// Failed `onbind` attempts so far.
    pub delivery_attempts: i64,
    /// Earliest time of the next attempt after a failure.
    pub next_attempt_at: Option<Timestamp>,
    /// When delivery started (the first time it was due and taken up or deferred).
    pub delivery_started_at: Option<Timestamp>,
    pub ephemeral_key: EphemeralKey,
}

/// An undelivered invite whose 3PID is now bound to `mxid` (work for the delivery retrier).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingDelivery {
    pub invite: Invite,
    pub mxid: UserId,
}

/// Invites and ephemeral keys. Used as `Arc<dyn InviteStore>`.
#[async_trait]
pub trait InviteStore: Send + Sync {
    /// Stores an invite and its ephemeral key together (`created_at = now`).
    /// `Conflict` if the token or the public key exists already.
    async fn store_invite(
        &self,
        invite: &NewInvite,
        key: &NewEphemeralKey,
        now: Timestamp,
    ) -> StoreResult<()>;

    /// The invite with this token (for `sign-ed25519`), delivered or not.
    async fn get_invite(&self, token: &str) -> StoreResult<Option<Invite>>;

    /// Undelivered, not abandoned invites for one 3PID, oldest first (to deliver on bind).
    async fn undelivered_invites(&self, threepid: &Threepid) -> StoreResult<Vec<Invite>>;

    /// Undelivered, not abandoned invites whose 3PID is bound and which are due (`next_attempt_at`
    /// unset or `<= now`), oldest first, at most `limit` — the work list of a delivery retrier
    /// that survives restarts.
    async fn pending_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<PendingDelivery>>;

    /// Marks invites delivered (one transaction); returns how many changed.
    async fn mark_invites_delivered(&self, tokens: &[String], now: Timestamp) -> StoreResult<u64>;

    /// Records a failed delivery of these invites: increments `delivery_attempts` and sets
    /// `next_attempt_at` (one transaction); returns how many changed.
    async fn record_delivery_failure(
        &self,
        tokens: &[String],
        next_attempt: Timestamp,
    ) -> StoreResult<u64>;

    /// Sets the next attempt of these undelivered invites to `until` without counting an
    /// attempt (one in flight, or its homeserver busy or backing off), releasing any claim,
    /// and `delivery_started_at` to `now` where unset; returns how many changed.
    async fn defer_deliveries(
        &self,
        tokens: &[String],
        until: Timestamp,
        now: Timestamp,
    ) -> StoreResult<u64>;

    /// Gives up delivering these invites (too old): they are never listed by
    /// [`Self::pending_deliveries`] again; returns how many changed.
    async fn abandon_deliveries(&self, tokens: &[String], now: Timestamp) -> StoreResult<u64>;

    /// Whether `public_key` (compared verbatim) is an ephemeral key this server issued that has
    /// not expired at `now`.
    async fn is_ephemeral_key_valid(&self, public_key: &str, now: Timestamp) -> StoreResult<bool>;
}
