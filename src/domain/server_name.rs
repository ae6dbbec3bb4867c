//! Matrix server names (Appendices §Server Name):
//!
//! ```text
//! server_name = hostname [ ":" port ]
//! hostname    = IPv4address / "[" IPv6address "]" / dns-name
//! dns-name    = 1*255dns-char ; DIGIT / ALPHA / "-" / "."
//! ```
//!
//! Stricter than the grammar where the grammar admits nonsense: IP literals must parse as
//! addresses, ports are 1–65535, DNS labels are non-empty and at most 63 characters, and a
//! dns-name that a URL parser would read as an IPv4 address (all-numeric last label, like
//! `127.1`) is refused, so an IP literal can never pass as a host name.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Port used when a server name (or its delegated name) has none.
pub const DEFAULT_FEDERATION_PORT: u16 = 8448;

/// The host part of a server name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
    /// Lower-cased DNS name.
    Domain(String),
}

/// A validated server name. `Display` gives the normalised form (lower-case host).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerName {
    pub host: Host,
    pub port: Option<u16>,
}

/// Why a server name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid server name: {0}")]
pub struct InvalidServerName(pub &'static str);

impl ServerName {
    /// Parses and validates `s`.
    pub fn parse(s: &str) -> Result<Self, InvalidServerName> {
        if s.is_empty() || s.len() > 255 + 1 + 5 + 2 {
            return Err(InvalidServerName("empty or too long"));
        }
        let (host_part, port_part) = if let Some(rest) = s.strip_prefix('[') {
            let end = rest
                .find(']')
                .ok_or(InvalidServerName("unterminated IPv6 literal"))?;
            let (inner, after) = (&rest[..end], &rest[end + 1..]);
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or(InvalidServerName("junk after IPv6 literal"))?,
                ),
            };
            if inner.len() < 2
                || inner.len() > 45
                || !inner
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
            {
                return Err(InvalidServerName("bad IPv6 literal"));
            }
            let v6: Ipv6Addr = inner
                .parse()
                .map_err(|_| InvalidServerName("bad IPv6 literal"))?;
            (Host::Ipv6(v6), port)
        } else {
            let (h, p) = match s.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (s, None),
            };
            (parse_host(h)?, p)
        };
        let port = port_part.map(parse_port).transpose()?;
        Ok(Self {
            host: host_part,
            port,
        })
    }

    /// True when the host is an IP literal.
    pub fn is_ip_literal(&self) -> bool {
        !matches!(self.host, Host::Domain(_))
    }

    /// `host` as it appears in a URL authority (IPv6 in brackets).
    pub fn host_str(&self) -> String {
        match &self.host {
            Host::Ipv4(a) => a.to_string(),
            Host::Ipv6(a) => format!("[{a}]"),
            Host::Domain(d) => d.clone(),
        }
    }

    /// The explicit port or 8448.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_FEDERATION_PORT)
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.host_str())?;
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

impl std::str::FromStr for ServerName {
    type Err = InvalidServerName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn parse_port(p: &str) -> Result<u16, InvalidServerName> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidServerName("bad port"));
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(InvalidServerName("port out of range")),
        Ok(n) => Ok(n),
    }
}

fn parse_host(h: &str) -> Result<Host, InvalidServerName> {
    if h.is_empty() || h.len() > 255 {
        return Err(InvalidServerName("bad host length"));
    }
    if !h
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(InvalidServerName("bad character in host"));
    }
    let labels: Vec<&str> = h.split('.').collect();
    let last = labels.last().copied().unwrap_or_default();
    if !last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()) {
        // Looks like IPv4: must be exactly a dotted quad.
        return if labels.len() == 4 {
            h.parse::<Ipv4Addr>()
                .map(Host::Ipv4)
                .map_err(|_| InvalidServerName("bad IPv4 literal"))
        } else {
            Err(InvalidServerName("numeric host is not a dotted-quad IPv4"))
        };
    }
    if labels.iter().any(|l| l.is_empty() || l.len() > 63) {
        return Err(InvalidServerName("bad DNS label"));
    }
    // WHATWG URL parsers also read hex/octal forms (0x7f.1) in the last label as IPv4.
    if last.len() > 2
        && last[..2].eq_ignore_ascii_case("0x")
        && last[2..].bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(InvalidServerName("numeric host is not a dotted-quad IPv4"));
    }
    Ok(Host::Domain(h.to_ascii_lowercase()))
}

/// True when `user_id` (`@localpart:server_name`) belongs to `server_name`. Host names compare
/// case-insensitively; the port must match exactly (absent ≠ 8448, as server names are
/// compared as strings elsewhere in Matrix).
pub fn user_belongs_to(user_id: &str, server_name: &str) -> bool {
    let Some(rest) = user_id.strip_prefix('@') else {
        return false;
    };
    let Some((local, server)) = rest.split_once(':') else {
        return false;
    };
    if local.is_empty() {
        return false;
    }
    match (ServerName::parse(server), ServerName::parse(server_name)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        let ok: &[(&str, &str, bool, u16)] = &[
            // input, normalised, ip literal, port used
            ("matrix.org", "matrix.org", false, 8448),
            ("Matrix.ORG", "matrix.org", false, 8448),
            ("localhost", "localhost", false, 8448),
            ("example.com:443", "example.com:443", false, 443),
            (
                "my-hs.example.com:8448",
                "my-hs.example.com:8448",
                false,
                8448,
            ),
            ("1.2.3.4", "1.2.3.4", true, 8448),
            ("1.2.3.4:1234", "1.2.3.4:1234", true, 1234),
            ("[1234:5678::abcd]", "[1234:5678::abcd]", true, 8448),
            (
                "[1234:5678::ABCD]:5678",
                "[1234:5678::abcd]:5678",
                true,
                5678,
            ),
            ("[::1]", "[::1]", true, 8448),
            (
                "[::ffff:127.0.0.1]:8448",
                "[::ffff:127.0.0.1]:8448",
                true,
                8448,
            ),
            ("a", "a", false, 8448),
            (
                "xn--bcher-kva.example",
                "xn--bcher-kva.example",
                false,
                8448,
            ),
            ("host1.example2", "host1.example2", false, 8448),
            ("127.0.0.1:65535", "127.0.0.1:65535", true, 65535),
        ];
        for (input, norm, ip, port) in ok {
            let n = ServerName::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(n.to_string(), *norm, "{input}");
            assert_eq!(n.is_ip_literal(), *ip, "{input}");
            assert_eq!(n.port_or_default(), *port, "{input}");
        }
        let bad = [
            "",
            ":8448",
            "example.com:",
            "example.com:0",
            "example.com:65536",
            "example.com:99999",
            "example.com:123456",
            "example.com:80a",
            "example.com:-1",
            "exa mple.com",
            "example.com/path",
            "user@example.com",
            "exämple.com",
            "example..com",
            ".example.com",
            "example.com.",
            "1.2.3.256",
            "127.1",
            "2130706433",
            "0x7f.1",
            "1.2.3.4.5",
            "[::1",
            "[::1]x",
            "[::1]:",
            "[not:an:ip]",
            "[1.2.3.4]",
            "::1",
            "[]",
            "https://example.com",
            "example.com:8448:1",
        ];
        for input in bad {
            assert!(
                ServerName::parse(input).is_err(),
                "{input:?} should be refused"
            );
        }
        let long = "a".repeat(64);
        assert!(ServerName::parse(&long).is_err());
    }

    #[test]
    fn user_belongs_to_server() {
        assert!(user_belongs_to("@alice:example.com", "example.com"));
        assert!(user_belongs_to("@alice:Example.COM", "example.com"));
        assert!(user_belongs_to(
            "@alice:example.com:8448",
            "example.com:8448"
        ));
        assert!(user_belongs_to("@a:[::1]:8448", "[::1]:8448"));
        assert!(user_belongs_to("@a:1.2.3.4", "1.2.3.4"));
        assert!(!user_belongs_to("@alice:matrix.org", "example.com"));
        assert!(!user_belongs_to("@alice:example.com", "example.com:8448"));
        assert!(!user_belongs_to("@alice:example.com.evil", "example.com"));
        assert!(!user_belongs_to("alice:example.com", "example.com"));
        assert!(!user_belongs_to("@alice", "example.com"));
        assert!(!user_belongs_to("@:example.com", "example.com"));
        assert!(!user_belongs_to("@alice:", ""));
    }
}
