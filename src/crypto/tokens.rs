//! Random tokens and token comparison.
//!
//! Randomness comes from a [`RandomSource`] so the application state can hold one and tests
//! can substitute [`DeterministicRandom`]; production uses [`OsRandom`] (the OS CSPRNG through
//! `getrandom`). Token strings use the alphabet `[A-Za-z0-9]`: safe in URLs, email links and
//! HTML without escaping, and a subset of the spec's `[0-9a-zA-Z.=_-]` for sids, client
//! secrets and invite tokens. Characters are drawn by rejection sampling, so every character
//! is uniform (no modulo bias).

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use super::{CryptoError, SecretString, b64};

/// The token alphabet: 62 characters, ~5.95 bits each.
pub const TOKEN_ALPHABET: &[u8; 62] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Length of session ids: 32 × 5.95 ≈ 190 bits.
pub const SESSION_ID_LEN: usize = 32;
/// Length of access tokens: 43 × 5.95 ≈ 256 bits.
pub const ACCESS_TOKEN_LEN: usize = 43;
/// Length of email validation tokens and invite tokens (sydent uses 32 for email tokens).
pub const EMAIL_TOKEN_LEN: usize = 32;
/// Length of a lookup pepper: ≈ 190 bits.
pub const PEPPER_LEN: usize = 32;

/// A source of cryptographically secure random bytes.
pub trait RandomSource: Send + Sync {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError>;
}

/// The operating system's CSPRNG (`getrandom`). The only source to use in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    // The one production source of randomness; everything else is handed a RandomSource.
    #[allow(clippy::disallowed_methods)]
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        getrandom::fill(dest).map_err(|e| CryptoError::Random(e.to_string()))
    }
}

/// A reproducible stream for tests: SHA-256(seed ‖ counter) blocks. **Not for production**:
/// anyone who knows the seed knows every output.
#[derive(Debug)]
pub struct DeterministicRandom {
    seed: [u8; 32],
    counter: std::sync::atomic::AtomicU64,
}

impl DeterministicRandom {
    pub fn new(seed: u64) -> Self {
        let seed = Sha256::digest(seed.to_be_bytes()).into();
        Self {
            seed,
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl RandomSource for DeterministicRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), CryptoError> {
        for chunk in dest.chunks_mut(32) {
            let n = self
                .counter
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut hasher = Sha256::new();
            hasher.update(self.seed);
            hasher.update(n.to_be_bytes());
            let block = hasher.finalize();
            chunk.copy_from_slice(&block[..chunk.len()]);
        }
        Ok(())
    }
}

/// `len` characters from [`TOKEN_ALPHABET`], drawn from `rng`.
pub fn random_token_from(rng: &dyn RandomSource, len: usize) -> Result<String, CryptoError> {
    random_string_from(rng, len, TOKEN_ALPHABET)
}

/// `len` characters from [`TOKEN_ALPHABET`], from the OS CSPRNG.
pub fn random_token(len: usize) -> Result<String, CryptoError> {
    random_token_from(&OsRandom, len)
}

/// `len` decimal digits (SMS codes), drawn from `rng`.
pub fn random_digits_from(rng: &dyn RandomSource, len: usize) -> Result<String, CryptoError> {
    random_string_from(rng, len, b"0123456789")
}

/// A new session id ([`SESSION_ID_LEN`] characters).
pub fn new_session_id(rng: &dyn RandomSource) -> Result<String, CryptoError> {
    random_token_from(rng, SESSION_ID_LEN)
}

/// A new access token ([`ACCESS_TOKEN_LEN`] characters, ≈ 256 bits), wrapped so it is not
/// logged by accident.
pub fn new_access_token(rng: &dyn RandomSource) -> Result<SecretString, CryptoError> {
    random_token_from(rng, ACCESS_TOKEN_LEN).map(SecretString::from)
}

fn random_string_from(
    rng: &dyn RandomSource,
    len: usize,
    alphabet: &[u8],
) -> Result<String, CryptoError> {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    // Accept a byte only below the largest multiple of the alphabet size: uniform choice.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        rng.fill(&mut buf)?;
        for &b in &buf {
            if out.len() == len {
                break;
            }
            if usize::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}

/// Compares two secrets in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    bool::from(a.ct_eq(b))
}

/// The digest under which an access token is stored: URL-safe unpadded base64 of SHA-256.
/// The store keeps only this, so a leaked database does not leak usable tokens, and finding a
/// token by digest through an index reveals nothing useful about the token.
pub fn access_token_digest(token: &str) -> String {
    b64::encode_url_safe(&access_token_sha256(token))
}

/// The raw SHA-256 behind [`access_token_digest`] (in-memory caches key on it: no encoding).
pub fn access_token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_requested_length_and_alphabet() {
        for len in [0, 1, 6, 32, 43, 255] {
            let t = random_token(len).expect("os rng");
            assert_eq!(t.len(), len);
            assert!(t.bytes().all(|b| TOKEN_ALPHABET.contains(&b)));
        }
        let d = random_digits_from(&OsRandom, 6).expect("os rng");
        assert_eq!(d.len(), 6);
        assert!(d.bytes().all(|b| b.is_ascii_digit()));
    }

    #[test]
    fn os_tokens_differ() {
        let a = random_token(ACCESS_TOKEN_LEN).expect("os rng");
        let b = random_token(ACCESS_TOKEN_LEN).expect("os rng");
        assert_ne!(a, b);
        assert!(ACCESS_TOKEN_LEN as f64 * (62f64).log2() >= 128.0);
        assert!(SESSION_ID_LEN as f64 * (62f64).log2() >= 128.0);
    }

    #[test]
    fn deterministic_source_is_reproducible() {
        let a = random_token_from(&DeterministicRandom::new(7), 40).expect("rng");
        let b = random_token_from(&DeterministicRandom::new(7), 40).expect("rng");
        let c = random_token_from(&DeterministicRandom::new(8), 40).expect("rng");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn characters_are_roughly_uniform() {
        let rng = DeterministicRandom::new(1);
        let t = random_token_from(&rng, 62 * 1000).expect("rng");
        let mut counts = [0usize; 62];
        for b in t.bytes() {
            let i = TOKEN_ALPHABET
                .iter()
                .position(|&c| c == b)
                .expect("in alphabet");
            counts[i] += 1;
        }
        // Expected 1000 each; a modulo bias would skew the first 8 characters by ~25 %.
        assert!(
            counts.iter().all(|&n| (850..1150).contains(&n)),
            "{counts:?}"
        );
    }

    #[test]
    fn constant_time_comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn access_token_digest_is_stable() {
        let d = access_token_digest("token");
        assert_eq!(d.len(), 43);
        assert_eq!(d, access_token_digest("token"));
        assert_ne!(d, access_token_digest("token2"));
        let token = new_access_token(&OsRandom).expect("rng");
        assert_eq!(format!("{token:?}"), "SecretString(<redacted>)");
    }
}
