//! invites: stub implementations (to be filled in).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{invitation_signing, store_invite, v2_invitation_signing, v2_store_invite};

pub async fn blindly_sign_stuff(
    _state: &AppState,
    _ctx: RequestContext,
    _body: invitation_signing::blindly_sign_stuff::RequestBody,
) -> ApiResult<invitation_signing::blindly_sign_stuff::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn store_invite(
    _state: &AppState,
    _ctx: RequestContext,
    _body: store_invite::store_invite::RequestBody,
) -> ApiResult<store_invite::store_invite::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn blindly_sign_stuff_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_invitation_signing::blindly_sign_stuff_v2::RequestBody,
) -> ApiResult<v2_invitation_signing::blindly_sign_stuff_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn store_invite_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_store_invite::store_invite_v2::RequestBody,
) -> ApiResult<v2_store_invite::store_invite_v2::Response> {
    Err(ApiError::NotImplemented)
}
