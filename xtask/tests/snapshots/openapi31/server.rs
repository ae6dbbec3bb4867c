#![cfg_attr(rustfmt, rustfmt::skip)]
//! The handler trait, the dispatcher that routes requests to it, and an axum router
//! built on the dispatcher.
use ::axum::http::Method;
use crate::rt::server::PathRoutes;
use crate::{invites, legacy};
use crate::rt::server::{Answer, RequestContext};

/// The whole API: one trait per spec file (below), each with its own error type, and
/// how errors are written. The dispatcher validates and decodes every request before
/// a method is called, so implementations see typed, schema-valid values only.
pub trait FixtureOpenapi31Api: InvitesApi + LegacyApi + Send + Sync + 'static {
    /// How a request no operation takes is refused (an unknown path, a method the path
    /// does not answer, a path parameter that does not decode): as the API's error
    /// type writes the [`crate::rt::Rejection`].
    /// By default as `InvitesApi::Error` writes it; an implementation whose files fail with different error types may choose here.
    fn write_rejection(rejection: crate::rt::Rejection) -> ::axum::response::Response {
        ::axum::response::IntoResponse::into_response(
            <<Self as InvitesApi>::Error as From<crate::rt::Rejection>>::from(rejection),
        )
    }
}

/// The operations of `invites.yaml`, one method each; `Error` is what they fail with, and the shape every error of theirs is written in: the runtime's own refusals (bad body, invalid parameter, …) become an `Error` too.
pub trait InvitesApi: Send + Sync + 'static {
    type Error: From<crate::rt::Rejection> + ::axum::response::IntoResponse + Send;

    /// `GET /_fixture/invites/v3/2fa` (`2faStatus`):
    /// An operationId that starts with a digit.
    fn op_2fa_status(
        &self,
        ctx: &RequestContext,
    ) -> impl Answer<invites::op_2fa_status::Response, Self::Error>;

    /// `POST /_fixture/invites/v3/invite` (`storeInvite`):
    /// Store an invite.
    fn store_invite(
        &self,
        ctx: &RequestContext,
        body: invites::store_invite::RequestBody,
    ) -> impl Answer<invites::store_invite::Response, Self::Error>;

    /// `GET /_fixture/invites/v3/invite/{token}` (`getInvite`):
    /// Look an invite up.
    fn get_invite(
        &self,
        ctx: &RequestContext,
        params: invites::get_invite::Params,
    ) -> impl Answer<invites::get_invite::Response, Self::Error>;
}

/// The operations of `legacy.yaml`, one method each; `Error` is what they fail with, and the shape every error of theirs is written in: the runtime's own refusals (bad body, invalid parameter, …) become an `Error` too.
pub trait LegacyApi: Send + Sync + 'static {
    type Error: From<crate::rt::Rejection> + ::axum::response::IntoResponse + Send;

    /// `GET /_fixture/legacy/status` (`getStatus`, deprecated):
    /// Legacy status.
    fn get_status(
        &self,
        ctx: &RequestContext,
    ) -> impl Answer<legacy::get_status::Response, Self::Error>;
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

impl Route {
    /// The operation's `operationId`, as the spec spells it.
    pub const fn operation_id(self) -> &'static str {
        match self {
            Route::Op2faStatus => "2faStatus",
            Route::StoreInvite => "storeInvite",
            Route::GetInvite => "getInvite",
            Route::GetStatus => "getStatus",
        }
    }
}

/// The templated paths, each with its methods' routes, in the order they are tried
/// (more literal segments first).
static TEMPLATED: &[PathRoutes<Route>] = &[
    ("/_fixture/invites/v3/invite/{token}", &[(Method::GET, Route::GetInvite)]),
];

/// The operation for `method` and `path` (as sent, still percent-encoded) and its
/// path parameters, decoded. An unknown path is a 404 rejection, a known path with
/// another method a 405 with the `Allow` header's methods, a path parameter that is
/// not UTF-8 once decoded a 400. Literal paths are one
/// `match` (each with its methods' routes); templated ones are tried after them.
pub fn route(
    method: &Method,
    path: &str,
) -> Result<(Route, Vec<(String, String)>), crate::rt::Rejection> {
    let literal: &[(Method, Route)] = match path {
        "/_fixture/invites/v3/2fa" => &[(Method::GET, Route::Op2faStatus)],
        "/_fixture/invites/v3/invite" => &[(Method::POST, Route::StoreInvite)],
        "/_fixture/legacy/status" => &[(Method::GET, Route::GetStatus)],
        _ => &[],
    };
    crate::rt::server::find_route(method, path, literal, TEMPLATED)
}

/// Answers `request` with its operation's handler: decoding, validation, the call,
/// and the JSON (or page) written back. `peer` is the client's address as the accept
/// loop knows it. One allocation per request (the handler's boxed future); nothing
/// about the API is cloned. Each route is `call!(serve_kind, module::operation,
/// parts…)`: the operation's `Op` served with that kind of answer, calling the
/// method of the same name with the context and the parts the operation has (`A::method`,
/// fully qualified: an operation may be named like a method of `Arc`).
pub fn dispatch<A: FixtureOpenapi31Api>(
    api: &::std::sync::Arc<A>,
    request: ::axum::extract::Request,
    peer: Option<::std::net::SocketAddr>,
) -> crate::rt::server::ResponseFuture {
    let (route, path_params) = match route(request.method(), request.uri().path()) {
        Ok(found) => found,
        Err(e) => return crate::rt::server::ready(A::write_rejection(e)),
    };
    use crate::rt::server::{Routed, serve_json};
    let routed = Routed {
        request,
        peer,
        path_params,
    };
    let api = ::std::sync::Arc::clone(api);
    macro_rules! call {
        ($serve:ident, $m:ident::$o:ident) => {
            $serve(routed, $m::$o::Op, move |ctx, (), ()| async move {
                A::$o(&api, &ctx).await
            })
        };
        ($serve:ident, $m:ident::$o:ident, params) => {
            $serve(routed, $m::$o::Op, move |ctx, params, ()| async move {
                A::$o(&api, &ctx, params).await
            })
        };
        ($serve:ident, $m:ident::$o:ident, body) => {
            $serve(routed, $m::$o::Op, move |ctx, (), body| async move {
                A::$o(&api, &ctx, body).await
            })
        };
        ($serve:ident, $m:ident::$o:ident, params, body) => {
            $serve(routed, $m::$o::Op, move |ctx, params, body| async move {
                A::$o(&api, &ctx, params, body).await
            })
        };
    }
    match route {
        Route::Op2faStatus => call!(serve_json, invites::op_2fa_status),
        Route::StoreInvite => call!(serve_json, invites::store_invite, body),
        Route::GetInvite => call!(serve_json, invites::get_invite, params),
        Route::GetStatus => call!(serve_json, legacy::get_status),
    }
}

/// Every route of the specification as an axum router (for services that mount the
/// API beside routes of their own): [`dispatch`] as its fallback, with the peer
/// address from `ConnectInfo` when the server provides it. Behind the `router`
/// feature: a server that calls [`dispatch`] itself does not build axum's router.
#[cfg(feature = "router")]
pub fn router<A: FixtureOpenapi31Api>(api: ::std::sync::Arc<A>) -> ::axum::Router {
    ::axum::Router::new()
        .fallback(move |request: ::axum::extract::Request| {
            let peer = request
                .extensions()
                .get::<::axum::extract::ConnectInfo<::std::net::SocketAddr>>()
                .map(|c| c.0);
            dispatch(&api, request, peer)
        })
}
