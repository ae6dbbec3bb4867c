//! The admin API's rules (`api/admin.rs` maps the requests; the listener is `[admin]`):
//! the reference server's internal bind and unbind, and the operator's view of one data
//! subject — list, export, erase (GDPR requests), revoke a user's tokens — and rotating the
//! lookup pepper. Every action that changes or reveals personal data is logged at `info`
//! with what it concerned (never a token).

use crate::crypto::tokens::{PEPPER_LEN, RandomSource, random_token_from};
use crate::domain::{Medium, UserId};
use crate::error::{ApiError, ApiResult};
use crate::service::binding::BindingService;
use crate::service::signed::SignedAssociation;
use crate::store::admin::Subject;
use crate::store::{AdminStore, AssociationStore, Threepid};
use std::sync::Arc;

pub use crate::store::Invite;
pub use crate::store::admin::{Erased, SubjectRecords as Records};

/// Whose records an operator asks for: a user (with the 3PIDs bound to it) or one 3PID
/// (its address canonical).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whom {
    User(UserId),
    Threepid(Medium, String),
}

impl Whom {
    /// A 3PID as requests name it: the address is canonicalised here, once.
    pub fn threepid(medium: Medium, address: &str) -> Self {
        Whom::Threepid(medium, medium.canonical_address(address))
    }

    fn subject(&self) -> Subject {
        match self {
            Whom::User(user) => Subject::User(user.clone()),
            Whom::Threepid(medium, address) => {
                Subject::Threepid(Threepid::new(*medium, address.clone()))
            }
        }
    }

    /// What log lines name: the user, or the medium alone (an address is personal data the
    /// log need not repeat).
    fn describe(&self) -> String {
        match self {
            Whom::User(user) => user.as_str().to_owned(),
            Whom::Threepid(medium, _) => format!("a 3PID ({})", medium.as_str()),
        }
    }
}

/// The admin API's service: binding through the binding service (so an internal bind signs,
/// stores and delivers invites exactly as a bind does), the admin store, the association
/// store for the pepper, and randomness for a new one.
pub struct AdminService {
    pub(crate) bindings: Arc<BindingService>,
    pub(crate) store: Arc<dyn AdminStore>,
    pub(crate) associations: Arc<dyn AssociationStore>,
    pub(crate) random: Arc<dyn RandomSource>,
}

impl AdminService {
    /// Binds without validation: the operator vouches for the 3PID.
    pub async fn bind(
        &self,
        medium: Medium,
        address: &str,
        mxid: &UserId,
    ) -> ApiResult<SignedAssociation> {
        let threepid = Threepid::canonical(medium, address);
        let signed = self.bindings.publish(threepid, mxid).await?;
        tracing::info!(mxid = %mxid.as_str(), medium = %medium.as_str(), "admin: bound a 3PID without validation");
        Ok(signed)
    }

    /// Removes the binding if it is to `mxid`; nothing otherwise (success either way, as
    /// the reference server answers).
    pub async fn unbind(&self, medium: Medium, address: &str, mxid: &UserId) -> ApiResult<()> {
        let threepid = Threepid::canonical(medium, address);
        if self.associations.unbind(&threepid, mxid).await? {
            tracing::info!(mxid = %mxid.as_str(), medium = %medium.as_str(), "admin: unbound a 3PID");
        }
        Ok(())
    }

    /// Everything held about `whom`.
    pub async fn records(&self, whom: &Whom) -> ApiResult<Records> {
        let records = self.store.subject_records(&whom.subject()).await?;
        tracing::info!(subject = %whom.describe(), "admin: records read");
        Ok(records)
    }

    /// Erases everything held about `whom`, in one transaction.
    pub async fn erase(&self, whom: &Whom) -> ApiResult<Erased> {
        let erased = self.store.erase_subject(&whom.subject()).await?;
        tracing::info!(
            subject = %whom.describe(),
            associations = erased.associations,
            invites = erased.invites,
            sessions = erased.sessions,
            tokens = erased.tokens,
            "admin: erased"
        );
        Ok(erased)
    }

    /// Revokes every access token of `user`; how many there were.
    pub async fn revoke_tokens(&self, user: &UserId) -> ApiResult<u64> {
        let revoked = self.store.revoke_access_tokens(user).await?;
        tracing::info!(mxid = %user.as_str(), revoked, "admin: access tokens revoked");
        Ok(revoked)
    }

    /// A new lookup pepper, every association rehashed under it; the pepper and the count.
    pub async fn rotate_pepper(&self) -> ApiResult<(String, u64)> {
        let current = self.associations.lookup_pepper().await?;
        let mut pepper = random_token_from(self.random.as_ref(), PEPPER_LEN)?;
        // A rotation that kept the pepper would leave every client's cached hashes valid
        // while reporting success.
        for _ in 0..3 {
            if current.as_deref() != Some(pepper.as_str()) {
                break;
            }
            pepper = random_token_from(self.random.as_ref(), PEPPER_LEN)?;
        }
        if current.as_deref() == Some(pepper.as_str()) {
            return Err(ApiError::Internal(
                "the random source keeps drawing the current pepper".into(),
            ));
        }
        let rehashed = self.associations.rotate_lookup_pepper(&pepper).await?;
        tracing::info!(rehashed, "admin: lookup pepper rotated");
        Ok((pepper, rehashed))
    }
}
