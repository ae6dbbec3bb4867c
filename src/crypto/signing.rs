//! ed25519 keys and the Signing JSON algorithm (App §Signing JSON, §Signing Details,
//! §Checking for a Signature).

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::signature::Ed25519KeyPair;
use serde_json::{Map, Value};

use super::canonical_json::canonical_object_without;
use super::tokens::{OsRandom, RandomSource};
use super::{CryptoError, SecretString, b64};

/// The only signing algorithm Matrix defines.
pub const ED25519: &str = "ed25519";

/// Top-level keys excluded from what gets signed.
const UNSIGNED_KEYS: [&str; 2] = ["signatures", "unsigned"];

/// An ed25519 signing key with its key id (`ed25519:<version>`). The seed is only reachable
/// through [`SigningKey::seed_base64`]; `Debug` shows the key id and public key only.
///
/// Signatures are made by aws-lc (already linked for TLS), whose ed25519 is several times
/// faster than ed25519-dalek's portable field arithmetic; ed25519 signatures are
/// deterministic, so both give the same bytes (a test checks that against dalek). Every v1
/// lookup signs, so this is on a hot path (docs/benchmarks.md).
#[derive(Clone)]
pub struct SigningKey {
    key_id: String,
    inner: ed25519_dalek::SigningKey,
    signer: Arc<Ed25519KeyPair>,
}

impl SigningKey {
    /// A key from its 32-byte seed. `version` is the part after `ed25519:`; it must be
    /// non-empty and match `[a-zA-Z0-9_]+` (S2S key id grammar).
    pub fn from_seed(version: &str, seed: &[u8; 32]) -> Result<Self, CryptoError> {
        check_version(version)?;
        let inner = ed25519_dalek::SigningKey::from_bytes(seed);
        let signer =
            Ed25519KeyPair::from_seed_and_public_key(seed, inner.verifying_key().as_bytes())
                .map_err(|_| CryptoError::InvalidKey("aws-lc refused the ed25519 seed"))?;
        Ok(Self {
            key_id: format!("{ED25519}:{version}"),
            inner,
            signer: Arc::new(signer),
        })
    }

    /// A key from its seed in (padded or unpadded, standard or URL-safe) base64.
    pub fn from_base64_seed(version: &str, seed_base64: &str) -> Result<Self, CryptoError> {
        let seed = b64::decode(seed_base64.trim())?;
        let seed: &[u8; 32] = seed
            .as_slice()
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("an ed25519 seed is 32 bytes"))?;
        Self::from_seed(version, seed)
    }

    /// A fresh key from the OS CSPRNG.
    pub fn generate(version: &str) -> Result<Self, CryptoError> {
        Self::generate_from(&OsRandom, version)
    }

    /// A fresh key from `rng`.
    pub fn generate_from(rng: &dyn RandomSource, version: &str) -> Result<Self, CryptoError> {
        let mut seed = [0u8; 32];
        rng.fill(&mut seed)?;
        let key = Self::from_seed(version, &seed);
        seed.fill(0);
        key
    }

    /// `ed25519:<version>`.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The part of the key id after `ed25519:`.
    pub fn version(&self) -> &str {
        &self.key_id[ED25519.len() + 1..]
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.inner.verifying_key())
    }

    /// The seed as unpadded standard base64 — the private key as Matrix (sign-ed25519, key
    /// files) writes it.
    pub fn seed_base64(&self) -> SecretString {
        SecretString::new(b64::encode(self.inner.as_bytes()))
    }

    /// The raw ed25519 signature of `message`, unpadded standard base64.
    pub fn sign_bytes(&self, message: &[u8]) -> String {
        b64::encode(self.signer.sign(message).as_ref())
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("key_id", &self.key_id)
            .field("public_key", &self.public_key().to_base64())
            .field("seed", &"<redacted>")
            .finish()
    }
}

fn check_version(version: &str) -> Result<(), CryptoError> {
    if !version.is_empty()
        && version
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        Ok(())
    } else {
        Err(CryptoError::InvalidKeyId)
    }
}

/// Splits `ed25519:<version>` and checks both halves.
pub fn parse_key_id(key_id: &str) -> Result<&str, CryptoError> {
    let version = key_id
        .strip_prefix(ED25519)
        .and_then(|rest| rest.strip_prefix(':'))
        .ok_or(CryptoError::InvalidKeyId)?;
    check_version(version)?;
    Ok(version)
}

/// An ed25519 public (verify) key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// From padded or unpadded base64 in either alphabet.
    pub fn from_base64(input: &str) -> Result<Self, CryptoError> {
        let bytes = b64::decode_array::<32>(input)?;
        Self::from_bytes(&bytes)
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| CryptoError::InvalidKey("not an ed25519 public key"))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// Unpadded standard base64 (`/pubkey/{keyId}`, store-invite server key).
    pub fn to_base64(&self) -> String {
        b64::encode(self.0.as_bytes())
    }

    /// Unpadded URL-safe base64 (sydent's form for ephemeral invite keys).
    pub fn to_base64_url_safe(&self) -> String {
        b64::encode_url_safe(self.0.as_bytes())
    }

    /// Verifies a raw signature (base64, either alphabet, padding optional) over `message`.
    /// Uses strict verification (rejects small-order keys and non-canonical signatures).
    pub fn verify_bytes(&self, message: &[u8], signature_base64: &str) -> Result<(), CryptoError> {
        let sig = b64::decode_array::<64>(signature_base64)
            .map_err(|_| CryptoError::InvalidKey("an ed25519 signature is 64 bytes of base64"))?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| CryptoError::BadSignature)
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.to_base64())
    }
}

/// Signs a JSON object in place (App §Signing Details): the object without `signatures` and
/// `unsigned` is encoded as canonical JSON and signed; the signature is stored at
/// `signatures[entity][key_id]`. Existing signatures — other entities and other keys of the
/// same entity — are kept; `unsigned` is left where it was.
///
/// On error (not an object, `signatures` not an object of objects, a value that is not
/// canonical JSON) `value` is unchanged.
pub fn sign_json(value: &mut Value, entity: &str, key: &SigningKey) -> Result<(), CryptoError> {
    let Value::Object(map) = value else {
        return Err(CryptoError::NotAnObject("only objects can be signed"));
    };
    // Validate the shape of `signatures` before signing so failure leaves `value` untouched.
    match map.get("signatures") {
        None => {}
        Some(Value::Object(sigs)) => match sigs.get(entity) {
            None | Some(Value::Object(_)) => {}
            Some(_) => {
                return Err(CryptoError::NotAnObject(
                    "signatures[entity] must be an object",
                ));
            }
        },
        Some(_) => return Err(CryptoError::NotAnObject("signatures must be an object")),
    }
    let message = canonical_object_without(map, &UNSIGNED_KEYS)?;
    let signature = key.sign_bytes(&message);

    let sigs = map
        .entry("signatures")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(sigs) = sigs {
        let for_entity = sigs
            .entry(entity.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(for_entity) = for_entity {
            for_entity.insert(key.key_id().to_owned(), Value::String(signature));
        }
    }
    Ok(())
}

/// Checks that `value` carries a valid signature by `entity` with `key_id` under `public_key`
/// (App §Checking for a Signature, for one known key).
pub fn verify_json(
    value: &Value,
    entity: &str,
    key_id: &str,
    public_key: &PublicKey,
) -> Result<(), CryptoError> {
    let Value::Object(map) = value else {
        return Err(CryptoError::NotAnObject("only objects carry signatures"));
    };
    let signature = map
        .get("signatures")
        .and_then(|s| s.get(entity))
        .and_then(|s| s.get(key_id))
        .and_then(Value::as_str)
        .ok_or_else(|| CryptoError::MissingSignature {
            entity: entity.to_owned(),
            key_id: key_id.to_owned(),
        })?;
    let message = canonical_object_without(map, &UNSIGNED_KEYS)?;
    public_key.verify_bytes(&message, signature)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// aws-lc signs; ed25519 is deterministic, so its signatures must be dalek's, byte for
    /// byte, for every seed and message.
    #[test]
    fn aws_lc_signatures_are_dalek_signatures() {
        use ed25519_dalek::Signer as _;
        let mut seed = [7u8; 32];
        for round in 0u8..32 {
            seed[usize::from(round)] = round.wrapping_mul(37).wrapping_add(11);
            let key = SigningKey::from_seed("1", &seed).expect("key");
            let message: Vec<u8> = (0..usize::from(round) * 13).map(|i| i as u8).collect();
            let dalek = ed25519_dalek::SigningKey::from_bytes(&seed).sign(&message);
            assert_eq!(
                key.sign_bytes(&message),
                b64::encode(&dalek.to_bytes()),
                "round {round}"
            );
            key.public_key()
                .verify_bytes(&message, &key.sign_bytes(&message))
                .expect("verifies");
        }
    }

    /// App §Cryptographic Test Vectors → Signing Key.
    fn spec_key() -> SigningKey {
        SigningKey::from_base64_seed("1", "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1")
            .expect("spec seed decodes (it has non-zero trailing bits)")
    }

    /// App §Cryptographic Test Vectors → JSON Signing, first vector.
    #[test]
    fn spec_vector_empty_object() {
        let mut value = json!({});
        sign_json(&mut value, "domain", &spec_key()).expect("signs");
        assert_eq!(
            value,
            json!({
                "signatures": {
                    "domain": {
                        "ed25519:1": "K8280/U9SSy9IVtjBuVeLr+HpOB4BQFWbg+UZaADMtTdGYI7Geitb76LTrr5QV/7Xg4ahLwYGYZzuHGZKM5ZAQ"
                    }
                }
            })
        );
        verify_json(&value, "domain", "ed25519:1", &spec_key().public_key()).expect("verifies");
    }

    /// App §Cryptographic Test Vectors → JSON Signing, second vector.
    #[test]
    fn spec_vector_one_two() {
        let mut value = json!({ "one": 1, "two": "Two" });
        sign_json(&mut value, "domain", &spec_key()).expect("signs");
        assert_eq!(
            value,
            json!({
                "one": 1,
                "signatures": {
                    "domain": {
                        "ed25519:1": "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
                    }
                },
                "two": "Two"
            })
        );
        verify_json(&value, "domain", "ed25519:1", &spec_key().public_key()).expect("verifies");
    }

    #[test]
    fn keeps_existing_signatures_and_unsigned() {
        let other = SigningKey::from_seed("0", &[7u8; 32]).expect("key");
        let mut value = json!({
            "one": 1,
            "two": "Two",
            "unsigned": { "age_ts": 922834800000_i64 },
            "signatures": { "elsewhere": { "ed25519:x": "abc" } }
        });
        sign_json(&mut value, "domain", &other).expect("signs");
        sign_json(&mut value, "domain", &spec_key()).expect("signs");
        // `unsigned` and earlier signatures do not change the signature: same as the vector.
        assert_eq!(
            value["signatures"]["domain"]["ed25519:1"],
            "KqmLSbO39/Bzb0QIYE82zqLwsA+PDzYIpIRA2sRQ4sL53+sN6/fpNSoqE7BP7vBZhG6kYdD13EIMJpvhJI+6Bw"
        );
        assert_eq!(value["signatures"]["elsewhere"]["ed25519:x"], "abc");
        assert_eq!(value["unsigned"]["age_ts"], 922834800000_i64);
        verify_json(&value, "domain", "ed25519:0", &other.public_key())
            .expect("first key verifies");
        verify_json(&value, "domain", "ed25519:1", &spec_key().public_key())
            .expect("second key verifies");
    }

    #[test]
    fn verification_failures() {
        let key = spec_key();
        let mut value = json!({ "mxid": "@alice:example.org", "token": "abc" });
        sign_json(&mut value, "domain", &key).expect("signs");

        let mut tampered = value.clone();
        tampered["mxid"] = json!("@mallory:example.org");
        assert!(matches!(
            verify_json(&tampered, "domain", "ed25519:1", &key.public_key()),
            Err(CryptoError::BadSignature)
        ));
        assert!(matches!(
            verify_json(&value, "other", "ed25519:1", &key.public_key()),
            Err(CryptoError::MissingSignature { .. })
        ));
        let wrong = SigningKey::from_seed("1", &[1u8; 32])
            .expect("key")
            .public_key();
        assert!(verify_json(&value, "domain", "ed25519:1", &wrong).is_err());

        // Adding `unsigned` or another signature does not invalidate it.
        let mut extended = value.clone();
        extended["unsigned"] = json!({ "x": 1 });
        extended["signatures"]["hs"] = json!({ "ed25519:a": "zzz" });
        verify_json(&extended, "domain", "ed25519:1", &key.public_key()).expect("still valid");

        // Padded and URL-safe signatures are accepted when checking.
        let sig = value["signatures"]["domain"]["ed25519:1"]
            .as_str()
            .expect("str")
            .to_owned();
        let url_safe = sig.replace('+', "-").replace('/', "_") + "==";
        let mut padded = value.clone();
        padded["signatures"]["domain"]["ed25519:1"] = json!(url_safe);
        verify_json(&padded, "domain", "ed25519:1", &key.public_key()).expect("lenient decode");
    }

    #[test]
    fn sign_errors_leave_value_unchanged() {
        let key = spec_key();
        for bad in [
            json!([1, 2]),
            json!({ "x": 1.5 }),
            json!({ "signatures": [] }),
            json!({ "signatures": { "domain": "nope" } }),
        ] {
            let mut v = bad.clone();
            assert!(sign_json(&mut v, "domain", &key).is_err());
            assert_eq!(v, bad);
        }
    }

    #[test]
    fn keys_round_trip_and_do_not_leak() {
        let key = SigningKey::generate("0").expect("os rng");
        assert_eq!(key.key_id(), "ed25519:0");
        assert_eq!(key.version(), "0");
        let again = SigningKey::from_base64_seed("0", key.seed_base64().expose()).expect("seed");
        assert_eq!(again.public_key(), key.public_key());
        let debug = format!("{key:?}");
        assert!(!debug.contains(key.seed_base64().expose()), "{debug}");
        assert!(debug.contains(&key.public_key().to_base64()));

        let pk = key.public_key();
        assert_eq!(PublicKey::from_base64(&pk.to_base64()).expect("std"), pk);
        assert_eq!(
            PublicKey::from_base64(&pk.to_base64_url_safe()).expect("url-safe"),
            pk
        );
    }

    #[test]
    fn key_ids() {
        assert_eq!(parse_key_id("ed25519:0").expect("ok"), "0");
        assert_eq!(parse_key_id("ed25519:a_B9").expect("ok"), "a_B9");
        for bad in [
            "ed25519:",
            "ed25519",
            "curve25519:0",
            "ed25519:a:b",
            "ed25519:a b",
        ] {
            assert!(parse_key_id(bad).is_err(), "{bad}");
        }
        assert!(SigningKey::from_seed("", &[0u8; 32]).is_err());
        assert!(
            SigningKey::from_base64_seed("0", "AAAA").is_err(),
            "short seed"
        );
    }
}
