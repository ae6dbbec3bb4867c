//! At most one log line per period for a warning that unauthenticated clients can trigger at
//! will (a homeserver name resolving to a denied address, keys that cannot be fetched): each
//! request used to write a WARN, so a client could flood the log. The first occurrence is
//! written at once; the others within the period are counted, and the next line written
//! says how many were left out (`suppressed = n`).
//!
//! Time is `clock::monotonic_now` (log bookkeeping, like durations in logs), not the
//! injected `Clock`: a test's frozen clock must not silence the log.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One throttled warning (a `static` beside the line it guards).
#[derive(Debug)]
pub struct Throttle {
    every_ms: u64,
    /// Milliseconds (monotonic) before which lines are counted, not written.
    quiet_until_ms: AtomicU64,
    suppressed: AtomicU64,
}

impl Throttle {
    /// At most one line per `every`.
    pub const fn new(every: Duration) -> Self {
        Self {
            every_ms: every.as_millis() as u64,
            quiet_until_ms: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)`: write the line now, `n` were left out since the last one; `None`: leave
    /// it out (it is counted).
    pub fn admit(&self) -> Option<u64> {
        let now = u64::try_from(crate::clock::monotonic_now().as_millis()).unwrap_or(u64::MAX);
        self.admit_at(now)
    }

    fn admit_at(&self, now_ms: u64) -> Option<u64> {
        let quiet_until = self.quiet_until_ms.load(Ordering::Acquire);
        if now_ms >= quiet_until
            && self
                .quiet_until_ms
                .compare_exchange(
                    quiet_until,
                    now_ms.saturating_add(self.every_ms),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                )
                .is_ok()
        {
            return Some(self.suppressed.swap(0, Ordering::AcqRel));
        }
        self.suppressed.fetch_add(1, Ordering::AcqRel);
        None
    }
}

/// `tracing::warn!` through a [`Throttle`]: `warn_throttled!(THROTTLE, field = …, "text")`
/// writes the line with a `suppressed` count, or counts it.
#[macro_export]
macro_rules! warn_throttled {
    ($throttle:expr, $($rest:tt)+) => {
        if let Some(suppressed) = $throttle.admit() {
            tracing::warn!(suppressed, $($rest)+);
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_period_with_the_count_of_those_left_out() {
        let t = Throttle::new(Duration::from_secs(60));
        assert_eq!(t.admit_at(1_000), Some(0), "the first is written");
        for ms in [1_001, 30_000, 60_999] {
            assert_eq!(t.admit_at(ms), None);
        }
        assert_eq!(
            t.admit_at(61_000),
            Some(3),
            "then one a period, saying how many"
        );
        assert_eq!(t.admit_at(61_001), None);
        assert_eq!(t.admit_at(200_000), Some(1));
    }
}
