//! Invitations over HTTP: `store-invite` and `sign-ed25519`, one body each for both API
//! versions. v2 also requires the `sender` to be the token's owner (`403 M_UNAUTHORIZED`, as
//! sydent). store-invite is rate-limited per client address and per recipient; the rules
//! live in `service::invites`.

use super::access::Version;
use super::{Api, request};
use crate::error::{ApiError, ApiResult};
use crate::service::invites::{InviteRequest, KeyEntry, SignedInvitation, StoredInvite};
use oxident_api::rt::server::RequestContext;

/// store-invite: the stored invite and its two `public_keys` entries. `request.brand`,
/// `request.client_ip` and `request.verified_sender` are filled here.
pub async fn store_invite(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    mut request: InviteRequest,
) -> ApiResult<(StoredInvite, [KeyEntry; 2])> {
    if let Some(caller) = api.admit(v, ctx).await? {
        if request.sender != caller.user_id {
            return Err(ApiError::NotTokenOwner(
                "sender must be the user the access token belongs to".into(),
            ));
        }
        request.verified_sender = Some(caller.user_id);
    }
    let invites = &api.services.invites;
    request.brand = request::brand(ctx).map(str::to_owned);
    request.client_ip = api.http.client_ip(ctx);
    let stored = invites.store_invite(request).await?;
    let keys = invites.key_entries(&stored);
    Ok((stored, keys))
}

pub async fn sign(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    mxid: &str,
    token: &str,
    private_key: &str,
) -> ApiResult<SignedInvitation> {
    api.admit(v, ctx).await?;
    api.services
        .invites
        .sign_invitation(mxid, token, private_key)
        .await
}
