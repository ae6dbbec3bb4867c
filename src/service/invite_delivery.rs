//! Delivering stored invites on bind (is-behaviour §10.3): when a 3PID with pending invites is
//! bound, the homeserver of the new owner is told with `POST /_matrix/federation/v1/3pid/onbind`
//! so it can turn each third-party invite into a real one.
//!
//! Durability: the store is the queue. An invite stays "undelivered" until a homeserver has
//! accepted it (2xx); [`Store::pending_deliveries`](crate::store::Store::pending_deliveries)
//! lists those whose 3PID is bound and whose retry is due, so a restart loses nothing — the
//! worker's first pass after start delivers whatever was left. A bind never waits for a
//! homeserver: it only wakes the worker ([`DeliveryWaker::wake`]).
//!
//! Each invite goes in a request of its own: Synapse answers an error for the whole request
//! if one invite in it fails (a room that no longer exists, say), and one bad invite must not
//! hold back the others. Failures are retried with exponential back-off
//! ([`retry_delay_ms`]), for as long as the invite is pending.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::error::ApiResult;
use crate::federation::FederationClient;
use crate::service::signed::Signer;
use crate::store::{Association, AssociationStore, InviteStore, PendingDelivery, Threepid};

/// The delivery worker's needs: the invite store (the queue), the signer, the federation
/// client, time, and the waker binds use.
pub struct DeliveryService {
    pub(crate) store: Arc<dyn InviteStore>,
    /// The binding an invite goes to is read again just before delivery.
    pub(crate) associations: Arc<dyn AssociationStore>,
    pub(crate) signer: Arc<Signer>,
    pub(crate) federation: FederationClient,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) waker: DeliveryWaker,
}

/// The federation path homeservers serve for this (Synapse routes POST only).
pub const ONBIND_PATH: &str = "/_matrix/federation/v1/3pid/onbind";
/// First retry after a failure; doubled per further failure up to [`MAX_RETRY_MS`].
pub const FIRST_RETRY_MS: i64 = 30_000;
pub const MAX_RETRY_MS: i64 = 3_600_000;
/// How long a homeserver may take to answer an onbind: it creates and sends the member
/// event before it answers (Synapse took ~20 s under load right after a restart), and an
/// answer cut off by a shorter timeout means a delivery made twice.
const ONBIND_TIMEOUT: Duration = Duration::from_secs(60);
/// Invites taken per pass.
const BATCH: u32 = 100;
/// How often the worker looks for due retries when nobody wakes it.
const POLL: Duration = Duration::from_secs(15);

/// Wakes the delivery worker (after a bind, or in tests after moving the clock).
#[derive(Debug, Default, Clone)]
pub struct DeliveryWaker(Arc<Notify>);

impl DeliveryWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// Delay before the next attempt after `failures` failed ones (1 → 30 s, 2 → 60 s, …, ≤ 1 h).
pub fn retry_delay_ms(failures: i64) -> i64 {
    let doublings = u32::try_from(failures.clamp(1, 20) - 1).unwrap_or(0);
    FIRST_RETRY_MS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY_MS)
}

/// The onbind body: the association with this invite under `invites`, the whole signed with
/// the long-term key (as the reference server does), and each invite's `signed` block —
/// `{mxid, token}` — signed with the long-term key too: the homeserver checks it against the
/// keys store-invite returned, which it copied into the room's third-party-invite event.
pub fn onbind_body(
    signer: &Signer,
    association: &Association,
    invite: &crate::store::Invite,
) -> ApiResult<Value> {
    let mut signed = json!({"mxid": association.mxid, "token": invite.token});
    signer.sign(&mut signed)?;
    let mut body = json!({
        "medium": association.medium,
        "address": association.address,
        "mxid": association.mxid,
        "ts": association.ts,
        "not_before": association.not_before,
        "not_after": association.not_after,
        "invites": [{
            "medium": invite.medium,
            "address": invite.address,
            "room_id": invite.room_id,
            "sender": invite.sender,
            "token": invite.token,
            "mxid": association.mxid,
            "signed": signed,
        }],
    });
    signer.sign(&mut body)?;
    Ok(body)
}

impl DeliveryService {
    /// Runs until the task is dropped: a pass at start, then one whenever woken or every
    /// [`POLL`].
    pub async fn run(self: Arc<Self>) {
        loop {
            match self.deliver_due().await {
                // A full batch, every outcome recorded: there may be more due right now. (An
                // outcome the store could not record leaves its invite due; going round at once
                // would then call the homeserver again in a loop.)
                Ok(n) if n >= BATCH as usize => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "invite delivery pass failed"),
            }
            let _ = tokio::time::timeout(POLL, self.waker.0.notified()).await;
        }
    }

    /// One pass: every due delivery is attempted (concurrently, each homeserver's answer
    /// recorded as it comes). Returns how many outcomes were recorded.
    pub async fn deliver_due(self: &Arc<Self>) -> ApiResult<usize> {
        let due = self
            .store
            .pending_deliveries(self.clock.now_ms(), BATCH)
            .await?;
        let mut attempts = tokio::task::JoinSet::new();
        for delivery in due {
            let this = self.clone();
            attempts.spawn(async move { this.deliver_one(delivery).await });
        }
        let mut recorded = 0;
        while let Some(done) = attempts.join_next().await {
            match done {
                Ok(true) => recorded += 1,
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "invite delivery task failed"),
            }
        }
        Ok(recorded)
    }

    /// Attempts one delivery; `true` when its outcome (delivered, or the next retry) is stored.
    async fn deliver_one(&self, delivery: PendingDelivery) -> bool {
        let PendingDelivery { invite, mxid } = delivery;
        let token = invite.token.clone();
        let outcome = self.attempt(&invite, &mxid).await;
        let now = self.clock.now_ms();
        let recorded = match outcome {
            Ok(()) => {
                tracing::info!(room_id = %invite.room_id, "invite delivered to the homeserver");
                self.store
                    .mark_invites_delivered(std::slice::from_ref(&token), now)
                    .await
            }
            Err(why) => {
                let failures = invite.delivery_attempts.saturating_add(1);
                let delay = retry_delay_ms(failures);
                tracing::warn!(
                    room_id = %invite.room_id,
                    failures,
                    retry_in_s = delay / 1000,
                    reason = %why,
                    "invite delivery failed; will retry"
                );
                self.store
                    .record_delivery_failure(
                        std::slice::from_ref(&token),
                        now.saturating_add(delay),
                    )
                    .await
            }
        };
        match recorded {
            Ok(_) => true,
            Err(e) => {
                // The invite stays pending: at worst it is delivered twice, which homeservers
                // tolerate (the member event already exists).
                tracing::error!(error = %e, "could not record an invite delivery outcome");
                false
            }
        }
    }

    /// Builds, signs and sends one onbind request. `Err` holds a reason for the log.
    async fn attempt(&self, invite: &crate::store::Invite, mxid: &str) -> Result<(), String> {
        let threepid = Threepid::new(&invite.medium, &invite.address);
        let association = self
            .associations
            .get_association(&threepid)
            .await
            .map_err(|e| e.to_string())?
            .filter(|a| a.mxid == mxid)
            .ok_or("the binding changed before delivery")?;
        let body = onbind_body(&self.signer, &association, invite).map_err(|e| e.to_string())?;
        let server = mxid
            .split_once(':')
            .map(|(_, server)| server)
            .ok_or("the bound Matrix ID has no server name")?;
        let (status, answer) = self
            .federation
            .post_json(server, ONBIND_PATH, &body, Some(ONBIND_TIMEOUT))
            .await
            .map_err(|e| e.to_string())?;
        if status.is_success() {
            return Ok(());
        }
        let errcode = answer
            .as_ref()
            .and_then(|v| v.get("errcode"))
            .and_then(Value::as_str)
            .unwrap_or("-");
        Err(format!(
            "homeserver answered HTTP {} ({errcode})",
            status.as_u16()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_up_to_an_hour() {
        assert_eq!(retry_delay_ms(1), 30_000);
        assert_eq!(retry_delay_ms(2), 60_000);
        assert_eq!(retry_delay_ms(3), 120_000);
        assert_eq!(retry_delay_ms(7), 1_920_000);
        assert_eq!(retry_delay_ms(8), MAX_RETRY_MS);
        assert_eq!(retry_delay_ms(1_000_000), MAX_RETRY_MS);
        assert_eq!(retry_delay_ms(0), 30_000);
        assert_eq!(retry_delay_ms(-5), 30_000);
    }
}
