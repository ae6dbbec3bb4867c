//! Every error leaves as Matrix JSON: the edge's own answers (413, 408, 500 after a panic) and
//! any error response without a JSON body get one with the same status.

use super::Body;
use http::{Response, StatusCode, header};
use oxident_api::rt::{ErrCode, MatrixError};

pub(super) fn too_large() -> Response<Body> {
    oxident_api::rt::server::error_response(&MatrixError::new(
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
    oxident_api::rt::server::error_response(&MatrixError::new(
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
    oxident_api::rt::server::error_response(&error)
}
