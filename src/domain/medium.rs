//! The kinds of third-party identifier this server validates and binds.

use crate::error::{ApiError, ApiResult};
use std::fmt;

/// A medium this server supports. Requests that may name any medium (v1 lookups answer `{}`
/// for one nobody binds) use [`Medium::parse`]; requests that act on a 3PID use
/// [`Medium::require`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Medium {
    Email,
    Msisdn,
}

impl Medium {
    pub const fn as_str(self) -> &'static str {
        match self {
            Medium::Email => "email",
            Medium::Msisdn => "msisdn",
        }
    }

    /// The medium spelt exactly as on the wire (`Email` is not `email`), if supported.
    pub fn parse(s: &str) -> Option<Medium> {
        match s {
            "email" => Some(Medium::Email),
            "msisdn" => Some(Medium::Msisdn),
            _ => None,
        }
    }

    /// As [`Medium::parse`], for a request that cannot go on without one (bind, unbind).
    pub fn require(s: &str) -> ApiResult<Medium> {
        Medium::parse(s).ok_or_else(|| ApiError::InvalidParam(format!("unsupported medium `{s}`")))
    }

    /// The form an address of this medium is stored, compared and hashed in: email addresses
    /// fully case-folded ([`crate::domain::EmailAddress::fold`]), numbers as they are.
    pub fn canonical_address(self, address: &str) -> String {
        match self {
            Medium::Email => super::EmailAddress::fold(address),
            Medium::Msisdn => address.to_owned(),
        }
    }
}

impl fmt::Display for Medium {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Medium {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Medium {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Medium::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unsupported medium `{s}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spelt_exactly_as_on_the_wire() {
        for m in [Medium::Email, Medium::Msisdn] {
            assert_eq!(Medium::parse(m.as_str()), Some(m));
        }
        assert_eq!(Medium::parse("Email"), None);
        assert_eq!(Medium::parse("fax"), None);
        match Medium::require("fax") {
            Err(ApiError::InvalidParam(text)) => assert_eq!(text, "unsupported medium `fax`"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            Medium::Email.canonical_address("Strauß@Example.COM"),
            "strauss@example.com"
        );
        assert_eq!(
            Medium::Msisdn.canonical_address("447700900123"),
            "447700900123"
        );
    }
}
