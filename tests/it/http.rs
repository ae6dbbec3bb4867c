//! Wire behaviour shared by every route: JSON errors everywhere, validation errcodes with JSON
//! paths, CORS, body limits, restarts.

use crate::common::{TestApp, read_reply};
use serde_json::json;

#[tokio::test]
async fn unknown_paths_and_wrong_methods_are_json_unrecognized() {
    let app = TestApp::start().await;
    let r = read_reply(
        app.client
            .get(format!("{}/_matrix/identity/v2/nope", app.base))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (404, "M_UNRECOGNIZED"));
    assert!(r.json["error"].is_string());
    let r = read_reply(
        app.client
            .delete(format!("{}/_matrix/identity/v2/3pid/bind", app.base))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (405, "M_UNRECOGNIZED"));
    let r = read_reply(
        app.client
            .get(format!("{}/", app.base))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (404, "M_UNRECOGNIZED"));
}

#[tokio::test]
async fn bad_bodies_get_the_spec_errcodes_with_paths() {
    let app = TestApp::start().await;
    let token = app.token_for("@v:hs.test").await;
    let bind = "/_matrix/identity/v2/3pid/bind";
    let send = |body: &'static str| {
        app.client
            .post(format!("{}{bind}", app.base))
            .bearer_auth(&token)
            .body(body)
            .send()
    };
    let r = read_reply(send("{not json").await.expect("send")).await;
    assert_eq!((r.status, r.errcode()), (400, "M_BAD_JSON"));
    let r = read_reply(send("[1,2]").await.expect("send")).await;
    assert_eq!((r.status, r.errcode()), (400, "M_BAD_JSON"));
    let r = read_reply(
        send(r#"{"sid": "1", "client_secret": "s"}"#)
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (400, "M_MISSING_PARAMS"));
    assert!(
        r.json["error"]
            .as_str()
            .is_some_and(|e| e.contains("/mxid")),
        "{}",
        r.text
    );
    let r = read_reply(
        send(r#"{"sid": 1, "client_secret": "s", "mxid": "@a:b"}"#)
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (400, "M_INVALID_PARAM"));
    assert!(
        r.json["error"].as_str().is_some_and(|e| e.contains("/sid")),
        "{}",
        r.text
    );
    // Nested path.
    let r = app
        .post(
            "unbindV2",
            "/_matrix/identity/v2/3pid/unbind",
            json!({"mxid": "@a:b", "threepid": {"medium": "email"}}),
            Some(&token),
        )
        .await;
    assert_eq!(r.errcode(), "M_MISSING_PARAMS");
    assert!(
        r.json["error"]
            .as_str()
            .is_some_and(|e| e.contains("/threepid/address")),
        "{}",
        r.text
    );
}

#[tokio::test]
async fn query_parameters_are_validated_too() {
    let app = TestApp::start().await;
    let r = app
        .get(
            "isPubKeyValidV2",
            "/_matrix/identity/v2/pubkey/isvalid",
            None,
        )
        .await;
    assert_eq!((r.status, r.errcode()), (400, "M_MISSING_PARAMS"));
    assert!(
        r.json["error"]
            .as_str()
            .is_some_and(|e| e.contains("public_key"))
    );
}

#[tokio::test]
async fn cors_on_preflight_and_on_errors() {
    let app = TestApp::start().await;
    let resp = app
        .client
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/_matrix/identity/v2/lookup", app.base),
        )
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type",
        )
        .send()
        .await
        .expect("send");
    assert!(resp.status().is_success());
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    let methods = resp.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap_or("");
    assert!(methods.contains("POST") && methods.contains("OPTIONS"));
    let resp = app
        .client
        .get(format!("{}/_matrix/identity/v2/account", app.base))
        .header("Origin", "https://app.example")
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");
    // The spec's recommended set on every response, not only on preflights.
    for resp in [
        resp,
        app.client
            .get(format!("{}/_matrix/identity/v2", app.base))
            .send()
            .await
            .expect("send"),
    ] {
        let h = resp.headers();
        assert_eq!(h["access-control-allow-origin"], "*");
        assert_eq!(
            h["access-control-allow-methods"],
            "GET,POST,PUT,DELETE,OPTIONS"
        );
        assert_eq!(
            h["access-control-allow-headers"],
            "origin,x-requested-with,content-type,accept,authorization"
        );
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_as_json() {
    let app = TestApp::start_with(|c| c.server.body_limit_bytes = 4096).await;
    let big = json!({"threepids": vec![["email".to_string(), "x".repeat(100)]; 100]});
    let resp = app
        .client
        .post(format!("{}/_matrix/identity/api/v1/bulk_lookup", app.base))
        .json(&big)
        .send()
        .await
        .expect("send");
    let r = read_reply(resp).await;
    assert_eq!((r.status, r.errcode()), (413, "M_TOO_LARGE"), "{}", r.text);
}

#[tokio::test]
async fn responses_carry_a_request_id() {
    let app = TestApp::start().await;
    let r = app.get("pingV2", "/_matrix/identity/v2", None).await;
    assert!(r.headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn everything_written_survives_a_restart() {
    let mut app = TestApp::start().await;
    let token = app.token_for("@keep:hs.test").await;
    app.restart().await;
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", Some(&token))
        .await;
    assert_eq!(
        (r.status, r.json["user_id"].as_str()),
        (200, Some("@keep:hs.test"))
    );
}

#[tokio::test]
async fn v1_accepts_form_bodies_and_json_labelled_as_form() {
    let app = TestApp::start().await;
    let url = format!(
        "{}/_matrix/identity/api/v1/validate/email/requestToken",
        app.base
    );
    // A real form body: send_attempt arrives as text and is typed by the schema.
    let resp = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=form%40example.org&client_secret=form-1&send_attempt=1")
        .send()
        .await
        .expect("send");
    let r = read_reply(resp).await;
    crate::common::check_against_spec("emailRequestToken", &r);
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.json["sid"].is_string());
    // `curl -d '{...}'` sends JSON with the form content type.
    let resp = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"{"email": "curl@example.org", "client_secret": "curl-1", "send_attempt": 1}"#)
        .send()
        .await
        .expect("send");
    let r = read_reply(resp).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // A form value that is not an integer is reported with its path.
    let resp = app
        .client
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=form%40example.org&client_secret=form-1&send_attempt=first")
        .send()
        .await
        .expect("send");
    let r = read_reply(resp).await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
    assert!(r.text.contains("/send_attempt"));
}

#[tokio::test]
async fn v2_does_not_take_form_bodies() {
    let app = TestApp::start().await;
    let token = app.token_for("@f:hs.test").await;
    let resp = app
        .client
        .post(format!(
            "{}/_matrix/identity/v2/validate/email/requestToken",
            app.base
        ))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("email=form%40example.org&client_secret=form-1&send_attempt=1")
        .send()
        .await
        .expect("send");
    let r = read_reply(resp).await;
    assert_eq!((r.status, r.errcode()), (400, "M_BAD_JSON"), "{}", r.text);
}

#[tokio::test]
async fn a_client_that_never_finishes_its_request_head_is_disconnected() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::start_with(|c| c.server.request_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /_matrix/identity/v2 HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = std::time::Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), slow.read(&mut buf))
        .await
        .expect("the server closes the connection well before 10 s");
    // Closed (EOF or reset), without an answer to the unfinished request.
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    // A client that finishes its head in time is answered on the same server.
    let resp = app
        .client
        .get(format!("{}/_matrix/identity/v2", app.base))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
}
