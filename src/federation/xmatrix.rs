//! Homeserver request signatures (`Authorization: X-Matrix …`), as homeservers send them to an
//! identity server: Synapse signs its `POST /_matrix/identity/v2/3pid/unbind` with its
//! federation key over `{method, uri, origin, destination_is, content}` — `destination_is`,
//! not `destination` — and names that `destination_is` as `destination` in the header.
//!
//! This module parses the header and checks the signature against keys the caller supplies
//! ([`super::server_keys`] fetches them); it makes no requests itself.

use serde_json::{Map, Value};

use crate::crypto::{PublicKey, verify_json};

/// The parameters of one `X-Matrix` authorization header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XMatrix {
    pub origin: String,
    /// `ed25519:<version>`.
    pub key: String,
    pub sig: String,
    /// The identity server the homeserver meant (Synapse: its `destination_is`).
    pub destination: Option<String>,
}

/// Why a header is not a usable X-Matrix header.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XMatrixError {
    #[error("not an X-Matrix authorization header")]
    NotXMatrix,
    #[error("malformed X-Matrix header: {0}")]
    Malformed(&'static str),
}

/// Parses `X-Matrix origin=…,key="…",sig="…"[,destination="…"]` (RFC 9110 auth-params:
/// names case-insensitive, values quoted or bare; bare values may hold `:` as in
/// `origin=hs.example:8448`, which older homeservers send unquoted). Unknown parameters are
/// ignored; a repeated known one is refused, so no two readers can disagree on its value.
pub fn parse(header: &str) -> Result<XMatrix, XMatrixError> {
    let header = header.trim_start();
    let (scheme, rest) = header
        .split_once([' ', '\t'])
        .ok_or(XMatrixError::NotXMatrix)?;
    if !scheme.eq_ignore_ascii_case("x-matrix") {
        return Err(XMatrixError::NotXMatrix);
    }
    let (mut origin, mut key, mut sig, mut destination) = (None, None, None, None);
    let mut input = rest.trim();
    while !input.is_empty() {
        let (name, after) = input
            .split_once('=')
            .ok_or(XMatrixError::Malformed("parameter without `=`"))?;
        let name = name.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            read_quoted(quoted)?
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim_end().to_owned(), &after[end..])
        };
        let slot = match name.as_str() {
            "origin" => Some(&mut origin),
            "key" => Some(&mut key),
            "sig" => Some(&mut sig),
            "destination" => Some(&mut destination),
            _ => None,
        };
        if let Some(slot) = slot {
            if slot.is_some() {
                return Err(XMatrixError::Malformed("repeated parameter"));
            }
            *slot = Some(value);
        }
        let remaining = remaining.trim_start();
        input = match remaining.strip_prefix(',') {
            Some(next) => next.trim_start(),
            None if remaining.is_empty() => remaining,
            None => return Err(XMatrixError::Malformed("expected `,` between parameters")),
        };
    }
    let nonempty = |v: Option<String>, what| v.filter(|s| !s.is_empty()).ok_or(what);
    Ok(XMatrix {
        origin: nonempty(origin, XMatrixError::Malformed("no origin"))?,
        key: nonempty(key, XMatrixError::Malformed("no key"))?,
        sig: nonempty(sig, XMatrixError::Malformed("no sig"))?,
        destination: destination.filter(|d| !d.is_empty()),
    })
}

/// Reads a quoted-string body (after the opening quote): backslash escapes one character.
fn read_quoted(input: &str) -> Result<(String, &str), XMatrixError> {
    let mut value = String::new();
    let mut chars = input.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &input[i + 1..])),
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            c => value.push(c),
        }
    }
    Err(XMatrixError::Malformed("unterminated quoted value"))
}

/// The object the homeserver signed for an identity-server request.
pub fn signed_request(
    method: &str,
    uri: &str,
    origin: &str,
    destination_is: &str,
    content: Option<&Value>,
    header: &XMatrix,
) -> Value {
    let mut request = Map::new();
    request.insert("method".into(), Value::String(method.to_owned()));
    request.insert("uri".into(), Value::String(uri.to_owned()));
    request.insert("origin".into(), Value::String(origin.to_owned()));
    request.insert(
        "destination_is".into(),
        Value::String(destination_is.to_owned()),
    );
    if let Some(content) = content {
        request.insert("content".into(), content.clone());
    }
    let mut by_key = Map::new();
    by_key.insert(header.key.clone(), Value::String(header.sig.clone()));
    let mut signatures = Map::new();
    signatures.insert(origin.to_owned(), Value::Object(by_key));
    request.insert("signatures".into(), Value::Object(signatures));
    Value::Object(request)
}

/// Checks the header's signature over the request with `public_key` (the origin's key named
/// by `header.key`), for the first of `destinations` it verifies with. Returns that
/// destination. Which names are acceptable destinations is the caller's policy.
pub fn verify<'a>(
    header: &XMatrix,
    method: &str,
    uri: &str,
    content: Option<&Value>,
    destinations: impl IntoIterator<Item = &'a str>,
    public_key: &PublicKey,
) -> Option<&'a str> {
    destinations.into_iter().find(|destination| {
        let request = signed_request(method, uri, &header.origin, destination, content, header);
        verify_json(&request, &header.origin, &header.key, public_key).is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{SigningKey, sign_json};
    use serde_json::json;

    #[test]
    fn parses_synapse_headers_and_older_spellings() {
        let h = parse(r#"X-Matrix origin="hs.example",key="ed25519:a_1",sig="c2ln",destination="is.example:8090""#)
            .expect("parses");
        assert_eq!(
            h,
            XMatrix {
                origin: "hs.example".into(),
                key: "ed25519:a_1".into(),
                sig: "c2ln".into(),
                destination: Some("is.example:8090".into()),
            }
        );
        // Bare values with a colon, other case, spaces, an unknown parameter, escapes.
        let h =
            parse("x-matrix  Origin=hs.example:8448 , KEY=\"ed25519:k\",sig=\"a\\\"b\",extra=1")
                .expect("parses");
        assert_eq!(h.origin, "hs.example:8448");
        assert_eq!(h.key, "ed25519:k");
        assert_eq!(h.sig, "a\"b");
        assert_eq!(h.destination, None);
    }

    #[test]
    fn refuses_what_is_not_one_header() {
        for bad in [
            "Bearer abc",
            "X-Matrix",
            "X-Matrix origin=a,key=\"ed25519:k\"",
            "X-Matrix origin=a,origin=b,key=k,sig=s",
            "X-Matrix origin=a key=k sig=s",
            "X-Matrix origin=\"a,key=k,sig=s",
            "X-Matrix origin=,key=k,sig=s",
            "X-Matrix novalue,key=k,sig=s",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn verifies_what_synapse_signs() {
        let key = SigningKey::from_seed("abc", &[3u8; 32]).expect("key");
        let content =
            json!({"mxid": "@a:hs.example", "threepid": {"medium": "email", "address": "a@b.c"}});
        let mut request = json!({
            "method": "POST",
            "uri": "/_matrix/identity/v2/3pid/unbind",
            "origin": "hs.example",
            "destination_is": "is.example:8090",
            "content": content,
        });
        sign_json(&mut request, "hs.example", &key).expect("sign");
        let sig = request["signatures"]["hs.example"]["ed25519:abc"]
            .as_str()
            .expect("sig")
            .to_owned();
        let header = parse(&format!(
            "X-Matrix origin=\"hs.example\",key=\"ed25519:abc\",sig=\"{sig}\",destination=\"is.example:8090\""
        ))
        .expect("parses");
        let uri = "/_matrix/identity/v2/3pid/unbind";
        let pk = key.public_key();
        assert_eq!(
            verify(
                &header,
                "POST",
                uri,
                Some(&content),
                ["is.example", "is.example:8090"],
                &pk
            ),
            Some("is.example:8090")
        );
        // Another destination, method, path or body, or another key: no.
        assert_eq!(
            verify(&header, "POST", uri, Some(&content), ["is.example"], &pk),
            None
        );
        assert_eq!(
            verify(
                &header,
                "PUT",
                uri,
                Some(&content),
                ["is.example:8090"],
                &pk
            ),
            None
        );
        assert_eq!(
            verify(
                &header,
                "POST",
                "/_matrix/identity/v2/3pid/bind",
                Some(&content),
                ["is.example:8090"],
                &pk
            ),
            None
        );
        let other =
            json!({"mxid": "@b:hs.example", "threepid": {"medium": "email", "address": "a@b.c"}});
        assert_eq!(
            verify(&header, "POST", uri, Some(&other), ["is.example:8090"], &pk),
            None
        );
        let stranger = SigningKey::from_seed("abc", &[4u8; 32])
            .expect("key")
            .public_key();
        assert_eq!(
            verify(
                &header,
                "POST",
                uri,
                Some(&content),
                ["is.example:8090"],
                &stranger
            ),
            None
        );
    }
}
