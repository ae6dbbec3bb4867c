//! The operator listener: `GET /health`, `GET /ready` and `GET /metrics`, nothing else.
//! Plain HTTP/1.1 with no caps or hooks of the client port: its clients are the operator's own
//! probes and scrapers.

use super::health::Readiness;
use super::metrics::{self, Metrics};
use crate::error::ApiError;
use http::{Method, Response, StatusCode, header};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// What the operator listener answers from.
#[derive(Debug, Clone, Default)]
pub struct Ops {
    pub metrics: Arc<Metrics>,
    pub readiness: Arc<Readiness>,
}

/// How long one connection may take over a request: probes and scrapes are quick, and a
/// connection left open must not hold a task for ever.
const CONNECTION_LIMIT: Duration = Duration::from_secs(30);

/// Serves the operator listener until `shutdown` completes.
pub async fn serve(listener: TcpListener, ops: Ops, shutdown: impl Future<Output = ()>) {
    crate::edge::serve::serve_plain(
        listener,
        move |method, path| {
            let ops = ops.clone();
            async move { answer(&ops, &method, &path).await }
        },
        CONNECTION_LIMIT,
        shutdown,
    )
    .await;
}

/// The answer to one request.
pub async fn answer(ops: &Ops, method: &Method, path: &str) -> Response<String> {
    if method != Method::GET && method != Method::HEAD {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unrecognized("the operator listener only answers GET".into()),
        );
    }
    match path {
        "/health" => json(StatusCode::OK, &serde_json::json!({"status": "ok"})),
        "/ready" => {
            let (ready, report) = ops.readiness.report();
            let status = if ready {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            json(status, &report)
        }
        "/metrics" => respond(
            StatusCode::OK,
            metrics::CONTENT_TYPE,
            ops.metrics.scrape().await,
        ),
        _ => error(
            StatusCode::NOT_FOUND,
            ApiError::Unrecognized(
                "the operator listener answers /health, /ready and /metrics".into(),
            ),
        ),
    }
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response<String> {
    respond(status, "application/json", value.to_string())
}

/// A Matrix error body (the same shape as on the client port) with the status an unknown path
/// or method gets there.
fn error(status: StatusCode, e: ApiError) -> Response<String> {
    let body = serde_json::json!({"errcode": e.errcode().as_str(), "error": e.to_string()});
    json(status, &body)
}

fn respond(status: StatusCode, content_type: &'static str, body: String) -> Response<String> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}
