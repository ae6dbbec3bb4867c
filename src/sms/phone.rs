//! Phone numbers as the spec wants them stored: `country` + `phone_number` as dialled there
//! → the MSISDN (E.164 digits, no `+`). Parsing and validity come from libphonenumber's
//! metadata (the `phonenumber` crate), never from rules of our own.

use std::str::FromStr;

use phonenumber::{Mode, PhoneNumber, country};

/// A number the server can text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedNumber {
    /// E.164 digits without `+`: what sessions, associations and lookup hashes hold.
    pub msisdn: String,
    /// The international format for people (`+44 7400 123456`).
    pub intl_fmt: String,
    /// The calling code (`44`), for originators and country rules.
    pub calling_code: u16,
    /// The ISO 3166 region the number belongs to (`GB`), when the metadata knows one.
    pub region: Option<String>,
}

/// Why a number is refused (→ `M_INVALID_ADDRESS`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("`country` is not an ISO 3166-1 alpha-2 code")]
    UnknownCountry,
    #[error("not a phone number")]
    Unparseable,
    #[error("not a valid phone number")]
    Invalid,
}

/// Parses `phone_number` as dialled from `country` (ISO 3166-1 alpha-2; case is ignored). A
/// number written with a leading `+` carries its own calling code, as in libphonenumber. Only
/// numbers the metadata knows as valid are accepted: a text to any other cannot arrive, and
/// each one would still cost a gateway call.
pub fn parse(country: &str, phone_number: &str) -> Result<ParsedNumber, PhoneError> {
    let id = country::Id::from_str(&country.trim().to_ascii_uppercase()).ok();
    let international = phone_number.trim_start().starts_with('+');
    if id.is_none() && !international {
        return Err(PhoneError::UnknownCountry);
    }
    // Bounded before the parser sees it: nothing longer is a phone number, however written.
    if phone_number.len() > 64 {
        return Err(PhoneError::Unparseable);
    }
    let number = phonenumber::parse(id, phone_number).map_err(|_| PhoneError::Unparseable)?;
    if !phonenumber::is_valid(&number) || number.extension().is_some() {
        return Err(PhoneError::Invalid);
    }
    Ok(describe(&number))
}

/// Loads libphonenumber's metadata (decoded on first use, a noticeable pause in a debug
/// build), so the first client to ask for a text does not wait for it.
pub fn warm_up() {
    let _ = phonenumber::parse(None, "+447400123456");
}

fn describe(number: &PhoneNumber) -> ParsedNumber {
    let e164 = number.format().mode(Mode::E164).to_string();
    ParsedNumber {
        msisdn: e164.trim_start_matches('+').to_owned(),
        intl_fmt: number.format().mode(Mode::International).to_string(),
        calling_code: number.code().value(),
        region: number.country().id().map(|id| id.as_ref().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_become_e164_digits() {
        let n = parse("GB", "07400 123456").expect("valid UK mobile");
        assert_eq!(n.msisdn, "447400123456");
        assert_eq!(n.intl_fmt, "+44 7400 123456");
        assert_eq!(n.calling_code, 44);
        assert_eq!(n.region.as_deref(), Some("GB"));

        let us = parse("US", "(800) 555-2067").expect("valid US toll-free");
        assert_eq!(us.msisdn, "18005552067");
        assert_eq!(us.calling_code, 1);
    }

    #[test]
    fn the_country_is_read_case_insensitively_and_a_plus_wins() {
        assert_eq!(
            parse("gb", "07400123456").map(|n| n.msisdn),
            Ok("447400123456".to_owned())
        );
        // Written internationally, the number keeps its own country whatever `country` says.
        let de = parse("GB", "+49 30 123456").expect("valid Berlin number");
        assert_eq!(de.msisdn, "4930123456");
        assert_eq!(de.region.as_deref(), Some("DE"));
        assert_eq!(
            parse("ZZ", "+44 7400 123456").map(|n| n.msisdn),
            Ok("447400123456".to_owned())
        );
    }

    /// The MSISDN must be the one sydent stored for the same input (its associations are
    /// imported and looked up by it). Expected values: Python `phonenumbers` 9.x, which sydent
    /// uses (E.164 without `+`, and INTERNATIONAL).
    #[test]
    fn same_msisdn_and_international_format_as_sydent() {
        for (country, input, msisdn, intl) in [
            ("FR", "06 12 34 56 78", "33612345678", "+33 6 12 34 56 78"),
            ("DE", "030 1234567", "49301234567", "+49 30 1234567"),
            ("IT", "06 1234 5678", "390612345678", "+39 06 1234 5678"),
            ("JP", "090-1234-5678", "819012345678", "+81 90-1234-5678"),
            ("IN", "98765 43210", "919876543210", "+91 98765 43210"),
            (
                "BR",
                "(11) 91234-5678",
                "5511912345678",
                "+55 11 91234-5678",
            ),
            ("AU", "0412 345 678", "61412345678", "+61 412 345 678"),
            ("CA", "416 555 0123", "14165550123", "+1 416-555-0123"),
            ("US", "(800) 555-2067", "18005552067", "+1 800-555-2067"),
        ] {
            let n = parse(country, input).unwrap_or_else(|e| panic!("{country} {input}: {e}"));
            assert_eq!(
                (n.msisdn.as_str(), n.intl_fmt.as_str()),
                (msisdn, intl),
                "{country} {input}"
            );
        }
        // sydent would text this one (it only parses); the metadata knows no such range.
        assert_eq!(parse("GB", "07700 900123"), Err(PhoneError::Invalid));
    }

    #[test]
    fn nonsense_is_refused() {
        assert_eq!(parse("XX", "07400123456"), Err(PhoneError::UnknownCountry));
        assert_eq!(parse("", "07400123456"), Err(PhoneError::UnknownCountry));
        assert!(parse("GB", "not a number").is_err());
        assert!(parse("GB", "").is_err());
        assert_eq!(parse("GB", "0740"), Err(PhoneError::Invalid));
        assert!(parse("GB", &"7".repeat(65)).is_err());
        assert!(parse("GB", "07400123456 ext. 12").is_err());
    }
}
