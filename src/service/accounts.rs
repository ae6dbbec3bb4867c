//! Accounts: an identity-server access token is issued to the Matrix user an OpenID token
//! belongs to, as confirmed by that user's homeserver; the token then names its user on every
//! authenticated call, and the terms-of-service gate decides whether that user may proceed.
//!
//! Bounded growth (issue 21): access tokens are stored as SHA-256 digests and carry `last_used_ms`,
//! recorded at most once an hour per token (`AccountStore::touch_access_token`, when the owner read
//! shows it older than `TOKEN_USE_RESOLUTION_MS`: no write per request). A token unused for `[auth]
//! token_unused_lifetime` (30 days) no longer authenticates, and hourly housekeeping deletes it (a
//! client then registers again, as after a logout; sydent keeps tokens forever). A register keeps
//! the account's newest `[auth] max_tokens_per_account` (32) tokens. Trims and purges reach the
//! token cache (`RETURNING token_hash`), an LRU of 4096 tokens (`hashlink::LruCache`; it used to be
//! cleared whole when full).

use crate::clock::Clock;
use crate::crypto::tokens::{ACCESS_TOKEN_LEN, RandomSource, random_token_from};
use crate::domain::UserId;
use crate::error::{ApiError, ApiResult};
use crate::federation::{FederationClient, FederationError};
use crate::service::ratelimit::ClientLimiter;
use crate::service::terms::Policies;
use crate::store::{AccountStore, TOKEN_USE_RESOLUTION};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// The owner of a valid access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
}

/// Accounts and terms: the account store, the federation client (OpenID checks with
/// homeservers), randomness for tokens, time, and the operator's policies.
pub struct AccountService {
    pub(crate) store: Arc<dyn AccountStore>,
    pub(crate) federation: FederationClient,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) terms: Policies,
    /// `[auth] token_unused_lifetime`: a token unused this long no longer authenticates
    /// (and housekeeping deletes it).
    pub(crate) token_unused_lifetime: Duration,
    /// `[auth] max_tokens_per_account` (0: no cap).
    pub(crate) max_tokens_per_account: u32,
    /// `[ratelimit] outbound_per_ip_per_minute`, shared with signed unbinds: `register` is
    /// unauthenticated and makes this server call the homeserver it names.
    pub(crate) outbound_per_ip: Arc<ClientLimiter>,
}

impl AccountService {
    /// Verifies the OpenID token with the homeserver named in the request and issues a new
    /// access token for the user it belongs to. Every call issues a fresh token.
    pub async fn register(
        &self,
        matrix_server_name: &str,
        openid_token: &str,
        client: Option<IpAddr>,
    ) -> ApiResult<String> {
        self.outbound_per_ip.check(client)?;
        let server_name = matrix_server_name.trim().to_ascii_lowercase();
        let user_id = self
            .federation
            .openid_user_id(&server_name, openid_token)
            .await
            .map_err(|e| match e {
                FederationError::InvalidServerName(why) => ApiError::InvalidParam(format!(
                    "matrix_server_name is not a server name: {why}"
                )),
                FederationError::InvalidToken => ApiError::Unauthorized,
                FederationError::ForeignUser { .. } => ApiError::Forbidden(
                    "the homeserver vouched for a user of another server".into(),
                ),
                // Denied, unreachable, TLS, a bad answer: one answer (502), so a caller
                // cannot tell which names resolve to denied addresses.
                other => ApiError::HomeserverUnavailable(other.to_string()),
            })?;
        // The homeserver checked the shape and the server part; a user ID over 255 bytes is
        // one more bad answer.
        let user_id = UserId::parse(user_id)
            .map_err(|_| ApiError::HomeserverUnavailable("not a Matrix user ID".into()))?;
        let token = random_token_from(self.random.as_ref(), ACCESS_TOKEN_LEN)?;
        self.store
            .create_access_token(&token, &user_id, self.clock.now())
            .await?;
        // Every register adds a token: an account keeps its newest few (issue 21).
        if self.max_tokens_per_account > 0 {
            self.store
                .trim_access_tokens(&user_id, self.max_tokens_per_account)
                .await?;
        }
        tracing::info!(%user_id, "registered an access token");
        Ok(token)
    }

    /// The owner of a presented access token, without the terms gate (logout, `POST /terms`).
    pub async fn authenticate(&self, token: Option<&str>) -> ApiResult<Caller> {
        let token = token.ok_or(ApiError::Unauthorized)?;
        let owner = self
            .store
            .access_token_owner(token)
            .await?
            .ok_or(ApiError::Unauthorized)?;
        let now = self.clock.now();
        let unused = now.since(owner.last_used_at);
        if unused >= self.token_unused_lifetime {
            // Expired: housekeeping deletes it within the hour.
            return Err(ApiError::Unauthorized);
        }
        if unused >= TOKEN_USE_RESOLUTION {
            self.store.touch_access_token(token, now).await?;
        }
        Ok(Caller {
            user_id: owner.user_id,
        })
    }

    /// The owner of a presented access token who has accepted every current policy.
    pub async fn authenticate_with_terms(&self, token: Option<&str>) -> ApiResult<Caller> {
        let caller = self.authenticate(token).await?;
        self.require_terms(&caller).await?;
        Ok(caller)
    }

    /// `403 M_TERMS_NOT_SIGNED` unless the caller accepted every current policy.
    pub async fn require_terms(&self, caller: &Caller) -> ApiResult<()> {
        if self.terms.is_empty() {
            return Ok(());
        }
        let accepted = self.store.accepted_terms(&caller.user_id).await?;
        if self.terms.all_accepted(accepted.iter().map(String::as_str)) {
            Ok(())
        } else {
            Err(ApiError::TermsNotSigned)
        }
    }

    /// Signs the caller out: the presented token stops working.
    pub async fn logout(&self, token: Option<&str>) -> ApiResult<()> {
        self.authenticate(token).await?;
        let token = token.ok_or(ApiError::Unauthorized)?;
        self.store.delete_access_token(token).await?;
        Ok(())
    }

    /// Deletes the tokens unused for `[auth] token_unused_lifetime` (housekeeping).
    pub async fn purge_unused_tokens(&self) -> ApiResult<u64> {
        let cutoff = self.clock.now() - self.token_unused_lifetime;
        Ok(self.store.purge_unused_access_tokens(cutoff).await?)
    }

    /// The policies as `GET /v2/terms` serves them.
    pub fn policies(&self) -> &serde_json::Map<String, serde_json::Value> {
        &self.terms.document
    }

    /// Records accepted policy URLs (appended; URLs no policy publishes are refused).
    pub async fn accept_terms(&self, user_id: &UserId, urls: &[String]) -> ApiResult<()> {
        let known = self.terms.known_urls();
        if let Some(unknown) = urls.iter().find(|u| !known.contains(u.as_str())) {
            return Err(ApiError::InvalidParam(format!(
                "`{unknown}` is not the URL of a current policy"
            )));
        }
        self.store
            .accept_terms(user_id, urls, self.clock.now())
            .await?;
        Ok(())
    }
}
