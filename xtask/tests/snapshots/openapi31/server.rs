#![cfg_attr(rustfmt, rustfmt::skip)]
//! The handler trait and the axum router built from it.

/// The operations of the API, one method each. The router validates and decodes every
/// request before a method is called, so implementations see typed, schema-valid values
/// only.
pub trait FixtureOpenapi31Api: Send + Sync + 'static {
    /// `GET /_fixture/invites/v3/2fa` (`2faStatus`)
    ///
    /// An operationId that starts with a digit.
    fn op_2fa_status(
        &self,
        ctx: crate::rt::server::RequestContext,
    ) -> impl std::future::Future<
        Output = Result<crate::invites::op_2fa_status::Response, crate::rt::MatrixError>,
    > + Send;

    /// `POST /_fixture/invites/v3/invite` (`storeInvite`)
    ///
    /// Store an invite.
    fn store_invite(
        &self,
        ctx: crate::rt::server::RequestContext,
        body: crate::invites::store_invite::RequestBody,
    ) -> impl std::future::Future<
        Output = Result<crate::invites::store_invite::Response, crate::rt::MatrixError>,
    > + Send;

    /// `GET /_fixture/invites/v3/invite/{token}` (`getInvite`)
    ///
    /// Look an invite up.
    fn get_invite(
        &self,
        ctx: crate::rt::server::RequestContext,
        params: crate::invites::get_invite::Params,
    ) -> impl std::future::Future<
        Output = Result<crate::invites::get_invite::Response, crate::rt::MatrixError>,
    > + Send;

    /// `GET /_fixture/legacy/status` (`getStatus`) — deprecated
    ///
    /// Legacy status.
    fn get_status(
        &self,
        ctx: crate::rt::server::RequestContext,
    ) -> impl std::future::Future<
        Output = Result<crate::legacy::get_status::Response, crate::rt::MatrixError>,
    > + Send;
}

/// Every route of the specification, plus JSON `404`/`405` `M_UNRECOGNIZED` fallbacks.
pub fn router<A: FixtureOpenapi31Api>(api: std::sync::Arc<A>) -> axum::Router {
    axum::Router::new()
        .route(
            "/_fixture/invites/v3/2fa",
            axum::routing::MethodRouter::new()
                .get(handlers::op_2fa_status::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/invites/v3/invite",
            axum::routing::MethodRouter::new()
                .post(handlers::store_invite::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/invites/v3/invite/{token}",
            axum::routing::MethodRouter::new()
                .get(handlers::get_invite::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .route(
            "/_fixture/legacy/status",
            axum::routing::MethodRouter::new()
                .get(handlers::get_status::<A>)
                .fallback(crate::rt::server::method_not_allowed),
        )
        .fallback(crate::rt::server::not_found)
        .with_state(api)
}

mod handlers {
    use super::FixtureOpenapi31Api;

    pub async fn op_2fa_status<A: FixtureOpenapi31Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts);
        crate::rt::server::json_response(A::op_2fa_status(&api, ctx).await)
    }

    pub async fn store_invite<A: FixtureOpenapi31Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        use crate::invites::store_invite as op;
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
        crate::rt::server::json_response(A::store_invite(&api, ctx, body).await)
    }

    pub async fn get_invite<A: FixtureOpenapi31Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        use crate::invites::get_invite as op;
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
        crate::rt::server::json_response(A::get_invite(&api, ctx, params).await)
    }

    pub async fn get_status<A: FixtureOpenapi31Api>(
        axum::extract::State(api): axum::extract::State<std::sync::Arc<A>>,
        request: axum::extract::Request,
    ) -> axum::response::Response {
        let (parts, body) = request.into_parts();
        drop(body);
        let ctx = crate::rt::server::RequestContext::from_parts(parts);
        crate::rt::server::json_response(A::get_status(&api, ctx).await)
    }
}
