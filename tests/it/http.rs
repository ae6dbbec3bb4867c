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
    // RFC 9110 §15.5.6: a 405 lists the methods the path answers.
    assert_eq!(r.headers["allow"], "OPTIONS, POST");
    let r = read_reply(
        app.client
            .delete(format!(
                "{}/_matrix/identity/v2/validate/email/submitToken",
                app.base
            ))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (405, "M_UNRECOGNIZED"));
    assert_eq!(r.headers["allow"], "GET, HEAD, OPTIONS, POST");
    let r = read_reply(
        app.client
            .put(format!("{}/_matrix/identity/v2/pubkey/ed25519:0", app.base))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (405, "M_UNRECOGNIZED"));
    assert_eq!(r.headers["allow"], "GET, HEAD, OPTIONS");
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

/// The generated dispatcher keeps the routing rules of axum's router, which it replaced.
#[tokio::test]
async fn routing_follows_the_rules_of_the_router_it_replaced() {
    let app = TestApp::start().await;
    let send = |method: reqwest::Method, path: &str| {
        app.client
            .request(method, format!("{}{path}", app.base))
            .send()
    };
    // HEAD on a GET route: the GET answer's status and headers, no body.
    let head = send(reqwest::Method::HEAD, "/_matrix/identity/v2")
        .await
        .expect("send");
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()["content-type"], "application/json");
    assert_eq!(head.headers()["access-control-allow-origin"], "*");
    assert!(head.text().await.expect("body").is_empty());
    // A literal path wins over a template that would also match it; its other methods are 405.
    let r = app
        .get(
            "isPubKeyValidV2",
            "/_matrix/identity/v2/pubkey/isvalid?public_key=x",
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.json["valid"].as_bool()),
        (200, Some(false)),
        "{}",
        r.text
    );
    let r = read_reply(
        send(reqwest::Method::POST, "/_matrix/identity/v2/pubkey/isvalid")
            .await
            .expect("send"),
    )
    .await;
    assert_eq!((r.status, r.errcode()), (405, "M_UNRECOGNIZED"));
    // A parameter is one non-empty segment; no trailing slashes are added or removed.
    for path in [
        "/_matrix/identity/v2/pubkey/",
        "/_matrix/identity/v2/pubkey/a/b",
        "/_matrix/identity/v2/",
        "/_matrix/identity/v2/hash_details/",
        "//_matrix/identity/v2",
    ] {
        let r = read_reply(send(reqwest::Method::GET, path).await.expect("send")).await;
        assert_eq!((r.status, r.errcode()), (404, "M_UNRECOGNIZED"), "{path}");
        assert!(r.json["error"].is_string(), "{path}");
    }
    // A parameter that does not decode to UTF-8 is a bad parameter, answered as the spec's
    // error for the operation.
    let r = app
        .get(
            "getPubKeyV2",
            "/_matrix/identity/v2/pubkey/ed25519%FF0",
            None,
        )
        .await;
    assert_eq!(
        (r.status, r.errcode()),
        (400, "M_INVALID_PARAM"),
        "{}",
        r.text
    );
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

/// The stall guard counts request heads: a connection that keeps sending requests stays
/// open across many periods, and one left idle is closed within two.
#[tokio::test]
async fn busy_connections_stay_open_and_idle_ones_are_closed() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let app = TestApp::start_with(|c| c.server.request_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    let mut buf = vec![0u8; 4096];
    // Six requests, 400 ms apart: 2.4 s, over two periods of 1 s, on one connection.
    for i in 0..6 {
        conn.write_all(b"GET /_matrix/identity/v2 HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read(&mut buf))
            .await
            .expect("an answer")
            .expect("read");
        let head = String::from_utf8_lossy(&buf[..n]);
        assert!(head.starts_with("HTTP/1.1 200"), "request {i}: {head}");
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    }
    // Now idle: closed within two periods (and not at once).
    let started = std::time::Instant::now();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), conn.read(&mut buf))
        .await
        .expect("the server closes an idle connection well before 10 s");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let idle = started.elapsed();
    assert!(idle <= std::time::Duration::from_millis(2500), "{idle:?}");
}

/// Sends raw bytes on a new connection and reads the whole answer (the server closes it).
async fn raw_exchange(app: &TestApp, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(app.addr)
        .await
        .expect("connect");
    // The server may answer and close before reading everything: a failed write is fine.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answers and closes");
    String::from_utf8_lossy(&answer).into_owned()
}

/// Answers hyper makes before the app — a request it cannot parse — are Matrix JSON too.
#[tokio::test]
async fn answers_made_before_the_app_are_matrix_json() {
    let app = TestApp::start().await;
    let long_uri = format!(
        "GET /_matrix/identity/v2?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let big_headers = format!(
        "GET /_matrix/identity/v2 HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(12_000)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("bad request line", b"GARBAGE\r\n\r\n".to_vec(), "400"),
        (
            "duplicate Content-Length",
            b"POST /_matrix/identity/v2/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}".to_vec(),
            "400",
        ),
        (
            "invalid Content-Length",
            b"POST /_matrix/identity/v2/lookup HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".to_vec(),
            "400",
        ),
        (
            "invalid UTF-8 in the path",
            b"GET /_matrix/identity/v2/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            "400",
        ),
        ("URI too long", long_uri.into_bytes(), "414"),
        ("header fields too large", big_headers.into_bytes(), "431"),
    ];
    for (what, request, status) in cases {
        let answer = raw_exchange(&app, &request).await;
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("{what}: no answer: {answer:?}"));
        assert!(
            head.starts_with(&format!("HTTP/1.1 {status} ")),
            "{what}: {head}"
        );
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{what}: {head}"
        );
        let json: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: {e}: {body:?}"));
        assert!(
            json["errcode"]
                .as_str()
                .is_some_and(|c| c.starts_with("M_")),
            "{what}: {json}"
        );
        assert!(json["error"].is_string(), "{what}: {json}");
    }
}

/// A connection to `addr` from the loopback address `from` (127.0.0.x are all loopback).
async fn connect_from(from: [u8; 4], addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(std::net::SocketAddr::from((from, 0)))
        .expect("bind");
    socket.connect(addr).await.expect("connect")
}

/// Reads until the peer closes (bounded).
async fn read_all(stream: &mut tokio::net::TcpStream) -> String {
    use tokio::io::AsyncReadExt as _;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("answered and closed in time");
    String::from_utf8_lossy(&answer).into_owned()
}

/// A status request with `Connection: close`, from `from`; the whole answer.
async fn status_from(from: [u8; 4], addr: std::net::SocketAddr) -> String {
    use tokio::io::AsyncWriteExt as _;
    let mut stream = connect_from(from, addr).await;
    stream
        .write_all(b"GET /_matrix/identity/v2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("send");
    read_all(&mut stream).await
}

/// Slow connections cannot starve everyone: one address holds at most its share (further
/// connections get 429 at once), the server as a whole at most its total (503 at once), both
/// Matrix JSON with Retry-After, and other clients keep being served.
#[tokio::test]
async fn connection_caps_keep_serving_others() {
    let app = TestApp::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let limits = oxident::connection_limits::ConnectionLimits {
        total: 8,
        per_ip: 3,
        exempt: Vec::new(),
        ..oxident::connection_limits::ConnectionLimits::unlimited()
    };
    let edge = oxident::app(app.shared_state());
    let server = tokio::spawn(oxident::serve::serve_limited(
        listener,
        edge,
        std::time::Duration::from_secs(60),
        None,
        limits,
        std::future::pending(),
    ));

    // An attacker's slow connections: three are held, the fourth is refused at once.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from([127, 0, 0, 1], addr).await);
    }
    // Let the server count them before the next one arrives.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut refused = connect_from([127, 0, 0, 1], addr).await;
    let answer = read_all(&mut refused).await;
    assert!(answer.starts_with("HTTP/1.1 429 "), "{answer}");
    assert!(answer.contains("retry-after: 1") && answer.contains("\"M_LIMIT_EXCEEDED\""));

    // Everyone else is still served.
    let answer = status_from([127, 0, 0, 2], addr).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");

    // Fill the server from more addresses: then it is full for everyone (503).
    for from in [
        [127, 0, 0, 3],
        [127, 0, 0, 3],
        [127, 0, 0, 3],
        [127, 0, 0, 4],
        [127, 0, 0, 4],
    ] {
        held.push(connect_from(from, addr).await);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let answer = status_from([127, 0, 0, 5], addr).await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    let body = answer.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let json: serde_json::Value = serde_json::from_str(body).expect("JSON");
    assert!(json["errcode"].is_string() && json["error"].is_string());

    // Places come back when connections close.
    held.clear();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let answer = status_from([127, 0, 0, 1], addr).await;
        if answer.starts_with("HTTP/1.1 200 ") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "places not freed: {answer}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    server.abort();
}
