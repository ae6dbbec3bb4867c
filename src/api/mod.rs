//! The server's implementation of the generated API traits (one per spec file, `AssociationsApi`
//! and the others, each failing with `MatrixError`; `OxidentApi` is all of them). Each method maps the
//! generated request type to the area function's arguments, names the API version (the one
//! thing that differs between the v1 and v2 twins: `access::Version`), and maps the answer
//! back to the generated response type. No rule lives here: area functions call the
//! services (`crate::service`), which own the rules.
//!
//! Architecture Invariant: `api/` never names the store, the mailer or key material; it sees
//! [`Services`] and the request ([`request::HttpRules`]) only.

mod access;
mod account;
mod binding;
mod invites;
mod lookups;
pub mod request;
pub mod status;
mod validation;

use crate::error::ApiError;
use crate::service::Services;
use crate::service::address::{MEDIUM_EMAIL, MEDIUM_MSISDN};
use crate::service::invites::InviteRequest;
use access::Version::{V1, V2};
use binding::UnbindRequest;
use oxident_api::rt::Operation;
use oxident_api::rt::server::RequestContext;
use oxident_api::server::{
    AssociationsApi, EmailAssociationsApi, InvitationSigningApi, LookupApi, OxidentApi,
    PhoneAssociationsApi, PingApi, PubkeyApi, StoreInviteApi, V2AssociationsApi, V2AuthApi,
    V2EmailAssociationsApi, V2InvitationSigningApi, V2LookupApi, V2PhoneAssociationsApi, V2PingApi,
    V2PubkeyApi, V2StoreInviteApi, V2TermsApi, VersionsApi,
};
use oxident_api::{
    associations, email_associations, invitation_signing, lookup, phone_associations, ping, pubkey,
    store_invite, v2_associations, v2_auth, v2_email_associations, v2_invitation_signing,
    v2_lookup, v2_phone_associations, v2_ping, v2_pubkey, v2_store_invite, v2_terms, versions,
};
use request::HttpRules;
use serde_json::Map;
use std::sync::Arc;
use validation::{EmailRequest, MsisdnRequest};

/// The API as the generated dispatcher sees it: the services and the rules for reading
/// requests, nothing else. Cloning is a few reference counts.
#[derive(Clone)]
pub struct Api {
    services: Services,
    http: Arc<HttpRules>,
}

impl Api {
    pub fn new(services: Services, http: HttpRules) -> Self {
        Self {
            services,
            http: Arc::new(http),
        }
    }
}

type Answer<T> = Result<T, ApiError>;

/// Methods answer `ApiError` (each area trait's `type Error`); the runtime turns it into Matrix JSON.
impl OxidentApi for Api {}

impl AssociationsApi for Api {
    type Error = ApiError;

    async fn bind(
        &self,
        ctx: &RequestContext,
        b: associations::bind::RequestBody,
    ) -> Answer<associations::bind::Response> {
        Ok(
            binding::bind(self, V1, ctx, &b.sid, &b.client_secret, &b.mxid)
                .await?
                .into(),
        )
    }

    async fn get_validated3pid(
        &self,
        ctx: &RequestContext,
        p: associations::get_validated3pid::Params,
    ) -> Answer<associations::get_validated3pid::Response> {
        Ok(
            binding::get_validated3pid(self, V1, ctx, &p.sid, &p.client_secret)
                .await?
                .into(),
        )
    }

    async fn unbind(
        &self,
        ctx: &RequestContext,
        b: associations::unbind::RequestBody,
    ) -> Answer<associations::unbind::Response> {
        binding::unbind(self, V1, ctx, UnbindRequest::from(&b)).await?;
        Ok(Map::new())
    }
}

impl EmailAssociationsApi for Api {
    type Error = ApiError;

    async fn email_request_token(
        &self,
        ctx: &RequestContext,
        b: email_associations::email_request_token::RequestBody,
    ) -> Answer<email_associations::email_request_token::Response> {
        let req = EmailRequest {
            client_secret: &b.client_secret,
            email: &b.email,
            next_link: b.next_link.as_deref(),
            send_attempt: b.send_attempt,
            submit_path: <email_associations::email_submit_token_get::Op as Operation>::PATH,
        };
        let sid = validation::email_request_token(self, V1, ctx, req).await?;
        Ok(email_associations::email_request_token::RequestTokenResponse { sid })
    }

    async fn email_submit_token_get(
        &self,
        ctx: &RequestContext,
        p: email_associations::email_submit_token_get::Params,
    ) -> Answer<email_associations::email_submit_token_get::Response> {
        let (sid, secret, token) = (&p.sid, &p.client_secret, &p.token);
        validation::submit_token_page(self, ctx, MEDIUM_EMAIL, sid, secret, token).await
    }

    async fn email_submit_token_post(
        &self,
        ctx: &RequestContext,
        b: email_associations::email_submit_token_post::RequestBody,
    ) -> Answer<email_associations::email_submit_token_post::Response> {
        let (sid, secret, token) = (&b.sid, &b.client_secret, &b.token);
        validation::submit_token(self, V1, ctx, MEDIUM_EMAIL, sid, secret, token).await?;
        Ok(email_associations::email_submit_token_post::SubmitTokenResponse { success: true })
    }
}

impl InvitationSigningApi for Api {
    type Error = ApiError;

    async fn blindly_sign_stuff(
        &self,
        ctx: &RequestContext,
        b: invitation_signing::blindly_sign_stuff::RequestBody,
    ) -> Answer<invitation_signing::blindly_sign_stuff::Response> {
        let s = invites::sign(self, V1, ctx, &b.mxid, &b.token, &b.private_key).await?;
        Ok(invitation_signing::blindly_sign_stuff::SignedInvitation {
            mxid: s.mxid,
            sender: s.sender,
            signatures: s.signatures,
            token: s.token,
        })
    }
}

impl LookupApi for Api {
    type Error = ApiError;

    async fn lookup_user(
        &self,
        ctx: &RequestContext,
        p: lookup::lookup_user::Params,
    ) -> Answer<lookup::lookup_user::Response> {
        lookups::lookup_user(self, ctx, &p.medium, &p.address).await
    }

    async fn lookup_users(
        &self,
        ctx: &RequestContext,
        b: lookup::lookup_users::RequestBody,
    ) -> Answer<lookup::lookup_users::Response> {
        let threepids = lookups::lookup_users(self, ctx, &b.threepids).await?;
        Ok(lookup::lookup_users::BulkLookupResponse { threepids })
    }
}

impl PhoneAssociationsApi for Api {
    type Error = ApiError;

    async fn msisdn_request_token(
        &self,
        ctx: &RequestContext,
        b: phone_associations::msisdn_request_token::RequestBody,
    ) -> Answer<phone_associations::msisdn_request_token::Response> {
        let req = MsisdnRequest {
            client_secret: &b.client_secret,
            country: &b.country,
            phone_number: &b.phone_number,
            next_link: b.next_link.as_deref(),
            send_attempt: b.send_attempt,
        };
        validation::msisdn_request_token(self, V1, ctx, req).await
    }

    async fn msisdn_submit_token_get(
        &self,
        ctx: &RequestContext,
        p: phone_associations::msisdn_submit_token_get::Params,
    ) -> Answer<phone_associations::msisdn_submit_token_get::Response> {
        let (sid, secret, token) = (&p.sid, &p.client_secret, &p.token);
        validation::submit_token_page(self, ctx, MEDIUM_MSISDN, sid, secret, token).await
    }

    async fn msisdn_submit_token_post(
        &self,
        ctx: &RequestContext,
        b: phone_associations::msisdn_submit_token_post::RequestBody,
    ) -> Answer<phone_associations::msisdn_submit_token_post::Response> {
        let (sid, secret, token) = (&b.sid, &b.client_secret, &b.token);
        validation::submit_token(self, V1, ctx, MEDIUM_MSISDN, sid, secret, token).await?;
        Ok(phone_associations::msisdn_submit_token_post::SubmitTokenResponse { success: true })
    }
}

impl PingApi for Api {
    type Error = ApiError;

    async fn ping(&self, _ctx: &RequestContext) -> Answer<ping::ping::Response> {
        Ok(Map::new())
    }
}

impl PubkeyApi for Api {
    type Error = ApiError;

    async fn get_pub_key(
        &self,
        _ctx: &RequestContext,
        p: pubkey::get_pub_key::Params,
    ) -> Answer<pubkey::get_pub_key::Response> {
        let public_key = self.services.keys.public_key(&p.key_id)?;
        Ok(pubkey::get_pub_key::PubKeyResponse { public_key })
    }

    async fn is_pub_key_valid(
        &self,
        _ctx: &RequestContext,
        p: pubkey::is_pub_key_valid::Params,
    ) -> Answer<pubkey::is_pub_key_valid::Response> {
        let valid = self.services.keys.is_long_term_key(&p.public_key);
        Ok(pubkey::is_pub_key_valid::KeyValidity { valid })
    }

    async fn is_ephemeral_pub_key_valid(
        &self,
        _ctx: &RequestContext,
        p: pubkey::is_ephemeral_pub_key_valid::Params,
    ) -> Answer<pubkey::is_ephemeral_pub_key_valid::Response> {
        let valid = self.services.keys.is_ephemeral_key(&p.public_key).await?;
        Ok(pubkey::is_ephemeral_pub_key_valid::KeyValidity { valid })
    }
}

impl StoreInviteApi for Api {
    type Error = ApiError;

    async fn store_invite(
        &self,
        ctx: &RequestContext,
        b: store_invite::store_invite::RequestBody,
    ) -> Answer<store_invite::store_invite::Response> {
        let request = InviteRequest {
            medium: b.medium,
            address: b.address,
            room_id: b.room_id,
            sender: b.sender,
            verified_sender: None,
            room_alias: b.room_alias,
            room_avatar_url: b.room_avatar_url,
            room_join_rules: b.room_join_rules,
            room_name: b.room_name,
            room_type: None,
            sender_avatar_url: b.sender_avatar_url,
            sender_display_name: b.sender_display_name,
            extra: b.extra,
            brand: None,
            client_ip: None,
        };
        let (stored, keys) = invites::store_invite(self, V1, ctx, request).await?;
        // The reference server answers v1 like v2 (objects with validity URLs, plus the
        // top-level `public_key`), and clients read that shape; r0.3.0's plain strings are
        // what nobody sends (spec/UPSTREAM.md).
        use store_invite::store_invite::{PublicKey, StoreInviteResponseV1};
        Ok(StoreInviteResponseV1 {
            display_name: stored.display_name,
            public_key: stored.server_public_key,
            public_keys: keys
                .map(|k| PublicKey {
                    public_key: k.public_key,
                    key_validity_url: k.key_validity_url,
                })
                .into(),
            token: stored.token,
        })
    }
}

impl V2AssociationsApi for Api {
    type Error = ApiError;

    async fn bind_v2(
        &self,
        ctx: &RequestContext,
        b: v2_associations::bind_v2::RequestBody,
    ) -> Answer<v2_associations::bind_v2::Response> {
        Ok(
            binding::bind(self, V2, ctx, &b.sid, &b.client_secret, &b.mxid)
                .await?
                .into(),
        )
    }

    async fn get_validated3pid_v2(
        &self,
        ctx: &RequestContext,
        p: v2_associations::get_validated3pid_v2::Params,
    ) -> Answer<v2_associations::get_validated3pid_v2::Response> {
        Ok(
            binding::get_validated3pid(self, V2, ctx, &p.sid, &p.client_secret)
                .await?
                .into(),
        )
    }

    async fn unbind_v2(
        &self,
        ctx: &RequestContext,
        b: v2_associations::unbind_v2::RequestBody,
    ) -> Answer<v2_associations::unbind_v2::Response> {
        binding::unbind(self, V2, ctx, UnbindRequest::from(&b)).await?;
        Ok(Map::new())
    }
}

impl V2AuthApi for Api {
    type Error = ApiError;

    async fn register_account(
        &self,
        ctx: &RequestContext,
        b: v2_auth::register_account::RequestBody,
    ) -> Answer<v2_auth::register_account::Response> {
        let token = account::register(self, ctx, &b.matrix_server_name, &b.access_token).await?;
        // Both keys, as the reference server answers: clients written against it read
        // `access_token`, the spec names `token`.
        Ok(v2_auth::register_account::RegisterResponse {
            access_token: token.clone(),
            token,
        })
    }

    async fn get_account(&self, ctx: &RequestContext) -> Answer<v2_auth::get_account::Response> {
        let user_id = account::whoami(self, ctx).await?;
        Ok(v2_auth::get_account::AccountInfo { user_id })
    }

    async fn logout(&self, ctx: &RequestContext) -> Answer<v2_auth::logout::Response> {
        account::logout(self, ctx).await?;
        Ok(Map::new())
    }
}

impl V2EmailAssociationsApi for Api {
    type Error = ApiError;

    async fn email_request_token_v2(
        &self,
        ctx: &RequestContext,
        b: v2_email_associations::email_request_token_v2::RequestBody,
    ) -> Answer<v2_email_associations::email_request_token_v2::Response> {
        let req = EmailRequest {
            client_secret: &b.client_secret,
            email: &b.email,
            next_link: b.next_link.as_deref(),
            send_attempt: b.send_attempt,
            submit_path: <v2_email_associations::email_submit_token_get_v2::Op as Operation>::PATH,
        };
        let sid = validation::email_request_token(self, V2, ctx, req).await?;
        Ok(v2_email_associations::email_request_token_v2::RequestTokenResponse { sid })
    }

    async fn email_submit_token_get_v2(
        &self,
        ctx: &RequestContext,
        p: v2_email_associations::email_submit_token_get_v2::Params,
    ) -> Answer<v2_email_associations::email_submit_token_get_v2::Response> {
        let (sid, secret, token) = (&p.sid, &p.client_secret, &p.token);
        validation::submit_token_page(self, ctx, MEDIUM_EMAIL, sid, secret, token).await
    }

    async fn email_submit_token_post_v2(
        &self,
        ctx: &RequestContext,
        b: v2_email_associations::email_submit_token_post_v2::RequestBody,
    ) -> Answer<v2_email_associations::email_submit_token_post_v2::Response> {
        let (sid, secret, token) = (&b.sid, &b.client_secret, &b.token);
        validation::submit_token(self, V2, ctx, MEDIUM_EMAIL, sid, secret, token).await?;
        Ok(
            v2_email_associations::email_submit_token_post_v2::SubmitTokenResponse {
                success: true,
            },
        )
    }
}

impl V2InvitationSigningApi for Api {
    type Error = ApiError;

    async fn blindly_sign_stuff_v2(
        &self,
        ctx: &RequestContext,
        b: v2_invitation_signing::blindly_sign_stuff_v2::RequestBody,
    ) -> Answer<v2_invitation_signing::blindly_sign_stuff_v2::Response> {
        let s = invites::sign(self, V2, ctx, &b.mxid, &b.token, &b.private_key).await?;
        Ok(
            v2_invitation_signing::blindly_sign_stuff_v2::SignedInvitation {
                mxid: s.mxid,
                sender: s.sender,
                signatures: s.signatures,
                token: s.token,
            },
        )
    }
}

impl V2LookupApi for Api {
    type Error = ApiError;

    async fn get_hash_details(
        &self,
        ctx: &RequestContext,
    ) -> Answer<v2_lookup::get_hash_details::Response> {
        let (algorithms, lookup_pepper) = lookups::hash_details(self, ctx).await?;
        Ok(v2_lookup::get_hash_details::HashDetails {
            algorithms,
            lookup_pepper,
        })
    }

    async fn lookup_users_v2(
        &self,
        ctx: &RequestContext,
        b: v2_lookup::lookup_users_v2::RequestBody,
    ) -> Answer<v2_lookup::lookup_users_v2::Response> {
        let mappings =
            lookups::lookup_hashed(self, ctx, &b.algorithm, &b.pepper, b.addresses).await?;
        Ok(v2_lookup::lookup_users_v2::LookupResponse { mappings })
    }
}

impl V2PhoneAssociationsApi for Api {
    type Error = ApiError;

    async fn msisdn_request_token_v2(
        &self,
        ctx: &RequestContext,
        b: v2_phone_associations::msisdn_request_token_v2::RequestBody,
    ) -> Answer<v2_phone_associations::msisdn_request_token_v2::Response> {
        let req = MsisdnRequest {
            client_secret: &b.client_secret,
            country: &b.country,
            phone_number: &b.phone_number,
            next_link: b.next_link.as_deref(),
            send_attempt: b.send_attempt,
        };
        validation::msisdn_request_token(self, V2, ctx, req).await
    }

    async fn msisdn_submit_token_get_v2(
        &self,
        ctx: &RequestContext,
        p: v2_phone_associations::msisdn_submit_token_get_v2::Params,
    ) -> Answer<v2_phone_associations::msisdn_submit_token_get_v2::Response> {
        let (sid, secret, token) = (&p.sid, &p.client_secret, &p.token);
        validation::submit_token_page(self, ctx, MEDIUM_MSISDN, sid, secret, token).await
    }

    async fn msisdn_submit_token_post_v2(
        &self,
        ctx: &RequestContext,
        b: v2_phone_associations::msisdn_submit_token_post_v2::RequestBody,
    ) -> Answer<v2_phone_associations::msisdn_submit_token_post_v2::Response> {
        let (sid, secret, token) = (&b.sid, &b.client_secret, &b.token);
        validation::submit_token(self, V2, ctx, MEDIUM_MSISDN, sid, secret, token).await?;
        Ok(
            v2_phone_associations::msisdn_submit_token_post_v2::SubmitTokenResponse {
                success: true,
            },
        )
    }
}

impl V2PingApi for Api {
    type Error = ApiError;

    async fn ping_v2(&self, _ctx: &RequestContext) -> Answer<v2_ping::ping_v2::Response> {
        Ok(Map::new())
    }
}

impl V2PubkeyApi for Api {
    type Error = ApiError;

    async fn get_pub_key_v2(
        &self,
        _ctx: &RequestContext,
        p: v2_pubkey::get_pub_key_v2::Params,
    ) -> Answer<v2_pubkey::get_pub_key_v2::Response> {
        let public_key = self.services.keys.public_key(&p.key_id)?;
        Ok(v2_pubkey::get_pub_key_v2::PubKeyResponse { public_key })
    }

    async fn is_pub_key_valid_v2(
        &self,
        _ctx: &RequestContext,
        p: v2_pubkey::is_pub_key_valid_v2::Params,
    ) -> Answer<v2_pubkey::is_pub_key_valid_v2::Response> {
        let valid = self.services.keys.is_long_term_key(&p.public_key);
        Ok(v2_pubkey::is_pub_key_valid_v2::KeyValidity { valid })
    }

    async fn is_ephemeral_pub_key_valid_v2(
        &self,
        _ctx: &RequestContext,
        p: v2_pubkey::is_ephemeral_pub_key_valid_v2::Params,
    ) -> Answer<v2_pubkey::is_ephemeral_pub_key_valid_v2::Response> {
        let valid = self.services.keys.is_ephemeral_key(&p.public_key).await?;
        Ok(v2_pubkey::is_ephemeral_pub_key_valid_v2::KeyValidity { valid })
    }
}

impl V2StoreInviteApi for Api {
    type Error = ApiError;

    async fn store_invite_v2(
        &self,
        ctx: &RequestContext,
        b: v2_store_invite::store_invite_v2::RequestBody,
    ) -> Answer<v2_store_invite::store_invite_v2::Response> {
        let request = InviteRequest {
            medium: b.medium,
            address: b.address,
            room_id: b.room_id,
            sender: b.sender,
            verified_sender: None,
            room_alias: b.room_alias,
            room_avatar_url: b.room_avatar_url,
            room_join_rules: b.room_join_rules,
            room_name: b.room_name,
            room_type: b.room_type,
            sender_avatar_url: b.sender_avatar_url,
            sender_display_name: b.sender_display_name,
            extra: b.extra,
            brand: None,
            client_ip: None,
        };
        let (stored, keys) = invites::store_invite(self, V2, ctx, request).await?;
        use v2_store_invite::store_invite_v2::{PublicKey, StoreInviteResponse};
        Ok(StoreInviteResponse {
            display_name: stored.display_name,
            public_key: stored.server_public_key,
            public_keys: keys
                .map(|k| PublicKey {
                    public_key: k.public_key,
                    key_validity_url: k.key_validity_url,
                })
                .into(),
            token: stored.token,
        })
    }
}

impl V2TermsApi for Api {
    type Error = ApiError;

    async fn get_terms(&self, _ctx: &RequestContext) -> Answer<v2_terms::get_terms::Response> {
        let policies = account::terms(self)?;
        Ok(v2_terms::get_terms::TermsResponse { policies })
    }

    async fn agree_to_terms(
        &self,
        ctx: &RequestContext,
        b: v2_terms::agree_to_terms::RequestBody,
    ) -> Answer<v2_terms::agree_to_terms::Response> {
        account::agree_to_terms(self, ctx, &b.user_accepts).await?;
        Ok(Map::new())
    }
}

impl VersionsApi for Api {
    type Error = ApiError;

    async fn get_versions(
        &self,
        _ctx: &RequestContext,
    ) -> Answer<versions::get_versions::Response> {
        let versions = status::supported_versions(self.http.accept_query_access_token);
        Ok(versions::get_versions::Versions { versions })
    }
}
