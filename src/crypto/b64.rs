//! Base64 as Matrix uses it (App §Unpadded Base64).
//!
//! We always *emit* unpadded base64: the standard alphabet for keys and signatures, the
//! URL-safe alphabet where the spec asks for it (lookup hashes; optionally ephemeral keys).
//! We *accept* padded or unpadded input in either alphabet (App: "SHOULD accept input with or
//! without padding"; IS v1.15: invite keys may use either alphabet), and tolerate non-zero
//! trailing bits, which the spec's own example seed has.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::CryptoError;

const ENCODE_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new().with_encode_padding(false);
const DECODE_CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_encode_padding(false)
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);

const STANDARD_UNPADDED: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, ENCODE_CONFIG);
const URL_SAFE_UNPADDED: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, ENCODE_CONFIG);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, DECODE_CONFIG);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, DECODE_CONFIG);

/// Unpadded base64, standard alphabet (`+`, `/`).
pub fn encode(bytes: &[u8]) -> String {
    STANDARD_UNPADDED.encode(bytes)
}

/// Unpadded base64, URL-safe alphabet (`-`, `_`).
pub fn encode_url_safe(bytes: &[u8]) -> String {
    URL_SAFE_UNPADDED.encode(bytes)
}

/// Decodes padded or unpadded base64 in the standard or the URL-safe alphabet. A string that
/// mixes the two alphabets is rejected.
pub fn decode(input: &str) -> Result<Vec<u8>, CryptoError> {
    let standard = input.bytes().any(|b| b == b'+' || b == b'/');
    let url_safe = input.bytes().any(|b| b == b'-' || b == b'_');
    let engine = match (standard, url_safe) {
        (true, true) => return Err(CryptoError::Base64),
        (false, true) => &URL_SAFE_LENIENT,
        _ => &STANDARD_LENIENT,
    };
    engine.decode(input).map_err(|_| CryptoError::Base64)
}

/// [`decode`] into exactly `N` bytes.
pub fn decode_array<const N: usize>(input: &str) -> Result<[u8; N], CryptoError> {
    let bytes = decode(input)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| CryptoError::InvalidKey("wrong length"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_unpadded_examples() {
        // App §Unpadded Base64.
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg"),
            ("fo", "Zm8"),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg"),
            ("fooba", "Zm9vYmE"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(encode(raw.as_bytes()), enc);
            assert_eq!(decode(enc).expect("decodes"), raw.as_bytes());
        }
    }

    #[test]
    fn accepts_padding_and_both_alphabets() {
        assert_eq!(decode("Zm8=").expect("padded"), b"fo");
        let bytes = [0xfb_u8, 0xff, 0xbf];
        assert_eq!(encode(&bytes), "+/+/");
        assert_eq!(encode_url_safe(&bytes), "-_-_");
        assert_eq!(decode("+/+/").expect("standard"), bytes);
        assert_eq!(decode("-_-_").expect("url-safe"), bytes);
        assert!(decode("+_").is_err(), "mixed alphabets are rejected");
        assert!(decode("Zm9v!").is_err());
    }

    #[test]
    fn tolerates_trailing_bits() {
        // "Zh" has non-zero trailing bits (canonical is "Zg").
        assert_eq!(decode("Zh").expect("trailing bits tolerated"), b"f");
    }
}
