//! Per-key rate limits (client address, destination address): a GCRA-style leaky bucket per
//! key, in memory. Limits protect mail and lookup endpoints from abuse; losing them on a
//! restart is harmless, so they are not stored.

use crate::clock::Clock;
use crate::error::ApiError;
use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// `burst` events per key `K`, refilled evenly over `period`. Keys are client addresses
/// (`Option<IpAddr>`: `None` when unknown, which then share one budget — no allocation or
/// formatting per request) or destination addresses (`String`).
pub struct Limiter<K = String> {
    interval: Duration,
    burst: u32,
    /// key → theoretical arrival time of the next event, on the clock's monotonic scale.
    tat: Mutex<HashMap<K, Duration>>,
    clock: Arc<dyn Clock>,
}

impl<K> std::fmt::Debug for Limiter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("interval", &self.interval)
            .field("burst", &self.burst)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq> Limiter<K> {
    /// `burst` 0 switches the limit off: every event is allowed (an explicit "off" for
    /// operators behind their own limiter, as sydent allows).
    pub fn new(burst: u32, period: Duration, clock: Arc<dyn Clock>) -> Self {
        Self {
            interval: period / burst.max(1),
            burst,
            tat: Mutex::new(HashMap::new()),
            clock,
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::net::IpAddr;

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
        assert!(l.tat.lock().expect("lock").is_empty(), "nothing is tracked");
    }
}
