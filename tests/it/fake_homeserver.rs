//! A fake homeserver for OpenID checks: HTTPS with a self-signed X.509 v1 certificate
//! (tests/fixtures/tls), answering `/_matrix/federation/v1/openid/userinfo` in HTTP/1.0
//! without a Content-Type, as some test homeservers do.

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
    /// OpenID token → `sub` it belongs to.
    tokens: Arc<Mutex<HashMap<String, String>>>,
}

impl FakeHomeserver {
    /// `127.0.0.1:<port>`: the IP-literal server name tests put in `matrix_server_name`.
    pub fn server_name(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn issue(&self, openid_token: &str, user_id: &str) {
        if let Ok(mut t) = self.tokens.lock() {
            t.insert(openid_token.to_string(), user_id.to_string());
        }
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
        let tokens: Arc<Mutex<HashMap<String, String>>> = Arc::default();
        let shared = tokens.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let tokens = shared.clone();
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
                    let (status, body) = respond(&target, &tokens);
                    let resp = format!("HTTP/1.0 {status} X\r\nServer: fake\r\n\r\n{body}");
                    let _ = tls.write_all(resp.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self { port, tokens }
    }
}

fn respond(target: &str, tokens: &Mutex<HashMap<String, String>>) -> (u16, String) {
    let Some(query) = target.strip_prefix("/_matrix/federation/v1/openid/userinfo?") else {
        return (404, r#"{"errcode":"M_UNRECOGNIZED","error":"no"}"#.into());
    };
    let token = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("access_token="))
        .unwrap_or("");
    let sub = tokens.lock().ok().and_then(|t| t.get(token).cloned());
    match sub {
        Some(sub) => (200, serde_json::json!({ "sub": sub }).to_string()),
        None => (
            401,
            r#"{"errcode":"M_UNKNOWN_TOKEN","error":"Access token unknown or expired"}"#.into(),
        ),
    }
}
