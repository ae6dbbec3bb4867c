//! Which destination addresses outbound requests may reach (the SSRF guard).
//!
//! The default deny list is the reference server's (`sydent/util/ip_range.py`,
//! `DEFAULT_IP_RANGE_BLACKLIST`) plus the unspecified and reserved ranges it lacks
//! (`0.0.0.0/8` reaches the local host on Linux). IPv6 addresses that embed an IPv4 address
//! (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, 6to4 `2002:AABB:CCDD::/48`,
//! NAT64 `64:ff9b::/96`) are also judged by the embedded IPv4 address, which is what the
//! reference server does by adding the IPv6 forms of every IPv4 range.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::IpNet;

/// The built-in deny list (CIDR), applied unless `allow_private_addresses` is set.
pub const DEFAULT_DENIED_RANGES: &[&str] = &[
    // sydent's DEFAULT_IP_RANGE_BLACKLIST
    "127.0.0.0/8",     // loopback
    "10.0.0.0/8",      // private
    "172.16.0.0/12",   // private
    "192.168.0.0/16",  // private
    "100.64.0.0/10",   // carrier-grade NAT
    "192.0.0.0/24",    // IETF protocol assignments
    "169.254.0.0/16",  // link-local
    "192.88.99.0/24",  // former 6to4 relay anycast
    "198.18.0.0/15",   // benchmarking
    "192.0.2.0/24",    // TEST-NET-1
    "198.51.100.0/24", // TEST-NET-2
    "203.0.113.0/24",  // TEST-NET-3
    "224.0.0.0/4",     // multicast
    "::1/128",         // loopback
    "fe80::/10",       // link-local
    "fc00::/7",        // unique local
    "2001:db8::/32",   // documentation
    "ff00::/8",        // multicast
    "fec0::/10",       // site-local (deprecated)
    // additions
    "0.0.0.0/8",      // "this network"; 0.0.0.0 connects to the local host
    "240.0.0.0/4",    // reserved, includes broadcast 255.255.255.255
    "::/128",         // unspecified
    "100::/64",       // discard-only
    "64:ff9b:1::/48", // local-use NAT64
];

/// Decides whether an address may be connected to.
#[derive(Debug, Clone)]
pub struct AddressFilter {
    denied: Vec<IpNet>,
    allowed: Vec<IpNet>,
}

impl AddressFilter {
    /// `allow_private`: drop the built-in list (test set-ups only). `extra_denied` is always
    /// applied; `extra_allowed` wins over both deny lists.
    pub fn new(allow_private: bool, extra_denied: &[IpNet], extra_allowed: &[IpNet]) -> Self {
        let mut denied: Vec<IpNet> = if allow_private {
            Vec::new()
        } else {
            default_denied()
        };
        denied.extend(extra_denied.iter().map(IpNet::trunc));
        Self {
            denied,
            allowed: extra_allowed.iter().map(IpNet::trunc).collect(),
        }
    }

    /// True when `ip` may be connected to.
    pub fn is_allowed(&self, ip: IpAddr) -> bool {
        let candidates = candidates(ip);
        let hit = |nets: &[IpNet]| {
            candidates
                .iter()
                .flatten()
                .any(|a| nets.iter().any(|n| n.contains(a)))
        };
        if hit(&self.allowed) {
            return true;
        }
        !hit(&self.denied)
    }
}

impl Default for AddressFilter {
    fn default() -> Self {
        Self::new(false, &[], &[])
    }
}

/// The built-in deny list, parsed.
pub fn default_denied() -> Vec<IpNet> {
    DEFAULT_DENIED_RANGES
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// The address itself and, for IPv6, the IPv4 address it embeds (if any).
fn candidates(ip: IpAddr) -> [Option<IpAddr>; 2] {
    match ip {
        IpAddr::V4(_) => [Some(ip), None],
        IpAddr::V6(v6) => [Some(ip), embedded_ipv4(v6).map(IpAddr::V4)],
    }
}

fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let low = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        // IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0xffff, hi, lo] => Some(low(hi, lo)),
        // IPv4-compatible ::a.b.c.d (deprecated); `::` and `::1` are not IPv4
        [0, 0, 0, 0, 0, 0, hi, lo] if hi != 0 => Some(low(hi, lo)),
        // NAT64 well-known prefix 64:ff9b::a.b.c.d
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(low(hi, lo)),
        // 6to4 2002:AABB:CCDD::/48
        [0x2002, hi, lo, ..] => Some(low(hi, lo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn default_list_parses_completely() {
        assert_eq!(default_denied().len(), DEFAULT_DENIED_RANGES.len());
    }

    #[test]
    fn default_denies_private_and_special_ranges() {
        let f = AddressFilter::default();
        for a in [
            "127.0.0.1",
            "127.255.255.254",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "169.254.169.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fc00::1",
            "fd12:3456::1",
            "2001:db8::1",
            "ff02::1",
            "fec0::1",
            // IPv4 embedded in IPv6
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::1",
            "2002:a00:1::",
        ] {
            assert!(!f.is_allowed(ip(a)), "{a} should be denied");
        }
    }

    #[test]
    fn default_allows_public_addresses() {
        let f = AddressFilter::default();
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "192.169.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
        ] {
            assert!(f.is_allowed(ip(a)), "{a} should be allowed");
        }
    }

    #[test]
    fn allow_private_drops_only_the_builtin_list() {
        let extra: IpNet = "8.8.8.0/24".parse().expect("net");
        let f = AddressFilter::new(true, &[extra], &[]);
        assert!(f.is_allowed(ip("127.0.0.1")));
        assert!(f.is_allowed(ip("::1")));
        assert!(!f.is_allowed(ip("8.8.8.8")));
        assert!(!f.is_allowed(ip("::ffff:8.8.8.8")));
    }

    #[test]
    fn extra_allowed_wins() {
        let allow: IpNet = "10.5.0.0/16".parse().expect("net");
        let f = AddressFilter::new(false, &[], &[allow]);
        assert!(f.is_allowed(ip("10.5.1.1")));
        assert!(f.is_allowed(ip("::ffff:10.5.1.1")));
        assert!(!f.is_allowed(ip("10.6.1.1")));
    }
}
