//! Binding and unbinding 3PIDs (is-behaviour §10.1, §11): a validated, unexpired session
//! proves control of the 3PID; `bind` publishes (or replaces) its association and returns it
//! signed; `unbind` with the same proof removes it.

use crate::error::{ApiError, ApiResult};
use crate::service::address::{MEDIUM_EMAIL, MEDIUM_MSISDN, canonical_address, check_user_id};
use crate::service::sessions::validated_threepid;
use crate::service::signed::{VALIDITY_MS, signed_association};
use crate::state::AppState;
use crate::store::{Association, Threepid};
use serde_json::Value;

/// Binds the 3PID of session `sid` to `mxid` (replacing any earlier binding of that 3PID) and
/// returns the signed association.
pub async fn bind(
    state: &AppState,
    sid: &str,
    client_secret: &str,
    mxid: &str,
) -> ApiResult<Value> {
    check_user_id(mxid)?;
    let threepid = validated_threepid(state, sid, client_secret).await?;
    let now = state.now_ms();
    let association = Association {
        medium: threepid.medium,
        address: threepid.address,
        mxid: mxid.to_owned(),
        ts: now,
        not_before: now,
        not_after: now.saturating_add(VALIDITY_MS),
    };
    let replaced = state.store.bind(&association).await?;
    if let Some(old) = replaced.filter(|old| old.mxid != association.mxid) {
        tracing::info!(medium = %old.medium, "a 3PID binding moved to another Matrix ID");
    }
    deliver_pending_invites(state, &association).await?;
    signed_association(state, &association)
}

/// Hands invites stored for the newly bound 3PID to the homeserver of its new owner
/// (`POST /_matrix/federation/v1/3pid/onbind`, is-behaviour §10.3).
///
/// Not done yet — federation issue: the onbind call, its signed `invites` and the retrier
/// that survives restarts belong to the federation work. Until then this deliberately does
/// nothing: the invites stay undelivered in the store (`Store::pending_deliveries` lists
/// them), so the retrier can deliver them once it exists. It does not pretend to deliver.
pub async fn deliver_pending_invites(
    _state: &AppState,
    _association: &Association,
) -> ApiResult<()> {
    Ok(())
}

/// How the caller of `unbind` proves its right.
#[derive(Debug, Clone, Copy)]
pub enum UnbindProof<'a> {
    /// `sid` + `client_secret` of a validated session for the same 3PID.
    Session {
        sid: &'a str,
        client_secret: &'a str,
    },
    /// Neither was given: the request should carry a homeserver signature (X-Matrix).
    HomeserverSignature,
}

impl<'a> UnbindProof<'a> {
    /// Both or neither of `sid` and `client_secret`; one alone is `M_MISSING_PARAMS`.
    pub fn from_parts(sid: Option<&'a str>, client_secret: Option<&'a str>) -> ApiResult<Self> {
        match (sid, client_secret) {
            (Some(sid), Some(client_secret)) => Ok(UnbindProof::Session { sid, client_secret }),
            (None, None) => Ok(UnbindProof::HomeserverSignature),
            _ => Err(ApiError::MissingParams(
                "sid and client_secret must be given together".into(),
            )),
        }
    }
}

/// Refuses homeserver-signed unbind, which is not supported yet (federation issue). The
/// answer is a Matrix error, so homeservers relay it rather than conclude "unsupported".
pub fn refuse_signed_unbind() -> ApiError {
    ApiError::Forbidden(
        "unbinding with a homeserver signature is not supported by this server yet; \
         use the sid and client_secret of a validated session"
            .into(),
    )
}

/// Removes the binding `threepid` → `mxid`, proven by a validated session for that 3PID.
/// Already unbound: success. Bound to another Matrix ID, or a session for another 3PID:
/// `403 M_FORBIDDEN`.
pub async fn unbind_with_session(
    state: &AppState,
    sid: &str,
    client_secret: &str,
    medium: &str,
    address: &str,
    mxid: &str,
) -> ApiResult<()> {
    check_user_id(mxid)?;
    if medium != MEDIUM_EMAIL && medium != MEDIUM_MSISDN {
        return Err(ApiError::InvalidParam(format!(
            "unsupported medium `{medium}`"
        )));
    }
    let threepid = Threepid::new(medium, canonical_address(medium, address));
    let session = validated_threepid(state, sid, client_secret).await?;
    if session.medium != threepid.medium || session.address != threepid.address {
        return Err(ApiError::Forbidden(
            "the validation session is for a different 3PID".into(),
        ));
    }
    match state.store.get_association(&threepid).await? {
        None => Ok(()),
        Some(a) if a.mxid != mxid => Err(ApiError::Forbidden(
            "this 3PID is not bound to that Matrix ID".into(),
        )),
        Some(_) => {
            state.store.unbind(&threepid, mxid).await?;
            Ok(())
        }
    }
}
