//! The admin API (`spec/admin.yaml`), served only by the admin listener (`app::admin_app`,
//! which checks the secret before anything here runs): requests parsed into domain types,
//! one call to `service::admin`, answers mapped back.

use super::Api;
use crate::domain::{Medium, UserId};
use crate::error::{ApiError, ApiResult};
use crate::service::admin::{Erased, Records, Whom};
use oxident_api::admin;
use oxident_api::rt::server::RequestContext;
use oxident_api::server::AdminApi;
use oxident_api::types::{
    AdminAccount, AdminAssociation, AdminErased, AdminExport, AdminExportParams, AdminInvite,
    AdminRecords, AdminSession, AdminToken, InternalThreepidRequest,
};
use serde_json::Map;

/// `mxid`, or `medium` and `address`: exactly one subject.
fn whom(mxid: Option<&str>, medium: Option<&str>, address: Option<&str>) -> ApiResult<Whom> {
    match (mxid, medium, address) {
        (Some(mxid), None, None) => Ok(Whom::User(UserId::parse(mxid)?)),
        (None, Some(medium), Some(address)) => {
            Ok(Whom::threepid(Medium::require(medium)?, address))
        }
        (None, _, _) => Err(ApiError::MissingParams(
            "give mxid, or medium and address".into(),
        )),
        (Some(_), _, _) => Err(ApiError::InvalidParam(
            "give mxid, or medium and address, not both".into(),
        )),
    }
}

fn threepid_request(b: &InternalThreepidRequest) -> ApiResult<(Medium, UserId)> {
    Ok((Medium::require(&b.medium)?, UserId::parse(b.mxid.as_str())?))
}

/// Counts as the wire's `int64` (a count beyond it cannot happen; saturate rather than wrap).
fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Api {
    /// Everything held about the subject the query names (list and export share it).
    async fn records(&self, p: &AdminExportParams) -> ApiResult<Records> {
        let whom = whom(p.mxid.as_deref(), p.medium.as_deref(), p.address.as_deref())?;
        self.services.admin.records(&whom).await
    }
}

impl AdminApi for Api {
    type Error = ApiError;

    async fn internal_bind(
        &self,
        _ctx: &RequestContext,
        b: admin::internal_bind::RequestBody,
    ) -> ApiResult<admin::internal_bind::Response> {
        let (medium, mxid) = threepid_request(&b)?;
        let signed = self.services.admin.bind(medium, &b.address, &mxid).await?;
        Ok(signed.into())
    }

    async fn internal_unbind(
        &self,
        _ctx: &RequestContext,
        b: admin::internal_unbind::RequestBody,
    ) -> ApiResult<admin::internal_unbind::Response> {
        let (medium, mxid) = threepid_request(&b)?;
        self.services
            .admin
            .unbind(medium, &b.address, &mxid)
            .await?;
        Ok(Map::new())
    }

    async fn admin_list_records(
        &self,
        _ctx: &RequestContext,
        p: admin::admin_list_records::Params,
    ) -> ApiResult<admin::admin_list_records::Response> {
        let records = self.records(&p).await?;
        Ok(AdminRecords {
            associations: associations(&records),
            pending_invites: records
                .invites
                .iter()
                .filter(|i| i.delivered_at.is_none())
                .map(invite)
                .collect(),
        })
    }

    async fn admin_export(
        &self,
        _ctx: &RequestContext,
        p: admin::admin_export::Params,
    ) -> ApiResult<admin::admin_export::Response> {
        let records = self.records(&p).await?;
        Ok(AdminExport {
            associations: associations(&records),
            invites: records.invites.iter().map(invite).collect(),
            sessions: records
                .sessions
                .iter()
                .map(|s| AdminSession {
                    sid: s.sid.clone(),
                    medium: s.medium.as_str().to_owned(),
                    address: s.address.clone(),
                    created_ms: s.created_at.as_millis(),
                    validated_ms: s.validated_at.map(|t| t.as_millis()),
                })
                .collect(),
            account: records.account.map(|a| AdminAccount {
                user_id: a.user_id.as_str().to_owned(),
                created_ms: a.created_at.as_millis(),
                tokens: a
                    .tokens
                    .iter()
                    .map(|t| AdminToken {
                        created_ms: t.created_at.as_millis(),
                        last_used_ms: t.last_used_at.as_millis(),
                    })
                    .collect(),
                accepted_terms: a.accepted_terms,
            }),
        })
    }

    async fn admin_erase(
        &self,
        _ctx: &RequestContext,
        b: admin::admin_erase::RequestBody,
    ) -> ApiResult<admin::admin_erase::Response> {
        let whom = whom(b.mxid.as_deref(), b.medium.as_deref(), b.address.as_deref())?;
        let Erased {
            associations,
            invites,
            ephemeral_keys,
            sessions,
            tokens,
            accepted_terms,
        } = self.services.admin.erase(&whom).await?;
        Ok(AdminErased {
            associations: count(associations),
            invites: count(invites),
            ephemeral_keys: count(ephemeral_keys),
            sessions: count(sessions),
            tokens: count(tokens),
            accepted_terms: count(accepted_terms),
        })
    }

    async fn admin_revoke_tokens(
        &self,
        _ctx: &RequestContext,
        b: admin::admin_revoke_tokens::RequestBody,
    ) -> ApiResult<admin::admin_revoke_tokens::Response> {
        let user = UserId::parse(b.mxid)?;
        let revoked = self.services.admin.revoke_tokens(&user).await?;
        Ok(admin::admin_revoke_tokens::AdminRevoked {
            revoked: count(revoked),
        })
    }

    async fn admin_rotate_pepper(
        &self,
        _ctx: &RequestContext,
    ) -> ApiResult<admin::admin_rotate_pepper::Response> {
        let (lookup_pepper, rehashed) = self.services.admin.rotate_pepper().await?;
        Ok(admin::admin_rotate_pepper::AdminRotated {
            lookup_pepper,
            rehashed: count(rehashed),
        })
    }
}

fn associations(records: &Records) -> Vec<AdminAssociation> {
    records
        .associations
        .iter()
        .map(|a| AdminAssociation {
            medium: a.medium.as_str().to_owned(),
            address: a.address.clone(),
            mxid: a.mxid.as_str().to_owned(),
            ts: a.ts.as_millis(),
            not_before: a.not_before.as_millis(),
            not_after: a.not_after.as_millis(),
        })
        .collect()
}

fn invite(i: &crate::service::admin::Invite) -> AdminInvite {
    AdminInvite {
        medium: i.medium.as_str().to_owned(),
        address: i.address.clone(),
        room_id: i.room_id.clone(),
        sender: i.sender.clone(),
        created_ms: i.created_at.as_millis(),
        delivered_ms: i.delivered_at.map(|t| t.as_millis()),
        public_key: i.ephemeral_key.public_key.clone(),
    }
}
