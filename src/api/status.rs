//! status: stub implementations (to be filled in).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{ping, v2_ping, versions};

pub async fn ping(_state: &AppState, _ctx: RequestContext) -> ApiResult<ping::ping::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn ping_v2(
    _state: &AppState,
    _ctx: RequestContext,
) -> ApiResult<v2_ping::ping_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn get_versions(
    _state: &AppState,
    _ctx: RequestContext,
) -> ApiResult<versions::get_versions::Response> {
    Err(ApiError::NotImplemented)
}
