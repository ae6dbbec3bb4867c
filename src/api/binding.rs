//! Associations over HTTP (`…/3pid/{getValidated3pid,bind,unbind}`): one body per operation
//! for both API versions. v1 is unauthenticated (the session is the proof); v2 also needs an
//! access token of a user who accepted the terms, and v2 `bind` only binds to that user
//! (`403 M_UNAUTHORIZED` otherwise).

use super::Api;
use super::access::Version;
use crate::error::{ApiError, ApiResult};
use crate::service::binding::{SignedRequest, UnbindProof};
use crate::service::sessions::ValidatedThreepid;
use crate::service::signed::SignedAssociation;
use oxident_api::rt::server::RequestContext;

pub async fn bind(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    sid: &str,
    client_secret: &str,
    mxid: &str,
) -> ApiResult<SignedAssociation> {
    if let Some(caller) = api.admit(v, ctx).await?
        && caller.user_id != mxid
    {
        return Err(ApiError::NotTokenOwner(
            "mxid must be the user of the access token".into(),
        ));
    }
    api.services.bindings.bind(sid, client_secret, mxid).await
}

pub async fn get_validated3pid(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    sid: &str,
    client_secret: &str,
) -> ApiResult<ValidatedThreepid> {
    api.admit(v, ctx).await?;
    api.services
        .sessions
        .validated_threepid(sid, client_secret)
        .await
}

/// Both versions answer a bind with the one generated type (formats fold into one shape).
impl From<SignedAssociation> for oxident_api::types::SignedAssociation {
    fn from(s: SignedAssociation) -> Self {
        let a = s.association;
        Self {
            address: a.address,
            medium: a.medium,
            mxid: a.mxid,
            not_after: a.not_after,
            not_before: a.not_before,
            signatures: s.signatures,
            ts: a.ts,
        }
    }
}

impl From<ValidatedThreepid> for oxident_api::types::ValidatedThreePid {
    fn from(t: ValidatedThreepid) -> Self {
        Self {
            medium: t.medium,
            address: t.address,
            validated_at: t.validated_at,
        }
    }
}

/// An unbind request as both versions send it.
pub struct UnbindRequest<'a> {
    pub sid: Option<&'a str>,
    pub client_secret: Option<&'a str>,
    pub medium: &'a str,
    pub address: &'a str,
    pub mxid: &'a str,
}

/// v1 and v2 unbind with one body shape.
impl<'a> From<&'a oxident_api::types::UnbindRequest> for UnbindRequest<'a> {
    fn from(b: &'a oxident_api::types::UnbindRequest) -> Self {
        UnbindRequest {
            sid: b.sid.as_deref(),
            client_secret: b.client_secret.as_deref(),
            medium: &b.threepid.medium,
            address: &b.threepid.address,
            mxid: &b.mxid,
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
    req: UnbindRequest<'_>,
) -> ApiResult<()> {
    let bindings = &api.services.bindings;
    match UnbindProof::from_parts(req.sid, req.client_secret)? {
        UnbindProof::HomeserverSignature => {
            bindings
                .unbind_signed(signed_request(api, ctx), req.medium, req.address, req.mxid)
                .await
        }
        UnbindProof::Session { sid, client_secret } => {
            api.admit(v, ctx).await?;
            bindings
                .unbind_with_session(sid, client_secret, req.medium, req.address, req.mxid)
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
