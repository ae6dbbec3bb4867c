//! One test per step of server discovery, against fake homeservers (tests.rs) and a fake DNS
//! server on loopback UDP, so no query leaves the machine. Each fake homeserver records the
//! `Host` header and TLS server name of what reached it; each listens on a port of its own,
//! so the fake that saw a request tells which port discovery chose.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::rdata::{A, SRV};
use hickory_proto::rr::{Name, RData, Record};
use tokio::net::UdpSocket;

use super::tests::{Fake, GOOD_TOKEN, start, test_cfg};
use super::*;
use crate::clock::{Clock, ManualClock, SystemClock};

/// Records of the fake DNS server, by lower-case name without the trailing dot.
#[derive(Clone, Default)]
struct Zone {
    records: Arc<Mutex<HashMap<String, Vec<RData>>>>,
}

impl Zone {
    fn add(&self, name: &str, data: RData) {
        if let Ok(mut r) = self.records.lock() {
            r.entry(name.to_owned()).or_default().push(data);
        }
    }

    fn a(&self, name: &str, ip: [u8; 4]) -> &Self {
        self.add(name, RData::A(A(Ipv4Addr::from(ip))));
        self
    }

    fn srv(&self, name: &str, priority: u16, weight: u16, port: u16, target: &str) -> &Self {
        let target = Name::from_ascii(format!("{target}.")).expect("target name");
        self.add(name, RData::SRV(SRV::new(priority, weight, port, target)));
        self
    }

    /// The answer to one query message: the records of the asked type, NXDOMAIN for names
    /// the zone does not know at all.
    fn answer(&self, query: &Message) -> Message {
        let mut resp = Message::response(query.metadata.id, query.metadata.op_code);
        resp.metadata.recursion_desired = query.metadata.recursion_desired;
        resp.metadata.recursion_available = true;
        resp.metadata.authoritative = true;
        let records = self.records.lock().map(|r| r.clone()).unwrap_or_default();
        for q in &query.queries {
            resp.add_query(q.clone());
            let name = q
                .name()
                .to_ascii()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            match records.get(&name) {
                None => resp.metadata.response_code = ResponseCode::NXDomain,
                Some(data) => {
                    for d in data.iter().filter(|d| d.record_type() == q.query_type()) {
                        resp.add_answer(Record::from_rdata(q.name().clone(), 60, d.clone()));
                    }
                }
            }
        }
        resp
    }
}

/// Serves `zone` on a UDP port of 127.0.0.1 until the test's runtime ends.
async fn start_dns(zone: Zone) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").await.expect("bind dns");
    let addr = sock.local_addr().expect("dns addr");
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, peer)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let Ok(query) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            if let Ok(bytes) = zone.answer(&query).to_vec() {
                let _ = sock.send_to(&bytes, peer).await;
            }
        }
    });
    addr
}

fn homeserver() -> Fake {
    Fake {
        sub: "@alice:origin.test".into(),
        ..Fake::default()
    }
}

fn well_known(m_server: &str) -> Fake {
    Fake {
        well_known: Some(m_server.to_owned()),
        ..Fake::default()
    }
}

/// A client that asks `dns` for everything, fetches well-knowns on `well_known_port` and
/// uses `federation_port` where discovery would use 8448.
fn client_with(
    dns: SocketAddr,
    well_known_port: u16,
    federation_port: u16,
    clock: Arc<dyn Clock>,
    cfg: OutboundConfig,
) -> FederationClient {
    let cfg = OutboundConfig {
        dns_servers: vec![dns],
        ..cfg
    };
    let mut c = FederationClient::new(&cfg, clock).expect("client");
    c.well_known_port = well_known_port;
    c.federation_port = federation_port;
    c
}

fn client(dns: SocketAddr, well_known_port: u16, federation_port: u16) -> FederationClient {
    client_with(
        dns,
        well_known_port,
        federation_port,
        Arc::new(SystemClock),
        test_cfg(true, true),
    )
}

/// Sends a userinfo request to `server_name` and checks it reached `fake` alone, once, with
/// this `Host` header and TLS server name.
async fn assert_reaches(
    c: &FederationClient,
    server_name: &str,
    fake: &Fake,
    host: &str,
    sni: Option<&str>,
) {
    let sub = c
        .openid_userinfo(server_name, GOOD_TOKEN)
        .await
        .unwrap_or_else(|e| panic!("{server_name}: {e}"));
    assert_eq!(sub, "@alice:origin.test");
    let seen = fake.requests();
    assert_eq!(seen.len(), 1, "{server_name}: {seen:?}");
    assert!(
        seen[0]
            .target
            .starts_with("/_matrix/federation/v1/openid/userinfo?"),
        "{seen:?}"
    );
    assert_eq!(seen[0].host.as_deref(), Some(host), "{server_name}: Host");
    assert_eq!(seen[0].sni.as_deref(), sni, "{server_name}: TLS name");
}

fn url_of(d: &Destination) -> &str {
    d.url.as_str()
}

#[tokio::test]
async fn step1_ip_literal() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let dns = start_dns(Zone::default()).await;
    // Without a port: 8448 (here the test's stand-in), Host without a port, no SNI.
    let c = client(dns, 1, port);
    assert_reaches(&c, "127.0.0.1", &hs, "127.0.0.1", None).await;
    let d = client(dns, 1, DEFAULT_FEDERATION_PORT)
        .resolve_server("[::1]")
        .await
        .expect("resolve");
    assert_eq!(url_of(&d), "https://[::1]:8448/");
    assert_eq!(d.host_header, "[::1]");
    assert_eq!(d.addrs, None);
    // With a port: that port, Host with it.
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let name = format!("127.0.0.1:{port}");
    assert_reaches(&c, &name, &hs, &name, None).await;
}

#[tokio::test]
async fn step2_hostname_with_port() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let zone = Zone::default();
    zone.a("hs.test", [127, 0, 0, 1]);
    let dns = start_dns(zone).await;
    let c = client(dns, 1, 1);
    let name = format!("hs.test:{port}");
    assert_reaches(&c, &name, &hs, &name, Some("hs.test")).await;
}

#[tokio::test]
async fn step3_1_delegated_ip_literal() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let wk = start(well_known(&format!("127.0.0.1:{port}"))).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1]);
    let dns = start_dns(zone).await;
    let c = client(dns, wk, 1);
    let host = format!("127.0.0.1:{port}");
    assert_reaches(&c, "origin.test", &hs, &host, None).await;

    // Without a port: 8448, Host without a port.
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let wk = start(well_known("127.0.0.1")).await;
    let c = client(dns, wk, port);
    assert_reaches(&c, "origin.test", &hs, "127.0.0.1", None).await;
}

#[tokio::test]
async fn step3_2_delegated_hostname_with_port() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let wk = start(well_known(&format!("Deleg.test:{port}"))).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1])
        .a("deleg.test", [127, 0, 0, 1])
        // Not asked: the delegated name has a port.
        .srv("_matrix-fed._tcp.deleg.test", 0, 0, 1, "deleg.test");
    let dns = start_dns(zone).await;
    let c = client(dns, wk, 1);
    let host = format!("deleg.test:{port}");
    assert_reaches(&c, "origin.test", &hs, &host, Some("deleg.test")).await;
}

#[tokio::test]
async fn step3_3_delegated_matrix_fed_srv() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let decoy = homeserver();
    let decoy_port = start(decoy.clone()).await;
    let wk = start(well_known("deleg.test")).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1])
        .a("target.test", [127, 0, 0, 1])
        .a("decoy.test", [127, 0, 0, 1])
        // Lowest priority first; among equals, the heaviest.
        .srv(
            "_matrix-fed._tcp.deleg.test",
            20,
            100,
            decoy_port,
            "decoy.test",
        )
        .srv(
            "_matrix-fed._tcp.deleg.test",
            10,
            1,
            decoy_port,
            "decoy.test",
        )
        .srv("_matrix-fed._tcp.deleg.test", 10, 50, port, "target.test")
        // The deprecated service is not asked when the new one answers.
        .srv("_matrix._tcp.deleg.test", 0, 0, decoy_port, "decoy.test");
    let dns = start_dns(zone).await;
    let c = client(dns, wk, decoy_port);
    // TLS name and Host: the delegated name; the connection: the SRV target and port.
    assert_reaches(&c, "origin.test", &hs, "deleg.test", Some("deleg.test")).await;
    assert!(decoy.requests().is_empty());
    let d = c.resolve_server("origin.test").await.expect("resolve");
    assert_eq!(url_of(&d), format!("https://deleg.test:{port}/"));
    assert_eq!(
        d.addrs,
        Some(vec![SocketAddr::from(([127, 0, 0, 1], port))])
    );
}

#[tokio::test]
async fn step3_4_delegated_matrix_srv() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let wk = start(well_known("deleg.test")).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1])
        .a("target.test", [127, 0, 0, 1])
        .srv("_matrix._tcp.deleg.test", 0, 0, port, "target.test");
    let dns = start_dns(zone).await;
    let c = client(dns, wk, 1);
    assert_reaches(&c, "origin.test", &hs, "deleg.test", Some("deleg.test")).await;
}

#[tokio::test]
async fn step3_5_delegated_hostname_default_port() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let wk = start(well_known("deleg.test")).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1])
        .a("deleg.test", [127, 0, 0, 1]);
    let dns = start_dns(zone).await;
    let c = client(dns, wk, port);
    assert_reaches(&c, "origin.test", &hs, "deleg.test", Some("deleg.test")).await;
    let d = client(dns, wk, DEFAULT_FEDERATION_PORT)
        .resolve_server("origin.test")
        .await
        .expect("resolve");
    assert_eq!(url_of(&d), "https://deleg.test:8448/");
    assert_eq!(d.host_header, "deleg.test");
    assert_eq!(d.addrs, None);
}

#[tokio::test]
async fn step4_matrix_fed_srv() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let decoy = homeserver();
    let decoy_port = start(decoy.clone()).await;
    // No delegation: the well-known answers 404.
    let wk = start(Fake::default()).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1])
        .a("target.test", [127, 0, 0, 1])
        .srv("_matrix-fed._tcp.origin.test", 5, 0, port, "target.test")
        .srv("_matrix._tcp.origin.test", 0, 0, decoy_port, "origin.test");
    let dns = start_dns(zone).await;
    let c = client(dns, wk, decoy_port);
    assert_reaches(&c, "origin.test", &hs, "origin.test", Some("origin.test")).await;
    assert!(decoy.requests().is_empty());
}

#[tokio::test]
async fn step5_matrix_srv() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    // No well-known at all: origin.test's port 1 refuses connections.
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1])
        .a("target.test", [127, 0, 0, 1])
        .srv("_matrix._tcp.origin.test", 0, 0, port, "target.test");
    let dns = start_dns(zone).await;
    let c = client(dns, 1, 1);
    assert_reaches(&c, "origin.test", &hs, "origin.test", Some("origin.test")).await;
}

#[tokio::test]
async fn step6_hostname_default_port() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    // An invalid delegation counts as none.
    let wk = start(well_known("bad name:0")).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1]);
    let dns = start_dns(zone).await;
    let c = client(dns, wk, port);
    assert_reaches(&c, "origin.test", &hs, "origin.test", Some("origin.test")).await;
    let d = client(dns, wk, DEFAULT_FEDERATION_PORT)
        .resolve_server("Origin.test")
        .await
        .expect("resolve");
    assert_eq!(url_of(&d), "https://origin.test:8448/");
    assert_eq!(d.host_header, "origin.test");
}

#[tokio::test]
async fn srv_targets_pass_the_guard() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1])
        .a("evil.test", [127, 0, 0, 2])
        .a("good.test", [127, 0, 0, 1])
        .srv("_matrix-fed._tcp.origin.test", 0, 0, port, "evil.test")
        .srv("_matrix-fed._tcp.other.test", 0, 0, port, "evil.test")
        .srv("_matrix-fed._tcp.other.test", 1, 0, port, "good.test")
        .a("other.test", [127, 0, 0, 1]);
    let dns = start_dns(zone).await;
    // Only 127.0.0.1 is allowed: the SRV target evil.test (127.0.0.2) is not.
    let cfg = OutboundConfig {
        extra_allowed: vec!["127.0.0.1/32".parse().expect("net")],
        ..test_cfg(false, true)
    };
    let c = client_with(dns, 1, 1, Arc::new(SystemClock), cfg);
    let e = c.openid_userinfo("origin.test", GOOD_TOKEN).await;
    assert!(
        matches!(e, Err(FederationError::Denied(ref t)) if t == "evil.test"),
        "{e:?}"
    );
    assert!(hs.requests().is_empty(), "no request may be sent");
    // A denied target is skipped for the next allowed one.
    assert_reaches(&c, "other.test", &hs, "other.test", Some("other.test")).await;

    // With the default guard the well-known host itself (loopback) is refused.
    let c = client_with(dns, 1, 1, Arc::new(SystemClock), test_cfg(false, true));
    let e = c.openid_userinfo("origin.test", GOOD_TOKEN).await;
    assert!(matches!(e, Err(FederationError::Denied(_))), "{e:?}");
}

#[tokio::test]
async fn srv_target_root_means_no_service() {
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1]);
    zone.add(
        "_matrix-fed._tcp.origin.test",
        RData::SRV(SRV::new(0, 0, 0, Name::root())),
    );
    let dns = start_dns(zone).await;
    let c = client(dns, 1, 1);
    let e = c.resolve_server("origin.test").await;
    assert!(matches!(e, Err(FederationError::Unreachable(_))), "{e:?}");
}

/// Well-known fetches `wk` has answered.
fn fetches(wk: &Fake) -> usize {
    wk.seen()
        .iter()
        .filter(|t| *t == "/.well-known/matrix/server")
        .count()
}

async fn cache_case(
    well_known: Option<&str>,
    headers: &str,
) -> (Fake, FederationClient, Arc<ManualClock>) {
    let fake = Fake {
        well_known: well_known.map(str::to_owned),
        well_known_headers: headers.to_owned(),
        ..Fake::default()
    };
    let wk = start(fake.clone()).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1]);
    let dns = start_dns(zone).await;
    let clock = Arc::new(ManualClock::new(1_000_000));
    let c = client_with(dns, wk, 1, clock.clone(), test_cfg(true, true));
    (fake, c, clock)
}

async fn resolve_url(c: &FederationClient) -> String {
    let d = c.resolve_server("origin.test").await.expect("resolve");
    d.url.to_string()
}

#[tokio::test]
async fn well_known_cached_for_max_age() {
    let (wk, c, clock) = cache_case(Some("deleg.test:443"), "Cache-Control: max-age=60\r\n").await;
    assert_eq!(resolve_url(&c).await, "https://deleg.test/");
    assert_eq!(resolve_url(&c).await, "https://deleg.test/");
    assert_eq!(fetches(&wk), 1, "the second resolution uses the cache");
    clock.advance_ms(59_999);
    resolve_url(&c).await;
    assert_eq!(fetches(&wk), 1);
    clock.advance_ms(1);
    resolve_url(&c).await;
    assert_eq!(fetches(&wk), 2, "refetched once max-age has passed");
}

#[tokio::test]
async fn well_known_cached_24h_by_default_and_not_with_no_store() {
    let (wk, c, clock) = cache_case(Some("deleg.test:443"), "").await;
    resolve_url(&c).await;
    clock.advance_ms(24 * 3_600_000 - 1);
    resolve_url(&c).await;
    assert_eq!(fetches(&wk), 1);
    clock.advance_ms(1);
    resolve_url(&c).await;
    assert_eq!(fetches(&wk), 2);

    let (wk, c, _) = cache_case(Some("deleg.test:443"), "Cache-Control: no-store\r\n").await;
    resolve_url(&c).await;
    resolve_url(&c).await;
    assert_eq!(fetches(&wk), 2, "no-store: never kept");
}

#[tokio::test]
async fn well_known_errors_cached_for_an_hour() {
    // 404 → no delegation → origin.test:8448, remembered for an hour.
    let (wk, c, clock) = cache_case(None, "Cache-Control: max-age=600000\r\n").await;
    assert_eq!(resolve_url(&c).await, "https://origin.test:1/");
    clock.advance_ms(3_600_000 - 1);
    resolve_url(&c).await;
    assert_eq!(fetches(&wk), 1);
    clock.advance_ms(1);
    resolve_url(&c).await;
    assert_eq!(fetches(&wk), 2);
}

#[tokio::test]
async fn dns_servers_answer_the_filtering_resolver_too() {
    // `hs.test` exists only in the fake zone: the request can only get there through it.
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let zone = Zone::default();
    zone.a("hs.test", [127, 0, 0, 1]);
    let dns = start_dns(zone).await;
    let c = client(dns, 1, 1);
    let name = format!("hs.test:{port}");
    assert_reaches(&c, &name, &hs, &name, Some("hs.test")).await;
    // An unknown name fails as unreachable, not as a denial.
    let e = c
        .openid_userinfo(&format!("nowhere.test:{port}"), GOOD_TOKEN)
        .await;
    assert!(matches!(e, Err(FederationError::Unreachable(_))), "{e:?}");
}

fn redirect(to: String) -> Fake {
    Fake {
        well_known_redirect: Some(to),
        ..Fake::default()
    }
}

#[tokio::test]
async fn well_known_redirects_followed_within_the_guard() {
    let hs = homeserver();
    let port = start(hs.clone()).await;
    let last = start(well_known(&format!("deleg.test:{port}"))).await;
    let zone = Zone::default();
    zone.a("origin.test", [127, 0, 0, 1])
        .a("moved.test", [127, 0, 0, 1])
        .a("deleg.test", [127, 0, 0, 1]);
    let dns = start_dns(zone).await;
    // origin.test → (relative) → moved.test → the delegation.
    let hop2 = start(redirect(format!(
        "https://moved.test:{last}/.well-known/matrix/server"
    )))
    .await;
    let hop1 = start(redirect(format!(
        "https://127.0.0.1:{hop2}/.well-known/matrix/server"
    )))
    .await;
    let c = client(dns, hop1, 1);
    let host = format!("deleg.test:{port}");
    assert_reaches(&c, "origin.test", &hs, &host, Some("deleg.test")).await;

    // Plain HTTP, loops and long chains are failed well-knowns: no delegation.
    let plain = start(redirect(
        "http://moved.test/.well-known/matrix/server".into(),
    ))
    .await;
    let looping = start(redirect("/.well-known/matrix/server".into())).await;
    for wk in [plain, looping] {
        let d = client(dns, wk, 1)
            .resolve_server("origin.test")
            .await
            .expect("resolve");
        assert_eq!(url_of(&d), "https://origin.test:1/");
    }
    let mut next = format!("https://127.0.0.1:{last}/.well-known/matrix/server");
    let mut first = 0;
    for _ in 0..6 {
        first = start(redirect(next)).await;
        next = format!("https://127.0.0.1:{first}/.well-known/matrix/server");
    }
    let d = client(dns, first, 1)
        .resolve_server("origin.test")
        .await
        .expect("resolve");
    assert_eq!(
        url_of(&d),
        "https://origin.test:1/",
        "six redirects are too many"
    );

    // A redirect to a denied address refuses the name.
    let cfg = OutboundConfig {
        extra_allowed: vec!["127.0.0.1/32".parse().expect("net")],
        ..test_cfg(false, true)
    };
    let to_denied = start(redirect(
        "https://127.0.0.2:1/.well-known/matrix/server".into(),
    ))
    .await;
    let c = client_with(dns, to_denied, 1, Arc::new(SystemClock), cfg);
    let e = c.resolve_server("origin.test").await;
    assert!(matches!(e, Err(FederationError::Denied(_))), "{e:?}");
}
