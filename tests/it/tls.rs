//! The HTTPS listener (`[server.tls]`): requests over TLS, certificate reload, what plain
//! HTTP and silent clients get on the TLS port.

use crate::common::{TestApp, write_self_signed};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The certificate the server presents to a new connection, read by a client that trusts
/// anything (it only looks).
async fn served_certificate(app: &TestApp) -> Vec<u8> {
    let client = reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .tls_info(true)
        .build()
        .expect("client");
    let resp = client
        .get(format!("{}/_matrix/identity/v2", app.base))
        .send()
        .await
        .expect("HTTPS request");
    assert_eq!(resp.status(), 200);
    resp.extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .expect("peer certificate")
        .to_vec()
}

fn trusting(cert_der: &[u8]) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_der(cert_der).expect("cert")])
        .build()
        .expect("client")
}

#[tokio::test]
async fn https_requests_are_answered_and_match_the_spec() {
    let app = TestApp::start_tls().await;
    assert!(app.base.starts_with("https://"), "{}", app.base);
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert_eq!((r.status, r.json.clone()), (200, json!({})));
    let r = app
        .get("getVersions", "/_matrix/identity/versions", None)
        .await;
    assert_eq!(r.status, 200);
    // The answer came over TLS from the certificate in the config, not some other one.
    let served = served_certificate(&app).await;
    assert_eq!(
        served,
        app.tls
            .as_ref()
            .expect("tls")
            .current_certificate()
            .to_vec()
    );
}

#[tokio::test]
async fn reload_serves_the_new_certificate_to_new_connections() {
    let app = TestApp::start_tls().await;
    let tls = app.tls.clone().expect("tls");
    let old = served_certificate(&app).await;

    // Replace the files in place (what certbot and friends do), then reload as SIGHUP would.
    let cert_dir = tempfile::tempdir().expect("dir");
    let (fresh, fresh_der) = write_self_signed(cert_dir.path(), "next");
    let config = app.config.server.tls.clone().expect("tls config");
    std::fs::copy(&fresh.cert_path, &config.cert_path).expect("copy cert");
    std::fs::copy(&fresh.key_path, &config.key_path).expect("copy key");
    tls.reload().expect("reload");

    let now = served_certificate(&app).await;
    assert_ne!(now, old, "the old certificate is still served");
    assert_eq!(now, fresh_der);
    // A client trusting only the new certificate is served; one trusting only the old is not.
    let url = format!("{}/_matrix/identity/v2", app.base);
    let ok = trusting(&fresh_der)
        .get(&url)
        .send()
        .await
        .expect("new cert trusted");
    assert_eq!(ok.status(), 200);
    assert!(trusting(&old).get(&url).send().await.is_err());
}

#[tokio::test]
async fn a_bad_new_certificate_keeps_the_old_one_in_service() {
    let app = TestApp::start_tls().await;
    let tls = app.tls.clone().expect("tls");
    let before = served_certificate(&app).await;
    let config = app.config.server.tls.clone().expect("tls config");

    // A key that does not belong to the certificate.
    let other_dir = tempfile::tempdir().expect("dir");
    let (other, _) = write_self_signed(other_dir.path(), "other");
    std::fs::copy(&other.key_path, &config.key_path).expect("copy key");
    let err = tls.reload().expect_err("mismatched key refused");
    assert!(err.to_string().contains("does not match"), "{err}");
    // Garbage where the certificate should be.
    std::fs::write(&config.cert_path, "not a certificate").expect("write");
    let err = tls.reload().expect_err("garbage refused");
    assert!(err.to_string().contains("no PEM certificate"), "{err}");
    // A missing file.
    std::fs::remove_file(&config.cert_path).expect("remove");
    assert!(tls.reload().is_err());

    assert_eq!(served_certificate(&app).await, before);
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn plain_http_on_the_tls_port_fails_cleanly() {
    let app = TestApp::start_tls().await;
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let err = plain
        .get(format!("http://{}/_matrix/identity/v2", app.addr))
        .send()
        .await
        .expect_err("plain HTTP is not answered as HTTP");
    assert!(
        !err.is_timeout(),
        "the server hung instead of closing: {err}"
    );
    // The listener is unharmed.
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert_eq!(r.status, 200);
}

/// A client that connects and never says hello is disconnected once the handshake limit (the
/// stall period) has passed, while other clients are served meanwhile.
#[tokio::test]
async fn a_silent_client_does_not_hold_the_handshake() {
    let app = TestApp::start_tls_with(|c| c.server.request_timeout_secs = 1).await;
    let mut silent = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert_eq!(r.status, 200, "the accept loop was blocked by a handshake");
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
        .await
        .expect("the server closed the silent connection in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    // A half-finished hello gets the same treatment.
    let mut partial = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    partial.write_all(&[0x16, 0x03, 0x01]).await.expect("write");
    let read = tokio::time::timeout(Duration::from_secs(5), partial.read(&mut buf))
        .await
        .expect("the server closed the half-hello connection in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}

/// A restart (graceful shutdown, new listener on the same data folder) works with TLS, and an
/// idle keep-alive TLS connection does not hold up the shutdown.
#[tokio::test]
async fn graceful_restart_with_tls_connections_open() {
    let mut app = TestApp::start_tls().await;
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert_eq!(r.status, 200);
    tokio::time::timeout(Duration::from_secs(10), app.restart())
        .await
        .expect("shutdown did not wait for the idle TLS connection");
    assert!(app.base.starts_with("https://"));
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert_eq!(r.status, 200);
}
