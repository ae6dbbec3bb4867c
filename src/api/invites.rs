//! Invitations over HTTP: `store-invite` and `sign-ed25519`, one body each for both API
//! versions. v2 also requires the `sender` to be the token's owner (`403 M_UNAUTHORIZED`, as
//! sydent). store-invite is rate-limited per client address and per recipient; the rules
//! live in `service::invites`.

use super::access::Version;
use super::{Api, request};
use crate::domain::{EmailAddress, Medium, UserId};
use crate::error::{ApiError, ApiResult};
use crate::service::invites::{InviteRequest, InviteRoom, KeyEntry, StoredInvite};
use oxident_api::rt::server::RequestContext;
use oxident_api::types::{
    PublicKey, SignInvitationRequest, SignedInvitation, StoreInviteRequest, StoreInviteRequestV1,
    StoreInviteResponse, StoreInviteResponseV1,
};

/// A store-invite body of either version, as sent (before the gate and parsing). v1's has no
/// `room_type` field: a v1 `room_type` arrives among its extra keys, where the service looks.
pub struct InviteBody {
    medium: String,
    address: String,
    sender: String,
    room: InviteRoom,
}

/// The two generated bodies of one shape (v2 adds `room_type`), and the two answers of one.
macro_rules! store_invite_versions {
    ($($body:ty => |$b:ident| $room_type:expr, $answer:ident;)*) => {$(
        impl From<$body> for InviteBody {
            fn from($b: $body) -> Self {
                let room = InviteRoom {
                    room_type: $room_type,
                    room_id: $b.room_id,
                    room_alias: $b.room_alias,
                    room_avatar_url: $b.room_avatar_url,
                    room_join_rules: $b.room_join_rules,
                    room_name: $b.room_name,
                    sender_avatar_url: $b.sender_avatar_url,
                    sender_display_name: $b.sender_display_name,
                    extra: $b.extra,
                };
                InviteBody { medium: $b.medium, address: $b.address, sender: $b.sender, room }
            }
        }

        /// The reference server answers v1 like v2 (objects with validity URLs, plus the
        /// top-level `public_key`), and clients read that shape; r0.3.0's plain strings are
        /// what nobody sends (spec/UPSTREAM.md).
        impl From<InviteAnswer> for $answer {
            fn from(InviteAnswer { stored, keys }: InviteAnswer) -> Self {
                $answer {
                    display_name: stored.display_name,
                    public_key: stored.server_public_key,
                    public_keys: keys
                        .map(|k| PublicKey {
                            public_key: k.public_key,
                            key_validity_url: k.key_validity_url,
                        })
                        .into(),
                    token: stored.token,
                }
            }
        }
    )*};
}

store_invite_versions! {
    StoreInviteRequestV1 => |b| None, StoreInviteResponseV1;
    StoreInviteRequest => |b| b.room_type, StoreInviteResponse;
}

/// What store-invite answers in either version: the stored invite and its two `public_keys`
/// entries.
pub struct InviteAnswer {
    stored: StoredInvite,
    keys: [KeyEntry; 2],
}

/// store-invite.
pub async fn store_invite(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    b: InviteBody,
) -> ApiResult<InviteAnswer> {
    let mut verified_sender = None;
    if let Some(caller) = api.admit(v, ctx).await? {
        if caller.user_id != b.sender {
            return Err(ApiError::NotTokenOwner(
                "sender must be the user the access token belongs to".into(),
            ));
        }
        verified_sender = Some(caller.user_id.into_string());
    }
    if Medium::parse(&b.medium) != Some(Medium::Email) {
        return Err(ApiError::Unrecognized(format!(
            "medium `{}` is not supported for invitations; only `email` is",
            b.medium
        )));
    }
    let request = InviteRequest {
        address: EmailAddress::parse(&b.address)?,
        sender: UserId::parse(b.sender)?,
        verified_sender,
        room: b.room,
        brand: request::brand(ctx).map(str::to_owned),
        client_ip: api.http.client_ip(ctx),
    };
    let invites = &api.services.invites;
    let stored = invites.store_invite(request).await?;
    let keys = invites.key_entries(&stored);
    Ok(InviteAnswer { stored, keys })
}

pub async fn sign(
    api: &Api,
    v: Version,
    ctx: &RequestContext,
    b: SignInvitationRequest,
) -> ApiResult<SignedInvitation> {
    api.admit(v, ctx).await?;
    let mxid = UserId::parse(b.mxid)?;
    let invites = &api.services.invites;
    let s = invites
        .sign_invitation(&mxid, &b.token, &b.private_key)
        .await?;
    Ok(SignedInvitation {
        mxid: s.mxid,
        sender: s.sender,
        signatures: s.signatures,
        token: s.token,
    })
}
