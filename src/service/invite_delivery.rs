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
//! ([`retry_delay`]).
//!
//! Scheduling (issue 21): a pass takes the due invites and starts each delivery as a task of
//! its own, then goes back to waiting at once: a homeserver that takes its whole 60 s
//! timeout holds back nothing but its own invites. Per homeserver, at most
//! `[invites] delivery_per_destination` deliveries are in flight, and after a failure of the
//! homeserver itself (no answer, 5xx) its other invites wait out the same back-off; an
//! invite that must wait is deferred in the store (`defer_deliveries`, no attempt counted),
//! so the next pass's batch holds other work. An invite in flight is deferred for its
//! timeout too (a lease), so no pass takes it twice. Delivery gives up
//! `[invites] delivery_give_up_after` after it started (the first time the invite was due):
//! logged, counted ([`DeliveryService::given_up`]), and never retried.
//!
//! Figures and details: the worker is started with the server by `spawn_background`, beside
//! housekeeping. Each request carries the association with `invites`, the whole and each invite's
//! `signed {mxid, token}` signed with the long-term key. Back-off: 30 s doubling to 1 h.
//! `delivery_per_destination` is 2 by default; a homeserver's own failure is no answer or a 5xx,
//! not a 4xx about one invite. The lease of an invite in flight is its timeout + 60 s; deferring
//! releases the PostgreSQL claim, so unauthenticated v1 store-invites aimed at a slow server delay
//! nobody else's. `delivery_give_up_after` is 7 days, counted from `delivery_started_ms`, set when
//! the invite is first due: from the bind, not the invite's creation, since invitees often sign up
//! weeks later. Giving up sets `abandoned_ms` and logs a WARN.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use hashlink::LruCache;

use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::domain::{Timestamp, UserId};
use crate::error::ApiResult;
use crate::federation::FederationClient;
use crate::ops::metrics::{Delivery, Metrics};
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
    /// `[invites] delivery_give_up_after`.
    pub(crate) give_up_after: Duration,
    /// `[invites] delivery_per_destination`.
    pub(crate) per_destination: u32,
    pub(crate) destinations: Destinations,
    /// Deliveries by outcome (given up ones included: [`Self::given_up`] reads them there).
    pub(crate) metrics: Arc<Metrics>,
}

/// What the worker knows of each homeserver it delivers to: deliveries in flight, and the
/// back-off after failures of the homeserver itself. Bounded (LRU); a forgotten homeserver
/// starts afresh.
#[derive(Debug)]
pub struct Destinations(Mutex<LruCache<String, Destination>>);

#[derive(Debug, Default, Clone, Copy)]
struct Destination {
    in_flight: u32,
    failures: i64,
    retry_at: Timestamp,
}

/// Homeservers remembered at most.
const MAX_DESTINATIONS: usize = 4096;
/// How long an invite waits when its homeserver already has its share in flight.
const BUSY_RETRY: Duration = Duration::from_secs(5);
/// Deliveries in flight at most, over all homeservers.
const MAX_IN_FLIGHT: usize = 64;

impl Default for Destinations {
    fn default() -> Self {
        Self(Mutex::new(LruCache::new(MAX_DESTINATIONS)))
    }
}

impl Destinations {
    fn lock(&self) -> MutexGuard<'_, LruCache<String, Destination>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A delivery slot at `server` now (`Ok`), or the time to try again (`Err`).
    fn take(&self, server: &str, now: Timestamp, per_destination: u32) -> Result<(), Timestamp> {
        let mut map = self.lock();
        if map.get(server).is_none() {
            map.insert(server.to_owned(), Destination::default());
        }
        let Some(d) = map.get_mut(server) else {
            return Ok(());
        };
        if d.retry_at > now {
            return Err(d.retry_at);
        }
        if d.in_flight >= per_destination.max(1) {
            return Err(now + BUSY_RETRY);
        }
        d.in_flight += 1;
        Ok(())
    }

    /// Gives back a slot of `server`; `failed`: the homeserver itself failed (no answer,
    /// 5xx), so its deliveries back off. Returns when `server` may be tried again.
    fn finish(&self, server: &str, now: Timestamp, failed: Option<bool>) -> Timestamp {
        let mut map = self.lock();
        let Some(d) = map.get_mut(server) else {
            return now;
        };
        d.in_flight = d.in_flight.saturating_sub(1);
        match failed {
            Some(true) => {
                d.failures = d.failures.saturating_add(1);
                d.retry_at = now + retry_delay(d.failures);
            }
            Some(false) => {
                d.failures = 0;
                d.retry_at = Timestamp::EPOCH;
            }
            None => {}
        }
        d.retry_at
    }
}

/// Why a delivery failed, and whether the homeserver itself did (no answer, 5xx) or only
/// this invite (a 4xx answer: the room is gone, say; the binding changed).
#[derive(Debug)]
struct Failure {
    reason: String,
    destination_failed: bool,
}

impl Failure {
    fn invite(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            destination_failed: false,
        }
    }

    fn destination(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            destination_failed: true,
        }
    }
}

/// The federation path homeservers serve for this (Synapse routes POST only).
pub const ONBIND_PATH: &str = "/_matrix/federation/v1/3pid/onbind";
/// First retry after a failure; doubled per further failure up to [`MAX_RETRY`].
pub const FIRST_RETRY: Duration = Duration::from_secs(30);
pub const MAX_RETRY: Duration = Duration::from_secs(3600);
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
pub fn retry_delay(failures: i64) -> Duration {
    let doublings = u32::try_from(failures.clamp(1, 20) - 1).unwrap_or(0);
    FIRST_RETRY.saturating_mul(1 << doublings).min(MAX_RETRY)
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
    /// Runs until the task is dropped: a pass at start, then one whenever woken, a delivery
    /// finishes, or every [`POLL`]. Deliveries run as tasks of their own; a pass never waits
    /// for one.
    pub async fn run(self: Arc<Self>) {
        self.run_until(std::future::pending()).await;
    }

    /// [`Self::run`] until `stop` completes: then no new delivery starts, and those under
    /// way finish (the caller bounds how long it waits). A delivery cut off mid-request would
    /// be sent again at the next start, and a homeserver could show the invite twice.
    pub async fn run_until(self: Arc<Self>, stop: impl std::future::Future<Output = ()>) {
        let mut running = tokio::task::JoinSet::new();
        tokio::pin!(stop);
        loop {
            while let Some(done) = running.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(error = %e, "invite delivery task failed");
                }
            }
            let taken = if running.len() < MAX_IN_FLIGHT {
                match self.dispatch_due(&mut running).await {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::warn!(error = %e, "invite delivery pass failed");
                        0
                    }
                }
            } else {
                0
            };
            // A full batch, every invite in it started or deferred: there may be more due.
            if taken >= BATCH as usize {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                () = &mut stop => break,
                () = tokio::time::sleep(POLL) => {}
                () = self.waker.0.notified() => {}
                Some(done) = running.join_next(), if !running.is_empty() => {
                    if let Err(e) = done {
                        tracing::error!(error = %e, "invite delivery task failed");
                    }
                }
            }
        }
        while let Some(done) = running.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "invite delivery task failed");
            }
        }
    }

    /// Invites given up since start (`[invites] delivery_give_up_after`).
    pub fn given_up(&self) -> u64 {
        self.metrics.delivered(Delivery::GivenUp)
    }

    /// One pass over the due invites, each given up, deferred (its homeserver busy or
    /// backing off) or started in `running`. Returns how many were taken.
    async fn dispatch_due(
        self: &Arc<Self>,
        running: &mut tokio::task::JoinSet<()>,
    ) -> ApiResult<usize> {
        let now = self.clock.now();
        let due = self.store.pending_deliveries(now, BATCH).await?;
        let taken = due.len();
        let mut too_old = Vec::new();
        let mut later: std::collections::BTreeMap<Timestamp, Vec<String>> = Default::default();
        let mut starting = Vec::new();
        for delivery in due {
            let invite = &delivery.invite;
            if invite
                .delivery_started_at
                .is_some_and(|started| now.since(started) >= self.give_up_after)
            {
                too_old.push(delivery);
                continue;
            }
            let server = delivery.mxid.server_name().to_owned();
            match self.destinations.take(&server, now, self.per_destination) {
                Ok(()) => starting.push((delivery, server)),
                Err(at) => later.entry(at).or_default().push(invite.token.clone()),
            }
        }
        let tokens: Vec<String> = starting
            .iter()
            .map(|(d, _)| d.invite.token.clone())
            .collect();
        // The lease: no pass takes an invite in flight again before its answer is in.
        let lease = now + ONBIND_TIMEOUT + Duration::from_secs(60);
        let recorded: ApiResult<()> = async {
            self.give_up(too_old, now).await?;
            for (at, waiting) in &later {
                self.store.defer_deliveries(waiting, *at, now).await?;
            }
            self.store.defer_deliveries(&tokens, lease, now).await?;
            Ok(())
        }
        .await;
        let deferred = later.values().map(Vec::len).sum::<usize>();
        if recorded.is_ok() && deferred > 0 {
            self.metrics
                .deliveries(Delivery::Deferred, u64::try_from(deferred).unwrap_or(0));
        }
        if let Err(e) = recorded {
            // Nothing started: give the slots back.
            for (_, server) in &starting {
                self.destinations.finish(server, now, None);
            }
            return Err(e);
        }
        for (delivery, server) in starting {
            let this = self.clone();
            running.spawn(async move { this.deliver_one(delivery, server).await });
        }
        Ok(taken)
    }

    /// Marks these invites given up, with a line each.
    async fn give_up(&self, deliveries: Vec<PendingDelivery>, now: Timestamp) -> ApiResult<()> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let tokens: Vec<String> = deliveries.iter().map(|d| d.invite.token.clone()).collect();
        let n = self.store.abandon_deliveries(&tokens, now).await?;
        self.metrics.deliveries(Delivery::GivenUp, n);
        for d in &deliveries {
            tracing::warn!(
                room_id = %d.invite.room_id,
                failures = d.invite.delivery_attempts,
                given_up_total = self.given_up(),
                "invite delivery given up: not delivered within [invites] delivery_give_up_after"
            );
        }
        Ok(())
    }

    /// Attempts one delivery and records its outcome (delivered, or the next retry).
    async fn deliver_one(&self, delivery: PendingDelivery, server: String) {
        let PendingDelivery { invite, mxid } = delivery;
        let token = invite.token.clone();
        let outcome = self.attempt(&invite, &mxid, &server).await;
        let now = self.clock.now();
        self.metrics.deliveries(
            if outcome.is_ok() {
                Delivery::Delivered
            } else {
                Delivery::Failed
            },
            1,
        );
        let recorded = match outcome {
            Ok(()) => {
                self.destinations.finish(&server, now, Some(false));
                tracing::info!(room_id = %invite.room_id, "invite delivered to the homeserver");
                self.store
                    .mark_invites_delivered(std::slice::from_ref(&token), now)
                    .await
            }
            Err(why) => {
                let destination_retry = self.destinations.finish(
                    &server,
                    now,
                    Some(why.destination_failed).filter(|failed| *failed),
                );
                let failures = invite.delivery_attempts.saturating_add(1);
                let next = (now + retry_delay(failures)).max(destination_retry);
                tracing::warn!(
                    room_id = %invite.room_id,
                    failures,
                    retry_in_s = next.since(now).as_secs(),
                    reason = %why.reason,
                    "invite delivery failed; will retry"
                );
                self.store
                    .record_delivery_failure(std::slice::from_ref(&token), next)
                    .await
            }
        };
        if let Err(e) = recorded {
            // The invite stays pending (due when its lease ends): at worst it is delivered
            // twice, which homeservers tolerate (the member event already exists).
            tracing::error!(error = %e, "could not record an invite delivery outcome");
        }
        // Its homeserver has a free slot again: deferred invites may go.
        self.waker.wake();
    }

    /// Builds, signs and sends one onbind request to `server`.
    async fn attempt(
        &self,
        invite: &crate::store::Invite,
        mxid: &UserId,
        server: &str,
    ) -> Result<(), Failure> {
        let threepid = Threepid::new(invite.medium, invite.address.as_str());
        let association = self
            .associations
            .get_association(&threepid)
            .await
            .map_err(|e| Failure::invite(e.to_string()))?
            .filter(|a| a.mxid == *mxid)
            .ok_or_else(|| Failure::invite("the binding changed before delivery"))?;
        let body = onbind_body(&self.signer, &association, invite)
            .map_err(|e| Failure::invite(e.to_string()))?;
        let (status, answer) = self
            .federation
            .post_json(server, ONBIND_PATH, &body, Some(ONBIND_TIMEOUT))
            .await
            .map_err(|e| Failure::destination(e.to_string()))?;
        if status.is_success() {
            return Ok(());
        }
        let errcode = answer
            .as_ref()
            .and_then(|v| v.get("errcode"))
            .and_then(Value::as_str)
            .unwrap_or("-");
        let reason = format!("homeserver answered HTTP {} ({errcode})", status.as_u16());
        Err(if status.is_server_error() {
            Failure::destination(reason)
        } else {
            Failure::invite(reason)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn a_homeserver_gets_its_share_of_slots_and_backs_off_after_failing() {
        let d = Destinations::default();
        assert_eq!(d.take("slow.example", at(0), 2), Ok(()));
        assert_eq!(d.take("slow.example", at(0), 2), Ok(()));
        assert_eq!(
            d.take("slow.example", at(0), 2),
            Err(at(5_000)),
            "its share is in flight"
        );
        assert_eq!(
            d.take("fast.example", at(0), 2),
            Ok(()),
            "others are not held back"
        );
        // The homeserver failed: its deliveries wait out the back-off, 30 s then 60 s.
        assert_eq!(d.finish("slow.example", at(1_000), Some(true)), at(31_000));
        assert_eq!(d.take("slow.example", at(2_000), 2), Err(at(31_000)));
        assert_eq!(d.finish("slow.example", at(2_000), Some(true)), at(62_000));
        assert_eq!(d.take("slow.example", at(62_000), 2), Ok(()));
        // An invite's own failure (a 4xx) moves nothing; a success clears the back-off.
        assert_eq!(d.finish("slow.example", at(63_000), None), at(62_000));
        assert_eq!(d.take("slow.example", at(63_000), 2), Ok(()));
        assert_eq!(d.finish("slow.example", at(64_000), Some(false)), at(0));
        assert_eq!(d.take("slow.example", at(64_000), 2), Ok(()));
    }

    #[test]
    fn back_off_doubles_up_to_an_hour() {
        let secs = Duration::from_secs;
        assert_eq!(retry_delay(1), secs(30));
        assert_eq!(retry_delay(2), secs(60));
        assert_eq!(retry_delay(3), secs(120));
        assert_eq!(retry_delay(7), secs(1_920));
        assert_eq!(retry_delay(8), MAX_RETRY);
        assert_eq!(retry_delay(1_000_000), MAX_RETRY);
        assert_eq!(retry_delay(0), secs(30));
        assert_eq!(retry_delay(-5), secs(30));
    }
}
