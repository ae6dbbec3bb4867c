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
pub use associations::{Association, AssociationStore, HashMatch, Threepid};
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
