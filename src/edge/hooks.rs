//! Cross-cutting concerns as hooks: each is told about every request as it arrives and about
//! its answer just before it leaves, inside the request's log scope. Adding one (metrics are
//! next) is a new `impl Hook` registered in [`App::with_hooks`](super::App::with_hooks); the
//! request future does not change.

use super::Body;
use crate::logging::RequestInfo;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use std::time::Duration;

/// One cross-cutting concern.
pub trait Hook: Send + Sync + 'static {
    /// Answers the request instead of the handler (a CORS preflight, say). The first hook
    /// that answers wins; the answer still passes through every [`Hook::on_response`].
    fn intercept(&self, _request: &Request<Body>) -> Option<Response<Body>> {
        None
    }

    /// Whether this hook wants the request's duration (measured only when one does).
    fn wants_timing(&self) -> bool {
        false
    }

    /// Sees (and may amend) the final answer: after panics, timeouts and non-JSON errors
    /// were turned into Matrix JSON, before the request id header is set.
    fn on_response(
        &self,
        _request: &RequestInfo,
        _response: &mut Response<Body>,
        _elapsed: Option<Duration>,
    ) {
    }
}

/// The spec's recommended CORS headers "on all requests" (IS §Web browser clients), which is
/// what preflights are answered with too.
static ALLOW_ORIGIN: HeaderValue = HeaderValue::from_static("*");
pub(super) static ALLOW_METHODS: HeaderValue =
    HeaderValue::from_static("GET,POST,PUT,DELETE,OPTIONS");
pub(super) static ALLOW_HEADERS: HeaderValue =
    HeaderValue::from_static("origin,x-requested-with,content-type,accept,authorization");
/// What a preflight answer varies with (the request headers a cache must key on).
static PREFLIGHT_VARY: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// CORS (was tower-http `Cors`): every `OPTIONS` request is a preflight, answered as
/// tower-http answers it (a unit test compares the two); every other answer gets the spec's
/// three headers as static values.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cors;

impl Hook for Cors {
    fn intercept(&self, request: &Request<Body>) -> Option<Response<Body>> {
        (request.method() == Method::OPTIONS).then(preflight_answer)
    }

    fn on_response(
        &self,
        request: &RequestInfo,
        response: &mut Response<Body>,
        _: Option<Duration>,
    ) {
        if request.method == Method::OPTIONS {
            return;
        }
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW_ORIGIN.clone());
        headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS.clone());
        headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS.clone());
    }
}

/// A preflight's answer: what tower-http's `Cors` answers with any origin and the lists of
/// [`ALLOW_METHODS`] and [`ALLOW_HEADERS`], in its header order.
fn preflight_answer() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(header::VARY, PREFLIGHT_VARY.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW_ORIGIN.clone());
    response
}

/// The access log (was `TraceLayer`): 5xx answers at `error`, every answer at `debug`, with
/// the status and the duration; the request's id, method and path come from the log scope.
#[derive(Debug, Default, Clone, Copy)]
pub struct AccessLog;

impl Hook for AccessLog {
    fn wants_timing(&self) -> bool {
        tracing::enabled!(tracing::Level::DEBUG)
    }

    fn on_response(
        &self,
        _: &RequestInfo,
        response: &mut Response<Body>,
        elapsed: Option<Duration>,
    ) {
        let status = response.status();
        let latency_us = elapsed.map(|d| d.as_micros());
        // 502 is a peer the request itself named failing (a client's `matrix_server_name`):
        // no fault of this server, and logging it at `error` would let anyone fill the log.
        if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
            tracing::error!(status = status.as_u16(), latency_us, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), latency_us, "request finished");
        }
    }
}
