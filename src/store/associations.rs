//! Associations (3PID ↔ Matrix ID), the lookup pepper and v2 hashed lookups:
//! the structs and [`AssociationStore`].

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

/// Bindings and lookups. Used as `Arc<dyn AssociationStore>`.
#[async_trait]
pub trait AssociationStore: Send + Sync {
    /// Binds `association.medium/address` to `association.mxid`, replacing any earlier binding
    /// of that 3PID; its lookup hash is computed with the current pepper in the same
    /// transaction. Returns the replaced association, if any.
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

    /// Replaces the pepper and recomputes every association's lookup hash, in one
    /// transaction: lookups see either the old pepper and hashes or the new ones. Returns the
    /// number of associations rehashed.
    async fn rotate_lookup_pepper(&self, new_pepper: &str) -> StoreResult<u64>;

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
