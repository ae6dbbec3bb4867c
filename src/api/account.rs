//! Account registration, who-am-I, logout, and terms of service.

use super::auth;
use crate::error::ApiResult;
use crate::service::accounts;
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{v2_auth, v2_terms};
use serde_json::Map;

pub async fn register_account(
    state: &AppState,
    _ctx: &RequestContext,
    body: v2_auth::register_account::RequestBody,
) -> ApiResult<v2_auth::register_account::Response> {
    let token = accounts::register(state, &body.matrix_server_name, &body.access_token).await?;
    // Both keys, as the reference server answers: clients written against it read
    // `access_token`, the spec names `token`.
    Ok(v2_auth::register_account::RegisterResponse {
        access_token: token.clone(),
        token,
    })
}

pub async fn get_account(
    state: &AppState,
    ctx: &RequestContext,
) -> ApiResult<v2_auth::get_account::Response> {
    let user = auth::user(state, ctx).await?;
    Ok(v2_auth::get_account::AccountInfo {
        user_id: user.user_id,
    })
}

/// Not terms-gated: a user must always be able to sign out.
pub async fn logout(
    state: &AppState,
    ctx: &RequestContext,
) -> ApiResult<v2_auth::logout::Response> {
    auth::caller(state, ctx).await?;
    let token = auth::presented_token(state, ctx).ok_or(crate::error::ApiError::Unauthorized)?;
    state.store.delete_access_token(&token).await?;
    Ok(Map::new())
}

pub async fn get_terms(
    state: &AppState,
    _ctx: &RequestContext,
) -> ApiResult<v2_terms::get_terms::Response> {
    let policies = serde_json::from_value(serde_json::Value::Object(state.terms.document.clone()))
        .map_err(crate::error::ApiError::internal)?;
    Ok(v2_terms::get_terms::TermsResponse { policies })
}

/// Not terms-gated (the spec asks servers not to answer M_TERMS_NOT_SIGNED here).
pub async fn agree_to_terms(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_terms::agree_to_terms::RequestBody,
) -> ApiResult<v2_terms::agree_to_terms::Response> {
    let caller = auth::caller(state, ctx).await?;
    accounts::accept_terms(state, &caller.user_id, &body.user_accepts).await?;
    Ok(Map::new())
}
