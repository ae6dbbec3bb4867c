//! The v2 lookup hash (IS §Association lookup → Algorithms → `sha256`).
//!
//! `hash = base64url_unpadded(SHA-256("<address> <medium> <pepper>"))` — single ASCII spaces,
//! the address already in canonical form (case-folded email, MSISDN without `+`), the medium
//! lower case. The result is 43 characters of `[A-Za-z0-9_-]`.

use sha2::{Digest as _, Sha256};

use super::b64;

/// The lookup hash of one 3PID under `pepper`.
pub fn lookup_hash(address: &str, medium: &str, pepper: &str) -> String {
    b64::encode_url_safe(&lookup_digest(address, medium, pepper))
}

/// The SHA-256 digest that [`lookup_hash`] encodes: what the in-memory lookup index is keyed
/// by, so a clear-text lookup probes it without a base64 round trip.
pub fn lookup_digest(address: &str, medium: &str, pepper: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(address.as_bytes());
    hasher.update(b" ");
    hasher.update(medium.as_bytes());
    hasher.update(b" ");
    hasher.update(pepper.as_bytes());
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The three vectors from IS §Association lookup (pepper `matrixrocks`).
    #[test]
    fn spec_vectors() {
        assert_eq!(
            lookup_hash("alice@example.com", "email", "matrixrocks"),
            "4kenr7N9drpCJ4AfalmlGQVsOn3o2RHjkADUpXJWZUc"
        );
        assert_eq!(
            lookup_hash("bob@example.com", "email", "matrixrocks"),
            "LJwSazmv46n0hlMlsb_iYxI0_HXEqy_yj6Jm636cdT8"
        );
        assert_eq!(
            lookup_hash("18005552067", "msisdn", "matrixrocks"),
            "nlo35_T5fzSGZzJApqu8lgIudJvmOQtDaHtr-I4rU7I"
        );
    }

    #[test]
    fn pepper_changes_the_hash() {
        assert_ne!(
            lookup_hash("alice@example.com", "email", "matrixrocks"),
            lookup_hash("alice@example.com", "email", "matrixrolls")
        );
    }
}
