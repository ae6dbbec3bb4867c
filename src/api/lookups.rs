//! lookup: stub implementations (to be filled in).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{lookup, v2_lookup};

pub async fn lookup_users(
    _state: &AppState,
    _ctx: RequestContext,
    _body: lookup::lookup_users::RequestBody,
) -> ApiResult<lookup::lookup_users::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn lookup_user(
    _state: &AppState,
    _ctx: RequestContext,
    _params: lookup::lookup_user::Params,
) -> ApiResult<lookup::lookup_user::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn get_hash_details(
    _state: &AppState,
    _ctx: RequestContext,
) -> ApiResult<v2_lookup::get_hash_details::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn lookup_users_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_lookup::lookup_users_v2::RequestBody,
) -> ApiResult<v2_lookup::lookup_users_v2::Response> {
    Err(ApiError::NotImplemented)
}
