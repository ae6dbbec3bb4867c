//! keys: stub implementations (to be filled in).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{pubkey, v2_pubkey};

pub async fn is_ephemeral_pub_key_valid(
    _state: &AppState,
    _ctx: RequestContext,
    _params: pubkey::is_ephemeral_pub_key_valid::Params,
) -> ApiResult<pubkey::is_ephemeral_pub_key_valid::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn is_pub_key_valid(
    _state: &AppState,
    _ctx: RequestContext,
    _params: pubkey::is_pub_key_valid::Params,
) -> ApiResult<pubkey::is_pub_key_valid::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn get_pub_key(
    _state: &AppState,
    _ctx: RequestContext,
    _params: pubkey::get_pub_key::Params,
) -> ApiResult<pubkey::get_pub_key::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn is_ephemeral_pub_key_valid_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _params: v2_pubkey::is_ephemeral_pub_key_valid_v2::Params,
) -> ApiResult<v2_pubkey::is_ephemeral_pub_key_valid_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn is_pub_key_valid_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _params: v2_pubkey::is_pub_key_valid_v2::Params,
) -> ApiResult<v2_pubkey::is_pub_key_valid_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn get_pub_key_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _params: v2_pubkey::get_pub_key_v2::Params,
) -> ApiResult<v2_pubkey::get_pub_key_v2::Response> {
    Err(ApiError::NotImplemented)
}
