//! Addresses per medium, in the canonical form every area stores, compares and hashes.

use super::string_newtype;
use crate::error::{ApiError, ApiResult};

/// A bare `local@domain` email address, fully case-folded (spec appendix "3PID Types →
/// E-Mail"): `Strauß@Example.com` is `strauss@example.com`. The syntax rules are ours (the
/// spec's `format: email` is checked on v2 requests only, and less strictly): one `@`, no
/// display name, brackets, spaces or control characters, a plausible domain.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Full Unicode case folding of the whole address, without any syntax check: lookups
    /// fold whatever they are asked for. `to_lowercase` would keep the `ß`.
    pub fn fold(address: &str) -> String {
        // Folding maps ASCII to ASCII lowercase and nothing else there; the Unicode tables
        // cost a v1 lookup ~3 000 instructions for the usual all-ASCII address.
        if address.is_ascii() {
            return address.to_ascii_lowercase();
        }
        caseless::default_case_fold_str(address)
    }

    /// The canonical form of `address` (trimmed, folded), or `M_INVALID_EMAIL`.
    pub fn parse(address: &str) -> ApiResult<EmailAddress> {
        let folded = Self::fold(address.trim());
        if folded.len() > 254 || folded.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ApiError::InvalidEmail);
        }
        let Some((local, domain)) = folded.split_once('@') else {
            return Err(ApiError::InvalidEmail);
        };
        let domain_ok = !domain.is_empty()
            && domain.len() <= 253
            && !domain.contains('@')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.contains(['<', '>', '(', ')', ',', ';', '"', '\\', '[', ']']);
        if domain_ok && local_ok {
            Ok(EmailAddress(folded))
        } else {
            Err(ApiError::InvalidEmail)
        }
    }
}

string_newtype!(EmailAddress);

/// A phone number as E.164 digits without the `+` (`447700900123`): what sessions,
/// associations and lookup hashes hold. Built from what `sms::phone` understood of a
/// country and a number; this only holds the shape (1–15 ASCII digits).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Msisdn(String);

impl Msisdn {
    pub fn parse(digits: &str) -> ApiResult<Msisdn> {
        if (1..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Msisdn(digits.to_owned()))
        } else {
            Err(ApiError::InvalidAddress)
        }
    }
}

string_newtype!(Msisdn);

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII shortcut folds exactly as the Unicode tables do.
    #[test]
    fn ascii_folding_is_full_folding() {
        let every_ascii: String = (0u8..128).map(char::from).collect();
        assert_eq!(
            EmailAddress::fold(&every_ascii),
            caseless::default_case_fold_str(&every_ascii)
        );
        assert_eq!(EmailAddress::fold("MiXeD@Example.ORG"), "mixed@example.org");
    }

    #[test]
    fn folds_fully() {
        let a = EmailAddress::parse(" Strauß@Example.COM ").expect("valid");
        assert_eq!(a.as_str(), "strauss@example.com");
        assert_eq!(EmailAddress::fold("ΣΑΣ@x"), "σασ@x");
    }

    #[test]
    fn refuses_what_is_not_a_bare_address() {
        for bad in [
            "a@b@c",
            "ab",
            "@b.c",
            "a@",
            "a b@c.d",
            "<a@b.c>",
            "A <a@b.c>",
            "a@.b",
            "a@b..c",
            "a\n@b.c",
        ] {
            assert!(
                matches!(EmailAddress::parse(bad), Err(ApiError::InvalidEmail)),
                "{bad:?} accepted"
            );
        }
        assert!(EmailAddress::parse("first.last+tag@sub.example.org").is_ok());
    }

    #[test]
    fn msisdns_are_e164_digits() {
        assert_eq!(
            Msisdn::parse("447700900123").expect("valid").as_str(),
            "447700900123"
        );
        for bad in ["", "+447700900123", "4477 009", "1234567890123456"] {
            assert!(
                matches!(Msisdn::parse(bad), Err(ApiError::InvalidAddress)),
                "{bad:?}"
            );
        }
    }
}
