//! The server's implementation of the generated `OxidentApi` trait. Each method hands the
//! typed request to the function of the same name in the area module and converts the
//! `ApiError` it may return; no rule lives here.

mod account;
pub mod auth;
mod binding;
mod invites;
mod keys;
mod lookups;
mod status;
mod validation;

use crate::state::AppState;
use oxident_api::rt::MatrixError;
use oxident_api::rt::server::RequestContext;
use oxident_api::server::OxidentApi;
use oxident_api::{
    associations, email_associations, invitation_signing, lookup, phone_associations, ping, pubkey,
    store_invite, v2_associations, v2_auth, v2_email_associations, v2_invitation_signing,
    v2_lookup, v2_phone_associations, v2_ping, v2_pubkey, v2_store_invite, v2_terms, versions,
};
use std::sync::Arc;

/// The API as the generated router sees it.
#[derive(Clone)]
pub struct Api(pub Arc<AppState>);

impl OxidentApi for Api {
    async fn bind(
        &self,
        ctx: &RequestContext,
        body: associations::bind::RequestBody,
    ) -> Result<associations::bind::Response, MatrixError> {
        binding::bind(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn get_validated3pid(
        &self,
        ctx: &RequestContext,
        params: associations::get_validated3pid::Params,
    ) -> Result<associations::get_validated3pid::Response, MatrixError> {
        binding::get_validated3pid(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn unbind(
        &self,
        ctx: &RequestContext,
        body: associations::unbind::RequestBody,
    ) -> Result<associations::unbind::Response, MatrixError> {
        binding::unbind(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn email_request_token(
        &self,
        ctx: &RequestContext,
        body: email_associations::email_request_token::RequestBody,
    ) -> Result<email_associations::email_request_token::Response, MatrixError> {
        validation::email_request_token(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn email_submit_token_get(
        &self,
        ctx: &RequestContext,
        params: email_associations::email_submit_token_get::Params,
    ) -> Result<email_associations::email_submit_token_get::Response, MatrixError> {
        validation::email_submit_token_get(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn email_submit_token_post(
        &self,
        ctx: &RequestContext,
        body: email_associations::email_submit_token_post::RequestBody,
    ) -> Result<email_associations::email_submit_token_post::Response, MatrixError> {
        validation::email_submit_token_post(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn blindly_sign_stuff(
        &self,
        ctx: &RequestContext,
        body: invitation_signing::blindly_sign_stuff::RequestBody,
    ) -> Result<invitation_signing::blindly_sign_stuff::Response, MatrixError> {
        invites::blindly_sign_stuff(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn lookup_users(
        &self,
        ctx: &RequestContext,
        body: lookup::lookup_users::RequestBody,
    ) -> Result<lookup::lookup_users::Response, MatrixError> {
        lookups::lookup_users(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn lookup_user(
        &self,
        ctx: &RequestContext,
        params: lookup::lookup_user::Params,
    ) -> Result<lookup::lookup_user::Response, MatrixError> {
        lookups::lookup_user(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn msisdn_request_token(
        &self,
        ctx: &RequestContext,
        body: phone_associations::msisdn_request_token::RequestBody,
    ) -> Result<phone_associations::msisdn_request_token::Response, MatrixError> {
        validation::msisdn_request_token(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn msisdn_submit_token_get(
        &self,
        ctx: &RequestContext,
        params: phone_associations::msisdn_submit_token_get::Params,
    ) -> Result<phone_associations::msisdn_submit_token_get::Response, MatrixError> {
        validation::msisdn_submit_token_get(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn msisdn_submit_token_post(
        &self,
        ctx: &RequestContext,
        body: phone_associations::msisdn_submit_token_post::RequestBody,
    ) -> Result<phone_associations::msisdn_submit_token_post::Response, MatrixError> {
        validation::msisdn_submit_token_post(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn ping(&self, ctx: &RequestContext) -> Result<ping::ping::Response, MatrixError> {
        status::ping(&self.0, ctx).await.map_err(MatrixError::from)
    }
    async fn is_ephemeral_pub_key_valid(
        &self,
        ctx: &RequestContext,
        params: pubkey::is_ephemeral_pub_key_valid::Params,
    ) -> Result<pubkey::is_ephemeral_pub_key_valid::Response, MatrixError> {
        keys::is_ephemeral_pub_key_valid(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn is_pub_key_valid(
        &self,
        ctx: &RequestContext,
        params: pubkey::is_pub_key_valid::Params,
    ) -> Result<pubkey::is_pub_key_valid::Response, MatrixError> {
        keys::is_pub_key_valid(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn get_pub_key(
        &self,
        ctx: &RequestContext,
        params: pubkey::get_pub_key::Params,
    ) -> Result<pubkey::get_pub_key::Response, MatrixError> {
        keys::get_pub_key(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn store_invite(
        &self,
        ctx: &RequestContext,
        body: store_invite::store_invite::RequestBody,
    ) -> Result<store_invite::store_invite::Response, MatrixError> {
        invites::store_invite(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn bind_v2(
        &self,
        ctx: &RequestContext,
        body: v2_associations::bind_v2::RequestBody,
    ) -> Result<v2_associations::bind_v2::Response, MatrixError> {
        binding::bind_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn get_validated3pid_v2(
        &self,
        ctx: &RequestContext,
        params: v2_associations::get_validated3pid_v2::Params,
    ) -> Result<v2_associations::get_validated3pid_v2::Response, MatrixError> {
        binding::get_validated3pid_v2(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn unbind_v2(
        &self,
        ctx: &RequestContext,
        body: v2_associations::unbind_v2::RequestBody,
    ) -> Result<v2_associations::unbind_v2::Response, MatrixError> {
        binding::unbind_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn get_account(
        &self,
        ctx: &RequestContext,
    ) -> Result<v2_auth::get_account::Response, MatrixError> {
        account::get_account(&self.0, ctx)
            .await
            .map_err(MatrixError::from)
    }
    async fn logout(&self, ctx: &RequestContext) -> Result<v2_auth::logout::Response, MatrixError> {
        account::logout(&self.0, ctx)
            .await
            .map_err(MatrixError::from)
    }
    async fn register_account(
        &self,
        ctx: &RequestContext,
        body: v2_auth::register_account::RequestBody,
    ) -> Result<v2_auth::register_account::Response, MatrixError> {
        account::register_account(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn email_request_token_v2(
        &self,
        ctx: &RequestContext,
        body: v2_email_associations::email_request_token_v2::RequestBody,
    ) -> Result<v2_email_associations::email_request_token_v2::Response, MatrixError> {
        validation::email_request_token_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn email_submit_token_get_v2(
        &self,
        ctx: &RequestContext,
        params: v2_email_associations::email_submit_token_get_v2::Params,
    ) -> Result<v2_email_associations::email_submit_token_get_v2::Response, MatrixError> {
        validation::email_submit_token_get_v2(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn email_submit_token_post_v2(
        &self,
        ctx: &RequestContext,
        body: v2_email_associations::email_submit_token_post_v2::RequestBody,
    ) -> Result<v2_email_associations::email_submit_token_post_v2::Response, MatrixError> {
        validation::email_submit_token_post_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn blindly_sign_stuff_v2(
        &self,
        ctx: &RequestContext,
        body: v2_invitation_signing::blindly_sign_stuff_v2::RequestBody,
    ) -> Result<v2_invitation_signing::blindly_sign_stuff_v2::Response, MatrixError> {
        invites::blindly_sign_stuff_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn get_hash_details(
        &self,
        ctx: &RequestContext,
    ) -> Result<v2_lookup::get_hash_details::Response, MatrixError> {
        lookups::get_hash_details(&self.0, ctx)
            .await
            .map_err(MatrixError::from)
    }
    async fn lookup_users_v2(
        &self,
        ctx: &RequestContext,
        body: v2_lookup::lookup_users_v2::RequestBody,
    ) -> Result<v2_lookup::lookup_users_v2::Response, MatrixError> {
        lookups::lookup_users_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn msisdn_request_token_v2(
        &self,
        ctx: &RequestContext,
        body: v2_phone_associations::msisdn_request_token_v2::RequestBody,
    ) -> Result<v2_phone_associations::msisdn_request_token_v2::Response, MatrixError> {
        validation::msisdn_request_token_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn msisdn_submit_token_get_v2(
        &self,
        ctx: &RequestContext,
        params: v2_phone_associations::msisdn_submit_token_get_v2::Params,
    ) -> Result<v2_phone_associations::msisdn_submit_token_get_v2::Response, MatrixError> {
        validation::msisdn_submit_token_get_v2(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn msisdn_submit_token_post_v2(
        &self,
        ctx: &RequestContext,
        body: v2_phone_associations::msisdn_submit_token_post_v2::RequestBody,
    ) -> Result<v2_phone_associations::msisdn_submit_token_post_v2::Response, MatrixError> {
        validation::msisdn_submit_token_post_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn ping_v2(
        &self,
        ctx: &RequestContext,
    ) -> Result<v2_ping::ping_v2::Response, MatrixError> {
        status::ping_v2(&self.0, ctx)
            .await
            .map_err(MatrixError::from)
    }
    async fn is_ephemeral_pub_key_valid_v2(
        &self,
        ctx: &RequestContext,
        params: v2_pubkey::is_ephemeral_pub_key_valid_v2::Params,
    ) -> Result<v2_pubkey::is_ephemeral_pub_key_valid_v2::Response, MatrixError> {
        keys::is_ephemeral_pub_key_valid_v2(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn is_pub_key_valid_v2(
        &self,
        ctx: &RequestContext,
        params: v2_pubkey::is_pub_key_valid_v2::Params,
    ) -> Result<v2_pubkey::is_pub_key_valid_v2::Response, MatrixError> {
        keys::is_pub_key_valid_v2(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn get_pub_key_v2(
        &self,
        ctx: &RequestContext,
        params: v2_pubkey::get_pub_key_v2::Params,
    ) -> Result<v2_pubkey::get_pub_key_v2::Response, MatrixError> {
        keys::get_pub_key_v2(&self.0, ctx, params)
            .await
            .map_err(MatrixError::from)
    }
    async fn store_invite_v2(
        &self,
        ctx: &RequestContext,
        body: v2_store_invite::store_invite_v2::RequestBody,
    ) -> Result<v2_store_invite::store_invite_v2::Response, MatrixError> {
        invites::store_invite_v2(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn get_terms(
        &self,
        ctx: &RequestContext,
    ) -> Result<v2_terms::get_terms::Response, MatrixError> {
        account::get_terms(&self.0, ctx)
            .await
            .map_err(MatrixError::from)
    }
    async fn agree_to_terms(
        &self,
        ctx: &RequestContext,
        body: v2_terms::agree_to_terms::RequestBody,
    ) -> Result<v2_terms::agree_to_terms::Response, MatrixError> {
        account::agree_to_terms(&self.0, ctx, body)
            .await
            .map_err(MatrixError::from)
    }
    async fn get_versions(
        &self,
        ctx: &RequestContext,
    ) -> Result<versions::get_versions::Response, MatrixError> {
        status::get_versions(&self.0, ctx)
            .await
            .map_err(MatrixError::from)
    }
}
