#![cfg_attr(rustfmt, rustfmt::skip)]
//! The handler trait, the dispatcher that routes requests to it, and an axum router
//! built on the dispatcher.
use ::axum::http::Method;
use crate::rt::server::PathRoutes;
use crate::{accounts, lookup};
use crate::rt::server::{Answer, RequestContext};

/// The whole API: one trait per spec file (below), each with its own error type, and
/// how errors are written. The dispatcher validates and decodes every request before
/// a method is called, so implementations see typed, schema-valid values only.
pub trait FixtureSwagger2Api: AccountsApi + LookupApi + Send + Sync + 'static {
    /// How a request no operation takes is refused (an unknown path, a method the path
    /// does not answer, a path parameter that does not decode): as the API's error
    /// type writes the [`crate::rt::Rejection`].
    /// By default as `AccountsApi::Error` writes it; an implementation whose files fail with different error types may choose here.
    fn write_rejection(rejection: crate::rt::Rejection) -> ::axum::response::Response {
        ::axum::response::IntoResponse::into_response(
            <<Self as AccountsApi>::Error as From<crate::rt::Rejection>>::from(rejection),
        )
    }
}

/// The operations of `accounts.yaml`, one method each; `Error` is what they fail with, and the shape every error of theirs is written in: the runtime's own refusals (bad body, invalid parameter, …) become an `Error` too.
pub trait AccountsApi: Send + Sync + 'static {
    type Error: From<crate::rt::Rejection> + ::axum::response::IntoResponse + Send;

    /// `POST /_fixture/api/v1/account/logout` (`logout`, deprecated):
    /// Log out (deprecated).
    fn logout(
        &self,
        ctx: &RequestContext,
    ) -> impl Answer<accounts::logout::Response, Self::Error>;

    /// `POST /_fixture/api/v1/account/register` (`register`):
    /// Register an account.
    fn register(
        &self,
        ctx: &RequestContext,
        body: accounts::register::RequestBody,
    ) -> impl Answer<accounts::register::Response, Self::Error>;

    /// `GET /_fixture/api/v1/account/{userId}` (`getAccount`):
    /// Get an account.
    fn get_account(
        &self,
        ctx: &RequestContext,
        params: accounts::get_account::Params,
    ) -> impl Answer<accounts::get_account::Response, Self::Error>;

    /// `GET /_fixture/api/v1/versions` (`getVersions`):
    /// Versions of the accounts API.
    fn accounts_get_versions(
        &self,
        ctx: &RequestContext,
    ) -> impl Answer<accounts::accounts_get_versions::Response, Self::Error>;
}

/// The operations of `lookup.yaml`, one method each; `Error` is what they fail with, and the shape every error of theirs is written in: the runtime's own refusals (bad body, invalid parameter, …) become an `Error` too.
pub trait LookupApi: Send + Sync + 'static {
    type Error: From<crate::rt::Rejection> + ::axum::response::IntoResponse + Send;

    /// `POST /_fixture/api/v2/lookup` (`lookup`):
    /// Look addresses up.
    fn lookup(
        &self,
        ctx: &RequestContext,
        body: lookup::lookup::RequestBody,
    ) -> impl Answer<lookup::lookup::Response, Self::Error>;

    /// `POST /_fixture/api/v2/submit` (`submitForm`):
    /// Submit a form.
    fn submit_form(
        &self,
        ctx: &RequestContext,
        body: lookup::submit_form::RequestBody,
    ) -> impl Answer<lookup::submit_form::Response, Self::Error>;

    /// `GET /_fixture/api/v2/versions` (`getVersions`):
    /// Versions of the lookup API.
    fn lookup_get_versions(
        &self,
        ctx: &RequestContext,
    ) -> impl Answer<lookup::lookup_get_versions::Response, Self::Error>;
}

/// The operation a request is for, as [`route`] finds it: one variant per operation,
/// named after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Logout,
    Register,
    GetAccount,
    AccountsGetVersions,
    Lookup,
    SubmitForm,
    LookupGetVersions,
}

impl Route {
    /// The operation's `operationId`, as the spec spells it.
    pub const fn operation_id(self) -> &'static str {
        match self {
            Route::Logout => "logout",
            Route::Register => "register",
            Route::GetAccount => "getAccount",
            Route::AccountsGetVersions => "getVersions",
            Route::Lookup => "lookup",
            Route::SubmitForm => "submitForm",
            Route::LookupGetVersions => "getVersions",
        }
    }
}

/// The templated paths, each with its methods' routes, in the order they are tried
/// (more literal segments first).
static TEMPLATED: &[PathRoutes<Route>] = &[
    ("/_fixture/api/v1/account/{userId}", &[(Method::GET, Route::GetAccount)]),
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
        "/_fixture/api/v1/account/logout" => &[(Method::POST, Route::Logout)],
        "/_fixture/api/v1/account/register" => &[(Method::POST, Route::Register)],
        "/_fixture/api/v1/versions" => &[(Method::GET, Route::AccountsGetVersions)],
        "/_fixture/api/v2/lookup" => &[(Method::POST, Route::Lookup)],
        "/_fixture/api/v2/submit" => &[(Method::POST, Route::SubmitForm)],
        "/_fixture/api/v2/versions" => &[(Method::GET, Route::LookupGetVersions)],
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
pub fn dispatch<A: FixtureSwagger2Api>(
    api: &::std::sync::Arc<A>,
    request: ::axum::extract::Request,
    peer: Option<::std::net::SocketAddr>,
) -> crate::rt::server::ResponseFuture {
    let (route, path_params) = match route(request.method(), request.uri().path()) {
        Ok(found) => found,
        Err(e) => return crate::rt::server::ready(A::write_rejection(e)),
    };
    use crate::rt::server::{Routed, serve_json, serve_raw};
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
        Route::Logout => call!(serve_json, accounts::logout),
        Route::Register => call!(serve_json, accounts::register, body),
        Route::GetAccount => call!(serve_json, accounts::get_account, params),
        Route::AccountsGetVersions => call!(serve_json, accounts::accounts_get_versions),
        Route::Lookup => call!(serve_json, lookup::lookup, body),
        Route::SubmitForm => call!(serve_raw, lookup::submit_form, body),
        Route::LookupGetVersions => call!(serve_json, lookup::lookup_get_versions),
    }
}

/// Every route of the specification as an axum router (for services that mount the
/// API beside routes of their own): [`dispatch`] as its fallback, with the peer
/// address from `ConnectInfo` when the server provides it. Behind the `router`
/// feature: a server that calls [`dispatch`] itself does not build axum's router.
#[cfg(feature = "router")]
pub fn router<A: FixtureSwagger2Api>(api: ::std::sync::Arc<A>) -> ::axum::Router {
    ::axum::Router::new()
        .fallback(move |request: ::axum::extract::Request| {
            let peer = request
                .extensions()
                .get::<::axum::extract::ConnectInfo<::std::net::SocketAddr>>()
                .map(|c| c.0);
            dispatch(&api, request, peer)
        })
}
