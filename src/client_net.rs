//! The unit every per-client limit counts (the edge's connection cap, the services' rate
//! limits): an IPv4 address, or the IPv6 network of `[ratelimit] ipv6_prefix` bits around an
//! IPv6 address. One IPv6 host usually holds a whole /64 (SLAAC, privacy addresses), so
//! counting per /128 would give it 2^64 budgets. An IPv4-mapped IPv6 address
//! (`::ffff:192.0.2.1`, what a dual-stack socket reports for an IPv4 peer) is its IPv4 address.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};

/// How many leading bits of an IPv6 address name one client (1–128; 64 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Ipv6Prefix(u8);

impl Ipv6Prefix {
    /// A /64: the network one IPv6 host is normally given.
    pub const DEFAULT: Self = Self(64);

    pub fn new(bits: u8) -> Option<Self> {
        (1..=128).contains(&bits).then_some(Self(bits))
    }

    pub fn bits(self) -> u8 {
        self.0
    }
}

impl Default for Ipv6Prefix {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<u8> for Ipv6Prefix {
    type Error = String;

    fn try_from(bits: u8) -> Result<Self, String> {
        Self::new(bits).ok_or_else(|| format!("an IPv6 prefix length is 1 to 128 bits, not {bits}"))
    }
}

impl From<Ipv6Prefix> for u8 {
    fn from(p: Ipv6Prefix) -> u8 {
        p.0
    }
}

/// One client for the limits: an IPv4 address or an IPv6 network (its address with the bits
/// after the prefix cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientNet {
    net: IpAddr,
    prefix: u8,
}

impl ClientNet {
    pub fn of(ip: IpAddr, prefix: Ipv6Prefix) -> Self {
        match ip {
            IpAddr::V4(v4) => Self {
                net: IpAddr::V4(v4),
                prefix: 32,
            },
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self {
                    net: IpAddr::V4(v4),
                    prefix: 32,
                },
                None => {
                    let mask = u128::MAX << (128 - u32::from(prefix.0));
                    Self {
                        net: IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask)),
                        prefix: prefix.0,
                    }
                }
            },
        }
    }
}

impl fmt::Display for ClientNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.net {
            IpAddr::V4(v4) => write!(f, "{v4}"),
            IpAddr::V6(v6) => write!(f, "{v6}/{}", self.prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(ip: &str, bits: u8) -> ClientNet {
        ClientNet::of(
            ip.parse().expect("address"),
            Ipv6Prefix::new(bits).expect("prefix"),
        )
    }

    #[test]
    fn ipv6_addresses_of_one_prefix_are_one_client() {
        let a = net("2001:db8:1:2:aaaa::1", 64);
        assert_eq!(a, net("2001:db8:1:2::2", 64));
        assert_eq!(a, net("2001:db8:1:2:ffff:ffff:ffff:ffff", 64));
        assert_ne!(a, net("2001:db8:1:3::1", 64));
        assert_eq!(a.to_string(), "2001:db8:1:2::/64");
        // Another prefix length draws other lines.
        assert_eq!(net("2001:db8:1:2::1", 48), net("2001:db8:1:ff::1", 48));
        assert_ne!(net("2001:db8:1:2::1", 128), net("2001:db8:1:2::2", 128));
        assert_eq!(net("2001:db8::1", 128).to_string(), "2001:db8::1/128");
    }

    #[test]
    fn ipv4_addresses_are_whole_and_mapped_ones_are_ipv4() {
        assert_ne!(net("192.0.2.1", 64), net("192.0.2.2", 64));
        assert_eq!(net("::ffff:192.0.2.1", 64), net("192.0.2.1", 64));
        assert_eq!(net("::ffff:192.0.2.1", 64).to_string(), "192.0.2.1");
        // `::1` is loopback, not the IPv4-compatible 0.0.0.1.
        assert_eq!(net("::1", 64).to_string(), "::/64");
    }

    #[test]
    fn prefix_lengths_are_checked() {
        assert!(Ipv6Prefix::new(0).is_none());
        assert!(Ipv6Prefix::new(129).is_none());
        assert_eq!(Ipv6Prefix::new(128).map(Ipv6Prefix::bits), Some(128));
        assert_eq!(Ipv6Prefix::default().bits(), 64);
    }
}
