//! Who is calling: the identity-server access token (header, or the deprecated query
//! parameter when the operator allows it) and the terms-of-service gate.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use std::borrow::Cow;
use std::net::IpAddr;

/// The owner of a valid access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: String,
}

/// The token the request presents (borrowed from the header, or decoded from the query).
/// Never logged.
pub fn presented_token<'a>(state: &AppState, ctx: &'a RequestContext) -> Option<Cow<'a, str>> {
    if let Some(t) = ctx.bearer_token() {
        return Some(Cow::Borrowed(t));
    }
    if state.config.auth.accept_query_access_token {
        return ctx
            .query_access_token()
            .filter(|t| !t.is_empty())
            .map(Cow::Owned);
    }
    None
}

/// A valid token, without the terms gate (logout, `POST /terms`).
pub async fn caller(state: &AppState, ctx: &RequestContext) -> ApiResult<Caller> {
    let token = presented_token(state, ctx).ok_or(ApiError::Unauthorized)?;
    let owner = state
        .store
        .access_token_owner(&token)
        .await?
        .ok_or(ApiError::Unauthorized)?;
    Ok(Caller {
        user_id: owner.user_id,
    })
}

/// A valid token whose user has accepted every current policy.
pub async fn user(state: &AppState, ctx: &RequestContext) -> ApiResult<Caller> {
    let caller = caller(state, ctx).await?;
    require_terms(state, &caller).await?;
    Ok(caller)
}

pub async fn require_terms(state: &AppState, caller: &Caller) -> ApiResult<()> {
    if state.terms.is_empty() {
        return Ok(());
    }
    let accepted = state.store.accepted_terms(&caller.user_id).await?;
    if state
        .terms
        .all_accepted(accepted.iter().map(String::as_str))
    {
        Ok(())
    } else {
        Err(ApiError::TermsNotSigned)
    }
}

/// The requester's address: the peer, or — when the peer is a trusted proxy — the last
/// `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(state: &AppState, ctx: &RequestContext) -> Option<IpAddr> {
    let peer = ctx.remote_addr.map(|a| a.ip())?;
    let trusted = &state.config.server.trusted_proxies;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = ctx
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .or(Some(peer))
}

/// The key per-client rate limits count under.
pub fn rate_limit_key(state: &AppState, ctx: &RequestContext) -> Option<IpAddr> {
    client_ip(state, ctx)
}
