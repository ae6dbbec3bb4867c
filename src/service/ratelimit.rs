//! Per-key rate limits (client address, destination address): a GCRA-style leaky bucket per
//! key, in memory. Limits protect mail and lookup endpoints from abuse; losing them on a
//! restart is harmless, so they are not stored.

use crate::config::RateLimitConfig;
use crate::error::ApiError;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `burst` events, refilled evenly over `period`.
#[derive(Debug)]
pub struct Limiter {
    interval: Duration,
    burst: u32,
    /// key → theoretical arrival time of the next event.
    tat: Mutex<HashMap<String, Instant>>,
}

impl Limiter {
    pub fn new(burst: u32, period: Duration) -> Self {
        let burst = burst.max(1);
        Self {
            interval: period / burst,
            burst,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one event for `key`; `Err` carries how long to wait.
    pub fn check(&self, key: &str) -> Result<(), ApiError> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), ApiError> {
        let mut map = self.tat.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, tat| *tat > now);
        }
        let tolerance = self.interval * (self.burst - 1);
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        let allow_at = tat.checked_sub(tolerance).unwrap_or(now);
        if allow_at > now {
            let wait = allow_at - now;
            return Err(ApiError::LimitExceeded {
                retry_after_ms: u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
            });
        }
        // The key is copied only the first time it is seen.
        match map.get_mut(key) {
            Some(slot) => *slot = tat + self.interval,
            None => {
                map.insert(key.to_string(), tat + self.interval);
            }
        }
        Ok(())
    }
}

/// The limits the server applies.
#[derive(Debug)]
pub struct RateLimits {
    pub request_token_per_ip: Limiter,
    pub request_token_per_address: Limiter,
    pub invite_per_ip: Limiter,
    pub lookup_per_ip: Limiter,
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
            lookup_per_ip: Limiter::new(c.lookup_per_ip_per_second, Duration::from_secs(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let l = Limiter::new(3, Duration::from_secs(3));
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
}
