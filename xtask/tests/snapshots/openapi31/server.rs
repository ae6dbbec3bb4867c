#![cfg_attr(rustfmt, rustfmt::skip)]
//! The handler trait, the dispatcher that routes requests to it, and an axum router
//! built on the dispatcher.
use axum::http::Method;
use crate::rt::server::RequestContext;
use std::future::Future;

/// The whole API: one trait per spec file (below), each with its own error type, and
/// how errors are written. The dispatcher validates and decodes every request before
/// a method is called, so implementations see typed, schema-valid values only.
pub trait FixtureOpenapi31Api: InvitesApi + LegacyApi + Send + Sync + 'static {
    /// How every error answer is written (validation, routing and the methods' own):
    /// Matrix's `{"errcode", "error"}` JSON unless the implementation gives its API's
    /// shape instead.
    fn write_error(error: &crate::rt::MatrixError) -> axum::response::Response {
        crate::rt::server::error_response(error)
    }
}

/// The operations of `invites.yaml`, one method each; `Error` is what they fail with (anything that becomes the runtime's error answer).
pub trait InvitesApi: Send + Sync + 'static {
    type Error: Into<crate::rt::MatrixError> + Send;

    /// `GET /_fixture/invites/v3/2fa` (`2faStatus`):
    /// An operationId that starts with a digit.
    fn op_2fa_status(
        &self,
        ctx: &RequestContext,
    ) -> impl Future<
        Output = Result<crate::invites::op_2fa_status::Response, Self::Error>,
    > + Send;

    /// `POST /_fixture/invites/v3/invite` (`storeInvite`):
    /// Store an invite.
    fn store_invite(
        &self,
        ctx: &RequestContext,
        body: crate::invites::store_invite::RequestBody,
    ) -> impl Future<
        Output = Result<crate::invites::store_invite::Response, Self::Error>,
    > + Send;

    /// `GET /_fixture/invites/v3/invite/{token}` (`getInvite`):
    /// Look an invite up.
    fn get_invite(
        &self,
        ctx: &RequestContext,
        params: crate::invites::get_invite::Params,
    ) -> impl Future<
        Output = Result<crate::invites::get_invite::Response, Self::Error>,
    > + Send;
}

/// The operations of `legacy.yaml`, one method each; `Error` is what they fail with (anything that becomes the runtime's error answer).
pub trait LegacyApi: Send + Sync + 'static {
    type Error: Into<crate::rt::MatrixError> + Send;

    /// `GET /_fixture/legacy/status` (`getStatus`, deprecated):
    /// Legacy status.
    fn get_status(
        &self,
        ctx: &RequestContext,
    ) -> impl Future<
        Output = Result<crate::legacy::get_status::Response, Self::Error>,
    > + Send;
}

/// The operation a request is for, as [`route`] finds it: one variant per operation,
/// named after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Op2faStatus,
    StoreInvite,
    GetInvite,
    GetStatus,
}

/// The operation for `method` and `path` (as sent, still percent-encoded) and its
/// path parameters, decoded. An unknown path is `404 M_UNRECOGNIZED`, a known path
/// with another method `405 M_UNRECOGNIZED` with an `Allow` header, a path parameter that is not UTF-8 once
/// decoded `400 M_INVALID_PARAM`. Literal paths are one `match`; templated ones are
/// tried after them.
pub fn route(
    method: &Method,
    path: &str,
) -> Result<(Route, Vec<(String, String)>), crate::rt::MatrixError> {
    #[allow(clippy::single_match, reason = "generated: one arm per literal path")]
    match path {
        "/_fixture/invites/v3/2fa" => {
            let path_params = Vec::new();
            if *method == Method::GET || *method == Method::HEAD {
                return Ok((Route::Op2faStatus, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("GET, HEAD, OPTIONS"));
        }
        "/_fixture/invites/v3/invite" => {
            let path_params = Vec::new();
            if *method == Method::POST {
                return Ok((Route::StoreInvite, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("OPTIONS, POST"));
        }
        "/_fixture/legacy/status" => {
            let path_params = Vec::new();
            if *method == Method::GET || *method == Method::HEAD {
                return Ok((Route::GetStatus, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("GET, HEAD, OPTIONS"));
        }
        _ => {}
    }
    if let Some(found) = crate::rt::server::match_template(
        path,
        "/_fixture/invites/v3/invite/{token}",
    ) {
        let path_params = found?;
        if *method == Method::GET || *method == Method::HEAD {
            return Ok((Route::GetInvite, path_params));
        }
        return Err(crate::rt::MatrixError::method_not_allowed("GET, HEAD, OPTIONS"));
    }
    Err(crate::rt::MatrixError::not_found())
}

/// Answers `request` with its operation's handler: decoding, validation, the call,
/// and the JSON (or page) written back. `peer` is the client's address as the accept
/// loop knows it. One allocation per request (the handler's boxed future); nothing
/// about the API is cloned.
pub fn dispatch<A: FixtureOpenapi31Api>(
    api: &std::sync::Arc<A>,
    request: axum::extract::Request,
    peer: Option<std::net::SocketAddr>,
) -> crate::rt::server::ResponseFuture {
    let (route, path_params) = match route(request.method(), request.uri().path()) {
        Ok(found) => found,
        Err(e) => return crate::rt::server::ready(A::write_error(&e)),
    };
    use crate::rt::server::{Routed, serve_json};
    let routed = Routed {
        request,
        peer,
        path_params,
        on_error: A::write_error,
    };
    let api = std::sync::Arc::clone(api);
    match route {
        Route::Op2faStatus => {
            serve_json(
                routed,
                crate::invites::op_2fa_status::Op,
                move |ctx, _, _| async move { A::op_2fa_status(&api, &ctx).await },
            )
        }
        Route::StoreInvite => {
            serve_json(
                routed,
                crate::invites::store_invite::Op,
                move |ctx, _, body| async move {
                    A::store_invite(&api, &ctx, body).await
                },
            )
        }
        Route::GetInvite => {
            serve_json(
                routed,
                crate::invites::get_invite::Op,
                move |ctx, params, _| async move {
                    A::get_invite(&api, &ctx, params).await
                },
            )
        }
        Route::GetStatus => {
            serve_json(
                routed,
                crate::legacy::get_status::Op,
                move |ctx, _, _| async move { A::get_status(&api, &ctx).await },
            )
        }
    }
}

/// Every route of the specification as an axum router (for services that mount the
/// API beside routes of their own): [`dispatch`] as its fallback, with the peer
/// address from `ConnectInfo` when the server provides it. Behind the `router`
/// feature: a server that calls [`dispatch`] itself does not build axum's router.
#[cfg(feature = "router")]
pub fn router<A: FixtureOpenapi31Api>(api: std::sync::Arc<A>) -> axum::Router {
    axum::Router::new()
        .fallback(move |request: axum::extract::Request| {
            let peer = request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0);
            dispatch(&api, request, peer)
        })
}
