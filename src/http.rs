//! The axum application: the generated router around our `Api`, plus the cross-cutting layers
//! (CORS, request ids, tracing without secrets, timeouts, body limits, panic safety) and the
//! rule that every error leaves as Matrix JSON.

use crate::api::Api;
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use oxident_api::rt::{ErrCode, MatrixError};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Request ids: a per-process prefix and a counter (cheap, unique, not secret).
#[derive(Clone)]
struct Counter {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for Counter {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{:08x}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

/// The whole application; tests call this without a socket.
pub fn app(state: Arc<AppState>) -> axum::Router {
    let body_limit = state.config.server.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs.max(1));
    let prefix = u32::try_from(state.now_ms().rem_euclid(1 << 31)).unwrap_or(0);
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::ORIGIN,
            HeaderName::from_static("x-requested-with"),
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
        ]);
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request<Body>| {
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-");
        // The path only: query strings carry client secrets and (deprecated) access tokens.
        tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
    });
    // In a ServiceBuilder the first layer is the outermost; of two `Router::layer` calls the
    // later one is outside. `json_errors` sits between the framework layers that answer in
    // plain text (body limit, timeout, panic) and the ones that must see every answer.
    let outer = tower::ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(
            REQUEST_ID.clone(),
            Counter {
                prefix,
                next: Arc::new(AtomicU64::new(1)),
            },
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
        ]))
        .layer(trace)
        .layer(cors);
    oxident_api::server::router(Arc::new(Api(state)))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(CatchPanicLayer::new())
        .layer(axum::middleware::map_response(json_errors))
        .layer(outer)
}

/// Turns any error response that is not already JSON or a page of ours (framework 413, 408,
/// panics, ...) into a Matrix error body with the same status.
async fn json_errors(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (errcode, text) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (ErrCode::TooLarge, "Request body too large"),
        StatusCode::REQUEST_TIMEOUT => (ErrCode::Unknown, "Request timed out"),
        StatusCode::NOT_FOUND => (ErrCode::Unrecognized, "Unrecognized request"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrCode::Unrecognized, "Method not allowed"),
        s if s.is_server_error() => (ErrCode::Unknown, "Internal server error"),
        _ => (ErrCode::Unknown, "Request failed"),
    };
    let error = MatrixError::new(status.as_u16(), errcode, text);
    oxident_api::rt::server::error_response(&error)
}
