//! Public keys: the long-term keys this server signs with and the ephemeral keys issued with
//! invitations, as `/pubkey/*` reports them.
//!
//! Validity is about the key, not its spelling: a long-term key is recognised in padded or
//! unpadded base64 of either alphabet. Ephemeral keys are looked up as the exact string issued
//! first (spec v1.15), then in the other unpadded spellings of the same bytes. A `+` that
//! arrived unescaped in the query string was decoded as a space; it is turned back.

use crate::clock::Clock;
use crate::crypto::b64;
use crate::error::{ApiError, ApiResult};
use crate::service::signed::Signer;
use crate::store::InviteStore;
use std::sync::Arc;

/// Key questions: the signer's keys, the ephemeral keys in the invite store, and time.
pub struct KeyService {
    pub(crate) signer: Arc<Signer>,
    pub(crate) store: Arc<dyn InviteStore>,
    pub(crate) clock: Arc<dyn Clock>,
}

/// The query value as sent: base64 never contains spaces, so a space was an unescaped `+`.
fn restore_plus(public_key: &str) -> String {
    public_key.trim().replace(' ', "+")
}

impl KeyService {
    /// The public key with this id (`404 M_NOT_FOUND` for an unknown id).
    pub fn public_key(&self, key_id: &str) -> ApiResult<String> {
        self.signer
            .keys()
            .iter()
            .find(|k| k.key_id() == key_id)
            .map(|k| k.public_key().to_base64())
            .ok_or_else(|| ApiError::NotFound(format!("no key with id `{key_id}`")))
    }

    /// Whether `public_key` is one of this server's long-term keys.
    pub fn is_long_term_key(&self, public_key: &str) -> bool {
        let Ok(bytes) = b64::decode_array::<32>(&restore_plus(public_key)) else {
            return false;
        };
        self.signer
            .keys()
            .iter()
            .any(|k| k.public_key().to_bytes() == bytes)
    }

    /// Whether `public_key` is an unexpired ephemeral key issued with an invitation.
    pub async fn is_ephemeral_key(&self, public_key: &str) -> ApiResult<bool> {
        let now = self.clock.now();
        let given = restore_plus(public_key);
        if given.is_empty() {
            return Ok(false);
        }
        if self.store.is_ephemeral_key_valid(&given, now).await? {
            return Ok(true);
        }
        let Ok(bytes) = b64::decode_array::<32>(&given) else {
            return Ok(false);
        };
        for spelling in [b64::encode_url_safe(&bytes), b64::encode(&bytes)] {
            if spelling != given && self.store.is_ephemeral_key_valid(&spelling, now).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
