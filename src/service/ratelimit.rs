//! Per-key rate limits (client networks, destination addresses): a GCRA-style leaky bucket per
//! key, in memory. Limits protect mail and lookup endpoints from abuse; losing them on a
//! restart is harmless, so they are not stored.
//!
//! * **Several limits, all or nothing.** A request that several limits apply to (requestToken:
//!   the client and the destination) is counted by [`check_all`]: every limiter is locked (in
//!   one global order, the limiters' addresses, so two such checks never deadlock), every one
//!   is asked, and only when all allow the request is it counted in all of them. A request one
//!   limit refuses spends no other's budget: a client over its own limit cannot drain a phone
//!   number's or an inbox's.
//! * **Bounded memory.** Each limiter remembers at most [`MAX_KEYS`] keys in a
//!   `hashlink::LruCache` (the least recently used key is forgotten first; O(1) per event, no
//!   pass over the table under the lock). Keys whose bucket has refilled carry no information
//!   and are dropped from the cold end as new keys arrive. Forgetting a key that is still in
//!   debt gives it a full burst again, so a limiter is only as strong as its key space is
//!   small: client keys are networks (`ClientNet`, IPv6 per prefix), and destination keys are
//!   behind the per-client limit in the same [`check_all`].
//!
//! Store-invite is counted for the client and the recipient; the 429 of a `check_all` waits for the
//! slowest limit, and every 429 is `M_LIMIT_EXCEEDED` with `Retry-After` and `retry_after_ms`. The
//! old `HashMap` grew per distinct key and was pruned by an O(n) pass under the mutex; `hashlink`
//! is in the lock file through sqlx. Not `governor`: its keyed limiter has no all-or-nothing check
//! across limiters and is not in the lock file. Not `moka`: its eviction runs on its own clock and
//! asynchronously, which the injected-clock tests cannot drive.
//!
//! Lookup budget per account (`[ratelimit] lookup_hashes_per_account_per_hour` / `_per_day`, 0 =
//! off by default: v1 lookups need no account, so a budget alone would push an enumerator to v1):
//! v2 lookups charge each address as one event (`Limiter::charge_n`, a weighted GCRA step) in the
//! same `check_all` as the client's request limit, so a refused request spends nothing. With both
//! off the lookup path takes the old single-limiter check (no boxes or locks beyond it).

use crate::client_net::{ClientNet, Ipv6Prefix};
use crate::clock::Clock;
use crate::error::ApiError;
use crate::ops::metrics::RefusalCount;
use hashlink::LruCache;
use serde::{Deserialize, Serialize};
use std::borrow::Borrow;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Keys one limiter remembers at most (~100 bytes each with a short string key).
pub const MAX_KEYS: usize = 100_000;

/// Refilled keys dropped from the cold end per new key: more than one, so the table shrinks
/// back after a burst of new keys.
const TRIM_PER_INSERT: usize = 2;

/// `burst` events per key `K`, refilled evenly over `period`. Keys are client networks
/// (`Option<ClientNet>`: `None` when unknown, which then share one budget — no allocation or
/// formatting per request; see [`ClientLimiter`]) or destination addresses (`String`).
pub struct Limiter<K = String> {
    interval: Duration,
    burst: u32,
    /// key → theoretical arrival time of the next event, on the clock's monotonic scale.
    tat: Mutex<LruCache<K, Duration>>,
    clock: Arc<dyn Clock>,
    /// This limit's refusals, for the operator's metrics ([`Self::counting`]).
    refusals: RefusalCount,
}

impl<K> std::fmt::Debug for Limiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("interval", &self.interval)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

fn limit_exceeded(wait: Duration) -> ApiError {
    ApiError::LimitExceeded {
        retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
    }
}

impl<K: Hash + Eq> Limiter<K> {
    /// `burst` 0 switches the limit off: every event is allowed (an explicit "off" for
    /// operators behind their own limiter, as sydent allows).
    pub fn new(burst: u32, period: Duration, clock: Arc<dyn Clock>) -> Self {
        Self::with_capacity(burst, period, clock, MAX_KEYS)
    }

    /// As [`Self::new`], remembering at most `capacity` keys.
    pub fn with_capacity(
        burst: u32,
        period: Duration,
        clock: Arc<dyn Clock>,
        capacity: usize,
    ) -> Self {
        Self {
            interval: period / burst.max(1),
            burst,
            tat: Mutex::new(LruCache::new(capacity.max(1))),
            clock,
            refusals: RefusalCount::default(),
        }
    }

    /// Counts this limit's refusals in `refusals` (from `Metrics::rate_limit`).
    pub fn counting(self, refusals: RefusalCount) -> Self {
        Self { refusals, ..self }
    }

    /// Counts one event for `key`; `Err` carries how long to wait.
    pub fn check<Q>(&self, key: &Q) -> Result<(), ApiError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.check_at(key, self.clock.monotonic())
    }

    fn check_at<Q>(&self, key: &Q, now: Duration) -> Result<(), ApiError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.burst == 0 {
            return Ok(());
        }
        let mut table = self.lock();
        if let Some(wait) = self.wait(&mut table, key, now, 1) {
            self.refusals.refused();
            return Err(limit_exceeded(wait));
        }
        self.spend(&mut table, key, now, 1);
        Ok(())
    }

    /// Whether this limit is switched off (burst 0).
    pub fn is_off(&self) -> bool {
        self.burst == 0
    }

    /// `key`'s event in a [`check_all`].
    pub fn charge<'a, Q>(&'a self, key: &'a Q) -> Keyed<'a, K, Q>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.charge_n(key, 1)
    }

    /// `cost` events of `key` at once in a [`check_all`] (a lookup's hashes): all of them fit
    /// in the budget, or none is counted. A cost above the burst never fits (the operator's
    /// settings keep the burst at or above the largest request).
    pub fn charge_n<'a, Q>(&'a self, key: &'a Q, cost: u32) -> Keyed<'a, K, Q>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        Keyed {
            limiter: self,
            key,
            cost,
        }
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<K, Duration>> {
        self.tat.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long `key` must wait before `cost` more events fit; `None`: they fit now.
    fn wait<Q>(
        &self,
        table: &mut LruCache<K, Duration>,
        key: &Q,
        now: Duration,
        cost: u32,
    ) -> Option<Duration>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if self.burst == 0 || cost == 0 {
            return None;
        }
        if cost > self.burst {
            // Never fits: wait a whole period (the answer must still say when to retry).
            return Some(self.interval * self.burst);
        }
        // A key not remembered has a full burst.
        let tat = (*table.get(key)?).max(now);
        // GCRA with a weight: the events fit if the bucket, after them, holds at most `burst`.
        let allow_at = (tat + self.interval * cost)
            .checked_sub(self.interval * self.burst)
            .unwrap_or(now);
        (allow_at > now).then(|| allow_at - now)
    }

    /// Counts `cost` events for `key` (after [`Self::wait`] allowed them, under the same lock).
    fn spend<Q>(&self, table: &mut LruCache<K, Duration>, key: &Q, now: Duration, cost: u32)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.burst == 0 || cost == 0 {
            return;
        }
        // One hash of the key for a known key (the steady state).
        if let Some(tat) = table.get_mut(key) {
            *tat = (*tat).max(now) + self.interval * cost;
            return;
        }
        // A new key: first forget a few whose bucket is full again (the cold end holds them
        // first); at capacity the insert itself forgets the least recently used key.
        for _ in 0..TRIM_PER_INSERT {
            match table.iter().next() {
                Some((_, tat)) if *tat <= now => {
                    table.remove_lru();
                }
                _ => break,
            }
        }
        table.insert(key.to_owned(), now + self.interval * cost);
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.lock().len()
    }
}

/// One limiter and the key a request would be counted under, for [`check_all`].
pub struct Keyed<'a, K, Q: ?Sized> {
    limiter: &'a Limiter<K>,
    key: &'a Q,
    cost: u32,
}

/// A [`Keyed`] of any key type, so one [`check_all`] takes limiters of different keys.
pub trait Charge: Sync {
    /// The limiter's identity: the order locks are taken in.
    fn limiter_id(&self) -> usize;
    /// Locks the limiter (until the returned value is dropped).
    fn lock(&self) -> Box<dyn Held + '_>;
}

/// A locked limiter with the key to count.
pub trait Held {
    /// How long the key must wait; `None`: it may have its event now.
    fn wait(&mut self) -> Option<Duration>;
    /// Counts the event.
    fn spend(&mut self);
    /// Counts a refusal of the event by this limit (the operator's metrics).
    fn refused(&self);
}

impl<K, Q> Charge for Keyed<'_, K, Q>
where
    K: Hash + Eq + Borrow<Q> + Send,
    Q: Hash + Eq + ToOwned<Owned = K> + Sync + ?Sized,
{
    fn limiter_id(&self) -> usize {
        std::ptr::from_ref(self.limiter).addr()
    }

    fn lock(&self) -> Box<dyn Held + '_> {
        Box::new(Locked {
            limiter: self.limiter,
            table: self.limiter.lock(),
            key: self.key,
            cost: self.cost,
            now: self.limiter.clock.monotonic(),
        })
    }
}

struct Locked<'a, K, Q: ?Sized> {
    limiter: &'a Limiter<K>,
    table: MutexGuard<'a, LruCache<K, Duration>>,
    key: &'a Q,
    cost: u32,
    now: Duration,
}

impl<K, Q> Held for Locked<'_, K, Q>
where
    K: Hash + Eq + Borrow<Q>,
    Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
{
    fn wait(&mut self) -> Option<Duration> {
        self.limiter
            .wait(&mut self.table, self.key, self.now, self.cost)
    }

    fn spend(&mut self) {
        self.limiter
            .spend(&mut self.table, self.key, self.now, self.cost);
    }

    fn refused(&self) {
        self.limiter.refusals.refused();
    }
}

/// Counts one event in every limiter of `charges`, or in none: all are locked (in address
/// order: two calls never wait for each other in a circle), all are asked, and the event is
/// counted only when every one allows it. A refusal waits for the slowest limit. Each
/// limiter may appear once.
pub fn check_all(charges: &[&dyn Charge]) -> Result<(), ApiError> {
    let mut ordered: Vec<&dyn Charge> = charges.to_vec();
    ordered.sort_by_key(|c| c.limiter_id());
    if ordered
        .windows(2)
        .any(|w| w[0].limiter_id() == w[1].limiter_id())
    {
        // Locking one mutex twice would deadlock; a programming error, not a client's.
        return Err(ApiError::internal("check_all: a limiter appears twice"));
    }
    let mut held: Vec<Box<dyn Held + '_>> = ordered.iter().map(|c| c.lock()).collect();
    let mut slowest = None;
    for h in &mut held {
        if let Some(wait) = h.wait() {
            // Each limit that refuses counts the refusal: the metrics say which limits bite.
            h.refused();
            slowest = slowest.max(Some(wait));
        }
    }
    if let Some(wait) = slowest {
        return Err(limit_exceeded(wait));
    }
    for h in &mut held {
        h.spend();
    }
    Ok(())
}

/// A per-client limit: client addresses counted per [`ClientNet`] (IPv6 per prefix; an
/// unknown address — no peer — is one shared client).
#[derive(Debug)]
pub struct ClientLimiter {
    limiter: Limiter<Option<ClientNet>>,
    prefix: Ipv6Prefix,
}

impl ClientLimiter {
    pub fn new(burst: u32, period: Duration, clock: Arc<dyn Clock>, prefix: Ipv6Prefix) -> Self {
        Self {
            limiter: Limiter::new(burst, period, clock),
            prefix,
        }
    }

    /// Counts this limit's refusals in `refusals` (from `Metrics::rate_limit`).
    pub fn counting(self, refusals: RefusalCount) -> Self {
        Self {
            limiter: self.limiter.counting(refusals),
            ..self
        }
    }

    /// The key `client` is counted under.
    pub fn key(&self, client: Option<IpAddr>) -> Option<ClientNet> {
        client.map(|ip| ClientNet::of(ip, self.prefix))
    }

    /// Counts one event of `client`.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        self.limiter.check(&self.key(client))
    }

    /// `key`'s (from [`Self::key`]) event in a [`check_all`].
    pub fn charge<'a>(
        &'a self,
        key: &'a Option<ClientNet>,
    ) -> Keyed<'a, Option<ClientNet>, Option<ClientNet>> {
        self.limiter.charge(key)
    }
}

/// Each limit is a burst refilled evenly over its period; 0 switches that limit off.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Validation mails a client address may trigger per minute (burst = this number).
    pub request_token_per_ip_per_minute: u32,
    /// Validation mails one destination address may receive per hour.
    pub request_token_per_address_per_hour: u32,
    /// Invitation mails a client address may trigger per minute.
    pub invite_per_ip_per_minute: u32,
    /// Invitation mails one email address may receive per hour, whoever sends them (many
    /// senders or homeservers cannot flood one inbox).
    pub invite_per_address_per_hour: u32,
    /// Lookups (v1 and v2) a client address may make per second.
    pub lookup_per_ip_per_second: u32,
    /// Hashes one account may look up per hour in v2 lookups (each address of a request
    /// counts), against enumeration. 0: off (the default: v1 lookups need no account, so a
    /// budget only binds where the v1 API is switched off or its clients are few).
    pub lookup_hashes_per_account_per_hour: u32,
    /// The same per day (0: off).
    pub lookup_hashes_per_account_per_day: u32,
    /// Requests that make this server call a homeserver the request names — `register`
    /// (OpenID userinfo) and homeserver-signed `unbind` (its keys) — a client address may
    /// make per minute, both together.
    pub outbound_per_ip_per_minute: u32,
    /// How many leading bits of an IPv6 address are one client, for every per-address limit
    /// above and `server.max_connections_per_ip` (1–128). One IPv6 host usually holds a
    /// whole /64; an IPv4-mapped address (`::ffff:a.b.c.d`) counts as its IPv4 address.
    pub ipv6_prefix: crate::client_net::Ipv6Prefix,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            request_token_per_ip_per_minute: 10,
            request_token_per_address_per_hour: 5,
            invite_per_ip_per_minute: 10,
            invite_per_address_per_hour: 10,
            lookup_per_ip_per_second: 100,
            lookup_hashes_per_account_per_hour: 0,
            lookup_hashes_per_account_per_day: 0,
            outbound_per_ip_per_minute: 20,
            ipv6_prefix: crate::client_net::Ipv6Prefix::DEFAULT,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn limiter<K: Hash + Eq>(burst: u32, period: Duration) -> Limiter<K> {
        Limiter::new(burst, period, Arc::new(ManualClock::new(0)))
    }

    #[test]
    fn client_addresses_are_keys_and_unknown_ones_share_a_budget() {
        let l: Limiter<Option<IpAddr>> = limiter(1, Duration::from_secs(60));
        let t0 = Duration::from_secs(1000);
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!(l.check_at(&Some(a), t0).is_ok());
        assert!(l.check_at(&Some(a), t0).is_err());
        assert!(l.check_at(&Some(b), t0).is_ok());
        assert!(l.check_at(&None, t0).is_ok());
        assert!(l.check_at(&None, t0).is_err());
    }

    #[test]
    fn a_weighted_charge_fits_whole_or_not_at_all() {
        let clock = Arc::new(ManualClock::new(0));
        let l: Limiter = Limiter::new(10, Duration::from_secs(10), clock.clone());
        assert!(check_all(&[&l.charge_n("a", 6)]).is_ok());
        let err = check_all(&[&l.charge_n("a", 6)]).expect_err("12 > 10");
        // 2 of the 6 must refill first: 2 s.
        assert!(
            matches!(
                err,
                ApiError::LimitExceeded {
                    retry_after_ms: 2000
                }
            ),
            "{err:?}"
        );
        assert!(
            check_all(&[&l.charge_n("a", 4)]).is_ok(),
            "nothing was spent"
        );
        assert!(check_all(&[&l.charge_n("a", 1)]).is_err());
        assert!(
            check_all(&[&l.charge_n("a", 0)]).is_ok(),
            "an empty request costs nothing"
        );
        assert!(
            check_all(&[&l.charge_n("b", 11)]).is_err(),
            "over the burst: never"
        );
        assert!(check_all(&[&l.charge_n("b", 10)]).is_ok());
    }

    #[test]
    fn each_limit_that_refuses_counts_the_refusal() {
        let metrics = crate::ops::metrics::Metrics::new();
        let clock = Arc::new(ManualClock::new(0));
        let tight: Limiter = Limiter::new(1, Duration::from_secs(60), clock.clone())
            .counting(metrics.rate_limit("tight"));
        let loose: Limiter =
            Limiter::new(5, Duration::from_secs(60), clock).counting(metrics.rate_limit("loose"));
        assert!(check_all(&[&tight.charge("a"), &loose.charge("a")]).is_ok());
        assert!(check_all(&[&tight.charge("a"), &loose.charge("a")]).is_err());
        assert!(tight.check("a").is_err());
        let text = metrics.encode();
        assert!(
            text.contains("oxident_rate_limited_total{limit=\"tight\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("oxident_rate_limited_total{limit=\"loose\"} 0\n"),
            "{text}"
        );
    }

    #[test]
    fn burst_then_refill() {
        let l: Limiter = limiter(3, Duration::from_secs(3));
        let t0 = Duration::from_secs(1000);
        for _ in 0..3 {
            assert!(l.check_at("a", t0).is_ok());
        }
        let err = l.check_at("a", t0).expect_err("fourth is refused");
        assert!(matches!(err, ApiError::LimitExceeded { retry_after_ms } if retry_after_ms > 0));
        assert!(l.check_at("b", t0).is_ok(), "keys are independent");
        assert!(
            l.check_at("a", t0 + Duration::from_secs(1)).is_ok(),
            "one refilled"
        );
        assert!(l.check_at("a", t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn zero_switches_a_limit_off() {
        let l: Limiter = limiter(0, Duration::from_secs(60));
        let t0 = Duration::from_secs(1000);
        for _ in 0..1000 {
            assert!(l.check_at("a", t0).is_ok());
        }
        assert!(check_all(&[&l.charge("a")]).is_ok());
        assert_eq!(l.remembered(), 0, "nothing is tracked");
    }

    /// The msisdn requestToken case: a client over its own limit keeps asking for one number;
    /// the number's budget is untouched, so another client still gets its text.
    #[test]
    fn a_request_one_limit_refuses_spends_no_other_budget() {
        let clock = Arc::new(ManualClock::new(0));
        let per_client: Limiter<Option<IpAddr>> =
            Limiter::new(2, Duration::from_secs(60), clock.clone());
        let per_number: Limiter = Limiter::new(3, Duration::from_secs(3600), clock.clone());
        let attacker = Some(IpAddr::from([192, 0, 2, 1]));
        let other = Some(IpAddr::from([192, 0, 2, 2]));
        let both = |client: &Option<IpAddr>| {
            check_all(&[&per_number.charge("+15550001"), &per_client.charge(client)])
        };
        assert!(both(&attacker).is_ok());
        assert!(both(&attacker).is_ok());
        for _ in 0..20 {
            let err = both(&attacker).expect_err("the client is over its limit");
            // The wait is the client limit's (30 s), not the number's.
            assert!(
                matches!(err, ApiError::LimitExceeded { retry_after_ms } if retry_after_ms == 30_000)
            );
        }
        assert!(both(&other).is_ok(), "the number's third event is left");
        // Now the number is out; a refusal there costs the client nothing either.
        assert!(both(&other).is_err());
        assert!(
            per_client.check(&other).is_ok(),
            "the refused request did not count for the client"
        );
    }

    #[test]
    fn a_limiter_named_twice_is_an_error_not_a_deadlock() {
        let l: Limiter = limiter(5, Duration::from_secs(60));
        assert!(matches!(
            check_all(&[&l.charge("a"), &l.charge("b")]),
            Err(ApiError::Internal(_))
        ));
    }

    #[test]
    fn concurrent_checks_in_opposite_orders_finish_and_count_exactly() {
        let clock = Arc::new(ManualClock::new(0));
        let a: Arc<Limiter> =
            Arc::new(Limiter::new(1000, Duration::from_secs(3600), clock.clone()));
        let b: Arc<Limiter> = Arc::new(Limiter::new(500, Duration::from_secs(3600), clock));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                let (a, b) = (a.clone(), b.clone());
                std::thread::spawn(move || {
                    (0..400)
                        .filter(|_| {
                            let (x, y) = (a.charge("k"), b.charge("k"));
                            let charges: [&dyn Charge; 2] =
                                if i % 2 == 0 { [&x, &y] } else { [&y, &x] };
                            check_all(&charges).is_ok()
                        })
                        .count()
                })
            })
            .collect();
        let allowed: usize = threads.into_iter().map(|t| t.join().expect("thread")).sum();
        assert_eq!(allowed, 500, "b's burst, spent exactly");
        // a counted exactly those 500: 500 more fit, the next does not.
        for _ in 0..500 {
            assert!(a.check("k").is_ok());
        }
        assert!(a.check("k").is_err());
    }

    #[test]
    fn memory_is_bounded_and_refilled_keys_go_first() {
        let clock = Arc::new(ManualClock::new(0));
        let l: Limiter = Limiter::with_capacity(1, Duration::from_secs(60), clock.clone(), 3);
        for key in ["a", "b", "c", "d"] {
            assert!(l.check(key).is_ok());
        }
        assert_eq!(
            l.remembered(),
            3,
            "at capacity the least recently used is forgotten"
        );
        assert!(l.check("a").is_ok(), "a was forgotten: a full burst again");
        assert!(l.check("d").is_err(), "d is remembered and in debt");
        // Once their buckets are full again, new keys push the old ones out.
        clock.advance_ms(61_000);
        assert!(l.check("e").is_ok());
        assert_eq!(
            l.remembered(),
            2,
            "the two coldest refilled keys were trimmed"
        );
    }

    #[test]
    fn client_limits_count_ipv6_networks() {
        let l = ClientLimiter::new(
            2,
            Duration::from_secs(60),
            Arc::new(ManualClock::new(0)),
            Ipv6Prefix::DEFAULT,
        );
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("address"));
        assert!(l.check(ip("2001:db8:0:1::1")).is_ok());
        assert!(l.check(ip("2001:db8:0:1::2")).is_ok());
        assert!(
            l.check(ip("2001:db8:0:1:ffff::3")).is_err(),
            "one /64, one budget"
        );
        assert!(l.check(ip("2001:db8:0:2::1")).is_ok(), "another /64");
        assert!(l.check(ip("::ffff:192.0.2.1")).is_ok());
        assert!(l.check(ip("192.0.2.1")).is_ok());
        assert!(
            l.check(ip("192.0.2.1")).is_err(),
            "mapped IPv4 is its IPv4 address"
        );
    }
}
