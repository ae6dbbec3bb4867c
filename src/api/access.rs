//! Who may call: the one rule that separates the v1 and v2 twins of an operation. v1 is
//! unauthenticated (deprecated, kept for old homeservers); v2 needs an identity-server access
//! token whose user accepted every current policy. The rule itself lives in
//! `service::accounts`; this reads the token from the request.

use super::Api;
use crate::error::ApiResult;
use crate::service::accounts::Caller;
use oxident_api::rt::server::RequestContext;

/// The API version an operation belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Api {
    /// The gate of an operation of version `v`: nobody for v1, the terms-accepting token
    /// owner for v2.
    pub(crate) async fn admit(
        &self,
        v: Version,
        ctx: &RequestContext,
    ) -> ApiResult<Option<Caller>> {
        match v {
            Version::V1 => Ok(None),
            Version::V2 => self.user(ctx).await.map(Some),
        }
    }

    /// The owner of the presented token, who accepted every current policy.
    pub(crate) async fn user(&self, ctx: &RequestContext) -> ApiResult<Caller> {
        let token = self.http.presented_token(ctx);
        self.services
            .accounts
            .authenticate_with_terms(token.as_deref())
            .await
    }

    /// The owner of the presented token, terms or not (logout, `POST /terms`).
    pub(crate) async fn caller(&self, ctx: &RequestContext) -> ApiResult<Caller> {
        let token = self.http.presented_token(ctx);
        self.services.accounts.authenticate(token.as_deref()).await
    }
}
