//! Associations over HTTP (`…/3pid/{getValidated3pid,bind,unbind}`, v1 and v2): decode, call
//! `service::{sessions,binding}`, encode. v1 is unauthenticated (the session is the proof);
//! v2 also needs an access token of a user who accepted the terms, and v2 `bind` only binds
//! to that user (`403 M_UNAUTHORIZED` otherwise).

use super::auth;
use crate::error::{ApiError, ApiResult};
use crate::service::binding::{self, UnbindProof};
use crate::service::sessions::{self, ValidatedThreepid};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{associations, v2_associations};
use serde::de::DeserializeOwned;
use serde_json::Map;

/// v1 and v2 alike: the homeserver's signature covers the request as it arrived.
async fn unbind_signed(
    state: &AppState,
    ctx: &RequestContext,
    medium: &str,
    address: &str,
    mxid: &str,
) -> ApiResult<Map<String, serde_json::Value>> {
    binding::unbind_signed(state, signed_request(ctx), medium, address, mxid).await?;
    Ok(Map::new())
}

/// What a homeserver's X-Matrix signature covers, from the request as it arrived.
fn signed_request(ctx: &RequestContext) -> binding::SignedRequest<'_> {
    binding::SignedRequest {
        authorization: ctx
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
        method: ctx.method.as_str(),
        uri: ctx
            .uri
            .path_and_query()
            .map_or(ctx.uri.path(), |pq| pq.as_str()),
        content: ctx.body.as_ref(),
    }
}

fn decode<T: DeserializeOwned>(value: serde_json::Value) -> ApiResult<T> {
    serde_json::from_value(value).map_err(ApiError::internal)
}

pub async fn bind(
    state: &AppState,
    _ctx: &RequestContext,
    body: associations::bind::RequestBody,
) -> ApiResult<associations::bind::Response> {
    decode(binding::bind(state, &body.sid, &body.client_secret, &body.mxid).await?)
}

pub async fn get_validated3pid(
    state: &AppState,
    _ctx: &RequestContext,
    params: associations::get_validated3pid::Params,
) -> ApiResult<associations::get_validated3pid::Response> {
    let ValidatedThreepid {
        medium,
        address,
        validated_at,
    } = sessions::validated_threepid(state, &params.sid, &params.client_secret).await?;
    Ok(associations::get_validated3pid::ValidatedThreePid {
        medium,
        address,
        validated_at,
    })
}

pub async fn unbind(
    state: &AppState,
    ctx: &RequestContext,
    body: associations::unbind::RequestBody,
) -> ApiResult<associations::unbind::Response> {
    match UnbindProof::from_parts(body.sid.as_deref(), body.client_secret.as_deref())? {
        UnbindProof::HomeserverSignature => {
            unbind_signed(
                state,
                ctx,
                &body.threepid.medium,
                &body.threepid.address,
                &body.mxid,
            )
            .await
        }
        UnbindProof::Session { sid, client_secret } => {
            binding::unbind_with_session(
                state,
                sid,
                client_secret,
                &body.threepid.medium,
                &body.threepid.address,
                &body.mxid,
            )
            .await?;
            Ok(Map::new())
        }
    }
}

pub async fn bind_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_associations::bind_v2::RequestBody,
) -> ApiResult<v2_associations::bind_v2::Response> {
    let caller = auth::user(state, ctx).await?;
    if caller.user_id != body.mxid {
        return Err(ApiError::NotTokenOwner(
            "mxid must be the user of the access token".into(),
        ));
    }
    decode(binding::bind(state, &body.sid, &body.client_secret, &body.mxid).await?)
}

pub async fn get_validated3pid_v2(
    state: &AppState,
    ctx: &RequestContext,
    params: v2_associations::get_validated3pid_v2::Params,
) -> ApiResult<v2_associations::get_validated3pid_v2::Response> {
    auth::user(state, ctx).await?;
    let ValidatedThreepid {
        medium,
        address,
        validated_at,
    } = sessions::validated_threepid(state, &params.sid, &params.client_secret).await?;
    Ok(v2_associations::get_validated3pid_v2::ValidatedThreePid {
        medium,
        address,
        validated_at,
    })
}

/// A homeserver-signed request (no sid/secret) carries no access token and is not terms-gated:
/// the homeserver acts for its user (account deactivation, `/account/3pid/delete`).
pub async fn unbind_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_associations::unbind_v2::RequestBody,
) -> ApiResult<v2_associations::unbind_v2::Response> {
    match UnbindProof::from_parts(body.sid.as_deref(), body.client_secret.as_deref())? {
        UnbindProof::HomeserverSignature => {
            unbind_signed(
                state,
                ctx,
                &body.threepid.medium,
                &body.threepid.address,
                &body.mxid,
            )
            .await
        }
        UnbindProof::Session { sid, client_secret } => {
            auth::user(state, ctx).await?;
            binding::unbind_with_session(
                state,
                sid,
                client_secret,
                &body.threepid.medium,
                &body.threepid.address,
                &body.mxid,
            )
            .await?;
            Ok(Map::new())
        }
    }
}
