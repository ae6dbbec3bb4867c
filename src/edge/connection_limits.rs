//! Caps on open connections, per client address and in total, and the file-descriptor limit
//! they must stay under.
//!
//! An attack run held 1 100 slow connections against a 1 024 descriptor limit: `accept`
//! failed for everyone until the stall guard closed them, 60 s later. With the caps, one
//! address cannot hold more than its share, the total stays below the descriptor limit (so
//! `accept` keeps working), and a connection over a cap is answered at once — 429 (its
//! address is over) or 503 (the server is full), Matrix JSON with `Retry-After` — and closed.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::client_net::{ClientNet, Ipv6Prefix};
use crate::error::ErrCode;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

/// How many connections may be open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// All clients together (0: no cap).
    pub total: usize,
    /// One client (0: no cap): an IPv4 address, or an IPv6 network of `ipv6_prefix` bits.
    pub per_ip: usize,
    /// How many leading bits of an IPv6 address are one client (`[ratelimit] ipv6_prefix`).
    pub ipv6_prefix: Ipv6Prefix,
    /// Addresses the per-address cap does not apply to (reverse proxies: every client of
    /// theirs arrives from them). They still count towards `total`.
    pub exempt: Vec<IpAddr>,
}

impl ConnectionLimits {
    /// No caps (tests and embedding that do not ask for any).
    pub fn unlimited() -> Self {
        Self {
            total: 0,
            per_ip: 0,
            ipv6_prefix: Ipv6Prefix::DEFAULT,
            exempt: Vec::new(),
        }
    }
}

/// Open connections, counted; shared by the accept loop and the connection tasks.
#[derive(Debug)]
pub struct ConnectionCounter {
    limits: ConnectionLimits,
    total: AtomicUsize,
    per_ip: Mutex<HashMap<ClientNet, usize>>,
    /// Refusal answers being written; beyond a few, refused connections are just closed.
    refusing: AtomicUsize,
    /// Connections refused since start, per [`Refusal`] (the operator's metrics read them).
    refused_address_full: AtomicU64,
    refused_server_full: AtomicU64,
}

/// Why a connection is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Its address holds `per_ip` connections already.
    AddressFull,
    /// The server holds `total` connections already.
    ServerFull,
}

/// One admitted connection; dropping it frees its place.
#[derive(Debug)]
pub struct Admitted {
    counter: Arc<ConnectionCounter>,
    client: ClientNet,
    per_ip_counted: bool,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        self.counter.total.fetch_sub(1, Ordering::AcqRel);
        if self.per_ip_counted {
            let mut map = self
                .counter
                .per_ip
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(n) = map.get_mut(&self.client) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&self.client);
                }
            }
        }
    }
}

/// Refusal answers written at the same time, at most; more refused connections are closed
/// without one, so refusing never costs more descriptors than this.
const MAX_REFUSING: usize = 64;

impl ConnectionCounter {
    pub fn new(limits: ConnectionLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            total: AtomicUsize::new(0),
            per_ip: Mutex::new(HashMap::new()),
            refusing: AtomicUsize::new(0),
            refused_address_full: AtomicU64::new(0),
            refused_server_full: AtomicU64::new(0),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Connections refused since start for this reason.
    pub fn refused(&self, why: Refusal) -> u64 {
        match why {
            Refusal::AddressFull => self.refused_address_full.load(Ordering::Relaxed),
            Refusal::ServerFull => self.refused_server_full.load(Ordering::Relaxed),
        }
    }

    fn count_refusal(&self, why: Refusal) {
        let counter = match why {
            Refusal::AddressFull => &self.refused_address_full,
            Refusal::ServerFull => &self.refused_server_full,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A place for a connection from `peer`, or why there is none.
    pub fn admit(self: &Arc<Self>, peer: SocketAddr) -> Result<Admitted, Refusal> {
        let ip = normalise(peer.ip());
        let total = self.total.fetch_add(1, Ordering::AcqRel) + 1;
        if self.limits.total != 0 && total > self.limits.total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            self.count_refusal(Refusal::ServerFull);
            return Err(Refusal::ServerFull);
        }
        let per_ip_counted = self.limits.per_ip != 0 && !self.limits.exempt.contains(&ip);
        let client = ClientNet::of(ip, self.limits.ipv6_prefix);
        if per_ip_counted {
            let mut map = self.per_ip.lock().unwrap_or_else(|p| p.into_inner());
            let n = map.entry(client).or_insert(0);
            if *n >= self.limits.per_ip {
                drop(map);
                self.total.fetch_sub(1, Ordering::AcqRel);
                self.count_refusal(Refusal::AddressFull);
                return Err(Refusal::AddressFull);
            }
            *n += 1;
        }
        Ok(Admitted {
            counter: self.clone(),
            client,
            per_ip_counted,
        })
    }

    /// Answers a refused connection (bounded in time and in number), then closes it.
    pub fn refuse(self: &Arc<Self>, mut stream: TcpStream, why: Refusal) {
        if self.refusing.fetch_add(1, Ordering::AcqRel) >= MAX_REFUSING {
            self.refusing.fetch_sub(1, Ordering::AcqRel);
            return; // dropped: closed at once
        }
        let counter = self.clone();
        tokio::spawn(async move {
            let answer = refusal_answer(why);
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                stream.write_all(&answer).await?;
                stream.shutdown().await
            })
            .await;
            counter.refusing.fetch_sub(1, Ordering::AcqRel);
        });
    }
}

/// IPv4-mapped IPv6 addresses are their IPv4 address (one client, one budget).
fn normalise(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The whole HTTP answer to a refused connection: Matrix JSON, `Retry-After`, then close.
pub fn refusal_answer(why: Refusal) -> Vec<u8> {
    let (status, errcode, error) = match why {
        Refusal::AddressFull => (
            "429 Too Many Requests",
            ErrCode::LimitExceeded,
            "Too many connections from your address",
        ),
        Refusal::ServerFull => (
            "503 Service Unavailable",
            ErrCode::Unknown,
            "The server has too many connections; try again shortly",
        ),
    };
    let body =
        serde_json::json!({"errcode": errcode.as_str(), "error": error, "retry_after_ms": 1000})
            .to_string();
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
         retry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Raises the soft limit on open files to the hard limit (every connection is a descriptor)
/// and returns the soft limit now in force (`None` where it cannot be read).
pub fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let current = getrlimit(Resource::Nofile);
        let soft = current.current?;
        let target = current.maximum.unwrap_or(u64::MAX).min(1 << 20);
        if target > soft {
            let raised = Rlimit {
                current: Some(target),
                maximum: current.maximum,
            };
            if setrlimit(Resource::Nofile, raised).is_ok() {
                return Some(target);
            }
        }
        Some(soft)
    }
    #[cfg(not(unix))]
    None
}

/// The total cap actually used: the configured one, but below the descriptor limit (with
/// room for the database, key, log and outbound connections), so `accept` never runs out.
pub fn effective_total(configured: usize, fd_limit: Option<u64>) -> usize {
    const RESERVED: u64 = 128;
    match fd_limit {
        Some(limit) => {
            let room =
                usize::try_from(limit.saturating_sub(RESERVED).max(16)).unwrap_or(usize::MAX);
            if configured == 0 {
                room
            } else {
                configured.min(room)
            }
        }
        None => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(ip: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((ip, port))
    }

    #[test]
    fn caps_per_address_and_in_total_and_frees_places() {
        let counter = ConnectionCounter::new(ConnectionLimits {
            total: 3,
            per_ip: 2,
            ipv6_prefix: Ipv6Prefix::DEFAULT,
            exempt: vec![IpAddr::from([10, 0, 0, 9])],
        });
        let a1 = counter.admit(peer([10, 0, 0, 1], 1)).expect("first");
        let _a2 = counter.admit(peer([10, 0, 0, 1], 2)).expect("second");
        assert_eq!(
            counter.admit(peer([10, 0, 0, 1], 3)).err(),
            Some(Refusal::AddressFull)
        );
        // An IPv4-mapped IPv6 peer is the same client.
        let mapped = SocketAddr::from((std::net::Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped(), 4));
        assert_eq!(counter.admit(mapped).err(), Some(Refusal::AddressFull));
        let _b = counter
            .admit(peer([10, 0, 0, 2], 1))
            .expect("other address");
        assert_eq!(
            counter.admit(peer([10, 0, 0, 3], 1)).err(),
            Some(Refusal::ServerFull)
        );
        drop(a1);
        let _a3 = counter
            .admit(peer([10, 0, 0, 1], 5))
            .expect("a place was freed");
        assert_eq!(counter.open(), 3);
        // What the operator's metrics read: two refused for the address, one for the server.
        assert_eq!(counter.refused(Refusal::AddressFull), 2);
        assert_eq!(counter.refused(Refusal::ServerFull), 1);
    }

    #[test]
    fn proxies_are_exempt_from_the_address_cap() {
        let counter = ConnectionCounter::new(ConnectionLimits {
            total: 0,
            per_ip: 1,
            ipv6_prefix: Ipv6Prefix::DEFAULT,
            exempt: vec![IpAddr::from([10, 0, 0, 9])],
        });
        let held: Vec<_> = (0..5)
            .map(|p| counter.admit(peer([10, 0, 0, 9], p)).expect("proxy"))
            .collect();
        assert_eq!(held.len(), 5);
    }

    #[test]
    fn ipv6_peers_count_per_prefix() {
        let v6 = |s: &str, port| SocketAddr::new(s.parse().expect("address"), port);
        let counter = ConnectionCounter::new(ConnectionLimits {
            total: 0,
            per_ip: 2,
            ipv6_prefix: Ipv6Prefix::DEFAULT,
            exempt: Vec::new(),
        });
        let a = counter.admit(v6("2001:db8:0:1::1", 1)).expect("first");
        let _b = counter.admit(v6("2001:db8:0:1::2", 1)).expect("second");
        assert_eq!(
            counter.admit(v6("2001:db8:0:1:abcd::3", 1)).err(),
            Some(Refusal::AddressFull),
            "three addresses of one /64 are one client"
        );
        let _c = counter
            .admit(v6("2001:db8:0:2::1", 1))
            .expect("another /64");
        drop(a);
        let _d = counter
            .admit(v6("2001:db8:0:1::3", 1))
            .expect("a place of the /64 was freed");
        // With a /128 every address is its own client.
        let per_address = ConnectionCounter::new(ConnectionLimits {
            total: 0,
            per_ip: 1,
            ipv6_prefix: Ipv6Prefix::new(128).expect("prefix"),
            exempt: Vec::new(),
        });
        let _e = per_address.admit(v6("2001:db8::1", 1)).expect("one");
        let _f = per_address.admit(v6("2001:db8::2", 1)).expect("another");
        assert!(per_address.admit(v6("2001:db8::1", 2)).is_err());
    }

    #[test]
    fn refusals_are_matrix_json_with_retry_after() {
        for why in [Refusal::AddressFull, Refusal::ServerFull] {
            let answer = String::from_utf8(refusal_answer(why)).expect("utf-8");
            let (head, body) = answer.split_once("\r\n\r\n").expect("head");
            assert!(head.contains("retry-after: 1") && head.contains("connection: close"));
            assert!(head.contains(&format!("content-length: {}", body.len())));
            let json: serde_json::Value = serde_json::from_str(body).expect("json");
            assert!(
                json["errcode"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("M_"))
            );
        }
    }

    #[test]
    fn the_total_stays_below_the_descriptor_limit() {
        assert_eq!(effective_total(10_000, Some(1024)), 896);
        assert_eq!(effective_total(100, Some(1024)), 100);
        assert_eq!(effective_total(0, Some(1024)), 896);
        assert_eq!(effective_total(100, None), 100);
        #[cfg(unix)]
        {
            let limit = raise_fd_limit().expect("readable");
            let hard = rustix::process::getrlimit(rustix::process::Resource::Nofile).maximum;
            assert!(limit >= 1, "{limit}");
            if let Some(hard) = hard {
                assert_eq!(
                    limit,
                    hard.min(1 << 20),
                    "the soft limit is raised to the hard one"
                );
            }
        }
    }
}
