//! Every error leaves as Matrix JSON: the handlers' and the dispatcher's (`ApiError` is the
//! generated API's error type, written here), the edge's own answers (413, 408, 500 after a
//! panic) and any error response without a JSON body get one with the same status.

use super::Body;
use crate::error::{ApiError, ErrCode, MatrixError};
use http::{HeaderValue, Response, StatusCode, header};
use oxident_api::rt::server::{json_bytes, with_allow};

/// The generated dispatcher writes every error of ours, the runtime's refusals included
/// (`ApiError::Rejected`), through this.
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> Response<Body> {
        matrix_response(&MatrixError::from(self))
    }
}

/// A Matrix error on the wire: its JSON body and status, `Retry-After` where it says when to
/// come back, `Allow` on a 405.
pub(crate) fn matrix_response(e: &MatrixError) -> Response<Body> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = serde_json::to_vec(&e.body()).unwrap_or_default();
    let mut response = json_bytes(status, bytes);
    // A 503 says when to retry only if its body does (a database outage does).
    if status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::SERVICE_UNAVAILABLE && e.extra.contains_key("retry_after_ms"))
    {
        // RFC 9110 §10.2.3 in whole seconds, rounded up from `retry_after_ms` (at least 1).
        let ms = e
            .extra
            .get("retry_after_ms")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(1000);
        let secs = ms.div_ceil(1000).max(1);
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    with_allow(response, e.allow.as_deref())
}

pub(super) fn too_large() -> Response<Body> {
    matrix_response(&MatrixError::new(
        413,
        ErrCode::TooLarge,
        "Request body too large",
    ))
}

pub(super) fn panicked(payload: &(dyn std::any::Any + Send)) -> Response<Body> {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "request handler panicked");
    matrix_response(&MatrixError::new(
        500,
        ErrCode::Unknown,
        "Internal server error",
    ))
}

pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

/// Turns any error response that is not already JSON or a page of ours (framework 413, 408,
/// panics, ...) into a Matrix error body with the same status.
pub(super) fn json_errors(response: Response<Body>) -> Response<Body> {
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
    matrix_response(&error)
}
