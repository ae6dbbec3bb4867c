#![cfg_attr(rustfmt, rustfmt::skip)]
//! The handler trait, the dispatcher that routes requests to it, and an axum router
//! built on the dispatcher.
use axum::http::Method;

/// The operations of the API, one method each. The dispatcher validates and decodes
/// every request before a method is called, so implementations see typed, schema-valid
/// values only.
pub trait FixtureSwagger2Api: Send + Sync + 'static {
    /// `POST /_fixture/api/v1/account/logout` (`logout`) — deprecated
    ///
    /// Log out (deprecated).
    fn logout(
        &self,
        ctx: &crate::rt::server::RequestContext,
    ) -> impl std::future::Future<
        Output = Result<crate::accounts::logout::Response, crate::rt::MatrixError>,
    > + Send;

    /// `POST /_fixture/api/v1/account/register` (`register`)
    ///
    /// Register an account.
    fn register(
        &self,
        ctx: &crate::rt::server::RequestContext,
        body: crate::accounts::register::RequestBody,
    ) -> impl std::future::Future<
        Output = Result<crate::accounts::register::Response, crate::rt::MatrixError>,
    > + Send;

    /// `GET /_fixture/api/v1/account/{userId}` (`getAccount`)
    ///
    /// Get an account.
    fn get_account(
        &self,
        ctx: &crate::rt::server::RequestContext,
        params: crate::accounts::get_account::Params,
    ) -> impl std::future::Future<
        Output = Result<crate::accounts::get_account::Response, crate::rt::MatrixError>,
    > + Send;

    /// `GET /_fixture/api/v1/versions` (`getVersions`)
    ///
    /// Versions of the accounts API.
    fn accounts_get_versions(
        &self,
        ctx: &crate::rt::server::RequestContext,
    ) -> impl std::future::Future<
        Output = Result<
            crate::accounts::accounts_get_versions::Response,
            crate::rt::MatrixError,
        >,
    > + Send;

    /// `POST /_fixture/api/v2/lookup` (`lookup`)
    ///
    /// Look addresses up.
    fn lookup(
        &self,
        ctx: &crate::rt::server::RequestContext,
        body: crate::lookup::lookup::RequestBody,
    ) -> impl std::future::Future<
        Output = Result<crate::lookup::lookup::Response, crate::rt::MatrixError>,
    > + Send;

    /// `POST /_fixture/api/v2/submit` (`submitForm`)
    ///
    /// Submit a form.
    fn submit_form(
        &self,
        ctx: &crate::rt::server::RequestContext,
        body: crate::lookup::submit_form::RequestBody,
    ) -> impl std::future::Future<
        Output = Result<crate::lookup::submit_form::Response, crate::rt::MatrixError>,
    > + Send;

    /// `GET /_fixture/api/v2/versions` (`getVersions`)
    ///
    /// Versions of the lookup API.
    fn lookup_get_versions(
        &self,
        ctx: &crate::rt::server::RequestContext,
    ) -> impl std::future::Future<
        Output = Result<
            crate::lookup::lookup_get_versions::Response,
            crate::rt::MatrixError,
        >,
    > + Send;
}

/// The operation a request is for, as [`route`] finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /_fixture/api/v1/account/logout`
    Logout,
    /// `POST /_fixture/api/v1/account/register`
    Register,
    /// `GET /_fixture/api/v1/account/{userId}`
    GetAccount,
    /// `GET /_fixture/api/v1/versions`
    AccountsGetVersions,
    /// `POST /_fixture/api/v2/lookup`
    Lookup,
    /// `POST /_fixture/api/v2/submit`
    SubmitForm,
    /// `GET /_fixture/api/v2/versions`
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
        Err(e) => return crate::rt::server::ready(crate::rt::server::error_response(&e)),
    };
    let api = std::sync::Arc::clone(api);
    match route {
        Route::Logout => Box::pin(handlers::logout(api, request, peer)),
        Route::Register => Box::pin(handlers::register(api, request, peer)),
        Route::GetAccount => {
            Box::pin(handlers::get_account(api, request, peer, path_params))
        }
        Route::AccountsGetVersions => {
            Box::pin(handlers::accounts_get_versions(api, request, peer))
        }
        Route::Lookup => Box::pin(handlers::lookup(api, request, peer)),
        Route::SubmitForm => Box::pin(handlers::submit_form(api, request, peer)),
        Route::LookupGetVersions => {
            Box::pin(handlers::lookup_get_versions(api, request, peer))
        }
    }
}

/// Every route of the specification as an axum router (for services that mount the
/// API beside routes of their own): [`dispatch`] as its fallback, with the peer
/// address from `ConnectInfo` when the server provides it.
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

mod handlers {
    use super::FixtureSwagger2Api;

    pub async fn logout<A: FixtureSwagger2Api>(
        api: std::sync::Arc<A>,
        request: axum::extract::Request,
        peer: Option<std::net::SocketAddr>,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts, peer);
        crate::rt::server::json_response(A::logout(&api, &ctx).await)
    }

    pub async fn register<A: FixtureSwagger2Api>(
        api: std::sync::Arc<A>,
        request: axum::extract::Request,
        peer: Option<std::net::SocketAddr>,
    ) -> axum::response::Response {
        use crate::accounts::register as op;
        let (parts, body) = request.into_parts();
        let value = match crate::rt::server::read_body(&parts, body, op::FORM_KINDS)
            .await
        {
            Ok(v) => v,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        let body = match crate::rt::server::check_and_decode(&value, op::validate_body) {
            Ok(b) => b,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        let mut ctx = crate::rt::server::RequestContext::from_parts(parts, peer);
        ctx.body = Some(value);
        crate::rt::server::json_response(A::register(&api, &ctx, body).await)
    }

    pub async fn get_account<A: FixtureSwagger2Api>(
        api: std::sync::Arc<A>,
        request: axum::extract::Request,
        peer: Option<std::net::SocketAddr>,
        path: Vec<(String, String)>,
    ) -> axum::response::Response {
        use crate::accounts::get_account as op;
        let (parts, body) = request.into_parts();
        let params = match crate::rt::server::read_params(&parts, path, op::PARAM_KINDS)
            .and_then(|v| crate::rt::server::decode_owned(v, op::validate_params))
        {
            Ok(p) => p,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts, peer);
        crate::rt::server::json_response(A::get_account(&api, &ctx, params).await)
    }

    pub async fn accounts_get_versions<A: FixtureSwagger2Api>(
        api: std::sync::Arc<A>,
        request: axum::extract::Request,
        peer: Option<std::net::SocketAddr>,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts, peer);
        crate::rt::server::json_response(A::accounts_get_versions(&api, &ctx).await)
    }

    pub async fn lookup<A: FixtureSwagger2Api>(
        api: std::sync::Arc<A>,
        request: axum::extract::Request,
        peer: Option<std::net::SocketAddr>,
    ) -> axum::response::Response {
        use crate::lookup::lookup as op;
        let (parts, body) = request.into_parts();
        let value = match crate::rt::server::read_body(&parts, body, op::FORM_KINDS)
            .await
        {
            Ok(v) => v,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        let body = match crate::rt::server::decode_owned(value, op::validate_body) {
            Ok(b) => b,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        let ctx = crate::rt::server::RequestContext::from_parts(parts, peer);
        crate::rt::server::json_response(A::lookup(&api, &ctx, body).await)
    }

    pub async fn submit_form<A: FixtureSwagger2Api>(
        api: std::sync::Arc<A>,
        request: axum::extract::Request,
        peer: Option<std::net::SocketAddr>,
    ) -> axum::response::Response {
        use crate::lookup::submit_form as op;
        let (parts, body) = request.into_parts();
        let value = match crate::rt::server::read_body(&parts, body, op::FORM_KINDS)
            .await
        {
            Ok(v) => v,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        let body = match crate::rt::server::decode_owned(value, op::validate_body) {
            Ok(b) => b,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        let ctx = crate::rt::server::RequestContext::from_parts(parts, peer);
        crate::rt::server::raw_response(A::submit_form(&api, &ctx, body).await)
    }

    pub async fn lookup_get_versions<A: FixtureSwagger2Api>(
        api: std::sync::Arc<A>,
        request: axum::extract::Request,
        peer: Option<std::net::SocketAddr>,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts, peer);
        crate::rt::server::json_response(A::lookup_get_versions(&api, &ctx).await)
    }
}
