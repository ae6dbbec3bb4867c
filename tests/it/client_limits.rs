//! Per-client limits from outside (issue 21): several limits on one request are all or
//! nothing (a request one limit refuses spends no other limit's budget), and IPv6 clients are
//! counted per /64 — by the rate limits and by the edge's connection cap — over real sockets
//! from several source addresses. IPv4 sources are 127/8 addresses (all loopback); IPv6 ones
//! live in a network namespace this test creates (root, as in CI), since the host's loopback
//! has `::1` only and tests must not change the host's network.

use crate::common::{Reply, TestApp, check_against_spec};
use crate::fake_sms_gateway::FakeSmsGateway;
use oxident::sms::GatewayKind;
use oxident::sms::config::Secret;
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

const EMAIL_REQUEST: &str = "/_matrix/identity/api/v1/validate/email/requestToken";
const MSISDN_REQUEST: &str = "/_matrix/identity/api/v1/validate/msisdn/requestToken";
const STORE_INVITE: &str = "/_matrix/identity/api/v1/store-invite";

const FIRST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 1));
const SECOND: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));

fn email_body(email: &str, secret: &str) -> Value {
    json!({"email": email, "client_secret": secret, "send_attempt": 1})
}

fn msisdn_body(number: &str, secret: &str) -> Value {
    json!({"client_secret": secret, "country": "GB", "phone_number": number, "send_attempt": 1})
}

fn invite_body(address: &str) -> Value {
    json!({"medium": "email", "address": address, "room_id": "!tea:example.org",
           "sender": "@bob:example.org"})
}

/// The case: a client over its per-address limit keeps asking for texts to one
/// number; those refusals must not spend the number's budget, so another client can still
/// have the number's code sent.
#[tokio::test]
async fn texts_refused_for_the_client_leave_the_numbers_budget() {
    let gw = FakeSmsGateway::start().await;
    let url = gw.url("/sms/v4/mt");
    let app = TestApp::start_with(move |c| {
        c.sms.gateway = Some(GatewayKind::Openmarket);
        c.sms.openmarket.url = url;
        c.sms.openmarket.username = "om-user".into();
        c.sms.openmarket.password = Secret::new("om-pass");
        c.sms.originators = [("default".to_owned(), vec!["alpha:Oxident".to_owned()])].into();
        c.sms.per_ip_per_minute = 2;
        c.sms.per_number_per_hour = 3;
    })
    .await;
    let number = "07400 123456";
    for secret in ["a", "b"] {
        let r = app
            .post_from(
                FIRST,
                "msisdnRequestToken",
                MSISDN_REQUEST,
                msisdn_body(number, secret),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    for i in 0..10 {
        let r = app
            .post_from(
                FIRST,
                "msisdnRequestToken",
                MSISDN_REQUEST,
                msisdn_body(number, &format!("more{i}")),
            )
            .await;
        r.assert_limited();
    }
    let r = app
        .post_from(
            SECOND,
            "msisdnRequestToken",
            MSISDN_REQUEST,
            msisdn_body(number, "other"),
        )
        .await;
    assert_eq!(r.status, 200, "the number's third text is left: {}", r.text);
    assert_eq!(gw.received().len(), 3);
    // Now the number is out, for everyone.
    let r = app
        .post_from(
            SECOND,
            "msisdnRequestToken",
            MSISDN_REQUEST,
            msisdn_body(number, "late"),
        )
        .await;
    r.assert_limited();
}

/// Email requestToken, both ways round: a client over its own limit spends no inbox's budget,
/// and requests an inbox's limit refuses spend none of the client's.
#[tokio::test]
async fn mails_refused_by_one_limit_spend_no_other() {
    let app = TestApp::start_with(|c| {
        c.ratelimit.request_token_per_ip_per_minute = 3;
        c.ratelimit.request_token_per_address_per_hour = 2;
    })
    .await;
    let victim = "victim@example.org";
    let r = app
        .post_from(
            FIRST,
            "emailRequestToken",
            EMAIL_REQUEST,
            email_body(victim, "a"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    // The inbox's second mail goes to another client; then the inbox is out.
    let r = app
        .post_from(
            SECOND,
            "emailRequestToken",
            EMAIL_REQUEST,
            email_body(victim, "b"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for i in 0..5 {
        let r = app
            .post_from(
                FIRST,
                "emailRequestToken",
                EMAIL_REQUEST,
                email_body(victim, &format!("c{i}")),
            )
            .await;
        r.assert_limited();
    }
    // Those refusals cost FIRST nothing: two of its three mails are left.
    for to in ["x@example.org", "y@example.org"] {
        let r = app
            .post_from(
                FIRST,
                "emailRequestToken",
                EMAIL_REQUEST,
                email_body(to, "s"),
            )
            .await;
        assert_eq!(r.status, 200, "{to}: {}", r.text);
    }
    // FIRST is out now; its refused requests spend none of an inbox's budget.
    for i in 0..5 {
        let r = app
            .post_from(
                FIRST,
                "emailRequestToken",
                EMAIL_REQUEST,
                email_body("fresh@example.org", &format!("f{i}")),
            )
            .await;
        r.assert_limited();
    }
    for secret in ["s1", "s2"] {
        let r = app
            .post_from(
                SECOND,
                "emailRequestToken",
                EMAIL_REQUEST,
                email_body("fresh@example.org", secret),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
    }
    assert_eq!(app.smtp.wait_for(6).await.len(), 6);
}

/// store-invite: invitations a recipient's limit refuses spend none of the inviting client's
/// budget (they used to, being counted per client first).
#[tokio::test]
async fn invites_refused_for_the_recipient_leave_the_clients_budget() {
    let app = TestApp::start_with(|c| {
        c.ratelimit.invite_per_ip_per_minute = 3;
        c.ratelimit.invite_per_address_per_hour = 1;
    })
    .await;
    let r = app
        .post_from(
            FIRST,
            "storeInvite",
            STORE_INVITE,
            invite_body("kim@example.org"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    for _ in 0..5 {
        let r = app
            .post_from(
                FIRST,
                "storeInvite",
                STORE_INVITE,
                invite_body("kim@example.org"),
            )
            .await;
        r.assert_limited();
    }
    for to in ["lee@example.org", "max@example.org"] {
        let r = app
            .post_from(FIRST, "storeInvite", STORE_INVITE, invite_body(to))
            .await;
        assert_eq!(r.status, 200, "{to}: {}", r.text);
    }
    let r = app
        .post_from(
            FIRST,
            "storeInvite",
            STORE_INVITE,
            invite_body("ned@example.org"),
        )
        .await;
    r.assert_limited();
    // …and that refusal left ned's budget to others.
    let r = app
        .post_from(
            SECOND,
            "storeInvite",
            STORE_INVITE,
            invite_body("ned@example.org"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
}

/// A network namespace of this test's own (`ip netns`), with IPv6 addresses on its loopback;
/// deleted on drop. Sockets made by [`NetNs::enter`]'s closure live in it, wherever they are
/// used afterwards. Needs root (CI runs as root); without it the test fails, it is not skipped.
struct NetNs {
    name: String,
}

fn ip(args: &[&str]) {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("ip {args:?}: {e} (the `ip` tool from iproute2 is needed)"));
    assert!(
        out.status.success(),
        "ip {args:?} failed (network namespaces need root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl NetNs {
    fn with_addresses(addresses: &[&str]) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "oxident-it-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        ip(&["netns", "add", &name]);
        let ns = Self { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        for a in addresses {
            ip(&["-n", &ns.name, "addr", "add", a, "dev", "lo", "nodad"]);
        }
        ns
    }

    /// Runs `f` on a thread that has joined the namespace.
    fn enter<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        use std::os::fd::AsFd as _;
        let path = format!("/run/netns/{}", self.name);
        std::thread::scope(|s| {
            s.spawn(|| {
                let file = std::fs::File::open(&path).expect("open the namespace");
                rustix::thread::move_into_link_name_space(
                    file.as_fd(),
                    Some(rustix::thread::LinkNameSpaceType::Network),
                )
                .expect("setns into the test's network namespace");
                f()
            })
            .join()
            .expect("namespace thread")
        })
    }

    /// A TCP socket in the namespace, bound to `from`.
    fn socket_from(&self, from: Ipv6Addr) -> tokio::net::TcpSocket {
        self.enter(|| {
            let socket = tokio::net::TcpSocket::new_v6().expect("socket");
            socket
                .bind(SocketAddr::from((from, 0)))
                .expect("bind the source address");
            socket
        })
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// Reads until the peer closes (bounded).
async fn read_all(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("answered and closed in time");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A raw HTTP/1.1 answer (`Connection: close`, `Content-Length` body) as a [`Reply`].
fn parse_reply(answer: &str) -> Reply {
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {answer:?}"));
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let mut headers = reqwest::header::HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').expect("header line");
        headers.append(
            reqwest::header::HeaderName::from_bytes(name.trim().as_bytes()).expect("name"),
            value.trim().parse().expect("value"),
        );
    }
    assert!(
        !headers.contains_key("transfer-encoding"),
        "a chunked answer: {head}"
    );
    Reply {
        status,
        headers,
        text: body.to_owned(),
        json: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// Three addresses of one IPv6 /64 are one client for the rate limits and for the
/// connection cap; an address of another /64 is another client.
#[tokio::test]
async fn ipv6_addresses_of_one_prefix_share_one_budget() {
    use tokio::io::AsyncWriteExt as _;
    let app = TestApp::start_with(|c| c.ratelimit.request_token_per_ip_per_minute = 2).await;
    let ns = NetNs::with_addresses(&[
        "fd00::1/64",
        "fd00::2/64",
        "fd00::3/64",
        "fd00::4/64",
        "fd00:0:0:1::2/64",
    ]);
    let v6 = |s: &str| s.parse::<Ipv6Addr>().expect("address");
    let (same_a, same_b, same_c) = (v6("fd00::2"), v6("fd00::3"), v6("fd00::4"));
    let other_net = v6("fd00:0:0:1::2");

    // The server, listening inside the namespace, with a cap of two connections per client.
    let listener = ns.enter(|| {
        let l = std::net::TcpListener::bind("[fd00::1]:0").expect("listen in the namespace");
        l.set_nonblocking(true).expect("non-blocking");
        l
    });
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let addr = listener.local_addr().expect("addr");
    let limits = oxident::connection_limits::ConnectionLimits {
        per_ip: 2,
        ..oxident::connection_limits::ConnectionLimits::unlimited()
    };
    let server = tokio::spawn(oxident::serve::serve_limited(
        listener,
        oxident::app(app.shared_state()),
        Duration::from_secs(60),
        None,
        limits,
        std::future::pending(),
    ));

    let request_token = |from: Ipv6Addr, email: &'static str| {
        let socket = ns.socket_from(from);
        async move {
            let mut stream = socket.connect(addr).await.expect("connect");
            let body = email_body(email, "s3cret").to_string();
            let request = format!(
                "POST {EMAIL_REQUEST} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.expect("send");
            let reply = parse_reply(&read_all(&mut stream).await);
            check_against_spec("emailRequestToken", &reply);
            reply
        }
    };
    assert_eq!(request_token(same_a, "a@example.org").await.status, 200);
    assert_eq!(request_token(same_b, "b@example.org").await.status, 200);
    request_token(same_c, "c@example.org")
        .await
        .assert_limited();
    request_token(same_a, "d@example.org")
        .await
        .assert_limited();
    let r = request_token(other_net, "e@example.org").await;
    assert_eq!(r.status, 200, "another /64 is another client: {}", r.text);

    // The connection cap: two idle connections from the /64 are its share, a third address
    // of it is refused at once; another /64 is served.
    tokio::time::sleep(Duration::from_millis(200)).await; // the closed ones are freed
    let mut held = Vec::new();
    for from in [same_a, same_b] {
        held.push(ns.socket_from(from).connect(addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut refused = ns.socket_from(same_c).connect(addr).await.expect("connect");
    let answer = read_all(&mut refused).await;
    assert!(answer.starts_with("HTTP/1.1 429 "), "{answer}");
    assert!(answer.contains("\"M_LIMIT_EXCEEDED\""), "{answer}");

    let mut stream = ns
        .socket_from(other_net)
        .connect(addr)
        .await
        .expect("connect");
    stream
        .write_all(b"GET /_matrix/identity/v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    let reply = parse_reply(&read_all(&mut stream).await);
    check_against_spec("pingV2", &reply);
    assert_eq!(reply.status, 200, "{}", reply.text);
    drop(held);
    server.abort();
}
