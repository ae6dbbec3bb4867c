//! Validation sessions over HTTP (`…/validate/{email,msisdn}/…`): one body per operation for
//! both API versions; `Version` decides the gate. `GET submitToken` has no gate in either
//! version: a browser opens it from the mail without any token (is-behaviour §9.5). Phone
//! numbers go to `service::msisdn`.

use super::access::Version;
use super::{Api, request};
use crate::error::{ApiError, ApiResult};
use crate::mail::ResponseVars;
use crate::service::address::{MEDIUM_MSISDN, check_next_link};
use crate::service::msisdn::{MsisdnSession, MsisdnTokenRequest};
use crate::service::sessions::EmailTokenRequest;
use oxident_api::rt::RawResponse;
use oxident_api::rt::server::RequestContext;
use oxident_api::types::MsisdnRequestTokenResponse;

/// An email `requestToken` as both versions send it.
pub struct EmailRequest<'a> {
    pub client_secret: &'a str,
    pub email: &'a str,
    pub next_link: Option<&'a str>,
    pub send_attempt: i64,
    /// Path of the `GET submitToken` operation the mail links to (the request's version).
    pub submit_path: &'a str,
}

/// `requestToken` (email): the session id.
pub async fn email_request_token(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    req: EmailRequest<'_>,
) -> ApiResult<String> {
    api.admit(v, ctx).await?;
    api.services
        .sessions
        .request_email_token(EmailTokenRequest {
            client_secret: req.client_secret,
            email: req.email,
            next_link: req.next_link,
            send_attempt: req.send_attempt,
            brand: request::brand(ctx),
            client_ip: api.http.client_ip(ctx),
            submit_path: req.submit_path,
        })
        .await
}

/// An msisdn `requestToken` as both versions send it.
pub struct MsisdnRequest<'a> {
    pub client_secret: &'a str,
    pub country: &'a str,
    pub phone_number: &'a str,
    pub next_link: Option<&'a str>,
    pub send_attempt: i64,
}

/// `requestToken` (msisdn): the session and the number as understood.
pub async fn msisdn_request_token(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    req: MsisdnRequest<'_>,
) -> ApiResult<MsisdnRequestTokenResponse> {
    api.admit(v, ctx).await?;
    let s: MsisdnSession = api
        .services
        .msisdn
        .request_token(MsisdnTokenRequest {
            client_secret: req.client_secret,
            country: req.country,
            phone_number: req.phone_number,
            next_link: req.next_link,
            send_attempt: req.send_attempt,
            brand: request::brand(ctx),
            client_ip: api.http.client_ip(ctx),
        })
        .await?;
    // v1 and v2 answer with the same shape.
    Ok(MsisdnRequestTokenResponse {
        sid: s.sid,
        msisdn: Some(s.msisdn),
        intl_fmt: Some(s.intl_fmt),
        success: Some(true),
    })
}

/// Validates a session of either medium (phone codes are normalised by their service);
/// returns the session's `next_link`.
async fn validate(
    api: &Api,
    medium: &str,
    sid: &str,
    client_secret: &str,
    token: &str,
) -> ApiResult<Option<String>> {
    let session = if medium == MEDIUM_MSISDN {
        api.services
            .msisdn
            .submit_token(sid, client_secret, token)
            .await?
    } else {
        api.services
            .sessions
            .submit_token(medium, sid, client_secret, token)
            .await?
    };
    Ok(session.next_link)
}

/// `POST submitToken` (either medium).
pub async fn submit_token(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    medium: &str,
    sid: &str,
    client_secret: &str,
    token: &str,
) -> ApiResult<()> {
    api.admit(v, ctx).await?;
    validate(api, medium, sid, client_secret, token).await?;
    Ok(())
}

/// `GET submitToken`: a page for the person who clicked the link, or a redirect to the
/// session's `next_link` after a successful validation.
pub async fn submit_token_page(
    api: &Api,
    ctx: &RequestContext,
    medium: &str,
    sid: &str,
    client_secret: &str,
    token: &str,
) -> ApiResult<RawResponse> {
    let sessions = &api.services.sessions;
    let phone = medium == MEDIUM_MSISDN;
    let (status, vars) = match validate(api, medium, sid, client_secret, token).await {
        Ok(next_link) => {
            // Checked at requestToken; checked again so a stored value can never redirect
            // to another scheme.
            if let Some(link) = next_link.filter(|link| check_next_link(link).is_ok()) {
                return Ok(RawResponse::redirect(link));
            }
            (
                200,
                ResponseVars {
                    phone,
                    ..ResponseVars::success()
                },
            )
        }
        Err(e @ ApiError::Internal(_)) => return Err(e),
        Err(ApiError::SessionExpired) => {
            let again = if phone {
                "a new text message"
            } else {
                "a new email"
            };
            let message = format!("This link has expired. Ask your Matrix app for {again}.");
            (
                400,
                ResponseVars {
                    message,
                    success: false,
                    phone,
                },
            )
        }
        Err(_) if phone => (400, ResponseVars::phone_failure()),
        Err(_) => (400, ResponseVars::failure()),
    };
    let page = sessions.response_page(request::brand(ctx), &vars)?;
    Ok(RawResponse::html(status, page))
}
