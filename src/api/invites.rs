//! Invitations over HTTP: `store-invite` and `sign-ed25519`, v1 (unauthenticated, deprecated)
//! and v2 (access token of a user who accepted the terms). v2 store-invite also requires the
//! `sender` to be the token's owner (`403 M_UNAUTHORIZED`, as sydent). store-invite is
//! rate-limited per client address; the rules live in `service::invites`.

use super::auth;
use crate::error::{ApiError, ApiResult};
use crate::service::invites::{self, InviteRequest, StoredInvite};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{invitation_signing, store_invite, v2_invitation_signing, v2_store_invite};
use serde::Serialize;
use std::collections::HashMap;

fn rate_limit(state: &AppState, ctx: &RequestContext) -> ApiResult<()> {
    let key = auth::rate_limit_key(state, ctx);
    state.limits.invite_per_ip.check(&key)
}

/// The `brand` query parameter (template set), if any.
fn brand(ctx: &RequestContext) -> Option<String> {
    axum::extract::Query::<HashMap<String, String>>::try_from_uri(&ctx.uri)
        .ok()?
        .0
        .remove("brand")
        .filter(|b| !b.is_empty())
}

fn params_of(body: &impl Serialize) -> ApiResult<serde_json::Value> {
    serde_json::to_value(body).map_err(ApiError::internal)
}

fn validity_url(state: &AppState, path: &str) -> String {
    format!(
        "{}/_matrix/identity/v2/pubkey/{path}",
        state.config.server.public_base_url.trim_end_matches('/')
    )
}

pub async fn store_invite(
    state: &AppState,
    ctx: &RequestContext,
    body: store_invite::store_invite::RequestBody,
) -> ApiResult<store_invite::store_invite::Response> {
    rate_limit(state, ctx)?;
    let params = params_of(&body)?;
    let request = InviteRequest {
        medium: body.medium,
        address: body.address,
        room_id: body.room_id,
        sender: body.sender,
        verified_sender: None,
        room_alias: body.room_alias,
        room_avatar_url: body.room_avatar_url,
        room_join_rules: body.room_join_rules,
        room_name: body.room_name,
        room_type: None,
        sender_avatar_url: body.sender_avatar_url,
        sender_display_name: body.sender_display_name,
        params,
        extra: body.extra,
        brand: brand(ctx),
    };
    let stored = invites::store_invite(state, request).await?;
    // The reference server answers v1 like v2 (objects with validity URLs, plus the
    // top-level `public_key`), and clients read that shape; r0.3.0's plain strings are
    // what nobody sends (spec/UPSTREAM.md).
    use store_invite::store_invite::{PublicKey, StoreInviteResponseV1};
    let [server, ephemeral] = key_entries(state, &stored);
    Ok(StoreInviteResponseV1 {
        display_name: stored.display_name,
        public_key: stored.server_public_key,
        public_keys: [server, ephemeral]
            .map(|(public_key, key_validity_url)| PublicKey {
                public_key,
                key_validity_url,
            })
            .into(),
        token: stored.token,
    })
}

/// The two `public_keys` entries of a store-invite answer: the long-term key, then the
/// invite's ephemeral key, each with the v2 URL that answers for it (v2, because an
/// operator may switch the v1 API off and homeservers fetch these URLs for years).
fn key_entries(state: &AppState, stored: &StoredInvite) -> [(String, String); 2] {
    [
        (
            stored.server_public_key.clone(),
            validity_url(state, "isvalid"),
        ),
        (
            stored.ephemeral_public_key.clone(),
            validity_url(state, "ephemeral/isvalid"),
        ),
    ]
}

pub async fn store_invite_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_store_invite::store_invite_v2::RequestBody,
) -> ApiResult<v2_store_invite::store_invite_v2::Response> {
    let caller = auth::user(state, ctx).await?;
    if body.sender != caller.user_id {
        return Err(ApiError::NotTokenOwner(
            "sender must be the user the access token belongs to".into(),
        ));
    }
    rate_limit(state, ctx)?;
    let params = params_of(&body)?;
    let request = InviteRequest {
        medium: body.medium,
        address: body.address,
        room_id: body.room_id,
        sender: body.sender,
        verified_sender: Some(caller.user_id),
        room_alias: body.room_alias,
        room_avatar_url: body.room_avatar_url,
        room_join_rules: body.room_join_rules,
        room_name: body.room_name,
        room_type: body.room_type,
        sender_avatar_url: body.sender_avatar_url,
        sender_display_name: body.sender_display_name,
        params,
        extra: body.extra,
        brand: brand(ctx),
    };
    let stored = invites::store_invite(state, request).await?;
    use v2_store_invite::store_invite_v2::{PublicKey, StoreInviteResponse};
    let [server, ephemeral] = key_entries(state, &stored);
    Ok(StoreInviteResponse {
        display_name: stored.display_name,
        public_key: stored.server_public_key,
        public_keys: [server, ephemeral]
            .map(|(public_key, key_validity_url)| PublicKey {
                public_key,
                key_validity_url,
            })
            .into(),
        token: stored.token,
    })
}

async fn sign<T: serde::de::DeserializeOwned>(
    state: &AppState,
    mxid: &str,
    token: &str,
    private_key: &str,
) -> ApiResult<T> {
    let signed = invites::sign_invitation(state, mxid, token, private_key).await?;
    serde_json::from_value(signed).map_err(ApiError::internal)
}

pub async fn blindly_sign_stuff(
    state: &AppState,
    _ctx: &RequestContext,
    body: invitation_signing::blindly_sign_stuff::RequestBody,
) -> ApiResult<invitation_signing::blindly_sign_stuff::Response> {
    sign(state, &body.mxid, &body.token, &body.private_key).await
}

pub async fn blindly_sign_stuff_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_invitation_signing::blindly_sign_stuff_v2::RequestBody,
) -> ApiResult<v2_invitation_signing::blindly_sign_stuff_v2::Response> {
    auth::user(state, ctx).await?;
    sign(state, &body.mxid, &body.token, &body.private_key).await
}
