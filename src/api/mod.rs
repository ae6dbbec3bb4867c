//! The server's implementation of the generated API traits (one per spec file, `AssociationsApi`
//! and the others, each failing with `MatrixError`; `OxidentApi` is all of them). Each method maps the
//! generated request type to the area function's arguments, names the API version (the one
//! thing that differs between the v1 and v2 twins: `access::Version`), and maps the answer
//! back to the generated response type. No rule lives here: area functions parse the request
//! into `crate::domain` types (once: services re-check nothing) and call the services
//! (`crate::service`), which own the rules.
//!
//! The v1 and v2 twins share their request and response types (one generated type per
//! shape), so each pair is one line of [`twins!`]: one body, written once, serving both.
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

use crate::domain::Medium;
use crate::error::ApiError;
use crate::service::Services;
use access::Version::{V1, V2};
use oxident_api::rt::server::RequestContext;
use oxident_api::server::{
    AssociationsApi, EmailAssociationsApi, InvitationSigningApi, LookupApi, OxidentApi,
    PhoneAssociationsApi, PingApi, PubkeyApi, StoreInviteApi, V2AssociationsApi, V2AuthApi,
    V2EmailAssociationsApi, V2InvitationSigningApi, V2LookupApi, V2PhoneAssociationsApi, V2PingApi,
    V2PubkeyApi, V2StoreInviteApi, V2TermsApi, VersionsApi,
};
use oxident_api::types::{KeyValidity, PubKeyResponse};
use oxident_api::{
    associations, email_associations, invitation_signing, lookup, phone_associations, ping, pubkey,
    store_invite, v2_associations, v2_auth, v2_email_associations, v2_invitation_signing,
    v2_lookup, v2_phone_associations, v2_ping, v2_pubkey, v2_store_invite, v2_terms, versions,
};
use request::HttpRules;
use serde_json::Map;
use std::sync::Arc;
use validation::{email_request, msisdn_request};

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

/// One trait method of a v1/v2 pair (see [`twins!`]): the generated signature, the API
/// version bound to `$v` and the shared body.
macro_rules! twin {
    ($version:ident, $f:ident, $m:ident::$op:ident, ($arg:ident: $part:ident),
     |$api:ident, $v:ident, $ctx:ident| $call:expr) => {
        async fn $f(
            &self,
            $ctx: &RequestContext,
            $arg: $m::$op::$part,
        ) -> Answer<$m::$op::Response> {
            let ($api, $v) = (self, $version);
            $call
        }
    };
    ($version:ident, $f:ident, $m:ident::$op:ident, (), |$api:ident, $v:ident, $ctx:ident| $call:expr) => {
        async fn $f(&self, $ctx: &RequestContext) -> Answer<$m::$op::Response> {
            let ($api, $v) = (self, $version);
            $call
        }
    };
}

/// The v1 and v2 traits of one spec area, implemented together: a line per operation pair
/// (`v1_name / v2_name (argument: generated part) => |api, version, ctx| body;`) writes the
/// v1 method with `V1` and the v2 method with `V2`. The operations' modules are named after
/// their methods, so the line names the generated types too.
macro_rules! twins {
    ($t1:ident / $t2:ident for $m1:ident / $m2:ident {
        $($f1:ident / $f2:ident ($($arg:ident: $part:ident)?)
            => |$api:ident, $v:ident, $ctx:ident| $call:expr;)*
    }) => {
        impl $t1 for Api {
            type Error = ApiError;
            $(twin!(V1, $f1, $m1::$f1, ($($arg: $part)?), |$api, $v, $ctx| $call);)*
        }

        impl $t2 for Api {
            type Error = ApiError;
            $(twin!(V2, $f2, $m2::$f2, ($($arg: $part)?), |$api, $v, $ctx| $call);)*
        }
    };
}

twins!(AssociationsApi / V2AssociationsApi for associations / v2_associations {
    bind / bind_v2 (b: RequestBody) => |api, v, ctx| binding::bind(api, v, ctx, b).await;
    get_validated3pid / get_validated3pid_v2 (p: Params) => |api, v, ctx| binding::get_validated3pid(api, v, ctx, p).await;
    unbind / unbind_v2 (b: RequestBody) => |api, v, ctx| binding::unbind(api, v, ctx, b).await.map(|()| Map::new());
});

twins!(EmailAssociationsApi / V2EmailAssociationsApi for email_associations / v2_email_associations {
    email_request_token / email_request_token_v2 (b: RequestBody) => |api, v, ctx| validation::email_request_token(api, v, ctx, email_request!(b)).await;
    email_submit_token_get / email_submit_token_get_v2 (p: Params) => |api, _v, ctx| validation::submit_token_page(api, ctx, Medium::Email, p).await;
    email_submit_token_post / email_submit_token_post_v2 (b: RequestBody) => |api, v, ctx| validation::submit_token(api, v, ctx, Medium::Email, b).await;
});

twins!(PhoneAssociationsApi / V2PhoneAssociationsApi for phone_associations / v2_phone_associations {
    msisdn_request_token / msisdn_request_token_v2 (b: RequestBody) => |api, v, ctx| validation::msisdn_request_token(api, v, ctx, msisdn_request!(b)).await;
    msisdn_submit_token_get / msisdn_submit_token_get_v2 (p: Params) => |api, _v, ctx| validation::submit_token_page(api, ctx, Medium::Msisdn, p).await;
    msisdn_submit_token_post / msisdn_submit_token_post_v2 (b: RequestBody) => |api, v, ctx| validation::submit_token(api, v, ctx, Medium::Msisdn, b).await;
});

twins!(InvitationSigningApi / V2InvitationSigningApi for invitation_signing / v2_invitation_signing {
    blindly_sign_stuff / blindly_sign_stuff_v2 (b: RequestBody) => |api, v, ctx| invites::sign(api, v, ctx, b).await;
});

twins!(StoreInviteApi / V2StoreInviteApi for store_invite / v2_store_invite {
    store_invite / store_invite_v2 (b: RequestBody) => |api, v, ctx| Ok(invites::store_invite(api, v, ctx, b.into()).await?.into());
});

twins!(PingApi / V2PingApi for ping / v2_ping {
    ping / ping_v2 () => |_api, _v, _ctx| Ok(Map::new());
});

twins!(PubkeyApi / V2PubkeyApi for pubkey / v2_pubkey {
    get_pub_key / get_pub_key_v2 (p: Params) => |api, _v, _ctx| Ok(PubKeyResponse { public_key: api.services.keys.public_key(&p.key_id)? });
    is_pub_key_valid / is_pub_key_valid_v2 (p: Params) => |api, _v, _ctx| Ok(KeyValidity { valid: api.services.keys.is_long_term_key(&p.public_key) });
    is_ephemeral_pub_key_valid / is_ephemeral_pub_key_valid_v2 (p: Params) => |api, _v, _ctx| Ok(KeyValidity { valid: api.services.keys.is_ephemeral_key(&p.public_key).await? });
});

impl LookupApi for Api {
    type Error = ApiError;

    async fn lookup_user(
        &self,
        ctx: &RequestContext,
        p: lookup::lookup_user::Params,
    ) -> Answer<lookup::lookup_user::Response> {
        lookups::lookup_user(self, ctx, p).await
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
