//! Loopback tests against a fake homeserver: rustls server with a self-signed X.509 **v1**
//! certificate (tests/fixtures/tls/), answering HTTP/1.0 without Content-Type or
//! Content-Length, as some test homeservers do.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

const CERT_PEM: &[u8] = include_bytes!("../../tests/fixtures/tls/homeserver-v1.cert.pem");
const KEY_PEM: &[u8] = include_bytes!("../../tests/fixtures/tls/homeserver-v1.key.pem");
pub(super) const GOOD_TOKEN: &str = "good tok+en&x=é";

/// What the fake homeserver saw of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Seen {
    /// Path and query.
    pub(super) target: String,
    /// The `Host` header.
    pub(super) host: Option<String>,
    /// The TLS server name the client asked for (none for IP literals).
    pub(super) sni: Option<String>,
}

#[derive(Clone, Default)]
pub(super) struct Fake {
    pub(super) requests: Arc<Mutex<Vec<Seen>>>,
    /// `m.server` served at /.well-known/matrix/server (404 when None).
    pub(super) well_known: Option<String>,
    /// Extra header lines (`Name: value\r\n`) of well-known answers.
    pub(super) well_known_headers: String,
    /// Answer well-known requests with a 302 to this URL.
    pub(super) well_known_redirect: Option<String>,
    /// `sub` returned for the good token.
    pub(super) sub: String,
    /// Status and body for userinfo, overriding the token logic.
    pub(super) userinfo_override: Option<(u16, String)>,
}

impl Fake {
    fn respond(&self, target: &str) -> (u16, String) {
        if target == "/.well-known/matrix/server" {
            if self.well_known_redirect.is_some() {
                return (302, String::new());
            }
            return match &self.well_known {
                Some(s) => (200, serde_json::json!({ "m.server": s }).to_string()),
                None => (404, String::new()),
            };
        }
        if let Some(query) = target.strip_prefix("/_matrix/federation/v1/openid/userinfo?") {
            if let Some(o) = &self.userinfo_override {
                return o.clone();
            }
            let good = format!(
                "access_token={}",
                // form-urlencoded, as reqwest's query_pairs_mut writes it
                "good+tok%2Ben%26x%3D%C3%A9"
            );
            return if query == good {
                (200, serde_json::json!({ "sub": self.sub }).to_string())
            } else {
                (
                    401,
                    r#"{"errcode":"M_UNKNOWN_TOKEN","error":"Access Token unknown or expired"}"#
                        .into(),
                )
            };
        }
        (404, r#"{"errcode":"M_UNRECOGNIZED"}"#.into())
    }

    /// Request targets seen (path + query).
    pub(super) fn seen(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.target).collect()
    }

    pub(super) fn requests(&self) -> Vec<Seen> {
        self.requests.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

fn server_config() -> Arc<rustls::ServerConfig> {
    let provider = tls::provider();
    let cert = CertificateDer::from_pem_slice(CERT_PEM).expect("fixture cert");
    let key = PrivateKeyDer::from_pem_slice(KEY_PEM).expect("fixture key");
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .expect("fixture key loads");
    // `with_single_cert` would parse the v1 certificate with webpki and refuse it.
    let certified = rustls::sign::CertifiedKey::new(vec![cert], signing_key);
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
    Arc::new(cfg)
}

/// Starts the fake homeserver on 127.0.0.1; returns its port.
pub(super) async fn start(fake: Fake) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let acceptor = tokio_rustls::TlsAcceptor::from(server_config());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let fake = fake.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16 * 1024 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&req);
                let target = text.split(' ').nth(1).unwrap_or("").to_owned();
                let host = text.lines().find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("host").then(|| v.trim().to_owned())
                });
                let sni = tls.get_ref().1.server_name().map(str::to_owned);
                if let Ok(mut seen) = fake.requests.lock() {
                    seen.push(Seen {
                        target: target.clone(),
                        host,
                        sni,
                    });
                }
                let (status, body) = fake.respond(&target);
                let extra = match &fake.well_known_redirect {
                    _ if target != "/.well-known/matrix/server" => String::new(),
                    Some(to) => format!("{}Location: {to}\r\n", fake.well_known_headers),
                    None => fake.well_known_headers.clone(),
                };
                // HTTP/1.0, no Content-Type, no Content-Length: the body ends at close.
                let resp =
                    format!("HTTP/1.0 {status} Whatever\r\nServer: fake\r\n{extra}\r\n{body}");
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

pub(super) fn test_cfg(allow_private: bool, accept_invalid: bool) -> OutboundConfig {
    OutboundConfig {
        allow_private_addresses: allow_private,
        accept_invalid_certs: accept_invalid,
        timeout: Duration::from_secs(5),
        ..OutboundConfig::default()
    }
}

fn client(allow_private: bool, accept_invalid: bool) -> FederationClient {
    FederationClient::new(
        &test_cfg(allow_private, accept_invalid),
        Arc::new(crate::clock::SystemClock),
    )
    .expect("client")
}

#[tokio::test]
async fn userinfo_succeeds_with_v1_self_signed_cert() {
    let fake = Fake {
        sub: "@alice:127.0.0.1".into(),
        ..Fake::default()
    };
    let port = start(fake.clone()).await;
    let server = format!("127.0.0.1:{port}");
    let c = client(true, true);
    let sub = c
        .openid_userinfo(&server, GOOD_TOKEN)
        .await
        .expect("userinfo");
    assert_eq!(sub, "@alice:127.0.0.1");
    // The token went in the query string, percent-encoded.
    assert_eq!(
        fake.seen(),
        vec!["/_matrix/federation/v1/openid/userinfo?access_token=good+tok%2Ben%26x%3D%C3%A9"]
    );
    // The sub is on 127.0.0.1, not 127.0.0.1:<port>.
    assert!(matches!(
        c.openid_user_id(&server, GOOD_TOKEN).await,
        Err(FederationError::ForeignUser { .. })
    ));
}

#[tokio::test]
async fn invalid_token_and_bad_responses() {
    let port = start(Fake {
        sub: "@alice:127.0.0.1".into(),
        ..Fake::default()
    })
    .await;
    let server = format!("127.0.0.1:{port}");
    let c = client(true, true);
    let e = c.openid_userinfo(&server, "wrong").await;
    assert!(matches!(e, Err(FederationError::InvalidToken)), "{e:?}");

    for (status, body, want_invalid) in [
        (403, String::new(), true),
        (400, r#"{"errcode":"M_UNKNOWN_TOKEN"}"#.to_owned(), true),
        (500, r#"{"errcode":"M_UNKNOWN"}"#.to_owned(), false),
        (200, "not json".to_owned(), false),
        (200, r#"{"user":"@a:b"}"#.to_owned(), false),
        (200, r#"{"sub":"alice"}"#.to_owned(), false),
        (302, String::new(), false),
    ] {
        let port = start(Fake {
            userinfo_override: Some((status, body.clone())),
            ..Fake::default()
        })
        .await;
        let e = c
            .openid_userinfo(&format!("127.0.0.1:{port}"), GOOD_TOKEN)
            .await;
        if want_invalid {
            assert!(
                matches!(e, Err(FederationError::InvalidToken)),
                "{status} {body}: {e:?}"
            );
        } else {
            assert!(
                matches!(e, Err(FederationError::BadResponse(_))),
                "{status} {body}: {e:?}"
            );
        }
    }
}

#[tokio::test]
async fn loopback_denied_without_allow_private() {
    let fake = Fake {
        sub: "@alice:127.0.0.1".into(),
        ..Fake::default()
    };
    let port = start(fake.clone()).await;
    let c = client(false, true);
    for server in [
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        format!("[::ffff:127.0.0.1]:{port}"),
        format!("[::ffff:7f00:1]:{port}"),
        format!("localhost:{port}"), // through the resolver
        "10.0.0.1".to_owned(),
        "169.254.169.254:80".to_owned(),
        "[fe80::1]".to_owned(),
        "0.0.0.0:1".to_owned(),
    ] {
        let e = c.openid_userinfo(&server, GOOD_TOKEN).await;
        assert!(
            matches!(e, Err(FederationError::Denied(_))),
            "{server}: {e:?}"
        );
    }
    // Well-known discovery of a name resolving to loopback is refused too.
    let e = c.openid_userinfo("localhost", GOOD_TOKEN).await;
    assert!(matches!(e, Err(FederationError::Denied(_))), "{e:?}");
    assert!(fake.seen().is_empty(), "no request may reach the server");

    // extra_allowed re-opens exactly what it names.
    let cfg = OutboundConfig {
        extra_allowed: vec!["127.0.0.1/32".parse().expect("net")],
        ..test_cfg(false, true)
    };
    let c = FederationClient::new(&cfg, Arc::new(crate::clock::SystemClock)).expect("client");
    let ok = c
        .openid_userinfo(&format!("127.0.0.1:{port}"), GOOD_TOKEN)
        .await;
    assert_eq!(ok.expect("allowed"), "@alice:127.0.0.1");
}

#[tokio::test]
async fn invalid_cert_rejected_without_accept_invalid_certs() {
    let fake = Fake {
        sub: "@alice:127.0.0.1".into(),
        ..Fake::default()
    };
    let port = start(fake.clone()).await;
    let c = client(true, false);
    let e = c
        .openid_userinfo(&format!("127.0.0.1:{port}"), GOOD_TOKEN)
        .await;
    assert!(matches!(e, Err(FederationError::Tls(_))), "{e:?}");
    assert!(fake.seen().is_empty());
}

#[tokio::test]
async fn delegation_to_denied_literal_is_refused() {
    // The well-known host (127.0.0.1 via "localhost") is allowed; the delegated literal
    // 127.0.0.2 is not.
    let cfg = OutboundConfig {
        extra_allowed: vec!["127.0.0.1/32".parse().expect("net")],
        ..test_cfg(false, true)
    };
    let wk = start(Fake {
        well_known: Some("127.0.0.2:1".into()),
        ..Fake::default()
    })
    .await;
    let mut c = FederationClient::new(&cfg, Arc::new(crate::clock::SystemClock)).expect("client");
    c.well_known_port = wk;
    let e = c.openid_userinfo("localhost", GOOD_TOKEN).await;
    assert!(matches!(e, Err(FederationError::Denied(_))), "{e:?}");
}

#[tokio::test]
async fn errors_never_carry_the_token() {
    // A port with nothing listening.
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = l.local_addr().expect("addr");
    drop(l);
    let c = client(true, true);
    let e = c
        .openid_userinfo(&format!("127.0.0.1:{}", addr.port()), "SECRETTOKEN")
        .await
        .expect_err("nothing listens");
    assert!(matches!(e, FederationError::Unreachable(_)), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("SECRETTOKEN"));

    let port = start(Fake::default()).await;
    let c = client(true, false);
    let e = c
        .openid_userinfo(&format!("127.0.0.1:{port}"), "SECRETTOKEN")
        .await
        .expect_err("bad cert");
    assert!(!format!("{e} {e:?}").contains("SECRETTOKEN"));
}

#[tokio::test]
async fn invalid_server_names_are_refused_before_any_request() {
    let c = client(true, true);
    for bad in ["", "exa mple.com", "example.com:0", "127.1", "[::1", "a/b"] {
        let e = c.openid_userinfo(bad, GOOD_TOKEN).await;
        assert!(
            matches!(e, Err(FederationError::InvalidServerName(_))),
            "{bad:?}: {e:?}"
        );
    }
}

#[test]
fn config_defaults_and_parsing() {
    let d: OutboundConfig = serde_json::from_str("{}").expect("empty config");
    assert!(!d.allow_private_addresses);
    assert!(!d.accept_invalid_certs);
    assert!(d.extra_denied.is_empty() && d.extra_allowed.is_empty());
    assert!(d.dns_servers.is_empty());
    assert_eq!(d.timeout, Duration::from_secs(10));
    let c: OutboundConfig = serde_json::from_value(serde_json::json!({
        "allow_private_addresses": true,
        "extra_denied": ["8.8.8.0/24", "2001:4860::/32"],
        "extra_allowed": ["10.1.0.0/16"],
        "accept_invalid_certs": true,
        "timeout": 2.5,
        "dns_servers": ["127.0.0.1:5353", "[::1]:53"]
    }))
    .expect("full config");
    assert_eq!(c.timeout, Duration::from_millis(2500));
    assert_eq!(
        c.dns_servers,
        vec![
            "127.0.0.1:5353".parse::<SocketAddr>().expect("addr"),
            "[::1]:53".parse().expect("addr")
        ]
    );
    assert!(serde_json::from_str::<OutboundConfig>(r#"{"dns_servers": ["127.0.0.1"]}"#).is_err());
    assert_eq!(c.extra_denied.len(), 2);
    assert!(serde_json::from_str::<OutboundConfig>(r#"{"timeout": 0}"#).is_err());
    assert!(serde_json::from_str::<OutboundConfig>(r#"{"extra_denied": ["nope"]}"#).is_err());
    assert!(serde_json::from_str::<OutboundConfig>(r#"{"unknown": 1}"#).is_err());
}
