//! Keeps rendered messages within RFC 5322's line limit (998 octets before CRLF).
//!
//! Templates render whole messages, and values such as the validation link come from clients:
//! a long enough value made a body line that relays may refuse or break. Every leaf MIME part
//! (or the body of a single-part message) with a line over the limit is re-encoded
//! quoted-printable (RFC 2045 §6.7) and labelled so; other parts are left byte for byte as the
//! template wrote them, so ordinary mails stay identical to the reference server's. A part
//! the template already labels `quoted-printable` or `base64` is the template's own business.
//!
//! The encoding is the `quoted_printable` crate's. The walk over headers and parts stays
//! here: lettre only builds messages and the MIME parsers (`mail-parser`, `mailparse`) only
//! read them, and none gives a message back with one part re-encoded and every other byte
//! as the template wrote it.

/// RFC 5322 §2.1.1: a line is at most 998 characters, not counting CRLF.
pub const MAX_LINE: usize = 998;

/// `message` (CRLF line endings) with every over-long body line made safe. Returns the input
/// unchanged when no line is too long.
pub(crate) fn fit_lines(message: Vec<u8>) -> Vec<u8> {
    if !has_long_line(&message) {
        return message;
    }
    entity(&message)
}

fn has_long_line(bytes: &[u8]) -> bool {
    lines(bytes).any(|l| l.len() > MAX_LINE)
}

/// The lines of `bytes` without their CRLF (a final line without CRLF included).
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(bytes);
    std::iter::from_fn(move || {
        let r = rest?;
        match find(r, b"\r\n") {
            Some(i) => {
                rest = Some(&r[i + 2..]);
                Some(&r[..i])
            }
            None => {
                rest = None;
                (!r.is_empty()).then_some(r)
            }
        }
    })
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// One MIME entity: headers, blank line, body.
fn entity(bytes: &[u8]) -> Vec<u8> {
    let (head, body) = if bytes.starts_with(b"\r\n") {
        (&bytes[..0], &bytes[2..])
    } else {
        match find(bytes, b"\r\n\r\n") {
            Some(i) => (&bytes[..i + 2], &bytes[i + 4..]),
            // No body: nothing we could re-encode.
            None => return bytes.to_vec(),
        }
    };
    let content_type = header_value(head, "content-type").unwrap_or_default();
    if content_type.to_ascii_lowercase().starts_with("multipart/")
        && let Some(boundary) = boundary_of(&content_type)
    {
        let mut out = head.to_vec();
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&multipart_body(body, boundary.as_bytes()));
        return out;
    }
    let encoding = header_value(head, "content-transfer-encoding")
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let plain = matches!(encoding.as_str(), "" | "7bit" | "8bit" | "binary");
    if !plain || !has_long_line(body) {
        return bytes.to_vec();
    }
    let mut out = without_header(head, "content-transfer-encoding");
    out.extend_from_slice(b"Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    out.extend_from_slice(&quoted_printable(body));
    out
}

/// A multipart body: each part between delimiter lines is an entity of its own; preamble,
/// delimiters and epilogue are kept.
fn multipart_body(body: &[u8], boundary: &[u8]) -> Vec<u8> {
    let mut delimiter = b"--".to_vec();
    delimiter.extend_from_slice(boundary);
    let is_delimiter = |line: &[u8]| {
        line.strip_prefix(delimiter.as_slice()).is_some_and(|rest| {
            let rest = rest.strip_prefix(b"--").unwrap_or(rest);
            rest.iter().all(|b| matches!(b, b' ' | b'\t'))
        })
    };
    let mut out = Vec::with_capacity(body.len() + body.len() / 32);
    let mut part: Option<Vec<u8>> = None;
    let mut rest = body;
    while !rest.is_empty() {
        let (line, next) = match find(rest, b"\r\n") {
            Some(i) => (&rest[..i + 2], &rest[i + 2..]),
            None => (rest, &rest[..0]),
        };
        rest = next;
        let bare = line.strip_suffix(b"\r\n").unwrap_or(line);
        if is_delimiter(bare) {
            if let Some(p) = part.take() {
                out.extend_from_slice(&finish_part(p));
            }
            out.extend_from_slice(line);
            part = Some(Vec::new());
        } else {
            match part.as_mut() {
                Some(p) => p.extend_from_slice(line),
                None => out.extend_from_slice(line),
            }
        }
    }
    if let Some(p) = part {
        out.extend_from_slice(&finish_part(p));
    }
    out
}

/// A part as collected between delimiters: the CRLF before the next delimiter belongs to the
/// delimiter (RFC 2046 §5.1.1), so it is kept aside while the part is re-encoded.
fn finish_part(mut part: Vec<u8>) -> Vec<u8> {
    let had_crlf = part.ends_with(b"\r\n");
    if had_crlf {
        part.truncate(part.len() - 2);
    }
    let mut out = if part.is_empty() { part } else { entity(&part) };
    if had_crlf {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The unfolded value of the first header `name` (case-insensitive) in `head`.
fn header_value(head: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(head);
    let mut found: Option<String> = None;
    for line in text.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(v) = found.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if found.is_some() {
            break;
        }
        if let Some((n, v)) = line.split_once(':')
            && n.trim().eq_ignore_ascii_case(name)
        {
            found = Some(v.trim().to_owned());
        }
    }
    found
}

/// `head` without any `name` header (and its continuation lines).
fn without_header(head: &[u8], name: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(head.len());
    let mut skipping = false;
    for line in lines(head) {
        let continuation = line.starts_with(b" ") || line.starts_with(b"\t");
        if !continuation {
            skipping = line.iter().position(|&b| b == b':').is_some_and(|i| {
                String::from_utf8_lossy(&line[..i])
                    .trim()
                    .eq_ignore_ascii_case(name)
            });
        }
        if !skipping {
            out.extend_from_slice(line);
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// The `boundary` parameter of a Content-Type value, quoted or not.
fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if !k.trim().eq_ignore_ascii_case("boundary") {
            return None;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or(v);
        (!v.is_empty()).then(|| v.to_owned())
    })
}

/// Quoted-printable encoding of a body with CRLF line breaks, kept as hard breaks (the
/// `quoted_printable` crate's text mode: lines of at most 76 characters, a bare CR or LF and
/// white space before a break encoded).
pub(crate) fn quoted_printable(body: &[u8]) -> Vec<u8> {
    quoted_printable::encode(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quoted-printable lines are at most 76 characters (RFC 2045 §6.7, rule 5), `=` included.
    const QP_LINE: usize = 76;

    /// Decodes quoted-printable strictly (the test's oracle for round trips).
    fn decode_qp(encoded: &[u8]) -> Vec<u8> {
        quoted_printable::decode(encoded, quoted_printable::ParseMode::Strict).expect("valid QP")
    }

    fn max_line(bytes: &[u8]) -> usize {
        lines(bytes).map(<[u8]>::len).max().unwrap_or(0)
    }

    #[test]
    fn short_messages_are_untouched() {
        let msg = b"Subject: hi\r\n\r\nhello = world\r\n".to_vec();
        assert_eq!(fit_lines(msg.clone()), msg);
    }

    #[test]
    fn long_lines_of_a_single_part_become_quoted_printable() {
        let long = format!("https://e.org/?x={}&y=\u{e9} end ", "a".repeat(3000));
        let msg = format!(
            "Subject: s\r\nContent-Transfer-Encoding: 8bit\r\n\r\nline one\r\n{long}\r\nlast"
        );
        let out = fit_lines(msg.into_bytes());
        assert!(max_line(&out) <= QP_LINE, "{}", max_line(&out));
        let text = String::from_utf8(out.clone()).expect("ascii");
        let (head, body) = text.split_once("\r\n\r\n").expect("blank line");
        assert_eq!(
            head,
            "Subject: s\r\nContent-Transfer-Encoding: quoted-printable"
        );
        assert_eq!(
            decode_qp(body.as_bytes()),
            format!("line one\r\n{long}\r\nlast").into_bytes()
        );
    }

    #[test]
    fn only_the_part_with_a_long_line_is_reencoded() {
        let long = "b".repeat(1500);
        let msg = format!(
            "Content-Type: multipart/alternative;\r\n\tboundary=\"XyZ\"\r\n\r\npreamble\r\n\
             --XyZ\r\nContent-Type: text/plain\r\n\r\nshort = kept\r\n\
             --XyZ\r\nContent-Type: text/html\r\n\r\n<a href=\"{long}\">x</a>\r\n\
             --XyZ--\r\nepilogue\r\n"
        );
        let out = String::from_utf8(fit_lines(msg.into_bytes())).expect("ascii");
        assert!(out.contains("--XyZ\r\nContent-Type: text/plain\r\n\r\nshort = kept\r\n--XyZ\r\n"));
        assert!(out.contains(
            "--XyZ\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n<a href=3D"
        ));
        assert!(out.ends_with("</a>\r\n--XyZ--\r\nepilogue\r\n"), "{out}");
        assert!(max_line(out.as_bytes()) <= QP_LINE);
    }

    #[test]
    fn quoted_printable_round_trips_any_bytes() {
        let mut state = 0x2545_f491_u32;
        for len in [0, 1, 75, 76, 77, 200, 5000] {
            let body: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    state.to_le_bytes()[0]
                })
                .collect();
            let encoded = quoted_printable(&body);
            assert!(max_line(&encoded) <= QP_LINE);
            assert!(
                encoded
                    .iter()
                    .all(|&b| matches!(b, b'\r' | b'\n' | b'\t' | b' '..=b'~'))
            );
            // Hard breaks are CRLF in and out; bare CR or LF bytes are encoded.
            assert_eq!(decode_qp(&encoded), body, "len {len}");
        }
        // Trailing white space is encoded so transports cannot strip it.
        assert_eq!(quoted_printable(b"a \r\nb\t"), b"a=20\r\nb=09");
    }
}
