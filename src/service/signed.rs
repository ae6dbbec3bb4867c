//! The signed association object returned by bind and v1 lookup: the stored association,
//! signed over canonical JSON with the server's long-term key under its server name — or,
//! for an association carried over from sydent, the object sydent served.

use crate::error::ApiResult;
use crate::state::AppState;
use crate::store::Association;
use serde_json::{Value, json};

/// `not_after` for new associations: the reference server vouches for 100 years.
pub const VALIDITY_MS: i64 = 100 * 365 * 24 * 3600 * 1000;

pub fn signed_association(state: &AppState, a: &Association) -> ApiResult<Value> {
    let mut v = json!({
        "medium": a.medium,
        "address": a.address,
        "mxid": a.mxid,
        "ts": a.ts,
        "not_before": a.not_before,
        "not_after": a.not_after,
    });
    crate::crypto::sign_json(&mut v, &state.config.server.server_name, &state.signing_key)?;
    Ok(v)
}

/// What a v1 lookup answers for `a`: the signed object carried over from sydent for exactly
/// this association when there is one — sydent served it verbatim, and the signature of the
/// replication peer that made a binding cannot be made again here — with this server's own
/// signature added when it lacks one (as sydent adds its own); otherwise a fresh one.
pub async fn signed_association_for_lookup(state: &AppState, a: &Association) -> ApiResult<Value> {
    if let Some(text) = state.store.original_signed_association(a).await?
        && let Ok(mut original) = serde_json::from_str::<Value>(&text)
        && original["mxid"] == a.mxid.as_str()
        && original["ts"] == a.ts
    {
        let name = &state.config.server.server_name;
        if original["signatures"].get(name).is_none() {
            crate::crypto::sign_json(&mut original, name, &state.signing_key)?;
        }
        return Ok(original);
    }
    signed_association(state, a)
}
