//! Associations over HTTP (`…/3pid/{getValidated3pid,bind,unbind}`): one body per operation
//! for both API versions. v1 is unauthenticated (the session is the proof); v2 also needs an
//! access token of a user who accepted the terms, and v2 `bind` only binds to that user
//! (`403 M_UNAUTHORIZED` otherwise).

use super::Api;
use super::access::Version;
use crate::domain::{ClientSecret, Medium, Sid, UserId};
use crate::error::{ApiError, ApiResult};
use crate::service::binding::{SignedRequest, UnbindProof};
use crate::service::sessions::ValidatedThreepid;
use crate::service::signed::SignedAssociation;
use oxident_api::rt::server::RequestContext;
use oxident_api::types::{BindRequest, GetValidated3pidParams, UnbindRequest};

/// The session a request names, parsed (after the gate, so an unauthenticated v2 request is
/// refused for that first).
fn session(sid: &str, client_secret: &str) -> ApiResult<(Sid, ClientSecret)> {
    Ok((Sid::parse(sid)?, ClientSecret::parse(client_secret)?))
}

pub async fn bind(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    b: BindRequest,
) -> ApiResult<oxident_api::types::SignedAssociation> {
    if let Some(caller) = api.admit(v, ctx).await?
        && caller.user_id != b.mxid
    {
        return Err(ApiError::NotTokenOwner(
            "mxid must be the user of the access token".into(),
        ));
    }
    let mxid = UserId::parse(b.mxid)?;
    let (sid, client_secret) = session(&b.sid, &b.client_secret)?;
    let signed = api.services.bindings.bind(&sid, &client_secret, &mxid);
    Ok(signed.await?.into())
}

pub async fn get_validated3pid(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    p: GetValidated3pidParams,
) -> ApiResult<oxident_api::types::ValidatedThreePid> {
    api.admit(v, ctx).await?;
    let (sid, client_secret) = session(&p.sid, &p.client_secret)?;
    let sessions = &api.services.sessions;
    Ok(sessions
        .validated_threepid(&sid, &client_secret)
        .await?
        .into())
}

/// Both versions answer a bind with the one generated type (formats fold into one shape).
impl From<SignedAssociation> for oxident_api::types::SignedAssociation {
    fn from(s: SignedAssociation) -> Self {
        let a = s.association;
        Self {
            address: a.address,
            medium: a.medium.as_str().to_owned(),
            mxid: a.mxid.into_string(),
            not_after: a.not_after.as_millis(),
            not_before: a.not_before.as_millis(),
            signatures: s.signatures,
            ts: a.ts.as_millis(),
        }
    }
}

impl From<ValidatedThreepid> for oxident_api::types::ValidatedThreePid {
    fn from(t: ValidatedThreepid) -> Self {
        Self {
            medium: t.medium.as_str().to_owned(),
            address: t.address,
            validated_at: t.validated_at.as_millis(),
        }
    }
}

/// A homeserver-signed request (no sid/secret) carries no access token and is not
/// terms-gated in either version: the homeserver acts for its user (account deactivation,
/// `/account/3pid/delete`), and its signature covers the request as it arrived.
pub async fn unbind(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    b: UnbindRequest,
) -> ApiResult<()> {
    let bindings = &api.services.bindings;
    let address = &b.threepid.address;
    match UnbindProof::from_parts(b.sid.as_deref(), b.client_secret.as_deref())? {
        UnbindProof::HomeserverSignature => {
            let (mxid, medium) = (UserId::parse(b.mxid)?, Medium::require(&b.threepid.medium)?);
            let request = signed_request(api, ctx);
            bindings
                .unbind_signed(request, medium, address, &mxid)
                .await
        }
        UnbindProof::Session { sid, client_secret } => {
            api.admit(v, ctx).await?;
            let (mxid, medium) = (UserId::parse(b.mxid)?, Medium::require(&b.threepid.medium)?);
            let (sid, client_secret) = session(sid, client_secret)?;
            bindings
                .unbind_with_session(&sid, &client_secret, medium, address, &mxid)
                .await
        }
    }
}

/// What a homeserver's X-Matrix signature covers, from the request as it arrived.
fn signed_request<'a>(api: &Api, ctx: &'a RequestContext) -> SignedRequest<'a> {
    SignedRequest {
        authorization: ctx
            .headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        method: ctx.method.as_str(),
        uri: ctx
            .uri
            .path_and_query()
            .map_or(ctx.uri.path(), |pq| pq.as_str()),
        content: ctx.body.as_ref(),
        client: api.http.client_ip(ctx),
    }
}
