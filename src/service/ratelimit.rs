//! Per-key rate limits (client address, destination address): a GCRA-style leaky bucket per
//! key, in memory. Limits protect mail and lookup endpoints from abuse; losing them on a
//! restart is harmless, so they are not stored.

use crate::config::RateLimitConfig;
use crate::error::ApiError;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `burst` events per key `K`, refilled evenly over `period`. Keys are client addresses
/// (`Option<IpAddr>`: `None` when unknown, which then share one budget — no allocation or
/// formatting per request) or destination addresses (`String`).
#[derive(Debug)]
pub struct Limiter<K = String> {
    interval: Duration,
    burst: u32,
    /// key → theoretical arrival time of the next event.
    tat: Mutex<HashMap<K, Instant>>,
}

impl<K: Hash + Eq> Limiter<K> {
    /// `burst` 0 switches the limit off: every event is allowed (an explicit "off" for
    /// operators behind their own limiter, as sydent allows).
    pub fn new(burst: u32, period: Duration) -> Self {
        Self {
            interval: period / burst.max(1),
            burst,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key`; `Err` carries how long to wait.
    pub fn check<Q>(&self, key: &Q) -> Result<(), ApiError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        self.check_at(key, Instant::now())
    }

    fn check_at<Q>(&self, key: &Q, now: Instant) -> Result<(), ApiError>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if self.burst == 0 {
            return Ok(());
        }
        let mut map = self.tat.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, tat| *tat > now);
        }
        // One hash of the key for a known key (the steady state), two only on first sight.
        let Some(slot) = map.get_mut(key) else {
            // A fresh key starts with a full burst: this request is allowed.
            map.insert(key.to_owned(), now + self.interval);
            return Ok(());
        };
        let tolerance = self.interval * (self.burst - 1);
        let tat = (*slot).max(now);
        let allow_at = tat.checked_sub(tolerance).unwrap_or(now);
        if allow_at > now {
            let wait = allow_at - now;
            return Err(ApiError::LimitExceeded {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            });
        }
        *slot = tat + self.interval;
        Ok(())
    }
}

/// The limits the server applies.
#[derive(Debug)]
pub struct RateLimits {
    pub request_token_per_ip: Limiter<Option<IpAddr>>,
    pub request_token_per_address: Limiter,
    pub invite_per_ip: Limiter<Option<IpAddr>>,
    pub invite_per_address: Limiter,
    pub lookup_per_ip: Limiter<Option<IpAddr>>,
}

impl RateLimits {
    pub fn new(c: &RateLimitConfig) -> Self {
        Self {
            request_token_per_ip: Limiter::new(
                c.request_token_per_ip_per_minute,
                Duration::from_secs(60),
            ),
            request_token_per_address: Limiter::new(
                c.request_token_per_address_per_hour,
                Duration::from_secs(3600),
            ),
            invite_per_ip: Limiter::new(c.invite_per_ip_per_minute, Duration::from_secs(60)),
            invite_per_address: Limiter::new(
                c.invite_per_address_per_hour,
                Duration::from_secs(3600),
            ),
            lookup_per_ip: Limiter::new(c.lookup_per_ip_per_second, Duration::from_secs(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_addresses_are_keys_and_unknown_ones_share_a_budget() {
        let l: Limiter<Option<IpAddr>> = Limiter::new(1, Duration::from_secs(60));
        let t0 = Instant::now();
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = [192, 0, 2, 2].into();
        assert!(l.check_at(&Some(a), t0).is_ok());
        assert!(l.check_at(&Some(a), t0).is_err());
        assert!(l.check_at(&Some(b), t0).is_ok());
        assert!(l.check_at(&None, t0).is_ok());
        assert!(l.check_at(&None, t0).is_err());
    }

    #[test]
    fn burst_then_refill() {
        let l: Limiter = Limiter::new(3, Duration::from_secs(3));
        let t0 = Instant::now();
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
        let l: Limiter = Limiter::new(0, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(l.check_at("a", t0).is_ok());
        }
        assert!(l.tat.lock().expect("lock").is_empty(), "nothing is tracked");
    }
}
