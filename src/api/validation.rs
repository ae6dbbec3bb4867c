//! Validation sessions over HTTP (`…/validate/{email,msisdn}/…`): one body per operation for
//! both API versions; `Version` decides the gate. `GET submitToken` has no gate in either
//! version: a browser opens it from the mail without any token (is-behaviour §9.5). Phone
//! numbers go to `service::msisdn`.

use super::access::Version;
use super::{Api, request};
use crate::domain::{ClientSecret, EmailAddress, Medium, Sid};
use crate::error::{ApiError, ApiResult};
use crate::mail::ResponseVars;
use crate::service::address::check_next_link;
use crate::service::msisdn::{MsisdnSession, MsisdnTokenRequest};
use crate::service::sessions::EmailTokenRequest;
use oxident_api::rt::server::RequestContext;
use oxident_api::rt::{Operation, RawResponse};
use oxident_api::types::{
    EmailSubmitTokenGetParams, MsisdnRequestTokenResponse, RequestTokenResponse,
    SubmitTokenRequest, SubmitTokenResponse,
};
use oxident_api::{email_associations, v2_email_associations};

/// An email `requestToken` as both versions send it (two generated types of one shape:
/// [`email_request!`] borrows either's fields).
pub struct EmailRequest<'a> {
    pub client_secret: &'a str,
    pub email: &'a str,
    pub next_link: Option<&'a str>,
    pub send_attempt: i64,
}

/// The [`EmailRequest`] of either version's body.
macro_rules! email_request {
    ($b:expr) => {
        validation::EmailRequest {
            client_secret: &$b.client_secret,
            email: &$b.email,
            next_link: $b.next_link.as_deref(),
            send_attempt: $b.send_attempt,
        }
    };
}
pub(crate) use email_request;

/// `requestToken` (email): the session id.
pub async fn email_request_token(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    req: EmailRequest<'_>,
) -> ApiResult<RequestTokenResponse> {
    api.admit(v, ctx).await?;
    let client_secret = ClientSecret::parse(req.client_secret)?;
    let email = EmailAddress::parse(req.email)?;
    // The mail links to the `GET submitToken` of the request's version.
    let submit_path = match v {
        Version::V1 => <email_associations::email_submit_token_get::Op as Operation>::PATH,
        Version::V2 => <v2_email_associations::email_submit_token_get_v2::Op as Operation>::PATH,
    };
    let sid = api
        .services
        .sessions
        .request_email_token(EmailTokenRequest {
            client_secret: &client_secret,
            email: &email,
            next_link: req.next_link,
            send_attempt: req.send_attempt,
            brand: request::brand(ctx),
            client_ip: api.http.client_ip(ctx),
            submit_path,
        })
        .await?;
    Ok(RequestTokenResponse { sid })
}

/// An msisdn `requestToken` as both versions send it (see [`EmailRequest`]).
pub struct MsisdnRequest<'a> {
    pub client_secret: &'a str,
    pub country: &'a str,
    pub phone_number: &'a str,
    pub next_link: Option<&'a str>,
    pub send_attempt: i64,
}

/// The [`MsisdnRequest`] of either version's body.
macro_rules! msisdn_request {
    ($b:expr) => {
        validation::MsisdnRequest {
            client_secret: &$b.client_secret,
            country: &$b.country,
            phone_number: &$b.phone_number,
            next_link: $b.next_link.as_deref(),
            send_attempt: $b.send_attempt,
        }
    };
}
pub(crate) use msisdn_request;

/// `requestToken` (msisdn): the session and the number as understood.
pub async fn msisdn_request_token(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    req: MsisdnRequest<'_>,
) -> ApiResult<MsisdnRequestTokenResponse> {
    api.admit(v, ctx).await?;
    let client_secret = ClientSecret::parse(req.client_secret)?;
    let s: MsisdnSession = api
        .services
        .msisdn
        .request_token(MsisdnTokenRequest {
            client_secret: &client_secret,
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
    medium: Medium,
    sid: &str,
    client_secret: &str,
    token: &str,
) -> ApiResult<Option<String>> {
    let (sid, client_secret) = (Sid::parse(sid)?, ClientSecret::parse(client_secret)?);
    let session = match medium {
        Medium::Msisdn => {
            let msisdn = &api.services.msisdn;
            msisdn.submit_token(&sid, &client_secret, token).await?
        }
        Medium::Email => {
            let sessions = &api.services.sessions;
            sessions
                .submit_token(medium, &sid, &client_secret, token)
                .await?
        }
    };
    Ok(session.next_link)
}

/// `POST submitToken` (either medium).
pub async fn submit_token(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    medium: Medium,
    b: SubmitTokenRequest,
) -> ApiResult<SubmitTokenResponse> {
    api.admit(v, ctx).await?;
    validate(api, medium, &b.sid, &b.client_secret, &b.token).await?;
    Ok(SubmitTokenResponse { success: true })
}

/// `GET submitToken`: a page for the person who clicked the link, or a redirect to the
/// session's `next_link` after a successful validation.
pub async fn submit_token_page(
    api: &Api,
    ctx: &RequestContext,
    medium: Medium,
    p: EmailSubmitTokenGetParams,
) -> ApiResult<RawResponse> {
    let sessions = &api.services.sessions;
    let phone = medium == Medium::Msisdn;
    let (status, vars) = match validate(api, medium, &p.sid, &p.client_secret, &p.token).await {
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
