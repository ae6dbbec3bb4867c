//! The server's signing identity and the signed association object returned by bind and v1
//! lookup: the stored association, signed over canonical JSON with the long-term key under
//! the server's name — or, for an association carried over from sydent, the object sydent
//! served.

use crate::crypto::{PublicKey, SigningKey, sign_json};
use crate::error::{ApiError, ApiResult};
use crate::store::{Association, AssociationStore};
use hashlink::LruCache;
use serde_json::{Map, Value};
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
    /// Signatures of associations signed lately, by the key in use (which does not change
    /// while the process runs).
    signatures: SignatureCache,
}

/// The key in use's signatures of the associations signed lately (at bind, or at a v1
/// lookup), so an association looked up again is not signed again: ed25519 is deterministic,
/// the signature of the same fields by the same key is the same bytes, and signing was three
/// quarters of a v1 lookup's instructions (docs/benchmarks.md, issue 23). A bounded LRU table
/// (`hashlink`, as the rate limits' tables), keyed by every signed field, so a rebound or
/// re-validated association (another `mxid` or `ts`) is a miss. foldhash rather than SipHash
/// (−700 instructions a v1 lookup): a key is an association already bound and looked up, not
/// a string a client chooses, and the table is bounded.
#[derive(Debug)]
struct SignatureCache(std::sync::Mutex<LruCache<Association, String, foldhash::fast::RandomState>>);

/// Entries kept: ~300 bytes each with the allocator's overhead (the key's two strings, three
/// timestamps, the base64 signature, the table's links), so at most ~1.2 MiB, and only once
/// that many distinct associations were signed or looked up.
const SIGNATURE_CACHE_ENTRIES: usize = 4096;

impl Default for SignatureCache {
    fn default() -> Self {
        Self(std::sync::Mutex::new(LruCache::with_hasher(
            SIGNATURE_CACHE_ENTRIES,
            foldhash::fast::RandomState::default(),
        )))
    }
}

impl SignatureCache {
    fn table(
        &self,
    ) -> std::sync::MutexGuard<'_, LruCache<Association, String, foldhash::fast::RandomState>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, a: &Association) -> Option<String> {
        self.table().get(a).cloned()
    }

    fn put(&self, a: Association, signature: String) {
        self.table().insert(a, signature);
    }
}

impl Signer {
    /// `keys` must not be empty: its first key signs.
    pub fn new(server_name: String, keys: Vec<SigningKey>) -> Option<Self> {
        let key = keys.first()?.clone();
        Some(Self {
            server_name,
            key,
            keys,
            signatures: SignatureCache::default(),
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
        if let Some(signature) = self.signatures.get(a)
            && let Value::Object(fields) = &mut v
        {
            let mut by_key = Map::new();
            by_key.insert(self.key.key_id().to_owned(), Value::String(signature));
            let mut by_server = Map::new();
            by_server.insert(self.server_name.clone(), Value::Object(by_key));
            fields.insert("signatures".to_owned(), Value::Object(by_server));
            return Ok(v);
        }
        self.sign(&mut v)?;
        if let Some(signature) = v["signatures"][&self.server_name][self.key.key_id()].as_str() {
            self.signatures.put(a.clone(), signature.to_owned());
        }
        Ok(v)
    }
}

/// An association with this server's signature over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedAssociation {
    pub association: Association,
    pub signatures: Signatures,
}

/// The unsigned object, built field by field: `json!` went through serde's value serializer
/// for each field (a v1 lookup builds one per request).
fn association_json(a: &Association) -> Value {
    let mut fields = Map::new();
    fields.insert(
        "medium".to_owned(),
        Value::String(a.medium.as_str().to_owned()),
    );
    fields.insert("address".to_owned(), Value::String(a.address.clone()));
    fields.insert("mxid".to_owned(), Value::String(a.mxid.as_str().to_owned()));
    fields.insert("ts".to_owned(), Value::from(a.ts.as_millis()));
    fields.insert(
        "not_before".to_owned(),
        Value::from(a.not_before.as_millis()),
    );
    fields.insert("not_after".to_owned(), Value::from(a.not_after.as_millis()));
    Value::Object(fields)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::verify_json;
    use crate::domain::{Medium, Timestamp, UserId};

    fn signer() -> Signer {
        let key = SigningKey::from_seed("0", &[7u8; 32]).expect("key");
        Signer::new("id.example.org".to_owned(), vec![key]).expect("signer")
    }

    fn association(i: usize, mxid: &str) -> Association {
        Association {
            medium: Medium::Email,
            address: format!("user{i}@example.org"),
            mxid: UserId::parse(mxid).expect("mxid"),
            ts: Timestamp::from_millis(1_700_000_000_000),
            not_before: Timestamp::from_millis(1_700_000_000_000),
            not_after: Timestamp::from_millis(4_800_000_000_000),
        }
    }

    /// A signature served from the cache is the object signing would make, byte for byte,
    /// and it verifies; an association with another owner is signed anew.
    #[test]
    fn a_cached_signature_is_the_fresh_one_and_follows_the_fields() {
        let signer = signer();
        let a = association(1, "@alice:example.org");
        let first = signer.signed_association_json(&a).expect("signed");
        let again = signer.signed_association_json(&a).expect("cached");
        assert_eq!(
            serde_json::to_string(&again).expect("json"),
            serde_json::to_string(&first).expect("json")
        );
        let fresh = {
            let mut v = association_json(&a);
            signer.sign(&mut v).expect("signed");
            v
        };
        assert_eq!(again, fresh);
        let public = signer.public_key();
        verify_json(&again, "id.example.org", "ed25519:0", &public).expect("verifies");
        let rebound = association(1, "@bob:example.org");
        let other = signer.signed_association_json(&rebound).expect("signed");
        assert_ne!(other["signatures"], again["signatures"]);
        verify_json(&other, "id.example.org", "ed25519:0", &public).expect("verifies");
    }

    /// Built field by field, the object is what serialising the typed fields makes.
    #[test]
    fn the_unsigned_object_is_the_serialised_fields() {
        let a = association(3, "@carol:example.org");
        assert_eq!(
            association_json(&a),
            serde_json::json!({
                "medium": a.medium,
                "address": a.address,
                "mxid": a.mxid,
                "ts": a.ts,
                "not_before": a.not_before,
                "not_after": a.not_after,
            })
        );
    }

    /// The cache is bounded, and what is used stays.
    #[test]
    fn the_cache_is_bounded_and_keeps_what_is_used() {
        let signer = signer();
        let hot = association(0, "@hot:example.org");
        signer.signed_association_json(&hot).expect("signed");
        for i in 1..=3 * SIGNATURE_CACHE_ENTRIES {
            signer
                .signed_association_json(&association(i, "@u:example.org"))
                .expect("signed");
            if i % 1000 == 0 {
                assert!(signer.signatures.get(&hot).is_some(), "still cached at {i}");
            }
        }
        let table = signer.signatures.table();
        assert!(table.len() <= SIGNATURE_CACHE_ENTRIES);
        assert!(
            table.contains_key(&hot),
            "the entry used all along survived"
        );
    }
}
