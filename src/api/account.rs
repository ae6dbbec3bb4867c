//! account: stub implementations (to be filled in).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{v2_auth, v2_terms};

pub async fn get_account(
    _state: &AppState,
    _ctx: RequestContext,
) -> ApiResult<v2_auth::get_account::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn logout(
    _state: &AppState,
    _ctx: RequestContext,
) -> ApiResult<v2_auth::logout::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn register_account(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_auth::register_account::RequestBody,
) -> ApiResult<v2_auth::register_account::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn get_terms(
    _state: &AppState,
    _ctx: RequestContext,
) -> ApiResult<v2_terms::get_terms::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn agree_to_terms(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_terms::agree_to_terms::RequestBody,
) -> ApiResult<v2_terms::agree_to_terms::Response> {
    Err(ApiError::NotImplemented)
}
