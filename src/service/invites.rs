//! Third-party invitations (is-behaviour §10.2, §10.4): `store-invite` records a pending room
//! invitation for an unbound email address, with a fresh ephemeral key, and mails the invitee;
//! `sign-ed25519` signs `{mxid, sender, token}` with the ephemeral private key from that mail
//! for clients that cannot do the crypto themselves.
//!
//! Ordering of store-invite: the mail is rendered and sent **before** the invite is stored.
//! A mail that cannot be sent therefore leaves nothing behind (the homeserver gets an error
//! and creates no `m.room.third_party_invite` event, so a stored invite would be junk that
//! `onbind` would later deliver for nothing). The opposite failure — mail sent, then the
//! database write fails — is a rare server fault; the homeserver then also gets an error and
//! the invitee holds a link whose token this server does not know (`sign-ed25519` answers 404).
//!
//! Bounded storage (issue 21): an invite keeps only what `onbind` and `sign-ed25519` read (token,
//! medium, address, room ID ≤ 255 bytes, sender, key). The display fields served the mail, which is
//! sent before the invite is stored, so the body (up to the 256 KiB body limit) is not kept; the
//! old `params` column holds `{}`. Invitations are rate limited per client and per recipient
//! address (`ratelimit.invite_per_address_per_hour`), both in one `check_all` before the
//! bound-address check, so the limit also bounds probing which addresses are bound. Ephemeral
//! invite keys are issued as URL-safe unpadded base64 and never expire; their private half is
//! mailed, not stored; `sign-ed25519` refuses a key that is not the invite's own.

use crate::clock::Clock;
use crate::crypto::tokens::{EMAIL_TOKEN_LEN, RandomSource, random_token_from};
use crate::crypto::{PublicKey, SigningKey};
use crate::domain::{EmailAddress, Medium, UserId};
use crate::duration::ConfigDuration;
use crate::error::{ApiError, ApiResult};
use crate::mail::{InviteVars, MailError, Mailer, Templates};
use crate::ops::metrics::Metrics;
use crate::service::ratelimit::{ClientLimiter, Limiter, check_all};
use crate::service::signed::{Signatures, Signer};
use crate::store::{AssociationStore, InviteStore, NewEphemeralKey, NewInvite, Threepid};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Invitations: the invite and association stores, the mailer and templates, randomness
/// (tokens, ephemeral keys), time, the signer, the two store-invite limits and `[invites]`.
pub struct InviteService {
    pub(crate) store: Arc<dyn InviteStore>,
    /// Only to refuse addresses already bound (`[invites] refuse_bound_addresses`).
    pub(crate) associations: Arc<dyn AssociationStore>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) templates: Arc<Templates>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) signer: Arc<Signer>,
    pub(crate) per_ip: ClientLimiter,
    pub(crate) per_address: Limiter,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) config: InvitesConfig,
    /// Base of the key validity URLs in store-invite answers.
    pub(crate) public_base_url: String,
}

/// One entry of a store-invite answer's `public_keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyEntry {
    pub public_key: String,
    pub key_validity_url: String,
}

/// `sign-ed25519`'s answer: `{mxid, sender, token}` and the ephemeral key's signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedInvitation {
    pub mxid: String,
    pub sender: String,
    pub token: String,
    pub signatures: Signatures,
}

/// Key id of the ephemeral key in `sign-ed25519` signatures (sydent's).
pub const EPHEMERAL_KEY_VERSION: &str = "0";
/// Longest `room_id` accepted (the spec's limit for every Matrix identifier).
pub const MAX_ROOM_ID_LEN: usize = 255;
/// Extra request parameters that fill named template variables.
const WEB_CLIENT_LOCATION: &str = "org.matrix.web_client_location";

/// A store-invite request, whichever API version it came from. Invitations go by email
/// only, so the address is one.
#[derive(Debug, Clone)]
pub struct InviteRequest {
    pub address: EmailAddress,
    pub sender: UserId,
    /// The inviter as authenticated by an access token (v2).
    pub verified_sender: Option<String>,
    pub room: InviteRoom,
    /// `brand` query parameter: which template set renders the mail.
    pub brand: Option<String>,
    /// The requester, for the per-client limit.
    pub client_ip: Option<IpAddr>,
}

/// The room and how the inviter presents it, as the homeserver sent them: stored (`room_id`)
/// or only put into the mail.
#[derive(Debug, Clone)]
pub struct InviteRoom {
    pub room_id: String,
    pub room_alias: Option<String>,
    pub room_avatar_url: Option<String>,
    pub room_join_rules: Option<String>,
    pub room_name: Option<String>,
    pub room_type: Option<String>,
    pub sender_avatar_url: Option<String>,
    pub sender_display_name: Option<String>,
    /// Request properties beyond the named ones.
    pub extra: Map<String, Value>,
}

/// What store-invite answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredInvite {
    pub token: String,
    pub display_name: String,
    /// The long-term server key (unpadded standard base64).
    pub server_public_key: String,
    /// The invite's ephemeral key, exactly as stored and compared at `ephemeral/isvalid`
    /// (unpadded URL-safe base64, as sydent issues it; spec v1.15 allows either alphabet).
    pub ephemeral_public_key: String,
}

fn mail_error(e: MailError) -> ApiError {
    if e.is_invalid_address() {
        ApiError::InvalidEmail
    } else {
        tracing::warn!(error = %e, "invitation mail not sent");
        ApiError::EmailSendError
    }
}

fn extra_string(extra: &Map<String, Value>, name: &str) -> Option<String> {
    extra.get(name).and_then(Value::as_str).map(str::to_owned)
}

/// Extra parameters as template variables (sydent passes every request parameter through):
/// strings as they are, numbers and booleans as text; objects, arrays and null are skipped.
/// The templates make every value single-line and ignore names that clash with their own.
fn template_extras(extra: &Map<String, Value>) -> BTreeMap<String, String> {
    extra
        .iter()
        .filter_map(|(name, value)| {
            let text = match value {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some((name.clone(), text))
        })
        .collect()
}

/// `display_name` for the room state, as sydent makes it: the first `reveal.0` characters
/// of the local part and `reveal.1` of the domain, each followed by `...`; a part no longer
/// than its count shows 3 characters if it has over 5, 1 if over 1, else none — so the
/// address cannot be read back even when it is short.
pub fn redact_email(address: &str, reveal: (usize, usize)) -> String {
    let (local, domain) = address.split_once('@').unwrap_or((address, ""));
    format!(
        "{}@{}",
        redact_part(local, reveal.0),
        redact_part(domain, reveal.1)
    )
}

fn redact_part(part: &str, reveal: usize) -> String {
    let len = part.chars().count();
    let keep = if len > reveal {
        reveal
    } else if len > 5 {
        3
    } else if len > 1 {
        1
    } else {
        0
    };
    let mut out: String = part.chars().take(keep).collect();
    out.push_str("...");
    out
}

impl InviteService {
    /// The two `public_keys` entries of a store-invite answer: the long-term key, then the
    /// invite's ephemeral key, each with the v2 URL that answers for it (v2, because an
    /// operator may switch the v1 API off and homeservers fetch these URLs for years).
    pub fn key_entries(&self, stored: &StoredInvite) -> [KeyEntry; 2] {
        let url = |path: &str| {
            format!(
                "{}/_matrix/identity/v2/pubkey/{path}",
                self.public_base_url.trim_end_matches('/')
            )
        };
        [
            KeyEntry {
                public_key: stored.server_public_key.clone(),
                key_validity_url: url("isvalid"),
            },
            KeyEntry {
                public_key: stored.ephemeral_public_key.clone(),
                key_validity_url: url("ephemeral/isvalid"),
            },
        ]
    }

    pub async fn store_invite(&self, req: InviteRequest) -> ApiResult<StoredInvite> {
        let address = req.address.as_str().to_owned();
        if req.room.room_id.trim().is_empty() {
            return Err(ApiError::InvalidParam("room_id must not be empty".into()));
        }
        // Stored with the invite: a Matrix identifier is at most 255 bytes (the sender's
        // length is checked with its syntax).
        if req.room.room_id.len() > MAX_ROOM_ID_LEN {
            return Err(ApiError::InvalidParam(format!(
                "room_id must be at most {MAX_ROOM_ID_LEN} bytes long"
            )));
        }
        // Per client and per recipient (like requestToken's: one inbox, whoever is asking),
        // both or neither: a client over its own limit spends no inbox's budget. Before the
        // bound-address check, so the limit also bounds probing which addresses are bound.
        let client = self.per_ip.key(req.client_ip);
        check_all(&[
            &self.per_ip.charge(&client),
            &self.per_address.charge(address.as_str()),
        ])?;
        if self.config.refuse_bound_addresses
            && let Some(bound) = self
                .associations
                .get_association(&Threepid::new(Medium::Email, address.as_str()))
                .await?
        {
            return Err(ApiError::ThreepidInUse {
                mxid: bound.mxid.into_string(),
            });
        }
        let rng = self.random.as_ref();
        let token = random_token_from(rng, EMAIL_TOKEN_LEN)?;
        let key = SigningKey::generate_from(rng, EPHEMERAL_KEY_VERSION)?;
        let ephemeral_public_key = key.public_key().to_base64_url_safe();
        // Unpadded standard → URL-safe is a per-character mapping; the key goes into a link.
        let private_key: String = key
            .seed_base64()
            .expose()
            .chars()
            .map(|c| match c {
                '+' => '-',
                '/' => '_',
                c => c,
            })
            .collect();

        let vars = InviteVars {
            to: address.clone(),
            token: token.clone(),
            ephemeral_private_key: private_key,
            room_id: req.room.room_id.clone(),
            sender: req.sender.as_str().to_owned(),
            verified_sender: req.verified_sender.clone(),
            sender_display_name: req.room.sender_display_name.clone(),
            sender_avatar_url: req.room.sender_avatar_url.clone(),
            room_name: req.room.room_name.clone(),
            room_avatar_url: req.room.room_avatar_url.clone(),
            room_alias: req.room.room_alias.clone(),
            room_join_rules: req.room.room_join_rules.clone(),
            room_type: req
                .room
                .room_type
                .clone()
                .or_else(|| extra_string(&req.room.extra, "room_type")),
            guest_user_id: extra_string(&req.room.extra, "guest_user_id"),
            guest_access_token: extra_string(&req.room.extra, "guest_access_token"),
            web_client_location: extra_string(&req.room.extra, WEB_CLIENT_LOCATION),
            extra: template_extras(&req.room.extra),
        };
        super::send_mail(
            self.mailer.as_ref(),
            &self.metrics,
            self.templates.resolve_brand(req.brand.as_deref()),
            &address,
            self.templates.render_invite(req.brand.as_deref(), &vars),
        )
        .await
        .map_err(mail_error)?;

        let invite = NewInvite {
            token: token.clone(),
            medium: Medium::Email,
            address: address.clone(),
            room_id: req.room.room_id,
            sender: req.sender.into_string(),
        };
        let ephemeral = NewEphemeralKey {
            public_key: ephemeral_public_key.clone(),
            // Not kept: it travels only in the mail; a database leak must not leak it.
            private_key: None,
            // Never expires (sydent): the invite event references it for the room's lifetime.
            expires_at: None,
        };
        // Invite and key in one transaction.
        self.store
            .store_invite(&invite, &ephemeral, self.clock.now())
            .await?;

        Ok(StoredInvite {
            token,
            display_name: redact_email(
                &address,
                (
                    self.config.username_reveal_characters,
                    self.config.domain_reveal_characters,
                ),
            ),
            server_public_key: self.signer.public_key().to_base64(),
            ephemeral_public_key,
        })
    }

    /// `sign-ed25519`: `{mxid, sender, token}` signed with the invite's ephemeral private key
    /// (key id `ed25519:0`, entity = this server's name).
    pub async fn sign_invitation(
        &self,
        mxid: &UserId,
        token: &str,
        private_key: &str,
    ) -> ApiResult<SignedInvitation> {
        let key =
            SigningKey::from_base64_seed(EPHEMERAL_KEY_VERSION, private_key).map_err(|_| {
                ApiError::InvalidParam(
                    "private_key must be a 32-byte ed25519 seed in base64".into(),
                )
            })?;
        let invite = self
            .store
            .get_invite(token)
            .await?
            .ok_or(ApiError::UnknownInvite)?;
        // Only the key issued with this invite: the endpoint is no signing oracle for other keys,
        // and a mistyped key fails here instead of in the homeserver.
        let issued = PublicKey::from_base64(&invite.ephemeral_key.public_key)?;
        if issued != key.public_key() {
            return Err(ApiError::InvalidParam(
                "private_key is not the key of this invitation".into(),
            ));
        }
        let mut signed = json!({
            "mxid": mxid,
            "sender": &invite.sender,
            "token": &invite.token,
        });
        self.signer.sign_with(&mut signed, &key)?;
        let signatures =
            serde_json::from_value(signed["signatures"].take()).map_err(ApiError::internal)?;
        Ok(SignedInvitation {
            mxid: mxid.as_str().to_owned(),
            sender: invite.sender,
            token: invite.token,
            signatures,
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvitesConfig {
    /// Refuse store-invite for an address that is already bound (`M_THREEPID_IN_USE`).
    pub refuse_bound_addresses: bool,
    /// Leading characters of the local part shown in an invite's `display_name` (sydent's
    /// `email.third_party_invite_username_obfuscate_characters`).
    pub username_reveal_characters: usize,
    /// Leading characters of the domain shown there (sydent's
    /// `email.third_party_invite_domain_obfuscate_characters`).
    pub domain_reveal_characters: usize,
    /// An invite still not delivered to its homeserver this long after it was stored is
    /// given up (logged and counted; no longer retried). Default 7 days.
    pub delivery_give_up_after: ConfigDuration,
    /// Deliveries in flight to one homeserver at once; more wait their turn, so a slow
    /// homeserver holds a few slots, not the whole queue.
    pub delivery_per_destination: u32,
}

impl Default for InvitesConfig {
    fn default() -> Self {
        Self {
            refuse_bound_addresses: true,
            username_reveal_characters: 3,
            domain_reveal_characters: 3,
            delivery_give_up_after: ConfigDuration(Duration::from_secs(7 * 86_400)),
            delivery_per_destination: 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_follows_sydent_and_never_shows_a_whole_part() {
        let three = (3, 3);
        assert_eq!(redact_email("alice@example.com", three), "ali...@exa...");
        assert_eq!(redact_email("al@ex.co", three), "a...@ex....");
        assert_eq!(redact_email("a@b.c", three), "...@b...");
        assert_eq!(redact_email("ßü@éxample.org", three), "ß...@éxa...");
        // Counts from the configuration; parts no longer than their count.
        assert_eq!(redact_email("alice@example.com", (1, 0)), "a...@...");
        assert_eq!(redact_email("alexander@ex.com", (20, 20)), "ale...@ex....");
        for reveal in [(3, 3), (0, 0), (10, 10), (1, 5)] {
            for address in ["alice@example.com", "a@b.c", "al@ex.co", "bob@x.io"] {
                let shown = redact_email(address, reveal);
                let (local, domain) = address.split_once('@').expect("address");
                assert!(!shown.contains(address));
                assert!(!shown.starts_with(&format!("{local}@")), "{shown}");
                assert!(!shown.ends_with(&format!("@{domain}")), "{shown}");
            }
        }
    }
}
