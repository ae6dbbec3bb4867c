//! Time as a dependency: services ask the state's clock, so tests can move time exactly
//! (session expiry, signature validity windows, rate limits, mail dates) instead of sleeping.
//!
//! Architecture Invariant: this is the only file that reads the system's clocks
//! (`SystemTime::now`, `Instant::now`); clippy's `disallowed-methods` (clippy.toml) refuses
//! them everywhere else.

use crate::domain::Timestamp;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

pub trait Clock: Send + Sync {
    /// The wall-clock time.
    fn now(&self) -> Timestamp;

    /// [`Clock::now`] as plain milliseconds, for what speaks them: the federation client's
    /// caches and key validity, mail dates and Message-IDs, outbox file names. Stores and
    /// services take [`Timestamp`]s.
    fn now_ms(&self) -> i64 {
        self.now().as_millis()
    }

    /// Time on a scale that never goes backwards (from an arbitrary start): for intervals
    /// such as rate-limit budgets, which a wall-clock step must not reset or stretch.
    fn monotonic(&self) -> Duration;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    fn monotonic(&self) -> Duration {
        monotonic_now()
    }
}

/// The process's monotonic time since its first reading.
#[allow(clippy::disallowed_methods)]
pub fn monotonic_now() -> Duration {
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed()
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        Self(AtomicI64::new(start_ms))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }

    /// The manual time itself (it only moves forward unless a test moves it back).
    fn monotonic(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.now_ms()).unwrap_or(0))
    }
}
