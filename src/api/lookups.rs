//! Association lookup over HTTP: v1 `GET /lookup` and `POST /bulk_lookup` (unauthenticated,
//! deprecated), v2 `GET /hash_details` and `POST /lookup` (access token). Lookups are
//! rate-limited per client address.
//!
//! The v2 lookups are terms-gated (`403 M_TERMS_NOT_SIGNED`), as in the reference server.

use super::auth;
use crate::error::ApiResult;
use crate::service::lookup;
use crate::service::signed::signed_association;
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{lookup as v1_lookup, v2_lookup};
use serde_json::json;

fn rate_limit(state: &AppState, ctx: &RequestContext) -> ApiResult<()> {
    let key = auth::rate_limit_key(state, ctx);
    state.limits.lookup_per_ip.check(&key)
}

pub async fn lookup_user(
    state: &AppState,
    ctx: &RequestContext,
    params: v1_lookup::lookup_user::Params,
) -> ApiResult<v1_lookup::lookup_user::Response> {
    rate_limit(state, ctx)?;
    // The signed association, or `{}` when nothing is bound (the spec's 200 allows both).
    match lookup::lookup_one(state, &params.medium, &params.address).await? {
        Some(association) => signed_association(state, &association),
        None => Ok(json!({})),
    }
}

pub async fn lookup_users(
    state: &AppState,
    ctx: &RequestContext,
    body: v1_lookup::lookup_users::RequestBody,
) -> ApiResult<v1_lookup::lookup_users::Response> {
    rate_limit(state, ctx)?;
    Ok(v1_lookup::lookup_users::BulkLookupResponse {
        threepids: lookup::lookup_many(state, &body.threepids).await?,
    })
}

pub async fn get_hash_details(
    state: &AppState,
    ctx: &RequestContext,
) -> ApiResult<v2_lookup::get_hash_details::Response> {
    auth::user(state, ctx).await?;
    Ok(v2_lookup::get_hash_details::HashDetails {
        algorithms: lookup::ALGORITHMS.iter().map(|a| a.to_string()).collect(),
        lookup_pepper: lookup::current_pepper(state).await?,
    })
}

pub async fn lookup_users_v2(
    state: &AppState,
    ctx: &RequestContext,
    body: v2_lookup::lookup_users_v2::RequestBody,
) -> ApiResult<v2_lookup::lookup_users_v2::Response> {
    auth::user(state, ctx).await?;
    rate_limit(state, ctx)?;
    let mappings =
        lookup::lookup_hashed(state, &body.algorithm, &body.pepper, body.addresses).await?;
    Ok(v2_lookup::lookup_users_v2::LookupResponse { mappings })
}
