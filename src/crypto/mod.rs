//! Everything that touches key bytes, signatures, digests and randomness.
//!
//! Architecture Invariant: this is the only module that names `ed25519_dalek`, `sha2`,
//! `getrandom` or `subtle`, and the only one that sees private key bytes. Secrets leave it
//! only wrapped in [`SecretString`] or [`SigningKey`], whose `Debug` output is redacted and
//! which have no `Display`.
//!
//! * [`canonical_json`] — Matrix canonical JSON (App §Canonical JSON).
//! * [`signing`] — ed25519 keys, `sign_json` / `verify_json` (App §Signing JSON).
//! * [`keyfile`] — the long-term key file: load, generate (0600, atomic), import from sydent.
//! * [`tokens`] — CSPRNG tokens, constant-time comparison, access-token digests.
//! * [`hashing`] — the v2 lookup hash (`sha256` algorithm).

pub mod b64;
pub mod canonical_json;
pub mod hashing;
pub mod keyfile;
pub mod signing;
pub mod tokens;

pub use canonical_json::{canonical_json, canonical_json_bytes};
pub use hashing::lookup_hash;
pub use signing::{PublicKey, SigningKey, sign_json, verify_json};
pub use tokens::{OsRandom, RandomSource, constant_time_eq, random_token};

use std::fmt;

/// Errors from this module. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    /// The value cannot be encoded as canonical JSON (float, out-of-range integer, …).
    #[error("value cannot be encoded as canonical JSON: {0}")]
    CanonicalJson(&'static str),
    /// `sign_json`/`verify_json` need a JSON object (and `signatures` must be an object).
    #[error("not a signable JSON object: {0}")]
    NotAnObject(&'static str),
    /// Invalid base64 in a key or signature.
    #[error("invalid base64")]
    Base64,
    /// A key or signature has the wrong length or is not a valid curve point.
    #[error("invalid key or signature bytes: {0}")]
    InvalidKey(&'static str),
    /// A key id is not `ed25519:<version>` with a non-empty version of `[a-zA-Z0-9_]`.
    #[error("invalid key id")]
    InvalidKeyId,
    /// The signature for the given entity and key id is absent.
    #[error("no signature from {entity} with key {key_id}")]
    MissingSignature { entity: String, key_id: String },
    /// The signature does not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A key file or imported key string does not have the expected format.
    #[error("invalid signing key format: {0}")]
    KeyFormat(String),
    /// A key file exists and overwriting was not requested.
    #[error("key file {0} already exists")]
    KeyFileExists(std::path::PathBuf),
    /// Reading or writing a key file failed.
    #[error("key file {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The operating system's random number generator failed.
    #[error("OS random number generator failed: {0}")]
    Random(String),
}

/// A secret string (seed, private key, token) that is never printed by `Debug` and has no
/// `Display`. Use [`SecretString::expose`] at the single place the value must leave the
/// process (an email body, a response to its owner, a file).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Grep for `expose(` to audit every place a secret leaves.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_string_debug_is_redacted() {
        let s = SecretString::new("hunter2");
        assert_eq!(format!("{s:?}"), "SecretString(<redacted>)");
        assert_eq!(s.expose(), "hunter2");
    }
}
