#![cfg_attr(rustfmt, rustfmt::skip)]
//! The handler trait and the axum router built from it.

/// The operations of the API, one method each. The router validates and decodes every
/// request before a method is called, so implementations see typed, schema-valid values
/// only.
pub trait FixtureSwagger2Api: Send + Sync + 'static {
    /// `POST /_fixture/api/v1/account/logout` (`logout`) — deprecated
    ///
    /// Log out (deprecated).
    fn logout(
        &self,
        ctx: crate::rt::server::RequestContext,
    ) -> impl std::future::Future<
        Output = Result<crate::accounts::logout::Response, crate::rt::MatrixError>,
    > + Send;

    /// `POST /_fixture/api/v1/account/register` (`register`)
    ///
    /// Register an account.
    fn register(
        &self,
        ctx: crate::rt::server::RequestContext,
        body: crate::accounts::register::RequestBody,
    ) -> impl std::future::Future<
        Output = Result<crate::accounts::register::Response, crate::rt::MatrixError>,
    > + Send;

    /// `GET /_fixture/api/v1/account/{userId}` (`getAccount`)
    ///
    /// Get an account.
    fn get_account(
        &self,
        ctx: crate::rt::server::RequestContext,
        params: crate::accounts::get_account::Params,
    ) -> impl std::future::Future<
        Output = Result<crate::accounts::get_account::Response, crate::rt::MatrixError>,
    > + Send;

    /// `GET /_fixture/api/v1/versions` (`getVersions`)
    ///
    /// Versions of the accounts API.
    fn accounts_get_versions(
        &self,
        ctx: crate::rt::server::RequestContext,
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
        ctx: crate::rt::server::RequestContext,
        body: crate::lookup::lookup::RequestBody,
    ) -> impl std::future::Future<
        Output = Result<crate::lookup::lookup::Response, crate::rt::MatrixError>,
    > + Send;

    /// `POST /_fixture/api/v2/submit` (`submitForm`)
    ///
    /// Submit a form.
    fn submit_form(
        &self,
        ctx: crate::rt::server::RequestContext,
        body: crate::lookup::submit_form::RequestBody,
    ) -> impl std::future::Future<
        Output = Result<crate::lookup::submit_form::Response, crate::rt::MatrixError>,
    > + Send;

    /// `GET /_fixture/api/v2/versions` (`getVersions`)
    ///
    /// Versions of the lookup API.
    fn lookup_get_versions(
        &self,
        ctx: crate::rt::server::RequestContext,
    ) -> impl std::future::Future<
        Output = Result<
            crate::lookup::lookup_get_versions::Response,
            crate::rt::MatrixError,
        >,
    > + Send;
}

/// Every route of the specification, plus JSON `404`/`405` `M_UNRECOGNIZED` fallbacks.
pub fn router<A: FixtureSwagger2Api>(api: std::sync::Arc<A>) -> axum::Router {
    axum::Router::new()
        .route(
            "/_fixture/api/v1/account/logout",
            axum::routing::MethodRouter::new()
                .post(handlers::logout::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/api/v1/account/register",
            axum::routing::MethodRouter::new()
                .post(handlers::register::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/api/v1/account/{userId}",
            axum::routing::MethodRouter::new()
                .get(handlers::get_account::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/api/v1/versions",
            axum::routing::MethodRouter::new()
                .get(handlers::accounts_get_versions::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/api/v2/lookup",
            axum::routing::MethodRouter::new()
                .post(handlers::lookup::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/api/v2/submit",
            axum::routing::MethodRouter::new()
                .post(handlers::submit_form::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/api/v2/versions",
            axum::routing::MethodRouter::new()
                .get(handlers::lookup_get_versions::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .fallback(crate::rt::server::not_found)
        .with_state(api)
}

mod handlers {
    use super::FixtureSwagger2Api;

    pub async fn logout<A: FixtureSwagger2Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts);
        crate::rt::server::json_response(A::logout(&api, ctx).await)
    }

    pub async fn register<A: FixtureSwagger2Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
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
        let mut ctx = crate::rt::server::RequestContext::from_parts(parts);
        ctx.body = Some(value);
        crate::rt::server::json_response(A::register(&api, ctx, body).await)
    }

    pub async fn get_account<A: FixtureSwagger2Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        use crate::accounts::get_account as op;
        let (mut parts, body) = request.into_parts();
        let path = match crate::rt::server::path_params(&mut parts).await {
            Ok(p) => p,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        let params = match crate::rt::server::read_params(&parts, &path, op::PARAM_KINDS)
            .and_then(|v| crate::rt::server::decode_owned(v, op::validate_params))
        {
            Ok(p) => p,
            Err(e) => return crate::rt::server::error_response(&e),
        };
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts);
        crate::rt::server::json_response(A::get_account(&api, ctx, params).await)
    }

    pub async fn accounts_get_versions<A: FixtureSwagger2Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts);
        crate::rt::server::json_response(A::accounts_get_versions(&api, ctx).await)
    }

    pub async fn lookup<A: FixtureSwagger2Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
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
        let ctx = crate::rt::server::RequestContext::from_parts(parts);
        crate::rt::server::json_response(A::lookup(&api, ctx, body).await)
    }

    pub async fn submit_form<A: FixtureSwagger2Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
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
        let ctx = crate::rt::server::RequestContext::from_parts(parts);
        crate::rt::server::raw_response(A::submit_form(&api, ctx, body).await)
    }

    pub async fn lookup_get_versions<A: FixtureSwagger2Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts);
        crate::rt::server::json_response(A::lookup_get_versions(&api, ctx).await)
    }
}
