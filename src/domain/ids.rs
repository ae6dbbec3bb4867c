//! The opaque identifiers of a validation session: the server's `sid` and the client's
//! `client_secret`, both 1–255 characters of `[0-9a-zA-Z.=_-]`.

use super::string_newtype;
use crate::error::{ApiError, ApiResult};
use subtle::ConstantTimeEq;

/// `s` if it has the identifier grammar both share, else `M_INVALID_PARAM` naming `field`.
fn opaque_id(s: impl AsRef<str> + Into<String>, field: &str) -> ApiResult<String> {
    let ok = (1..=255).contains(&s.as_ref().len())
        && s.as_ref()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'=' | b'_' | b'-'));
    if ok {
        Ok(s.into())
    } else {
        Err(ApiError::InvalidParam(format!(
            "{field} must be 1-255 characters of [0-9a-zA-Z.=_-]"
        )))
    }
}

/// A session id. The spec gives `sid` no pattern in requests, so this constructor is where
/// its grammar is enforced.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid(String);

impl Sid {
    pub fn parse(s: impl AsRef<str> + Into<String>) -> ApiResult<Sid> {
        opaque_id(s, "sid").map(Sid)
    }
}

string_newtype!(Sid);

/// A client secret: whoever holds it may use the session, so it is never printed
/// (`Debug` is redacted, there is no `Display`) and compared only in constant time
/// ([`ClientSecret::matches`]; there is no `PartialEq`).
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    pub fn parse(s: impl AsRef<str> + Into<String>) -> ApiResult<ClientSecret> {
        opaque_id(s, "client_secret").map(ClientSecret)
    }

    /// Equality in time independent of where the two differ: a guesser learns nothing from
    /// how long a refusal took.
    pub fn matches(&self, other: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.as_bytes()))
    }
}

string_newtype!(ClientSecret, redacted);

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientSecret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grammar_and_todays_texts() {
        assert!(Sid::parse("abc.DEF=_-9").is_ok());
        assert!(Sid::parse("a".repeat(255)).is_ok());
        for bad in [String::new(), "a/b".into(), "a b".into(), "a".repeat(256)] {
            match Sid::parse(bad.as_str()) {
                Err(ApiError::InvalidParam(t)) => {
                    assert_eq!(t, "sid must be 1-255 characters of [0-9a-zA-Z.=_-]");
                }
                other => panic!("{bad:?}: {other:?}"),
            }
            match ClientSecret::parse(bad.as_str()) {
                Err(ApiError::InvalidParam(t)) => {
                    assert_eq!(
                        t,
                        "client_secret must be 1-255 characters of [0-9a-zA-Z.=_-]"
                    );
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_secret_is_never_printed_and_compares_exactly() {
        let secret = ClientSecret::parse("monkeys_are_GREAT").expect("valid");
        assert_eq!(format!("{secret:?}"), "ClientSecret(<redacted>)");
        assert!(secret.matches("monkeys_are_GREAT"));
        assert!(!secret.matches("monkeys_are_GREAt"));
        assert!(!secret.matches("monkeys_are_GREAT_"));
        assert_eq!(secret.as_str(), "monkeys_are_GREAT");
    }

    #[test]
    fn serde_goes_through_the_constructor() {
        let sid: Sid = serde_json::from_str("\"abc\"").expect("valid");
        assert_eq!(serde_json::to_string(&sid).expect("json"), "\"abc\"");
        assert!(serde_json::from_str::<Sid>("\"a/b\"").is_err());
        assert!(serde_json::from_str::<ClientSecret>("\"\"").is_err());
    }
}
