#![cfg_attr(rustfmt, rustfmt::skip)]
//! The handler trait, the dispatcher that routes requests to it, and an axum router
//! built on the dispatcher.
use axum::http::Method;
use crate::rt::server::RequestContext;
use std::future::Future;

/// The whole API: one trait per spec file (below), each with its own error type, and
/// how errors are written. The dispatcher validates and decodes every request before
/// a method is called, so implementations see typed, schema-valid values only.
pub trait FixtureSwagger2Api: AccountsApi + LookupApi + Send + Sync + 'static {
    /// How every error answer is written (validation, routing and the methods' own):
    /// Matrix's `{"errcode", "error"}` JSON unless the implementation gives its API's
    /// shape instead.
    fn write_error(error: &crate::rt::MatrixError) -> axum::response::Response {
        crate::rt::server::error_response(error)
    }
}

/// The operations of `accounts.yaml`, one method each; `Error` is what they fail with (anything that becomes the runtime's error answer).
pub trait AccountsApi: Send + Sync + 'static {
    type Error: Into<crate::rt::MatrixError> + Send;

    /// `POST /_fixture/api/v1/account/logout` (`logout`, deprecated):
    /// Log out (deprecated).
    fn logout(
        &self,
        ctx: &RequestContext,
    ) -> impl Future<
        Output = Result<crate::accounts::logout::Response, Self::Error>,
    > + Send;

    /// `POST /_fixture/api/v1/account/register` (`register`):
    /// Register an account.
    fn register(
        &self,
        ctx: &RequestContext,
        body: crate::accounts::register::RequestBody,
    ) -> impl Future<
        Output = Result<crate::accounts::register::Response, Self::Error>,
    > + Send;

    /// `GET /_fixture/api/v1/account/{userId}` (`getAccount`):
    /// Get an account.
    fn get_account(
        &self,
        ctx: &RequestContext,
        params: crate::accounts::get_account::Params,
    ) -> impl Future<
        Output = Result<crate::accounts::get_account::Response, Self::Error>,
    > + Send;

    /// `GET /_fixture/api/v1/versions` (`getVersions`):
    /// Versions of the accounts API.
    fn accounts_get_versions(
        &self,
        ctx: &RequestContext,
    ) -> impl Future<
        Output = Result<crate::accounts::accounts_get_versions::Response, Self::Error>,
    > + Send;
}

/// The operations of `lookup.yaml`, one method each; `Error` is what they fail with (anything that becomes the runtime's error answer).
pub trait LookupApi: Send + Sync + 'static {
    type Error: Into<crate::rt::MatrixError> + Send;

    /// `POST /_fixture/api/v2/lookup` (`lookup`):
    /// Look addresses up.
    fn lookup(
        &self,
        ctx: &RequestContext,
        body: crate::lookup::lookup::RequestBody,
    ) -> impl Future<
        Output = Result<crate::lookup::lookup::Response, Self::Error>,
    > + Send;

    /// `POST /_fixture/api/v2/submit` (`submitForm`):
    /// Submit a form.
    fn submit_form(
        &self,
        ctx: &RequestContext,
        body: crate::lookup::submit_form::RequestBody,
    ) -> impl Future<
        Output = Result<crate::lookup::submit_form::Response, Self::Error>,
    > + Send;

    /// `GET /_fixture/api/v2/versions` (`getVersions`):
    /// Versions of the lookup API.
    fn lookup_get_versions(
        &self,
        ctx: &RequestContext,
    ) -> impl Future<
        Output = Result<crate::lookup::lookup_get_versions::Response, Self::Error>,
    > + Send;
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
        "/_fixture/api/v1/account/logout" => {
            let path_params = Vec::new();
            if *method == Method::POST {
                return Ok((Route::Logout, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("OPTIONS, POST"));
        }
        "/_fixture/api/v1/account/register" => {
            let path_params = Vec::new();
            if *method == Method::POST {
                return Ok((Route::Register, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("OPTIONS, POST"));
        }
        "/_fixture/api/v1/versions" => {
            let path_params = Vec::new();
            if *method == Method::GET || *method == Method::HEAD {
                return Ok((Route::AccountsGetVersions, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("GET, HEAD, OPTIONS"));
        }
        "/_fixture/api/v2/lookup" => {
            let path_params = Vec::new();
            if *method == Method::POST {
                return Ok((Route::Lookup, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("OPTIONS, POST"));
        }
        "/_fixture/api/v2/submit" => {
            let path_params = Vec::new();
            if *method == Method::POST {
                return Ok((Route::SubmitForm, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("OPTIONS, POST"));
        }
        "/_fixture/api/v2/versions" => {
            let path_params = Vec::new();
            if *method == Method::GET || *method == Method::HEAD {
                return Ok((Route::LookupGetVersions, path_params));
            }
            return Err(crate::rt::MatrixError::method_not_allowed("GET, HEAD, OPTIONS"));
        }
        _ => {}
    }
    if let Some(found) = crate::rt::server::match_template(
        path,
        "/_fixture/api/v1/account/{userId}",
    ) {
        let path_params = found?;
        if *method == Method::GET || *method == Method::HEAD {
            return Ok((Route::GetAccount, path_params));
        }
        return Err(crate::rt::MatrixError::method_not_allowed("GET, HEAD, OPTIONS"));
    }
    Err(crate::rt::MatrixError::not_found())
}

/// Answers `request` with its operation's handler: decoding, validation, the call,
/// and the JSON (or page) written back. `peer` is the client's address as the accept
/// loop knows it. One allocation per request (the handler's boxed future); nothing
/// about the API is cloned.
pub fn dispatch<A: FixtureSwagger2Api>(
    api: &std::sync::Arc<A>,
    request: axum::extract::Request,
    peer: Option<std::net::SocketAddr>,
) -> crate::rt::server::ResponseFuture {
    let (route, path_params) = match route(request.method(), request.uri().path()) {
        Ok(found) => found,
        Err(e) => return crate::rt::server::ready(A::write_error(&e)),
    };
    use crate::rt::server::{Routed, serve_json, serve_raw};
    let routed = Routed {
        request,
        peer,
        path_params,
        on_error: A::write_error,
    };
    let api = std::sync::Arc::clone(api);
    match route {
        Route::Logout => {
            serve_json(
                routed,
                crate::accounts::logout::Op,
                move |ctx, _, _| async move { A::logout(&api, &ctx).await },
            )
        }
        Route::Register => {
            serve_json(
                routed,
                crate::accounts::register::Op,
                move |ctx, _, body| async move { A::register(&api, &ctx, body).await },
            )
        }
        Route::GetAccount => {
            serve_json(
                routed,
                crate::accounts::get_account::Op,
                move |ctx, params, _| async move {
                    A::get_account(&api, &ctx, params).await
                },
            )
        }
        Route::AccountsGetVersions => {
            serve_json(
                routed,
                crate::accounts::accounts_get_versions::Op,
                move |ctx, _, _| async move {
                    A::accounts_get_versions(&api, &ctx).await
                },
            )
        }
        Route::Lookup => {
            serve_json(
                routed,
                crate::lookup::lookup::Op,
                move |ctx, _, body| async move { A::lookup(&api, &ctx, body).await },
            )
        }
        Route::SubmitForm => {
            serve_raw(
                routed,
                crate::lookup::submit_form::Op,
                move |ctx, _, body| async move { A::submit_form(&api, &ctx, body).await },
            )
        }
        Route::LookupGetVersions => {
            serve_json(
                routed,
                crate::lookup::lookup_get_versions::Op,
                move |ctx, _, _| async move { A::lookup_get_versions(&api, &ctx).await },
            )
        }
    }
}

/// Every route of the specification as an axum router (for services that mount the
/// API beside routes of their own): [`dispatch`] as its fallback, with the peer
/// address from `ConnectInfo` when the server provides it. Behind the `router`
/// feature: a server that calls [`dispatch`] itself does not build axum's router.
#[cfg(feature = "router")]
pub fn router<A: FixtureSwagger2Api>(api: std::sync::Arc<A>) -> axum::Router {
    axum::Router::new()
        .fallback(move |request: axum::extract::Request| {
            let peer = request
                .extensions()
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0);
            dispatch(&api, request, peer)
        })
}
