//! `multipart/form-data` request bodies (RFC 7578), read into the same name/value pairs a
//! URL-encoded form gives, so one typing and validation path serves both.
//!
//! A part with a file name, or whose field the schema declares `format: binary`, keeps its
//! bytes: each byte becomes the character of the same number (U+0000–U+00FF), so the JSON
//! view is still a string for the validator (`maxLength` counts bytes) and
//! [`Binary`](crate::binary::Binary) turns it back into the bytes. Other parts are text and
//! must be UTF-8.

use crate::error::{Rejection, RejectionKind};

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The form field (`Content-Disposition: form-data; name="…"`).
    pub name: String,
    /// The uploaded file's name, when the part is a file.
    pub filename: Option<String>,
    /// The part's bytes as sent.
    pub data: Vec<u8>,
}

fn bad(message: &str) -> Rejection {
    Rejection::new(RejectionKind::BadBody, message)
}

/// The `boundary` parameter of a `multipart/form-data` content type, if it is one.
#[must_use]
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let media = params.next()?.trim();
    if !media.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (key, value) = p.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 70)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The parts of `body`, delimited by `boundary`.
pub fn parse(boundary: &str, body: &[u8]) -> Result<Vec<Part>, Rejection> {
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    let start = find(body, delimiter).ok_or_else(|| bad("Body has no multipart boundary"))?;
    let mut rest = &body[start + delimiter.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        rest = rest
            .strip_prefix(b"\r\n")
            .ok_or_else(|| bad("Malformed multipart boundary line"))?;
        let header_end =
            find(rest, b"\r\n\r\n").ok_or_else(|| bad("Multipart part without headers"))?;
        let headers = std::str::from_utf8(&rest[..header_end])
            .map_err(|_| bad("Multipart headers are not UTF-8"))?;
        rest = &rest[header_end + 4..];
        let mut close = Vec::with_capacity(delimiter.len() + 2);
        close.extend_from_slice(b"\r\n");
        close.extend_from_slice(delimiter);
        let end = find(rest, &close).ok_or_else(|| bad("Multipart body is not closed"))?;
        let (name, filename) = disposition(headers)?;
        parts.push(Part {
            name,
            filename,
            data: rest[..end].to_vec(),
        });
        rest = &rest[end + close.len()..];
    }
}

/// `name` and `filename` of a part's `Content-Disposition: form-data` header.
fn disposition(headers: &str) -> Result<(String, Option<String>), Rejection> {
    let value = headers
        .split("\r\n")
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("content-disposition")
                .then_some(value)
        })
        .ok_or_else(|| bad("Multipart part without Content-Disposition"))?;
    let mut params = value.split(';');
    if !params
        .next()
        .is_some_and(|kind| kind.trim().eq_ignore_ascii_case("form-data"))
    {
        return Err(bad("Multipart part is not form-data"));
    }
    let (mut name, mut filename) = (None, None);
    for param in params {
        if let Some((key, value)) = param.split_once('=') {
            let value = value.trim().trim_matches('"').to_owned();
            match key.trim().to_ascii_lowercase().as_str() {
                "name" => name = Some(value),
                "filename" => filename = Some(value),
                _ => {}
            }
        }
    }
    let name = name.ok_or_else(|| bad("Multipart part without a field name"))?;
    Ok((name, filename))
}

/// Bytes as the string whose characters have the bytes' numbers (see the module doc).
#[must_use]
pub fn bytes_as_text(bytes: &[u8]) -> String {
    bytes.iter().map(|b| char::from(*b)).collect()
}

/// The form's fields as name/value pairs: files and the `binary` fields keep their bytes
/// ([`bytes_as_text`]); other fields must be UTF-8 text.
pub fn pairs(parts: Vec<Part>, binary: &[&str]) -> Result<Vec<(String, String)>, Rejection> {
    parts
        .into_iter()
        .map(|part| {
            let value = if part.filename.is_some() || binary.contains(&part.name.as_str()) {
                bytes_as_text(&part.data)
            } else {
                String::from_utf8(part.data)
                    .map_err(|_| bad("A multipart text field is not UTF-8"))?
            };
            Ok((part.name, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello \xc3\xa9\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n\x00\xff\r\n--X\r\n--XyZ--\r\n";

    #[test]
    fn reads_text_and_file_parts() -> Result<(), Rejection> {
        let b =
            boundary("multipart/form-data; boundary=\"XyZ\"").ok_or_else(|| bad("no boundary"))?;
        let parts = parse(&b, BODY)?;
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "note");
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].filename.as_deref(), Some("a.bin"));
        // A line that only looks like the boundary stays data.
        assert_eq!(parts[1].data, b"\x00\xff\r\n--X");
        let pairs = pairs(parts, &[])?;
        assert_eq!(pairs[0], ("note".to_owned(), "hello é".to_owned()));
        assert_eq!(
            pairs[1].1.chars().map(u32::from).collect::<Vec<_>>(),
            [0, 255, 13, 10, 45, 45, 88]
        );
        Ok(())
    }

    #[test]
    fn refuses_what_is_not_multipart() {
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        for body in [
            &b"no boundary here"[..],
            b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunclosed",
            b"--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",
            b"--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--",
        ] {
            let err = parse("XyZ", body).err();
            assert_eq!(err.map(|e| e.status), Some(400), "{body:?}");
        }
        let text = vec![Part {
            name: "t".into(),
            filename: None,
            data: vec![0xff],
        }];
        assert!(pairs(text.clone(), &[]).is_err());
        assert!(pairs(text, &["t"]).is_ok());
    }
}
