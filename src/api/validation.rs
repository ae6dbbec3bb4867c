//! validation: stub implementations (to be filled in).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{
    email_associations, phone_associations, v2_email_associations, v2_phone_associations,
};

pub async fn email_request_token(
    _state: &AppState,
    _ctx: RequestContext,
    _body: email_associations::email_request_token::RequestBody,
) -> ApiResult<email_associations::email_request_token::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn email_submit_token_get(
    _state: &AppState,
    _ctx: RequestContext,
    _params: email_associations::email_submit_token_get::Params,
) -> ApiResult<email_associations::email_submit_token_get::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn email_submit_token_post(
    _state: &AppState,
    _ctx: RequestContext,
    _body: email_associations::email_submit_token_post::RequestBody,
) -> ApiResult<email_associations::email_submit_token_post::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn msisdn_request_token(
    _state: &AppState,
    _ctx: RequestContext,
    _body: phone_associations::msisdn_request_token::RequestBody,
) -> ApiResult<phone_associations::msisdn_request_token::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn msisdn_submit_token_get(
    _state: &AppState,
    _ctx: RequestContext,
    _params: phone_associations::msisdn_submit_token_get::Params,
) -> ApiResult<phone_associations::msisdn_submit_token_get::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn msisdn_submit_token_post(
    _state: &AppState,
    _ctx: RequestContext,
    _body: phone_associations::msisdn_submit_token_post::RequestBody,
) -> ApiResult<phone_associations::msisdn_submit_token_post::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn email_request_token_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_email_associations::email_request_token_v2::RequestBody,
) -> ApiResult<v2_email_associations::email_request_token_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn email_submit_token_get_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _params: v2_email_associations::email_submit_token_get_v2::Params,
) -> ApiResult<v2_email_associations::email_submit_token_get_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn email_submit_token_post_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_email_associations::email_submit_token_post_v2::RequestBody,
) -> ApiResult<v2_email_associations::email_submit_token_post_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn msisdn_request_token_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_phone_associations::msisdn_request_token_v2::RequestBody,
) -> ApiResult<v2_phone_associations::msisdn_request_token_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn msisdn_submit_token_get_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _params: v2_phone_associations::msisdn_submit_token_get_v2::Params,
) -> ApiResult<v2_phone_associations::msisdn_submit_token_get_v2::Response> {
    Err(ApiError::NotImplemented)
}

pub async fn msisdn_submit_token_post_v2(
    _state: &AppState,
    _ctx: RequestContext,
    _body: v2_phone_associations::msisdn_submit_token_post_v2::RequestBody,
) -> ApiResult<v2_phone_associations::msisdn_submit_token_post_v2::Response> {
    Err(ApiError::NotImplemented)
}
