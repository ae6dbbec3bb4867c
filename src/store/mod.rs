//! Persistence: one object-safe trait per area ([`SessionStore`], [`AssociationStore`],
//! [`InviteStore`], [`AccountStore`]), each next to its plain domain structs, and [`Store`],
//! which is all of them plus what belongs to no area (readiness). One [`StoreError`].
//!
//! Services hold only the area they need (`Arc<dyn SessionStore>`, …), obtained from the one
//! `Arc<dyn Store>` by trait upcasting; a backend is one file per area.
//!
//! Architecture Invariant: this is the only module that names `sqlx`; nothing in the public
//! API below mentions it, so a PostgreSQL backend is a new folder plus a migrations folder.
//!
//! Conventions every backend follows (and `conformance` checks):
//! * The traits speak the domain types (`domain::`): a [`crate::domain::Timestamp`] for every
//!   instant (`now`, cutoffs, stored times), `Medium`, `Sid`, `ClientSecret`, `UserId`. They
//!   become columns (text, milliseconds) and back in one place, `sql::{Bind, Columns}`; a row
//!   its type refuses (a medium other than email and msisdn) is [`StoreError::Corrupt`].
//!   The store never reads a clock.
//! * Randomness comes in too: the caller generates sids, tokens, peppers and keys; the store
//!   never invents a value, so tests are exact.
//! * Addresses arrive already canonical (case-folded email, MSISDN digits); the store compares
//!   strings exactly.
//! * Every method is atomic; a method that writes several rows does it in one transaction.
//! * Lists come back in a stable order (documented per method).
//! * Secrets (session tokens, client secrets, ephemeral private keys) are redacted by
//!   `Debug`; access tokens are never stored, only their SHA-256 digest.

use async_trait::async_trait;

// First: its column macros are used by the backends below.
#[macro_use]
mod rows;
mod accounts;
pub mod admin;
mod associations;
/// Test code (the stories every backend must pass): compiled for this crate's tests and
/// with the `store-conformance` feature only, never into the release library.
#[cfg(any(test, feature = "store-conformance"))]
pub mod conformance;
mod digest_hash;
pub mod import;
mod invites;
mod lookup_index;
pub mod postgres;
mod sessions;
mod sql;
pub mod sqlite;
pub mod sydent_db;
mod token_cache;

pub use accounts::{AccessTokenOwner, AccountStore, TOKEN_USE_RESOLUTION};
pub use admin::AdminStore;
pub use associations::{
    Association, AssociationStore, HashMatch, ROTATION_BATCH, Rotation, RotationProgress, Threepid,
};
pub use invites::{EphemeralKey, Invite, InviteStore, NewEphemeralKey, NewInvite, PendingDelivery};
pub use postgres::PostgresStore;
pub use sessions::{
    NewSession, SessionRequest, SessionRequestOutcome, SessionStore, ValidationSession,
};
pub use sqlite::SqliteStore;

/// The one error type of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (duplicate invite token, duplicate ephemeral key, …).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The database could not be reached, opened or migrated, or stayed locked too long.
    #[error("database unavailable: {0}")]
    Unavailable(#[source] BoxError),
    /// Stored data could not be decoded (corrupt row, invalid JSON column).
    #[error("corrupt data in {0}")]
    Corrupt(&'static str),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] BoxError),
}

/// A backend error, type-erased so no database type leaks out of this module.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub type StoreResult<T> = Result<T, StoreError>;

/// What the operator's metrics read from the store at each scrape (`ops::metrics`): numbers
/// the store keeps anyway, so no second count has to be kept right beside them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreReadings {
    /// The in-memory lookup index; `None` without one (switched off, or dropped).
    pub lookup_index: Option<IndexReading>,
    /// Each connection pool of the backend.
    pub pools: Vec<PoolReading>,
    /// Invites whose address is bound and that no homeserver has accepted yet; `None` when
    /// the database did not answer.
    pub pending_deliveries: Option<PendingDeliveries>,
    /// PostgreSQL: association changes committed to the log that this instance's lookup
    /// index has not applied yet (`None` on SQLite, without an index, or unanswered).
    pub change_log_lag: Option<u64>,
}

/// The lookup index's size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexReading {
    pub entries: u64,
    /// Heap bytes of its table and arena.
    pub bytes: u64,
}

/// One connection pool: connections lent out and connections waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolReading {
    /// `reader`/`writer` (SQLite), `main` (PostgreSQL).
    pub pool: &'static str,
    pub in_use: u32,
    pub idle: u32,
}

/// The invite delivery queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PendingDeliveries {
    pub invites: u64,
    /// How long the oldest has waited since it became due (its first delivery attempt, else
    /// its binding); `None` when none waits.
    pub oldest_age: Option<std::time::Duration>,
}

/// Everything the server persists: every area, plus readiness. Used as `Arc<dyn Store>`;
/// narrow it with upcasting (`let s: Arc<dyn SessionStore> = store;`).
#[async_trait]
pub trait Store: SessionStore + AssociationStore + InviteStore + AccountStore + AdminStore {
    /// Succeeds when the database answers (readiness check for `GET /_matrix/identity/v2`).
    async fn ping(&self) -> StoreResult<()>;

    /// Whether the database is believed reachable, without asking it (no I/O): `false` while
    /// a backend's own health check finds it unreachable, when every call fails at once with
    /// [`StoreError::Unavailable`] instead of waiting for a connection. For readiness probes.
    fn available(&self) -> bool {
        true
    }

    /// The numbers the operator's metrics show, read at `now`. Costs one indexed query (two
    /// on PostgreSQL) and never fails: what the database does not answer is left out.
    async fn readings(&self, now: crate::domain::Timestamp) -> StoreReadings;
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[test]
    fn store_is_object_safe_and_upcasts_to_each_area() {
        fn takes(store: Option<Arc<dyn Store>>) {
            let Some(store) = store else { return };
            let _: Arc<dyn SessionStore> = store.clone();
            let _: Arc<dyn AssociationStore> = store.clone();
            let _: Arc<dyn InviteStore> = store.clone();
            let _: Arc<dyn AccountStore> = store;
        }
        takes(None);
    }
}
