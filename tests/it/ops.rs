//! The operator listener: `/health`, `/ready` and `/metrics` (issue "operations").

use crate::common::TestApp;
use prometheus_parse::{Scrape, Value};

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
