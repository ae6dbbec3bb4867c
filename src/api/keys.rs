//! Public keys (v1 and v2, unauthenticated): `GET /pubkey/{keyId}`, `/pubkey/isvalid` for the
//! long-term keys, `/pubkey/ephemeral/isvalid` for the keys issued with invitations.
//!
//! Validity is about the key, not its spelling: a long-term key is recognised in padded or
//! unpadded base64 of either alphabet. Ephemeral keys are looked up as the exact string issued
//! first (spec v1.15), then in the other unpadded spellings of the same bytes. A `+` that
//! arrived unescaped in the query string was decoded as a space; it is turned back.

use crate::crypto::b64;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use oxident_api::rt::server::RequestContext;
use oxident_api::{pubkey, v2_pubkey};

fn public_key_of(state: &AppState, key_id: &str) -> ApiResult<String> {
    state
        .keys
        .iter()
        .find(|k| k.key_id() == key_id)
        .map(|k| k.public_key().to_base64())
        .ok_or_else(|| ApiError::NotFound(format!("no key with id `{key_id}`")))
}

/// The query value as sent: base64 never contains spaces, so a space was an unescaped `+`.
fn restore_plus(public_key: &str) -> String {
    public_key.trim().replace(' ', "+")
}

fn is_long_term_key(state: &AppState, public_key: &str) -> bool {
    let Ok(bytes) = b64::decode_array::<32>(&restore_plus(public_key)) else {
        return false;
    };
    state
        .keys
        .iter()
        .any(|k| k.public_key().to_bytes() == bytes)
}

async fn is_ephemeral_key(state: &AppState, public_key: &str) -> ApiResult<bool> {
    let now = state.now_ms();
    let given = restore_plus(public_key);
    if given.is_empty() {
        return Ok(false);
    }
    if state.store.is_ephemeral_key_valid(&given, now).await? {
        return Ok(true);
    }
    let Ok(bytes) = b64::decode_array::<32>(&given) else {
        return Ok(false);
    };
    for spelling in [b64::encode_url_safe(&bytes), b64::encode(&bytes)] {
        if spelling != given && state.store.is_ephemeral_key_valid(&spelling, now).await? {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn get_pub_key(
    state: &AppState,
    _ctx: &RequestContext,
    params: pubkey::get_pub_key::Params,
) -> ApiResult<pubkey::get_pub_key::Response> {
    Ok(pubkey::get_pub_key::PubKeyResponse {
        public_key: public_key_of(state, &params.key_id)?,
    })
}

pub async fn get_pub_key_v2(
    state: &AppState,
    _ctx: &RequestContext,
    params: v2_pubkey::get_pub_key_v2::Params,
) -> ApiResult<v2_pubkey::get_pub_key_v2::Response> {
    Ok(v2_pubkey::get_pub_key_v2::PubKeyResponse {
        public_key: public_key_of(state, &params.key_id)?,
    })
}

pub async fn is_pub_key_valid(
    state: &AppState,
    _ctx: &RequestContext,
    params: pubkey::is_pub_key_valid::Params,
) -> ApiResult<pubkey::is_pub_key_valid::Response> {
    Ok(pubkey::is_pub_key_valid::KeyValidity {
        valid: is_long_term_key(state, &params.public_key),
    })
}

pub async fn is_pub_key_valid_v2(
    state: &AppState,
    _ctx: &RequestContext,
    params: v2_pubkey::is_pub_key_valid_v2::Params,
) -> ApiResult<v2_pubkey::is_pub_key_valid_v2::Response> {
    Ok(v2_pubkey::is_pub_key_valid_v2::KeyValidity {
        valid: is_long_term_key(state, &params.public_key),
    })
}

pub async fn is_ephemeral_pub_key_valid(
    state: &AppState,
    _ctx: &RequestContext,
    params: pubkey::is_ephemeral_pub_key_valid::Params,
) -> ApiResult<pubkey::is_ephemeral_pub_key_valid::Response> {
    Ok(pubkey::is_ephemeral_pub_key_valid::KeyValidity {
        valid: is_ephemeral_key(state, &params.public_key).await?,
    })
}

pub async fn is_ephemeral_pub_key_valid_v2(
    state: &AppState,
    _ctx: &RequestContext,
    params: v2_pubkey::is_ephemeral_pub_key_valid_v2::Params,
) -> ApiResult<v2_pubkey::is_ephemeral_pub_key_valid_v2::Response> {
    Ok(v2_pubkey::is_ephemeral_pub_key_valid_v2::KeyValidity {
        valid: is_ephemeral_key(state, &params.public_key).await?,
    })
}
