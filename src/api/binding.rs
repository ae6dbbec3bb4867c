//! associations: stub implementations (to be filled in).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{associations, v2_associations};

pub async fn bind(
    _state: &AppState,
    _ctx: RequestContext,
    _body: associations::bind::RequestBody,
) -> ApiResult<associations::bind::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn get_validated3pid(
    _state: &AppState,
    _ctx: RequestContext,
    _params: associations::get_validated3pid::Params,
) -> ApiResult<associations::get_validated3pid::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn unbind(
    _state: &AppState,
    _ctx: RequestContext,
    _body: associations::unbind::RequestBody,
) -> ApiResult<associations::unbind::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn bind_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_associations::bind_v2::RequestBody,
) -> ApiResult<v2_associations::bind_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn get_validated3pid_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _params: v2_associations::get_validated3pid_v2::Params,
) -> ApiResult<v2_associations::get_validated3pid_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn unbind_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_associations::unbind_v2::RequestBody,
) -> ApiResult<v2_associations::unbind_v2::Response> {
    Err(ApiError::NotImplemented)
}
