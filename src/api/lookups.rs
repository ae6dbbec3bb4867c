//! Association lookup over HTTP: v1 `GET /lookup` and `POST /bulk_lookup` (unauthenticated,
//! deprecated), v2 `GET /hash_details` and `POST /lookup` (access token, terms-gated as in the
//! reference server). Lookups are rate-limited per client address.

use super::Api;
use crate::domain::Medium;
use crate::error::ApiResult;
use crate::service::lookup::ALGORITHMS;
use oxident_api::rt::server::RequestContext;
use oxident_api::types::LookupUserParams;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// v1 `GET /lookup`: the signed association, or `{}` (also for a medium nobody binds: any
/// medium is a legal question).
pub async fn lookup_user(api: &Api, ctx: &RequestContext, p: LookupUserParams) -> ApiResult<Value> {
    let lookup = &api.services.lookup;
    lookup.check_rate(api.http.client_ip(ctx))?;
    match Medium::parse(&p.medium) {
        Some(medium) => lookup.lookup_signed(medium, &p.address).await,
        None => Ok(Value::Object(Map::new())),
    }
}

/// v1 `POST /bulk_lookup`: `(medium, address, mxid)` triples.
pub async fn lookup_users(
    api: &Api,
    ctx: &RequestContext,
    threepids: &[(String, String)],
) -> ApiResult<Vec<(String, String, String)>> {
    let lookup = &api.services.lookup;
    lookup.check_rate(api.http.client_ip(ctx))?;
    lookup.lookup_many(threepids).await
}

/// v2 `GET /hash_details`: the algorithms and the current pepper.
pub async fn hash_details(api: &Api, ctx: &RequestContext) -> ApiResult<(Vec<String>, String)> {
    api.user(ctx).await?;
    let pepper = api.services.lookup.current_pepper().await?;
    Ok((ALGORITHMS.iter().map(|a| a.to_string()).collect(), pepper))
}

/// v2 `POST /lookup`: entry → mxid.
pub async fn lookup_hashed(
    api: &Api,
    ctx: &RequestContext,
    algorithm: &str,
    pepper: &str,
    addresses: Vec<String>,
) -> ApiResult<BTreeMap<String, String>> {
    let caller = api.user(ctx).await?;
    let lookup = &api.services.lookup;
    lookup.check_hashed_rate(api.http.client_ip(ctx), &caller.user_id, addresses.len())?;
    lookup.lookup_hashed(algorithm, pepper, addresses).await
}
