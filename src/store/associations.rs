//! Associations (3PID ↔ Matrix ID), the lookup pepper and v2 hashed lookups:
//! the structs and [`AssociationStore`].
//!
//! # Pepper rotation
//!
//! A rotation replaces the pepper while lookups go on: until the switch every lookup under
//! the old pepper is answered completely, after it the old pepper is refused
//! (`M_INVALID_PEPPER`) and the new one answers everything. Each association keeps two
//! lookup hashes (the current pepper's, and the next one's while a rotation runs); the
//! rotation fills the next ones [`ROTATION_BATCH`] associations per transaction, in key
//! order, and binds made meanwhile write both, so a bind waits for one batch at most, never
//! for the whole table. The switch is one short transaction that makes the other column
//! current (no row is rewritten). A rotation that stops half-way (a crash, a kill) leaves the
//! old pepper current and its hashes whole; the next rotation starts over from the first key.
//! The schema's side is in the migration that added the second column
//! (`0007_pepper_rotation_slots.sql` on SQLite, `0004_…` on PostgreSQL).

use std::ops::ControlFlow;

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::{Medium, Timestamp, UserId};

/// A 3PID ↔ Matrix ID association (the unsigned fields of the signed association object).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Association {
    pub medium: Medium,
    /// Canonical ([`Medium::canonical_address`]).
    pub address: String,
    pub mxid: UserId,
    pub ts: Timestamp,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

impl Association {
    /// The 3PID this association binds.
    pub fn threepid(&self) -> Threepid {
        Threepid::new(self.medium, self.address.clone())
    }
}

/// A 3PID as `(medium, address)`, the address in its medium's canonical form.
///
/// The address stays a string, not an [`crate::domain::EmailAddress`]: lookups fold whatever
/// they are asked (no syntax check; a malformed address simply matches nothing), and an
/// address carried over from sydent passed sydent's rules, not ours, yet stays findable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Threepid {
    pub medium: Medium,
    pub address: String,
}

impl Threepid {
    /// `address` must be canonical already (see [`Threepid::canonical`] otherwise).
    pub fn new(medium: Medium, address: impl Into<String>) -> Self {
        Self {
            medium,
            address: address.into(),
        }
    }

    /// The 3PID of `address` as a client wrote it: canonicalised for `medium`.
    pub fn canonical(medium: Medium, address: &str) -> Self {
        Self::new(medium, medium.canonical_address(address))
    }
}

/// One v2 lookup match: the hash as stored (equal to the one asked for) and its owner. The
/// mxid stays the text the index holds: the lookup answers it as it is, and parsing 1000
/// owners per request would be work for nothing on the hottest path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashMatch {
    pub lookup_hash: String,
    pub mxid: String,
}

/// Associations rehashed per transaction during a pepper rotation, which is as long as a bind
/// waits for it: measured, about 0.1 s on SQLite (a debug build, 50 000 associations) and
/// 65 ms on PostgreSQL (the batch statement, 200 000); small enough that no bind notices,
/// large enough that the per-transaction costs (a commit's fsync, the lock) stay a small part
/// of a rotation.
pub const ROTATION_BATCH: u32 = 5_000;

/// Told the number of associations rehashed so far after each batch of a rotation; `Break`
/// stops the rotation there.
pub type RotationProgress<'a> = &'a (dyn Fn(u64) -> ControlFlow<()> + Send + Sync);

/// How [`AssociationStore::rotate_lookup_pepper_with`] ended, with the number of associations
/// its batches rehashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The new pepper is current.
    Switched(u64),
    /// Stopped by its `progress` before the switch: the old pepper is still current.
    Stopped(u64),
}

/// Bindings and lookups. Used as `Arc<dyn AssociationStore>`.
#[async_trait]
pub trait AssociationStore: Send + Sync {
    /// Binds `association.medium/address` to `association.mxid`, replacing any earlier binding
    /// of that 3PID; its lookup hash is computed with the current pepper (and, while a
    /// rotation runs, the next one) in the same transaction. Returns the replaced association,
    /// if any.
    async fn bind(&self, association: &Association) -> StoreResult<Option<Association>>;

    /// Removes the binding of `threepid` only if it is bound to `mxid`. `true` if removed.
    async fn unbind(&self, threepid: &Threepid, mxid: &UserId) -> StoreResult<bool>;

    /// The binding of one 3PID (v1 lookup, bind checks, store-invite's "already bound").
    async fn get_association(&self, threepid: &Threepid) -> StoreResult<Option<Association>>;

    /// The bindings among `threepids` (v1 bulk lookup), one query, ordered by
    /// `(medium, address)`; unknown 3PIDs are absent.
    async fn get_associations(&self, threepids: &[Threepid]) -> StoreResult<Vec<Association>>;

    /// v2 lookup: the bindings whose lookup hash is one of `hashes`, through an index (cost
    /// proportional to `hashes.len()`), ordered by hash, each once. `hashes` is taken whole so
    /// that a match can keep the caller's string instead of a copy. `None` if `pepper` is not the current
    /// pepper — checked in the same transaction as the lookup, so a concurrent rotation cannot
    /// pair an old pepper with new hashes.
    async fn lookup_hashes(
        &self,
        pepper: &str,
        hashes: Vec<String>,
    ) -> StoreResult<Option<Vec<HashMatch>>>;

    /// The current lookup pepper, if one was created.
    async fn lookup_pepper(&self) -> StoreResult<Option<String>>;

    /// Returns the current pepper; if there is none, stores `candidate` (and hashes every
    /// association with it, in the same transaction) and returns it. The first persisted
    /// pepper wins over concurrent candidates.
    async fn get_or_create_lookup_pepper(&self, candidate: &str) -> StoreResult<String>;

    /// Replaces the pepper, [`ROTATION_BATCH`] associations per transaction (see the module
    /// documentation): lookups see the old pepper and its hashes until the switch, then the
    /// new ones. Returns the number of associations the batches rehashed. Without a pepper
    /// yet, this creates `new_pepper` as [`Self::get_or_create_lookup_pepper`] does (one
    /// transaction: there is no old pepper to answer meanwhile). A rotation begun later
    /// (here or on another instance) replaces this one, which then fails with
    /// [`StoreError::Conflict`](super::StoreError::Conflict).
    async fn rotate_lookup_pepper(&self, new_pepper: &str) -> StoreResult<u64> {
        let go_on = |_| ControlFlow::Continue(());
        match self
            .rotate_lookup_pepper_with(new_pepper, ROTATION_BATCH, &go_on)
            .await?
        {
            // `go_on` never stops it.
            Rotation::Switched(rehashed) | Rotation::Stopped(rehashed) => Ok(rehashed),
        }
    }

    /// [`Self::rotate_lookup_pepper`] with `batch` associations per transaction, telling
    /// `progress` the number rehashed so far after each batch committed before the switch;
    /// `progress` may stop the rotation there (as a crash would: the old pepper stays
    /// current, and the next rotation starts over). Tests use both.
    async fn rotate_lookup_pepper_with(
        &self,
        new_pepper: &str,
        batch: u32,
        progress: RotationProgress<'_>,
    ) -> StoreResult<Rotation>;

    /// The signed association object another server (sydent, or the replication peer that
    /// made the binding) served for exactly this association, verbatim, if it was carried
    /// over (`oxident import-sydent`). Backends without imports keep the default.
    async fn original_signed_association(
        &self,
        _association: &Association,
    ) -> StoreResult<Option<String>> {
        Ok(None)
    }
}
