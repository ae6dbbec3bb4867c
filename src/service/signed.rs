//! The server's signing identity and the signed association object returned by bind and v1
//! lookup: the stored association, signed over canonical JSON with the long-term key under
//! the server's name — or, for an association carried over from sydent, the object sydent
//! served.

use crate::crypto::{PublicKey, SigningKey, sign_json};
use crate::error::{ApiError, ApiResult};
use crate::store::{Association, AssociationStore};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `not_after` for new associations: the reference server vouches for 100 years.
pub const VALIDITY: std::time::Duration = std::time::Duration::from_secs(100 * 365 * 24 * 3600);

/// `signatures` of a signed object: entity → key id → signature.
pub type Signatures = BTreeMap<String, BTreeMap<String, String>>;

/// Who this server is when it signs: its name and its long-term keys. Shared by every area
/// that signs or answers for a key, so no area needs the configuration for it.
#[derive(Debug)]
pub struct Signer {
    server_name: String,
    /// The key in use (the first of the key file).
    key: SigningKey,
    /// Every long-term key this server holds (all stay valid at `/pubkey/isvalid`).
    keys: Vec<SigningKey>,
}

impl Signer {
    /// `keys` must not be empty: its first key signs.
    pub fn new(server_name: String, keys: Vec<SigningKey>) -> Option<Self> {
        let key = keys.first()?.clone();
        Some(Self {
            server_name,
            key,
            keys,
        })
    }

    pub fn server_name(&self) -> &str {
        &self.server_name
    }

    /// The public half of the key in use.
    pub fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// Adds this server's signature to a JSON object.
    pub fn sign(&self, value: &mut Value) -> ApiResult<()> {
        Ok(sign_json(value, &self.server_name, &self.key)?)
    }

    /// Signs with another key under this server's name (an invite's ephemeral key).
    pub fn sign_with(&self, value: &mut Value, key: &SigningKey) -> ApiResult<()> {
        Ok(sign_json(value, &self.server_name, key)?)
    }

    /// The association as a signed object.
    pub fn signed_association(&self, a: &Association) -> ApiResult<SignedAssociation> {
        let mut v = self.signed_association_json(a)?;
        let signatures =
            serde_json::from_value(v["signatures"].take()).map_err(ApiError::internal)?;
        Ok(SignedAssociation {
            association: a.clone(),
            signatures,
        })
    }

    /// The signed object as JSON, for answers that are JSON already (v1 lookup: the typed
    /// detour cost a v1 lookup ~5 % more instructions).
    pub fn signed_association_json(&self, a: &Association) -> ApiResult<Value> {
        let mut v = association_json(a);
        self.sign(&mut v)?;
        Ok(v)
    }
}

/// An association with this server's signature over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAssociation {
    pub association: Association,
    pub signatures: Signatures,
}

fn association_json(a: &Association) -> Value {
    json!({
        "medium": a.medium,
        "address": a.address,
        "mxid": a.mxid,
        "ts": a.ts,
        "not_before": a.not_before,
        "not_after": a.not_after,
    })
}

/// What a v1 lookup answers for `a`: the signed object carried over from sydent for exactly
/// this association when there is one — sydent served it verbatim, and the signature of the
/// replication peer that made a binding cannot be made again here — with this server's own
/// signature added when it lacks one (as sydent adds its own); otherwise a fresh one.
pub async fn signed_association_for_lookup(
    signer: &Signer,
    store: &Arc<dyn AssociationStore>,
    a: &Association,
) -> ApiResult<Value> {
    if let Some(text) = store.original_signed_association(a).await?
        && let Ok(mut original) = serde_json::from_str::<Value>(&text)
        && original["mxid"] == a.mxid.as_str()
        && original["ts"] == a.ts.as_millis()
    {
        if original["signatures"].get(signer.server_name()).is_none() {
            signer.sign(&mut original)?;
        }
        return Ok(original);
    }
    signer.signed_association_json(a)
}
