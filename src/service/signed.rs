//! The signed association object returned by bind and v1 lookup: the stored association,
//! signed over canonical JSON with the server's long-term key under its server name.

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
