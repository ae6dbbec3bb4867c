//! Matrix canonical JSON (App §Signing JSON → §Canonical JSON).
//!
//! Shortest UTF-8 encoding: no insignificant whitespace; object keys sorted by Unicode code
//! point (sorted here explicitly — `serde_json`'s `preserve_order` may be switched on somewhere
//! in the dependency graph, so map iteration order proves nothing); non-ASCII written as raw
//! UTF-8; only `"`, `\` and control characters escaped, with the short forms where JSON has
//! them. Numbers must be integers in `[-(2^53)+1, 2^53-1]`.
//!
//! Floats: the spec's own example encodes `{"a": -0, "b": 1e10}` as `{"a":0,"b":10000000000}`,
//! so a float that is integral and in range is written as that integer (and `-0` as `0`).
//! Any other float (fractional, NaN, out of range) is an error, as is an out-of-range integer.

use serde_json::{Map, Value};

use super::CryptoError;

/// The largest magnitude canonical JSON allows: 2^53 − 1.
pub const MAX_SAFE_INTEGER: i64 = (1 << 53) - 1;

/// Canonical JSON of `value` as a string.
pub fn canonical_json(value: &Value) -> Result<String, CryptoError> {
    let mut out = String::new();
    write_value(&mut out, value)?;
    Ok(out)
}

/// Canonical JSON of `value` as UTF-8 bytes (what gets signed).
pub fn canonical_json_bytes(value: &Value) -> Result<Vec<u8>, CryptoError> {
    canonical_json(value).map(String::into_bytes)
}

/// Canonical JSON of an object with the top-level keys in `skip` left out — the signing
/// algorithm's "remove `signatures` and `unsigned`" without cloning the object.
pub(crate) fn canonical_object_without(
    map: &Map<String, Value>,
    skip: &[&str],
) -> Result<Vec<u8>, CryptoError> {
    let mut out = String::new();
    write_object(&mut out, map, skip)?;
    Ok(out.into_bytes())
}

fn write_value(out: &mut String, value: &Value) -> Result<(), CryptoError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => write_number(out, n)?,
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => write_object(out, map, &[])?,
    }
    Ok(())
}

fn write_object(
    out: &mut String,
    map: &Map<String, Value>,
    skip: &[&str],
) -> Result<(), CryptoError> {
    let mut entries: Vec<(&String, &Value)> = map
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect();
    // `str`'s `Ord` compares UTF-8 bytes, which orders exactly as Unicode code points do.
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (key, value)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, key);
        out.push(':');
        write_value(out, value)?;
    }
    out.push('}');
    Ok(())
}

fn write_number(out: &mut String, n: &serde_json::Number) -> Result<(), CryptoError> {
    let int = if let Some(i) = n.as_i64() {
        i
    } else if n.is_u64() {
        return Err(CryptoError::CanonicalJson("integer out of range"));
    } else {
        let f = n
            .as_f64()
            .ok_or(CryptoError::CanonicalJson("unsupported number"))?;
        if !f.is_finite() || f.fract() != 0.0 {
            return Err(CryptoError::CanonicalJson("floats are not allowed"));
        }
        if f.abs() > MAX_SAFE_INTEGER as f64 {
            return Err(CryptoError::CanonicalJson("integer out of range"));
        }
        // In range and integral, so the conversion is exact; `-0.0` becomes `0`.
        f as i64
    };
    if !(-MAX_SAFE_INTEGER..=MAX_SAFE_INTEGER).contains(&int) {
        return Err(CryptoError::CanonicalJson("integer out of range"));
    }
    out.push_str(&int.to_string());
    Ok(())
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                // Lower-case hex, as the spec grammar (and Python's json) writes it.
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(input: &str) -> String {
        let value: Value = serde_json::from_str(input).expect("test input is JSON");
        canonical_json(&value).expect("canonical")
    }

    /// Every example in App §Canonical JSON → Examples.
    #[test]
    fn spec_examples() {
        assert_eq!(canon("{}"), "{}");
        assert_eq!(
            canon(r#"{ "one": 1, "two": "Two" }"#),
            r#"{"one":1,"two":"Two"}"#
        );
        assert_eq!(canon(r#"{ "b": "2", "a": "1" }"#), r#"{"a":"1","b":"2"}"#);
        assert_eq!(canon(r#"{"b":"2","a":"1"}"#), r#"{"a":"1","b":"2"}"#);
        assert_eq!(
            canon(
                r#"{
                "auth": {
                    "success": true,
                    "mxid": "@john.doe:example.com",
                    "profile": {
                        "display_name": "John Doe",
                        "three_pids": [
                            { "medium": "email", "address": "john.doe@example.org" },
                            { "medium": "msisdn", "address": "123456789" }
                        ]
                    }
                }
            }"#
            ),
            r#"{"auth":{"mxid":"@john.doe:example.com","profile":{"display_name":"John Doe","three_pids":[{"address":"john.doe@example.org","medium":"email"},{"address":"123456789","medium":"msisdn"}]},"success":true}}"#
        );
        assert_eq!(canon(r#"{ "a": "日本語" }"#), r#"{"a":"日本語"}"#);
        assert_eq!(canon(r#"{ "本": 2, "日": 1 }"#), r#"{"日":1,"本":2}"#);
        assert_eq!(canon(r#"{ "a": "\u65E5" }"#), r#"{"a":"日"}"#);
        assert_eq!(canon(r#"{ "a": null }"#), r#"{"a":null}"#);
        assert_eq!(
            canon(r#"{ "a": -0, "b": 1e10 }"#),
            r#"{"a":0,"b":10000000000}"#
        );
    }

    #[test]
    fn sorts_by_code_point_not_insertion_order() {
        // Built in reverse order; with `preserve_order` the map would iterate like this.
        let mut map = Map::new();
        map.insert("\u{1F600}".into(), Value::from(4)); // astral plane
        map.insert("\u{FFFD}".into(), Value::from(3));
        map.insert("b".into(), Value::from(2));
        map.insert("B".into(), Value::from(1));
        map.insert("a".into(), Value::from(0));
        assert_eq!(
            canonical_json(&Value::Object(map)).expect("canonical"),
            "{\"B\":1,\"a\":0,\"b\":2,\"\u{FFFD}\":3,\"\u{1F600}\":4}"
        );
    }

    #[test]
    fn escapes_only_what_json_requires() {
        let value = Value::String("q\"b\\s/\u{08}\u{0C}\n\r\t\u{01}\u{1f}\u{7f}\u{2028}é".into());
        assert_eq!(
            canonical_json(&value).expect("canonical"),
            "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\u{7f}\u{2028}é\""
        );
    }

    #[test]
    fn integer_range() {
        assert_eq!(canon("9007199254740991"), "9007199254740991");
        assert_eq!(canon("-9007199254740991"), "-9007199254740991");
        for bad in [
            "9007199254740992",
            "-9007199254740992",
            "18446744073709551615",
            "1.5",
            "1e300",
        ] {
            let value: Value = serde_json::from_str(bad).expect("json");
            assert!(canonical_json(&value).is_err(), "{bad} must be rejected");
        }
        assert!(canonical_json(&serde_json::json!({"nested": [1, {"x": 0.25}]})).is_err());
    }

    #[test]
    fn skip_keys_at_top_level_only() {
        let value = serde_json::json!({
            "signatures": {"x": {}}, "unsigned": {"age": 1}, "b": {"unsigned": 1}, "a": 1
        });
        let Value::Object(map) = &value else {
            unreachable!()
        };
        let bytes = canonical_object_without(map, &["signatures", "unsigned"]).expect("canonical");
        assert_eq!(
            String::from_utf8(bytes).expect("utf-8"),
            r#"{"a":1,"b":{"unsigned":1}}"#
        );
    }
}
