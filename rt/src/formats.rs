//! Checks for the JSON-schema `format`s that the emitted validators assert. Hand-written.
//!
//! Formats are annotations in JSON Schema unless the validator knows them: unknown formats
//! pass ([`check`] returns `true`). The Matrix formats follow
//! `data/string-formats.yaml` of the specification and the grammars of its appendices,
//! leniently where the specification itself is (historical user IDs, opaque room IDs).

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::Number;

/// Whether the string `s` conforms to `format`; unknown formats pass.
#[must_use]
pub fn check(format: &str, s: &str) -> bool {
    match format {
        "email" => is_email(s),
        "uri" => is_uri(s),
        "ipv4" => is_ipv4(s),
        "ipv6" => is_ipv6(s),
        "uuid" => is_uuid(s),
        "mx-user-id" => is_mx_user_id(s),
        "mx-room-id" => is_mx_room_id(s),
        "mx-room-alias" => is_mx_room_alias(s),
        "mx-event-id" => is_mx_event_id(s),
        "mx-mxc-uri" => is_mx_mxc_uri(s),
        "mx-server-name" => is_mx_server_name(s),
        "mx-unpadded-base64" => is_mx_unpadded_base64(s),
        "mx-urlsafe-unpadded-base64" => is_mx_urlsafe_unpadded_base64(s),
        _ => true,
    }
}

/// Whether the number `n` conforms to `format`; unknown formats pass.
#[must_use]
pub fn check_number(format: &str, n: &Number) -> bool {
    match format {
        "int32" => is_int32(n),
        "int64" => is_int64(n),
        _ => true,
    }
}

/// An email address, RFC 5321-ish: exactly one `@`, a non-empty local part (at most 64
/// bytes, no leading, trailing or doubled dot), a domain that is a host name or an
/// address literal (`[...]`), no whitespace or control characters.
#[must_use]
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '@')
        && is_email_domain(domain)
}

fn is_email_domain(domain: &str) -> bool {
    if let Some(literal) = domain.strip_prefix('[').and_then(|d| d.strip_suffix(']')) {
        return literal.parse::<Ipv4Addr>().is_ok()
            || literal
                .strip_prefix("IPv6:")
                .is_some_and(|a| a.parse::<Ipv6Addr>().is_ok());
    }
    !domain.is_empty()
        && domain.len() <= 255
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// An absolute URI (RFC 3986 `scheme ":" ...`): a scheme (a letter, then letters, digits,
/// `+`, `-`, `.`), a colon, then only characters allowed in URIs with well-formed
/// percent-encodings.
#[must_use]
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once(':') else {
        return false;
    };
    let mut scheme_chars = scheme.bytes();
    if !scheme_chars.next().is_some_and(|b| b.is_ascii_alphabetic())
        || !scheme_chars.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
    {
        return false;
    }
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut fragment = false;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if !(bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
                {
                    return false;
                }
                i += 2;
            }
            b'#' if fragment => return false,
            b'#' => fragment = true,
            b if b.is_ascii_alphanumeric() => {}
            // unreserved / gen-delims / sub-delims (RFC 3986 §2)
            b'-' | b'.' | b'_' | b'~' | b':' | b'/' | b'?' | b'[' | b']' | b'@' | b'!' | b'$'
            | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' => {}
            _ => return false,
        }
        i += 1;
    }
    true
}

/// An IPv4 address in dotted-quad notation.
#[must_use]
pub fn is_ipv4(s: &str) -> bool {
    s.parse::<Ipv4Addr>().is_ok()
}

/// An IPv6 address.
#[must_use]
pub fn is_ipv6(s: &str) -> bool {
    s.parse::<Ipv6Addr>().is_ok()
}

/// A UUID in its hyphenated hexadecimal form.
#[must_use]
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A Matrix server name: `hostname [":" port]`, the host being an IPv4 address, a
/// bracketed IPv6 address or a DNS name of letters, digits, `-` and `.` (at most 255
/// characters); the port 1 to 5 digits.
#[must_use]
pub fn is_mx_server_name(s: &str) -> bool {
    let (host, port) = if s.starts_with('[') {
        match s.find(']') {
            Some(end) => (&s[..=end], &s[end + 1..]),
            None => return false,
        }
    } else {
        match s.find(':') {
            Some(colon) => (&s[..colon], &s[colon..]),
            None => (s, ""),
        }
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        v6.parse::<Ipv6Addr>().is_ok()
    } else {
        (1..=255).contains(&host.len())
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    };
    port_ok && host_ok
}

/// Splits `<sigil><localpart>:<server name>` of at most 255 bytes, checking the server name.
fn split_sigil_id(s: &str, sigil: char) -> Option<&str> {
    if s.len() > 255 {
        return None;
    }
    let (local, server) = s.strip_prefix(sigil)?.split_once(':')?;
    is_mx_server_name(server).then_some(local)
}

/// A Matrix user ID `@localpart:server.name`. The localpart may use the historical
/// character set: printable ASCII except `:`.
#[must_use]
pub fn is_mx_user_id(s: &str) -> bool {
    split_sigil_id(s, '@').is_some_and(|local| {
        !local.is_empty()
            && local
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b':')
    })
}

/// A Matrix room alias `#alias:server.name`; the alias part may be any Unicode text
/// without `:` or NUL.
#[must_use]
pub fn is_mx_room_alias(s: &str) -> bool {
    split_sigil_id(s, '#').is_some_and(|local| !local.is_empty() && !local.contains('\0'))
}

/// A Matrix room ID. Leniently: `!` followed by something, either `!opaque:server.name`
/// or, in newer room versions, `!opaque` alone.
#[must_use]
pub fn is_mx_room_id(s: &str) -> bool {
    s.len() > 1 && s.starts_with('!')
}

/// A Matrix event ID: `$` followed by something (`$opaque` or `$opaque:server.name`).
#[must_use]
pub fn is_mx_event_id(s: &str) -> bool {
    s.len() > 1 && s.starts_with('$')
}

/// A Matrix content URI `mxc://server.name/media_id`, the media ID made of letters,
/// digits, `_` and `-`.
#[must_use]
pub fn is_mx_mxc_uri(s: &str) -> bool {
    s.strip_prefix("mxc://")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(server, media)| {
            is_mx_server_name(server)
                && !media.is_empty()
                && media
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
}

fn is_unpadded_base64_with(s: &str, extra: [u8; 2]) -> bool {
    s.len() % 4 != 1
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
}

/// Unpadded standard Base64 (`A-Z a-z 0-9 + /`, no `=`).
#[must_use]
pub fn is_mx_unpadded_base64(s: &str) -> bool {
    is_unpadded_base64_with(s, [b'+', b'/'])
}

/// Unpadded URL-safe Base64 (`A-Z a-z 0-9 - _`, no `=`).
#[must_use]
pub fn is_mx_urlsafe_unpadded_base64(s: &str) -> bool {
    is_unpadded_base64_with(s, [b'-', b'_'])
}

/// `int32`: within `i32` range. Whether the number is an integer at all is the business
/// of `type: integer`, so that a fraction is reported once.
#[must_use]
pub fn is_int32(n: &Number) -> bool {
    match n.as_i64() {
        Some(i) => i32::try_from(i).is_ok(),
        None => n
            .as_f64()
            .is_some_and(|f| f >= f64::from(i32::MIN) && f <= f64::from(i32::MAX)),
    }
}

/// `int64`: within `i64` range (see [`is_int32`]).
#[must_use]
pub fn is_int64(n: &Number) -> bool {
    // -2^63 ≤ f < 2^63
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    n.is_i64() || (!n.is_u64() && n.as_f64().is_some_and(|f| (-LIMIT..LIMIT).contains(&f)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn email() {
        for ok in [
            "alice@example.org",
            "a.b+tag@sub.example.co.uk",
            "x@localhost",
            "a@[127.0.0.1]",
            "é@exämple.de",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "a@b@c",
            "",
            "@example.org",
            "alice@",
            "alice",
            "al ice@example.org",
            "alice@exa mple.org",
            ".a@b.c",
            "a.@b.c",
            "a..b@c.d",
            "a@b..c",
            "a@-b.c",
            "a\n@b.c",
            "a@[nonsense]",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
        assert!(check("email", "a@b"));
        assert!(!check("email", "a@b@c"));
    }

    #[test]
    fn uri() {
        for ok in [
            "https://example.org/a?b=c#d",
            "mailto:a@b.c",
            "urn:isbn:0451450523",
            "a+b.c-d:x",
            "x:",
            "http://[::1]:8080/%20",
        ] {
            assert!(is_uri(ok), "{ok}");
        }
        for bad in [
            "",
            "example.org",
            "/relative/path",
            "1http://x",
            "http://a b",
            "http://x/%zz",
            "http://x/%2",
            "ht tp://x",
            "http://x/#a#b",
            "http://x/<>",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }

    #[test]
    fn matrix_ids() {
        for ok in [
            "@a:b",
            "@alice:example.org",
            "@alice:example.org:8448",
            "@a=b_c.d/e+f:1.2.3.4",
            "@Historical!:[::1]:80",
        ] {
            assert!(is_mx_user_id(ok), "{ok}");
        }
        for bad in [
            "",
            "@",
            "@:b",
            "@a",
            "a:b",
            "@a:",
            "@a:b:",
            "@a:b:123456",
            "@a b:c",
            "@a:exa_mple.org",
            "@a:[::1",
        ] {
            assert!(!is_mx_user_id(bad), "{bad}");
        }
        assert!(!is_mx_user_id(&format!("@{}:example.org", "a".repeat(250))));

        assert!(is_mx_room_id("!abc:example.org"));
        assert!(is_mx_room_id("!opaqueNoServer"));
        assert!(!is_mx_room_id("!"));
        assert!(!is_mx_room_id("#abc:example.org"));

        assert!(is_mx_room_alias("#room:example.org"));
        assert!(is_mx_room_alias("#ünïcode room:example.org"));
        assert!(!is_mx_room_alias("#room"));
        assert!(!is_mx_room_alias("#:example.org"));
        assert!(!is_mx_room_alias("!room:example.org"));

        assert!(is_mx_event_id("$abc"));
        assert!(!is_mx_event_id("abc"));

        assert!(is_mx_mxc_uri("mxc://example.org/s0meM3dia"));
        assert!(is_mx_mxc_uri("mxc://example.org:8448/a_b-c"));
        assert!(!is_mx_mxc_uri("mxc://example.org/"));
        assert!(!is_mx_mxc_uri("mxc://example.org"));
        assert!(!is_mx_mxc_uri("mxc:///media"));
        assert!(!is_mx_mxc_uri("mxc://example.org/a/b"));
        assert!(!is_mx_mxc_uri("https://example.org/a"));

        for ok in [
            "example.org",
            "example.org:8448",
            "1.2.3.4",
            "[1234:5678::abcd]",
            "[::1]:443",
            "localhost",
        ] {
            assert!(is_mx_server_name(ok), "{ok}");
        }
        for bad in [
            "",
            ":80",
            "example.org:",
            "example.org:123456",
            "exa_mple.org",
            "[::1",
            "[nope]",
            "a b",
        ] {
            assert!(!is_mx_server_name(bad), "{bad}");
        }
    }

    #[test]
    fn base64_and_others() {
        assert!(is_mx_unpadded_base64("YWJj+/"));
        assert!(!is_mx_unpadded_base64("YWJj="));
        assert!(!is_mx_unpadded_base64("YWJjZ"));
        assert!(is_mx_urlsafe_unpadded_base64("YWJj-_"));
        assert!(!is_mx_urlsafe_unpadded_base64("YWJj+/"));
        assert!(is_uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!is_uuid("123e4567e89b12d3a456426614174000"));
        assert!(is_ipv4("127.0.0.1") && !is_ipv4("256.0.0.1"));
        assert!(is_ipv6("::1") && !is_ipv6("1.2.3.4"));
        assert!(check("no-such-format", "anything"));
    }

    #[test]
    fn integers() {
        let n = |v: serde_json::Value| match v {
            serde_json::Value::Number(n) => n,
            _ => unreachable!(),
        };
        assert!(is_int32(&n(json!(i32::MAX))));
        assert!(!is_int32(&n(json!(i64::from(i32::MAX) + 1))));
        assert!(is_int32(&n(json!(-5.0))));
        assert!(is_int32(&n(json!(1.5))));
        assert!(!is_int32(&n(json!(3e9))));
        assert!(is_int64(&n(json!(i64::MIN))));
        assert!(!is_int64(&n(json!(u64::MAX))));
        assert!(!is_int64(&n(json!(1e19))));
        assert!(check_number("int64", &n(json!(1))));
        assert!(check_number("unknown", &n(json!(1.5))));
    }
}
