//! Rows carried over from another identity server (sydent), with the values they had there:
//! timestamps, tokens and keys are kept, not made anew. Written by the SQLite store's
//! `import_*` methods, each one transaction and idempotent by the rows' natural keys.

use super::{Association, NewInvite};
use crate::crypto::SecretString;

/// A binding with its original timestamps and, when the source kept one, the signed object
/// it served (verbatim).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedAssociation {
    pub association: Association,
    pub signed: Option<OriginalSignature>,
}

/// Where a signed association came from and its exact JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginalSignature {
    pub origin_server: String,
    pub origin_id: i64,
    pub signed_json: String,
}

/// A pending (or delivered) invite with its token and its ephemeral public key.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedInvite {
    pub invite: NewInvite,
    pub created_ms: i64,
    pub delivered_ms: Option<i64>,
    pub public_key: String,
}

/// An ephemeral public key no imported invite owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnownedEphemeralKey {
    pub public_key: String,
    pub created_ms: i64,
}

/// An account with its access tokens (in clear as the source kept them; only their digests
/// are stored) and the policy URLs it accepted.
#[derive(Clone, PartialEq, Eq)]
pub struct ImportedAccount {
    pub user_id: String,
    pub created_ms: i64,
    pub tokens: Vec<SecretString>,
    pub accepted_terms: Vec<String>,
}

impl std::fmt::Debug for ImportedAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportedAccount")
            .field("user_id", &self.user_id)
            .field("created_ms", &self.created_ms)
            .field("tokens", &self.tokens.len())
            .field("accepted_terms", &self.accepted_terms)
            .finish()
    }
}

/// What one import call wrote: rows new (or changed) and rows already there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCount {
    pub written: u64,
    pub unchanged: u64,
}

impl ImportCount {
    pub fn of(total: usize, written: u64) -> Self {
        let total = u64::try_from(total).unwrap_or(u64::MAX);
        Self {
            written,
            unchanged: total.saturating_sub(written),
        }
    }
}
