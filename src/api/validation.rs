//! Validation sessions over HTTP (`…/validate/{email,msisdn}/…`, v1 and v2): decode, call
//! `service::sessions`, encode. v2 needs an access token of a user who accepted the terms —
//! except `GET submitToken`, which a browser opens from the mail without any token
//! (is-behaviour §9.5). Phone numbers go through `service::msisdn`.

use super::auth;
use crate::error::{ApiError, ApiResult};
use crate::mail::ResponseVars;
use crate::service::address::{MEDIUM_EMAIL, MEDIUM_MSISDN, check_next_link};
use crate::service::msisdn::{self, MsisdnTokenRequest};
use crate::service::sessions::{self, EmailTokenRequest};
use crate::state::AppState;
use oxident_api::rt::RawResponse;
use oxident_api::rt::server::RequestContext;
use oxident_api::{
    email_associations, phone_associations, v2_email_associations, v2_phone_associations,
};

/// A query-string parameter by name (used for the optional `brand`; brand names need no
/// percent-decoding, and anything unusual selects the default brand anyway).
fn query_param<'a>(ctx: &'a RequestContext, name: &str) -> Option<&'a str> {
    ctx.uri
        .query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

async fn request_email_token(
    state: &AppState,
    ctx: &RequestContext,
    client_secret: &str,
    email: &str,
    next_link: Option<&str>,
    send_attempt: i64,
    submit_path: &str,
) -> ApiResult<String> {
    sessions::request_email_token(
        state,
        EmailTokenRequest {
            client_secret,
            email,
            next_link,
            send_attempt,
            brand: query_param(ctx, "brand"),
            client_ip: auth::client_ip(state, ctx),
            submit_path,
        },
    )
    .await
}

/// `GET submitToken`: a page for the person who clicked the link, or a redirect to the
/// session's `next_link` after a successful validation.
async fn submit_token_page(
    state: &AppState,
    ctx: &RequestContext,
    medium: &str,
    sid: &str,
    client_secret: &str,
    token: &str,
) -> ApiResult<RawResponse> {
    let brand = query_param(ctx, "brand");
    let outcome = if medium == MEDIUM_MSISDN {
        msisdn::submit_token(state, sid, client_secret, token).await
    } else {
        sessions::submit_token(state, medium, sid, client_secret, token).await
    };
    let (status, vars) = match outcome {
        Ok(session) => {
            // Checked at requestToken; checked again so a stored value can never redirect
            // to another scheme.
            if let Some(link) = session
                .next_link
                .filter(|link| check_next_link(link).is_ok())
            {
                return Ok(RawResponse::redirect(link));
            }
            (200, ResponseVars::success())
        }
        Err(e @ ApiError::Internal(_)) => return Err(e),
        Err(ApiError::SessionExpired) => (
            400,
            ResponseVars {
                message: "This link has expired. Ask your Matrix app for a new email.".into(),
                success: false,
            },
        ),
        Err(_) => (400, ResponseVars::failure()),
    };
    let page = state
        .templates
        .render_verify_response(brand, &vars)
        .map_err(ApiError::internal)?;
    Ok(RawResponse::html(status, page))
}

pub async fn email_request_token(
    state: &AppState,
    ctx: &RequestContext,
    body: email_associations::email_request_token::RequestBody,
) -> ApiResult<email_associations::email_request_token::Response> {
    let sid = request_email_token(
        state,
        ctx,
        &body.client_secret,
        &body.email,
        body.next_link.as_deref(),
        body.send_attempt,
        email_associations::email_submit_token_get::PATH,
    )
    .await?;
    Ok(email_associations::email_request_token::RequestTokenResponse { sid })
}

pub async fn email_submit_token_get(
    state: &AppState,
    ctx: &RequestContext,
    params: email_associations::email_submit_token_get::Params,
) -> ApiResult<email_associations::email_submit_token_get::Response> {
    submit_token_page(
        state,
        ctx,
        MEDIUM_EMAIL,
        &params.sid,
        &params.client_secret,
        &params.token,
    )
    .await
}

pub async fn email_submit_token_post(
    state: &AppState,
    _ctx: &RequestContext,
    body: email_associations::email_submit_token_post::RequestBody,
) -> ApiResult<email_associations::email_submit_token_post::Response> {
    sessions::submit_token(
        state,
        MEDIUM_EMAIL,
        &body.sid,
        &body.client_secret,
        &body.token,
    )
    .await?;
    Ok(email_associations::email_submit_token_post::SubmitTokenResponse { success: true })
}

/// The decoded msisdn `requestToken` body (v1 and v2 have the same fields).
async fn request_msisdn_token(
    state: &AppState,
    ctx: &RequestContext,
    client_secret: &str,
    country: &str,
    phone_number: &str,
    next_link: Option<&str>,
    send_attempt: i64,
) -> ApiResult<msisdn::MsisdnSession> {
    msisdn::request_msisdn_token(
        state,
        MsisdnTokenRequest {
            client_secret,
            country,
            phone_number,
            next_link,
            send_attempt,
            brand: query_param(ctx, "brand"),
            client_ip: auth::client_ip(state, ctx),
        },
    )
    .await
}

pub async fn msisdn_request_token(
    state: &AppState,
    ctx: &RequestContext,
    body: phone_associations::msisdn_request_token::RequestBody,
) -> ApiResult<phone_associations::msisdn_request_token::Response> {
    let session = request_msisdn_token(
        state,
        ctx,
        &body.client_secret,
        &body.country,
        &body.phone_number,
        body.next_link.as_deref(),
        body.send_attempt,
    )
    .await?;
    Ok(
        phone_associations::msisdn_request_token::MsisdnRequestTokenResponse {
            sid: session.sid,
            msisdn: Some(session.msisdn),
            intl_fmt: Some(session.intl_fmt),
            success: Some(true),
        },
    )
}

pub async fn msisdn_submit_token_get(
    state: &AppState,
    ctx: &RequestContext,
    params: phone_associations::msisdn_submit_token_get::Params,
) -> ApiResult<phone_associations::msisdn_submit_token_get::Response> {
    submit_token_page(
        state,
        ctx,
        MEDIUM_MSISDN,
        &params.sid,
        &params.client_secret,
        &params.token,
    )
    .await
}

pub async fn msisdn_submit_token_post(
    state: &AppState,
    _ctx: &RequestContext,
    body: phone_associations::msisdn_submit_token_post::RequestBody,
) -> ApiResult<phone_associations::msisdn_submit_token_post::Response> {
    msisdn::submit_token(state, &body.sid, &body.client_secret, &body.token).await?;
    Ok(phone_associations::msisdn_submit_token_post::SubmitTokenResponse { success: true })
}

pub async fn email_request_token_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_email_associations::email_request_token_v2::RequestBody,
) -> ApiResult<v2_email_associations::email_request_token_v2::Response> {
    auth::user(state, ctx).await?;
    let sid = request_email_token(
        state,
        ctx,
        &body.client_secret,
        &body.email,
        body.next_link.as_deref(),
        body.send_attempt,
        v2_email_associations::email_submit_token_get_v2::PATH,
    )
    .await?;
    Ok(v2_email_associations::email_request_token_v2::RequestTokenResponse { sid })
}

/// No access token: the browser following the emailed link has none (is-behaviour §9.5).
pub async fn email_submit_token_get_v2(
    state: &AppState,
    ctx: &RequestContext,
    params: v2_email_associations::email_submit_token_get_v2::Params,
) -> ApiResult<v2_email_associations::email_submit_token_get_v2::Response> {
    submit_token_page(
        state,
        ctx,
        MEDIUM_EMAIL,
        &params.sid,
        &params.client_secret,
        &params.token,
    )
    .await
}

pub async fn email_submit_token_post_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_email_associations::email_submit_token_post_v2::RequestBody,
) -> ApiResult<v2_email_associations::email_submit_token_post_v2::Response> {
    auth::user(state, ctx).await?;
    sessions::submit_token(
        state,
        MEDIUM_EMAIL,
        &body.sid,
        &body.client_secret,
        &body.token,
    )
    .await?;
    Ok(v2_email_associations::email_submit_token_post_v2::SubmitTokenResponse { success: true })
}

pub async fn msisdn_request_token_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_phone_associations::msisdn_request_token_v2::RequestBody,
) -> ApiResult<v2_phone_associations::msisdn_request_token_v2::Response> {
    auth::user(state, ctx).await?;
    let session = request_msisdn_token(
        state,
        ctx,
        &body.client_secret,
        &body.country,
        &body.phone_number,
        body.next_link.as_deref(),
        body.send_attempt,
    )
    .await?;
    Ok(
        v2_phone_associations::msisdn_request_token_v2::MsisdnRequestTokenResponse {
            sid: session.sid,
            msisdn: Some(session.msisdn),
            intl_fmt: Some(session.intl_fmt),
            success: Some(true),
        },
    )
}

/// No access token, as for email.
pub async fn msisdn_submit_token_get_v2(
    state: &AppState,
    ctx: &RequestContext,
    params: v2_phone_associations::msisdn_submit_token_get_v2::Params,
) -> ApiResult<v2_phone_associations::msisdn_submit_token_get_v2::Response> {
    submit_token_page(
        state,
        ctx,
        MEDIUM_MSISDN,
        &params.sid,
        &params.client_secret,
        &params.token,
    )
    .await
}

pub async fn msisdn_submit_token_post_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_phone_associations::msisdn_submit_token_post_v2::RequestBody,
) -> ApiResult<v2_phone_associations::msisdn_submit_token_post_v2::Response> {
    auth::user(state, ctx).await?;
    msisdn::submit_token(state, &body.sid, &body.client_secret, &body.token).await?;
    Ok(v2_phone_associations::msisdn_submit_token_post_v2::SubmitTokenResponse { success: true })
}
