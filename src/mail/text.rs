//! Small text helpers shared by the mail module: value sanitising, Jinja2/markupsafe
//! compatible escaping, Python-compatible percent-encoding, RFC 2047 / RFC 2822 formatting.

use super::MailError;
use crate::crypto::RandomSource;

use base64::Engine as _;

/// Longest value (in bytes) a template receives; longer ones are cut at a character
/// boundary. Values come from clients and homeservers (room names, display names, links):
/// this bounds the size of every mail whatever they send. The longest legitimate value, the
/// validation link with a maximal `next_link` percent-encoded inside it, stays below it.
pub(crate) const MAX_VALUE_LEN: usize = 8 * 1024;

/// Replaces every control character (C0 incl. CR, LF, TAB; DEL; C1 incl. NEL) and the Unicode
/// line/paragraph separators with a space, and cuts the value to [`MAX_VALUE_LEN`] bytes.
///
/// Applied to every value that reaches a template, so that no value can end a header line,
/// start a new header or MIME part, or break out of a header into the body, wherever an
/// operator template places it.
pub(crate) fn single_line(value: &str) -> String {
    let value = cut(value, MAX_VALUE_LEN);
    if !value.chars().any(is_line_breaking) {
        return value.to_owned();
    }
    value
        .chars()
        .map(|c| if is_line_breaking(c) { ' ' } else { c })
        .collect()
}

/// The longest prefix of `value` of at most `max` bytes that ends on a character boundary.
fn cut(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

fn is_line_breaking(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// Escapes exactly like Jinja2/markupsafe: `&`, `<`, `>`, `"` → `&#34;`, `'` → `&#39;`.
/// (`/` is left alone, unlike minijinja's built-in HTML escaping.)
pub(crate) fn write_markupsafe<W: std::fmt::Write>(out: &mut W, value: &str) -> std::fmt::Result {
    let mut last = 0;
    for (i, b) in value.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&#34;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.write_str(&value[last..i])?;
        out.write_str(rep)?;
        last = i + 1;
    }
    out.write_str(&value[last..])
}

pub(crate) fn markupsafe(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    // Writing into a String cannot fail.
    let _ = write_markupsafe(&mut out, value);
    out
}

/// Percent-encodes like Python's `urllib.parse.quote(value, safe="/")`, which is what Jinja2's
/// `urlencode` filter does for strings: UTF-8 bytes, keeping `A-Z a-z 0-9 _ . - ~ /`.
pub(crate) fn python_quote(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, PYTHON_QUOTE_ESCAPED).to_string()
}

/// What `urllib.parse.quote` escapes with `safe="/"`: everything but its always-safe
/// characters (letters, digits, `_.-~`) and `/`.
const PYTHON_QUOTE_ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// A header value: kept as is when it is short printable ASCII, otherwise RFC 2047 encoded
/// words (`=?utf-8?b?…?=`), folded onto continuation lines (`\n ` — the message is converted
/// to CRLF afterwards). The input must already be [`single_line`].
pub(crate) fn encode_header_value(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.contains("=?")
        && value.len() <= 900;
    if plain {
        return value.to_owned();
    }
    // Each encoded word: 12 characters of overhead + base64 of at most 45 bytes (60
    // characters) = 72, within RFC 2047's 75. Split only on character boundaries.
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in value.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(encoded_word(&chunk));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(encoded_word(&chunk));
    }
    words.join("\n ")
}

fn encoded_word(chunk: &str) -> String {
    format!(
        "=?utf-8?b?{}?=",
        base64::engine::general_purpose::STANDARD.encode(chunk.as_bytes())
    )
}

/// `len` random characters from `[A-Za-z0-9]` (or letters only), from `random` (the OS
/// generator in production, a seeded one in tests, so rendered mails compare exactly).
pub(crate) fn random_token(
    random: &dyn RandomSource,
    len: usize,
    letters_only: bool,
) -> Result<String, MailError> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let alphabet = if letters_only { &ALNUM[..52] } else { ALNUM };
    // Rejection sampling keeps the distribution uniform.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random
            .fill(&mut buf)
            .map_err(|e| MailError::Template(format!("no random bytes for a mail: {e}")))?;
        for &b in &buf {
            if out.len() == len {
                break;
            }
            if (b as usize) < limit {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    Ok(out)
}

/// RFC 2822 date in UTC as Python's `email.utils.formatdate(localtime=False)` writes it:
/// `Fri, 09 Nov 2001 01:08:47 -0000`. That is HTTP's IMF-fixdate (`httpdate`) with `-0000`
/// ("UTC, no local zone known") where HTTP writes `GMT`. A clock outside 1970–9999, which
/// `httpdate` cannot write, is held at the nearest end.
pub(crate) fn rfc2822_date(epoch_ms: i64) -> String {
    /// 9999-12-31T23:59:59Z, the last second an IMF-fixdate can hold.
    const LAST_SECOND: u64 = 253_402_300_799;
    let secs = u64::try_from(epoch_ms.div_euclid(1000))
        .unwrap_or(0)
        .min(LAST_SECOND);
    let date =
        httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs));
    match date.strip_suffix("GMT") {
        Some(stem) => format!("{stem}-0000"),
        None => date,
    }
}

/// A bare `local@domain` address that is safe in an envelope and a header: lettre accepts it
/// and it holds no whitespace, control characters, quotes, brackets or list separators.
pub(crate) fn is_bare_address(address: &str) -> bool {
    !address.is_empty()
        && address.len() <= 320
        && !address
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c))
        && address.parse::<lettre::Address>().is_ok()
}

/// Converts every line ending to CRLF and makes the text end with one.
pub(crate) fn to_crlf(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 20 + 2);
    let mut prev_cr = false;
    for &b in text.as_bytes() {
        match b {
            b'\n' if prev_cr => {}
            b'\n' | b'\r' => out.extend_from_slice(b"\r\n"),
            _ => out.push(b),
        }
        prev_cr = b == b'\r';
    }
    if !out.ends_with(b"\r\n") {
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Normalises template source newlines to `\n`, as Jinja2's lexer does for template data.
pub(crate) fn normalize_newlines(source: &str) -> String {
    source.replace("\r\n", "\n").replace('\r', "\n")
}

/// Shortens to `keep` characters plus `…` when longer than `max` characters (sydent's
/// truncation of display names and room names in invites).
pub(crate) fn truncate_chars(value: &str, max: usize, keep: usize) -> String {
    if value.chars().count() > max {
        let mut out: String = value.chars().take(keep).collect();
        out.push('…');
        out
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_line_removes_every_line_break() {
        assert_eq!(
            single_line("a\r\nBcc: x\u{85}y\u{2028}z\tw\0"),
            "a  Bcc: x y z w "
        );
        assert_eq!(single_line("plain ünïcode"), "plain ünïcode");
        let long = format!("{}é", "a".repeat(MAX_VALUE_LEN - 1));
        assert_eq!(single_line(&long), "a".repeat(MAX_VALUE_LEN - 1));
        assert_eq!(
            single_line(&long[..MAX_VALUE_LEN - 1]).len(),
            MAX_VALUE_LEN - 1
        );
    }

    #[test]
    fn markupsafe_matches_jinja2() {
        assert_eq!(
            markupsafe(r#"<a href="x">'&'</a> https://x/y"#),
            "&lt;a href=&#34;x&#34;&gt;&#39;&amp;&#39;&lt;/a&gt; https://x/y"
        );
    }

    #[test]
    fn python_quote_matches_urllib() {
        // urllib.parse.quote("@bob:example.org !~/é+=&") == '%40bob%3Aexample.org%20%21~/%C3%A9%2B%3D%26'
        assert_eq!(
            python_quote("@bob:example.org !~/é+=&"),
            "%40bob%3Aexample.org%20%21~/%C3%A9%2B%3D%26"
        );
    }

    #[test]
    fn header_encoding() {
        assert_eq!(
            encode_header_value("Alice invited you"),
            "Alice invited you"
        );
        assert_eq!(encode_header_value("Zoë"), "=?utf-8?b?Wm/Dqw==?=");
        let long = "é".repeat(40);
        let enc = encode_header_value(&long);
        assert!(
            enc.split("\n ")
                .all(|w| w.len() <= 75 && w.starts_with("=?utf-8?b?"))
        );
        assert_eq!(enc.split("\n ").count(), 2);
    }

    #[test]
    fn dates() {
        // email.utils.formatdate(1005268127) == 'Fri, 09 Nov 2001 01:08:47 -0000'
        assert_eq!(
            rfc2822_date(1_005_268_127_000),
            "Fri, 09 Nov 2001 01:08:47 -0000"
        );
        // 2000-02-29
        assert_eq!(
            rfc2822_date(951_782_400_999),
            "Tue, 29 Feb 2000 00:00:00 -0000"
        );
        // Outside what an IMF-fixdate holds: the nearest end, never a panic.
        assert_eq!(rfc2822_date(-1), "Thu, 01 Jan 1970 00:00:00 -0000");
        assert_eq!(rfc2822_date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 -0000");
    }

    #[test]
    fn tokens() {
        let os = crate::crypto::OsRandom;
        let t = random_token(&os, 32, false).expect("random");
        assert_eq!(t.len(), 32);
        assert!(t.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(
            random_token(&os, 16, true)
                .expect("random")
                .bytes()
                .all(|b| b.is_ascii_alphabetic())
        );
        assert_ne!(random_token(&os, 32, false).expect("random"), t);
    }

    #[test]
    fn addresses() {
        assert!(is_bare_address("alice@example.org"));
        assert!(is_bare_address("strauss@exämple.org"));
        for bad in [
            "",
            "alice",
            "alice@example.org\r\nBcc: evil@example.com",
            "Alice <alice@example.org>",
            "a@b.org, c@d.org",
            "\"a b\"@example.org",
        ] {
            assert!(!is_bare_address(bad), "{bad:?}");
        }
    }

    #[test]
    fn crlf() {
        assert_eq!(to_crlf("a\nb\r\nc\rd"), b"a\r\nb\r\nc\r\nd\r\n");
        assert_eq!(to_crlf("a\r\n"), b"a\r\n");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate_chars("abc", 20, 19), "abc");
        assert_eq!(
            truncate_chars(&"x".repeat(21), 20, 19),
            format!("{}…", "x".repeat(19))
        );
    }
}
