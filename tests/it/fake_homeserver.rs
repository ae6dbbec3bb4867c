//! A fake homeserver: HTTPS with a self-signed X.509 v1 certificate (tests/fixtures/tls),
//! answering in HTTP/1.0 without a Content-Type, as some test homeservers do:
//! * `GET /_matrix/federation/v1/openid/userinfo` — OpenID checks;
//! * `GET /_matrix/key/v2/server` — its federation signing key ([`FakeHomeserver::key`]);
//! * `POST /_matrix/federation/v1/3pid/onbind` — recorded ([`FakeHomeserver::onbinds`]),
//!   answered 200, or 503 while [`FakeHomeserver::set_down`] is on.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const CERT_PEM: &[u8] = include_bytes!("../fixtures/tls/homeserver-v1.cert.pem");
const KEY_PEM: &[u8] = include_bytes!("../fixtures/tls/homeserver-v1.key.pem");

pub struct FakeHomeserver {
    pub port: u16,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    /// OpenID token → `sub` it belongs to.
    tokens: Mutex<HashMap<String, String>>,
    onbinds: Mutex<Vec<serde_json::Value>>,
    down: std::sync::atomic::AtomicBool,
    /// While set, key and OpenID requests are answered 503.
    calls_down: std::sync::atomic::AtomicBool,
    /// While set, onbind requests are held without an answer (a slow homeserver).
    hanging: std::sync::atomic::AtomicBool,
    /// Onbind requests held so far.
    held: std::sync::atomic::AtomicUsize,
    /// The server name it signs its key answer as (its `server_name()`).
    name: Mutex<String>,
}

/// The fake homeserver's federation signing key.
pub fn hs_key() -> oxident::crypto::SigningKey {
    oxident::crypto::SigningKey::from_seed("fake1", &[9u8; 32]).expect("fixed key")
}

impl FakeHomeserver {
    /// `127.0.0.1:<port>`: the IP-literal server name tests put in `matrix_server_name`.
    pub fn server_name(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn issue(&self, openid_token: &str, user_id: &str) {
        if let Ok(mut t) = self.shared.tokens.lock() {
            t.insert(openid_token.to_string(), user_id.to_string());
        }
    }

    /// Bodies of the onbind requests it accepted (not those answered 503).
    pub fn onbinds(&self) -> Vec<serde_json::Value> {
        self.shared
            .onbinds
            .lock()
            .map(|v| v.clone())
            .unwrap_or_default()
    }

    /// Waits (bounded) until `n` onbind requests were accepted.
    pub async fn wait_for_onbinds(&self, n: usize) -> Vec<serde_json::Value> {
        for _ in 0..200 {
            let got = self.onbinds();
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("expected {n} onbind requests, got {:?}", self.onbinds());
    }

    /// While down, onbind requests are answered 503 (and not recorded).
    pub fn set_down(&self, down: bool) {
        self.shared
            .down
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// While down, key and OpenID userinfo requests are answered 503.
    pub fn set_calls_down(&self, down: bool) {
        self.shared
            .calls_down
            .store(down, std::sync::atomic::Ordering::SeqCst);
    }

    /// While set, onbind requests are read and then held for two minutes without an answer.
    pub fn set_hanging(&self, hanging: bool) {
        self.shared
            .hanging
            .store(hanging, std::sync::atomic::Ordering::SeqCst);
    }

    /// Onbind requests held while hanging.
    pub fn held(&self) -> usize {
        self.shared.held.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub async fn start() -> Self {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let cert = CertificateDer::from_pem_slice(CERT_PEM).expect("fixture cert");
        let key = PrivateKeyDer::from_pem_slice(KEY_PEM).expect("fixture key");
        let signing_key = provider
            .key_provider
            .load_private_key(key)
            .expect("fixture key loads");
        let certified = rustls::sign::CertifiedKey::new(vec![cert], signing_key);
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certified)));
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared::default());
        if let Ok(mut name) = shared.name.lock() {
            *name = format!("127.0.0.1:{port}");
        }
        let state = shared.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut req = Vec::new();
                    let mut buf = [0u8; 4096];
                    let head_end = loop {
                        if let Some(i) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        if req.len() > 64 * 1024 {
                            return;
                        }
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&req[..head_end]).to_string();
                    let length = head
                        .lines()
                        .find_map(|l| {
                            let (name, value) = l.split_once(':')?;
                            name.trim()
                                .eq_ignore_ascii_case("content-length")
                                .then(|| value.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    while req.len() < head_end + length {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    let mut words = head.split(' ');
                    let method = words.next().unwrap_or("").to_owned();
                    let target = words.next().unwrap_or("").to_owned();
                    let body = &req[head_end..head_end + length];
                    if target == "/_matrix/federation/v1/3pid/onbind"
                        && state.hanging.load(std::sync::atomic::Ordering::SeqCst)
                    {
                        state.held.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_secs(120)).await;
                        return;
                    }
                    let (status, body) = respond(&method, &target, body, &state);
                    let resp = format!("HTTP/1.0 {status} X\r\nServer: fake\r\n\r\n{body}");
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self { port, shared }
    }
}

fn respond(method: &str, target: &str, body: &[u8], state: &Shared) -> (u16, String) {
    if state.calls_down.load(std::sync::atomic::Ordering::SeqCst)
        && (target == "/_matrix/key/v2/server"
            || target.starts_with("/_matrix/federation/v1/openid/userinfo"))
    {
        return (503, r#"{"errcode":"M_UNKNOWN","error":"down"}"#.into());
    }
    if method == "GET" && target == "/_matrix/key/v2/server" {
        let name = state.name.lock().map(|n| n.clone()).unwrap_or_default();
        let key = hs_key();
        let mut answer = serde_json::json!({
            "server_name": name,
            "valid_until_ts": 4_000_000_000_000_i64,
            "verify_keys": {key.key_id(): {"key": key.public_key().to_base64()}},
            "old_verify_keys": {},
        });
        oxident::crypto::sign_json(&mut answer, &name, &key).expect("sign");
        return (200, answer.to_string());
    }
    if method == "POST" && target == "/_matrix/federation/v1/3pid/onbind" {
        if state.down.load(std::sync::atomic::Ordering::SeqCst) {
            return (503, r#"{"errcode":"M_UNKNOWN","error":"down"}"#.into());
        }
        let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
            return (400, r#"{"errcode":"M_NOT_JSON","error":"no"}"#.into());
        };
        if let Ok(mut seen) = state.onbinds.lock() {
            seen.push(json);
        }
        return (200, "{}".into());
    }
    let Some(query) = target.strip_prefix("/_matrix/federation/v1/openid/userinfo?") else {
        return (404, r#"{"errcode":"M_UNRECOGNIZED","error":"no"}"#.into());
    };
    let token = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("access_token="))
        .unwrap_or("");
    let sub = state.tokens.lock().ok().and_then(|t| t.get(token).cloned());
    match sub {
        Some(sub) => (200, serde_json::json!({ "sub": sub }).to_string()),
        None => (
            401,
            r#"{"errcode":"M_UNKNOWN_TOKEN","error":"Access token unknown or expired"}"#.into(),
        ),
    }
}
