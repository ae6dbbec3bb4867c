//! Secrets never reach the logs: access tokens (header and query), client secrets, validation
//! tokens and keys, with logging at its most verbose.

use crate::common::{TestApp, token_from_mail};
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut v) = self.0.lock() {
            v.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture() -> &'static Capture {
    static CAPTURE: OnceLock<Capture> = OnceLock::new();
    CAPTURE.get_or_init(|| {
        let capture = Capture::default();
        let writer = capture.clone();
        // The server's own line format (which adds each line's request), at its most verbose.
        use tracing_subscriber::layer::SubscriberExt as _;
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .with(oxident::logging::text_layer(move || writer.clone(), false));
        // Another test may have installed one first; then this test captures nothing and fails
        // loudly below rather than passing vacuously.
        let _ = tracing::subscriber::set_global_default(subscriber);
        capture
    })
}

#[tokio::test]
async fn no_secret_is_logged_even_at_trace_level() {
    let logs = capture();
    let app = TestApp::start().await;
    let access = app.token_for("@secretive:hs.test").await;
    let secret = "cl1ent-SECRET-value";
    let r = app
        .post(
            "emailRequestTokenV2",
            "/_matrix/identity/v2/validate/email/requestToken",
            json!({"email": "quiet@example.org", "client_secret": secret, "send_attempt": 1}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let mail = app.smtp.wait_for(1).await;
    let token = token_from_mail(&mail[0].text());
    let sid = r.json["sid"].as_str().expect("sid").to_string();
    let r = app
        .post(
            "emailSubmitTokenPostV2",
            "/_matrix/identity/v2/validate/email/submitToken",
            json!({"sid": sid, "client_secret": secret, "token": token}),
            Some(&access),
        )
        .await;
    assert_eq!(r.status, 200);
    // The deprecated query form and a wrong bearer token.
    app.get(
        "getAccount",
        &format!("/_matrix/identity/v2/account?access_token={access}"),
        None,
    )
    .await;
    app.get(
        "getAccount",
        "/_matrix/identity/v2/account",
        Some("WRONG-bearer-token-xyz"),
    )
    .await;

    let text = String::from_utf8_lossy(&logs.0.lock().expect("logs").clone()).into_owned();
    assert!(
        text.contains("path=\"/_matrix/identity/v2/validate/email/requestToken\""),
        "the capture saw the requests (otherwise this test proves nothing)"
    );
    assert!(
        text.contains("path=\"/_matrix/identity/v2/account\""),
        "lines of a request with a query string name its path"
    );
    let seed = oxident::crypto::keyfile::format_key_line(&crate::common::test_key());
    for (what, value) in [
        ("access token", access.as_str()),
        ("client secret", secret),
        ("validation token", token.as_str()),
        ("rejected bearer token", "WRONG-bearer-token-xyz"),
        (
            "signing key seed",
            seed.expose().rsplit(' ').next().unwrap_or(""),
        ),
    ] {
        assert!(!text.contains(value), "the {what} appears in the logs");
    }
}

/// Unauthenticated clients choose `matrix_server_name`: a name that is invalid, does not
/// resolve or does not answer is their problem, not the operator's, and must not reach the
/// logs above `debug` (anyone could fill the error log).
#[tokio::test]
async fn bad_homeserver_names_from_clients_are_not_errors() {
    let logs = capture();
    let app = TestApp::start().await;
    for name in ["not a name!", "nonexistent.invalid", "127.0.0.1:1"] {
        let r = app
            .post(
                "registerAccount",
                "/_matrix/identity/v2/account/register",
                json!({"access_token": "openid", "matrix_server_name": name}),
                None,
            )
            .await;
        assert!(r.status == 400 || r.status == 502, "{name}: {}", r.text);
    }
    let text = String::from_utf8_lossy(&logs.0.lock().expect("logs").clone()).into_owned();
    assert!(
        text.contains("path=\"/_matrix/identity/v2/account/register\""),
        "the capture saw the requests (otherwise this test proves nothing)"
    );
    let loud: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("/account/register") && (l.contains("ERROR") || l.contains("WARN")))
        .collect();
    assert!(loud.is_empty(), "logged above debug:\n{}", loud.join("\n"));
}

/// A texted code, the text itself and the gateway's credentials stay out of the logs too.
#[tokio::test]
async fn no_sms_code_or_gateway_credential_is_logged() {
    let logs = capture();
    let gw = crate::fake_sms_gateway::FakeSmsGateway::start().await;
    let url = gw.url("/sms/v4/mt");
    let app = TestApp::start_with(move |c| {
        c.sms.gateway = Some(oxident::sms::GatewayKind::Openmarket);
        c.sms.openmarket.url = url;
        c.sms.openmarket.username = "om-user".into();
        c.sms.openmarket.password = oxident::sms::config::Secret::new("om-PASSWORD-value");
        // Long enough that no timestamp in a log line can contain it by chance.
        c.sms.token_length = 10;
    })
    .await;
    let r = app
        .post(
            "msisdnRequestToken",
            "/_matrix/identity/api/v1/validate/msisdn/requestToken",
            json!({"client_secret": "sms-secret", "country": "GB",
                   "phone_number": "07400123456", "send_attempt": 1}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let code = gw.last_code();
    assert_eq!(code.len(), 10);
    let sid = r.json["sid"].as_str().expect("sid").to_string();
    let r = app
        .post(
            "msisdnSubmitTokenPost",
            "/_matrix/identity/api/v1/validate/msisdn/submitToken",
            json!({"sid": sid, "client_secret": "sms-secret", "token": code}),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let text = String::from_utf8_lossy(&logs.0.lock().expect("logs").clone()).into_owned();
    assert!(
        text.contains("path=\"/_matrix/identity/api/v1/validate/msisdn/requestToken\""),
        "the capture saw the requests (otherwise this test proves nothing)"
    );
    use base64::Engine as _;
    let basic = base64::engine::general_purpose::STANDARD.encode("om-user:om-PASSWORD-value");
    for (what, value) in [
        ("texted code", code.as_str()),
        ("gateway Basic credentials", basic.as_str()),
        ("text", "verification code is"),
        ("gateway password", "om-PASSWORD-value"),
        ("client secret", "sms-secret"),
    ] {
        assert!(!text.contains(value), "the {what} appears in the logs");
    }
}
