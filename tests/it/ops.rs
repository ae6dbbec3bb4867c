//! The operator listener: `/health`, `/ready` and `/metrics` (issue "operations").

use crate::common::{TestApp, backend_is_postgres};
use crate::fake_homeserver::FakeHomeserver;
use crate::fake_sms_gateway::FakeSmsGateway;
use crate::homeserver::bind;
use oxident::crypto::lookup_hash;
use oxident::sms::GatewayKind;
use oxident::sms::config::Secret;
use prometheus_parse::{Scrape, Value};
use serde_json::json;
use std::time::Duration;
use tokio::io::AsyncReadExt as _;

async fn with_metrics() -> TestApp {
    TestApp::start_with(|c| c.metrics.bind = Some("127.0.0.1:0".parse().expect("address"))).await
}

async fn fetch(app: &TestApp, path: &str) -> (u16, String) {
    let base = app.ops_base.as_deref().expect("operator listener");
    let r = app
        .client
        .get(format!("{base}{path}"))
        .send()
        .await
        .expect("operator listener answers");
    (r.status().as_u16(), r.text().await.expect("body"))
}

/// The exposition, parsed; every sample line must be one the parser understood.
async fn scrape(app: &TestApp) -> Scrape {
    let (status, text) = fetch(app, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("parses");
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let name = line.split(['{', ' ']).next().unwrap_or(line);
        let base = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        assert!(
            scrape
                .samples
                .iter()
                .any(|s| s.metric == name || s.metric == base),
            "the parser dropped `{line}`"
        );
    }
    scrape
}

fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match &s.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
            Value::Histogram(buckets) => buckets.last().map_or(0.0, |b| b.count),
            Value::Summary(_) => f64::NAN,
        })
}

#[tokio::test]
async fn requests_are_counted_by_operation_and_status() {
    let app = with_metrics().await;
    for _ in 0..3 {
        assert_eq!(
            app.get("pingV2", "/_matrix/identity/v2", None).await.status,
            200
        );
    }
    let r = app
        .get("getAccount", "/_matrix/identity/v2/account", None)
        .await;
    assert_eq!(r.status, 401);
    let unknown = app
        .client
        .get(format!("{}/_matrix/identity/v2/nowhere", app.base))
        .send()
        .await
        .expect("answer");
    assert_eq!(unknown.status().as_u16(), 404);

    let scrape = scrape(&app).await;
    let requests = |operation: &str, status: &str| {
        value(
            &scrape,
            "oxident_http_requests_total",
            &[("operation", operation), ("status", status)],
        )
    };
    assert_eq!(requests("pingV2", "200"), Some(3.0));
    assert_eq!(requests("getAccount", "401"), Some(1.0));
    assert_eq!(requests("none", "404"), Some(1.0));
    assert_eq!(requests("pingV2", "404"), None);
    // Every ping has its duration observed: the histogram's count is the number of pings.
    assert_eq!(
        value(
            &scrape,
            "oxident_http_request_duration_seconds",
            &[("operation", "pingV2")]
        ),
        Some(3.0)
    );
    assert_eq!(
        value(
            &scrape,
            "oxident_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
}

#[tokio::test]
async fn health_and_readiness_answer_json() {
    let app = with_metrics().await;
    let (status, body) = fetch(&app, "/health").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let (status, body) = fetch(&app, "/ready").await;
    assert_eq!(status, 200, "{body}");
    let report: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(report["ready"], true);
    assert_eq!(report["checks"]["store"], "reachable");
    let (status, body) = fetch(&app, "/nothing").await;
    assert_eq!(status, 404);
    let error: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(error["errcode"], "M_UNRECOGNIZED");
}

#[tokio::test]
async fn without_metrics_no_request_is_counted() {
    let app = TestApp::start().await;
    assert_eq!(
        app.get("pingV2", "/_matrix/identity/v2", None).await.status,
        200
    );
    assert!(app.ops_base.is_none());
    let text = app.state().ops.metrics.encode();
    assert!(
        !text.contains("oxident_http_requests_total{"),
        "counted without [metrics] bind:\n{text}"
    );
}

/// Every family but the request ones (tested above) after a scripted flow, with its counts: a
/// validation mail and an invitation mail, a text sent and one the gateway refused, a
/// rate-limit refusal, an invite whose first delivery fails and whose retry succeeds, a v2
/// lookup, and a connection over the per-client cap. On PostgreSQL the change-log lag too.
#[tokio::test]
async fn every_family_counts_a_scripted_flow() {
    let hs = FakeHomeserver::start().await;
    let gw = FakeSmsGateway::start().await;
    let sms_url = gw.url("/sms/v4/mt");
    let app = TestApp::start_with(move |c| {
        c.metrics.bind = Some("127.0.0.1:0".parse().expect("address"));
        c.ratelimit.invite_per_address_per_hour = 1;
        c.server.max_connections_per_ip = 4;
        c.sms.gateway = Some(GatewayKind::Openmarket);
        c.sms.openmarket.url = sms_url;
        c.sms.openmarket.username = "om-user".into();
        c.sms.openmarket.password = Secret::new("om-pass");
        c.sms.originators = [("default".to_owned(), vec!["alpha:Oxident".to_owned()])].into();
    })
    .await;
    let counter = |scrape: &Scrape, metric: &str, labels: &[(&str, &str)]| {
        value(scrape, metric, labels).unwrap_or_else(|| panic!("no {metric} {labels:?}"))
    };

    // A text sent, then one the gateway refuses (a new attempt of the same session).
    let text = |attempt: i64| {
        json!({"client_secret": "sms-secret", "country": "GB", "phone_number": "07400 123456",
               "send_attempt": attempt})
    };
    let path = "/_matrix/identity/api/v1/validate/msisdn/requestToken";
    let r = app.post("msisdnRequestToken", path, text(1), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    gw.fail_with(500);
    let r = app.post("msisdnRequestToken", path, text(2), None).await;
    assert_eq!(r.errcode(), "M_SEND_ERROR", "{}", r.text);

    // An invitation mail, then a second invite to the same address over its limit.
    let invite = json!({"medium": "email", "address": "inv@example.org",
                        "room_id": "!a:example.org", "sender": "@bob:example.org"});
    let store = "/_matrix/identity/api/v1/store-invite";
    let r = app.post("storeInvite", store, invite.clone(), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    app.post("storeInvite", store, invite, None)
        .await
        .assert_limited();

    // A validation mail and a bind, whose invite delivery fails: the homeserver is down.
    hs.set_down(true);
    let mxid = format!("@carol:{}", hs.server_name());
    bind(&app, "inv@example.org", &mxid).await;
    let mut waiting = None;
    for _ in 0..200 {
        let scrape = scrape(&app).await;
        let failed = [("outcome", "failed")];
        if value(&scrape, "oxident_invite_deliveries_total", &failed) == Some(1.0) {
            waiting = Some(scrape);
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let waiting = waiting.expect("the first delivery attempt fails");
    assert_eq!(
        counter(&waiting, "oxident_invites_pending_delivery", &[]),
        1.0
    );
    app.clock.advance_ms(5_000);
    let waited = scrape(&app).await;
    assert_eq!(
        counter(
            &waited,
            "oxident_invites_pending_delivery_oldest_age_seconds",
            &[]
        ),
        5.0,
        "due since the first attempt, 5 s ago on the test's clock"
    );

    // The homeserver is back and the retry is due: delivered.
    hs.set_down(false);
    app.clock.advance_ms(30_000);
    app.state().deliveries.wake();
    hs.wait_for_onbinds(1).await;

    // A v2 lookup of the bound address, from the in-memory index.
    let token = app.token_for("@reader:example.org").await;
    let details = app
        .get(
            "getHashDetails",
            "/_matrix/identity/v2/hash_details",
            Some(&token),
        )
        .await;
    let pepper = details.json["lookup_pepper"].as_str().expect("pepper");
    let hash = lookup_hash("inv@example.org", "email", pepper);
    let body = json!({"algorithm": "sha256", "pepper": pepper, "addresses": [hash]});
    let r = app
        .post(
            "lookupUsersV2",
            "/_matrix/identity/v2/lookup",
            body,
            Some(&token),
        )
        .await;
    assert_eq!(r.json["mappings"][&hash], mxid.as_str(), "{}", r.text);

    // Connections up to the per-client cap, then one over it (answered 429 and closed).
    let mut held = Vec::new();
    let mut refused = false;
    for _ in 0..8 {
        let mut stream = tokio::net::TcpStream::connect(app.addr)
            .await
            .expect("connect");
        let mut head = [0u8; 12];
        let read = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut head)).await;
        if let Ok(Ok(n)) = read
            && head[..n].starts_with(b"HTTP/1.1 429")
        {
            let mut rest = Vec::new();
            let _ = stream.read_to_end(&mut rest).await;
            refused = true;
            break;
        }
        held.push(stream);
    }
    assert!(refused, "a connection over the cap is refused");

    // One scrape after the flow (the invite's state settles in the store first).
    let mut last = None;
    for _ in 0..200 {
        let scrape = scrape(&app).await;
        let settled = value(&scrape, "oxident_invites_pending_delivery", &[]) == Some(0.0)
            && (!backend_is_postgres()
                || value(&scrape, "oxident_association_log_lag", &[]) == Some(0.0));
        last = Some(scrape);
        if settled {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let scrape = last.expect("scraped");
    let brand = oxident::mail::templates::BUILTIN_BRAND;
    for (outcome, n) in [("sent", 2.0), ("failed", 0.0)] {
        assert_eq!(
            value(
                &scrape,
                "oxident_mails_total",
                &[
                    ("brand", brand),
                    ("transport", "smtp"),
                    ("outcome", outcome)
                ]
            )
            .unwrap_or(0.0),
            n,
            "mails {outcome}"
        );
    }
    for outcome in ["sent", "failed"] {
        assert_eq!(
            counter(
                &scrape,
                "oxident_texts_total",
                &[("transport", "openmarket"), ("outcome", outcome)]
            ),
            1.0,
            "texts {outcome}"
        );
    }
    for (outcome, n) in [
        ("delivered", 1.0),
        ("failed", 1.0),
        ("deferred", 0.0),
        ("given_up", 0.0),
    ] {
        assert_eq!(
            counter(
                &scrape,
                "oxident_invite_deliveries_total",
                &[("outcome", outcome)]
            ),
            n,
            "deliveries {outcome}"
        );
    }
    assert_eq!(
        counter(&scrape, "oxident_invites_pending_delivery", &[]),
        0.0
    );
    assert_eq!(
        counter(
            &scrape,
            "oxident_invites_pending_delivery_oldest_age_seconds",
            &[]
        ),
        0.0
    );
    let limited = |limit: &str| counter(&scrape, "oxident_rate_limited_total", &[("limit", limit)]);
    assert_eq!(limited("invite_per_address_per_hour"), 1.0);
    assert_eq!(
        limited("invite_per_ip_per_minute"),
        0.0,
        "it allowed the request"
    );
    assert_eq!(limited("request_token_per_ip_per_minute"), 0.0);
    assert_eq!(limited("sms.per_number_per_hour"), 0.0);
    assert_eq!(counter(&scrape, "oxident_lookup_index_entries", &[]), 1.0);
    assert!(counter(&scrape, "oxident_lookup_index_bytes", &[]) > 0.0);
    let pools: &[&str] = if backend_is_postgres() {
        &["main"]
    } else {
        &["reader", "writer"]
    };
    for pool in pools {
        let in_use = counter(
            &scrape,
            "oxident_store_connections",
            &[("pool", pool), ("state", "in_use")],
        );
        let idle = counter(
            &scrape,
            "oxident_store_connections",
            &[("pool", pool), ("state", "idle")],
        );
        assert!(in_use + idle >= 1.0, "the {pool} pool has a connection");
    }
    if backend_is_postgres() {
        assert_eq!(counter(&scrape, "oxident_association_log_lag", &[]), 0.0);
    } else {
        assert_eq!(value(&scrape, "oxident_association_log_lag", &[]), None);
    }
    assert_eq!(
        counter(
            &scrape,
            "oxident_connections_refused_total",
            &[("reason", "address_full")]
        ),
        1.0
    );
    assert_eq!(counter(&scrape, "oxident_connections_open", &[]), 4.0);
    assert_eq!(
        counter(
            &scrape,
            "oxident_http_requests_total",
            &[("operation", "lookupUsersV2"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(
        counter(
            &scrape,
            "oxident_build_info",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("commit", "unknown")
            ]
        ),
        1.0
    );
    drop(held);

    // The dashboard shows every family the server exports.
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/grafana/oxident.json"),
    )
    .expect("the Grafana dashboard");
    let families: std::collections::BTreeSet<&str> =
        scrape.docs.keys().map(String::as_str).collect();
    let missing: Vec<&&str> = families
        .iter()
        .filter(|f| !dashboard.contains(**f))
        .collect();
    assert!(missing.is_empty(), "not on the dashboard: {missing:?}");
}
