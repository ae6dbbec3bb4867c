//! Account registration, who-am-I, logout, and terms of service (v2 only).

use super::Api;
use crate::error::{ApiError, ApiResult};
use oxident_api::rt::server::RequestContext;

/// An access token for the user the OpenID token belongs to.
pub async fn register(
    api: &Api,
    ctx: &RequestContext,
    matrix_server_name: &str,
    openid_token: &str,
) -> ApiResult<String> {
    api.services
        .accounts
        .register(matrix_server_name, openid_token, api.http.client_ip(ctx))
        .await
}

/// The token's user (terms-gated, as `GET /account` is in the reference server).
pub async fn whoami(api: &Api, ctx: &RequestContext) -> ApiResult<String> {
    Ok(api.user(ctx).await?.user_id.into_string())
}

/// Not terms-gated: a user must always be able to sign out.
pub async fn logout(api: &Api, ctx: &RequestContext) -> ApiResult<()> {
    let token = api.http.presented_token(ctx);
    api.services.accounts.logout(token.as_deref()).await
}

/// The policies document, typed as the response wants it.
pub fn terms<T: serde::de::DeserializeOwned>(api: &Api) -> ApiResult<T> {
    let document = serde_json::Value::Object(api.services.accounts.policies().clone());
    serde_json::from_value(document).map_err(ApiError::internal)
}

/// Not terms-gated (the spec asks servers not to answer M_TERMS_NOT_SIGNED here).
pub async fn agree_to_terms(api: &Api, ctx: &RequestContext, urls: &[String]) -> ApiResult<()> {
    let caller = api.caller(ctx).await?;
    api.services
        .accounts
        .accept_terms(&caller.user_id, urls)
        .await
}
