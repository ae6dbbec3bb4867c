//! Destinations whose last outbound call failed, remembered briefly (issue 21): `register`
//! (OpenID userinfo) and signed `unbind` (the homeserver's keys) are unauthenticated and make
//! this server call the name a request gives; without a memory of failures, every request
//! naming a dead or refused server cost a connection attempt (up to the outbound timeout).
//! A failure is kept [`FAILURE_TTL_MS`]; the cache holds at most [`MAX_FAILED`] names, the
//! least recently used forgotten first (`hashlink::LruCache`, O(1)).
//!
//! Both share one per-client budget (`[ratelimit] outbound_per_ip_per_minute`, 20), charged before
//! the outbound call; a client's bad OpenID token is not a destination failure. Every outbound
//! failure gets one answer (register: 502 `M_UNKNOWN` "Could not verify with the homeserver";
//! unbind: 403 "could not fetch the homeserver's signing keys"), so neither tells a caller whether
//! a name resolves to a denied address (register used to answer those 403). The WARN lines such
//! requests cause go through `log_throttle`.

use std::sync::{Mutex, MutexGuard};

use hashlink::LruCache;

/// How long a failed destination is not asked again.
pub const FAILURE_TTL_MS: i64 = 30_000;
/// Names remembered at most.
const MAX_FAILED: usize = 4096;

/// Failed names → when they may be asked again. One per kind of call.
#[derive(Debug)]
pub(crate) struct RecentFailures {
    entries: Mutex<LruCache<String, i64>>,
}

impl Default for RecentFailures {
    fn default() -> Self {
        Self {
            entries: Mutex::new(LruCache::new(MAX_FAILED)),
        }
    }
}

impl RecentFailures {
    fn lock(&self) -> MutexGuard<'_, LruCache<String, i64>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether a call to `name` failed less than [`FAILURE_TTL_MS`] before `now_ms`.
    pub(crate) fn failed_recently(&self, name: &str, now_ms: i64) -> bool {
        let mut entries = self.lock();
        match entries.get(name) {
            Some(&until) if until > now_ms => true,
            Some(_) => {
                entries.remove(name);
                false
            }
            None => false,
        }
    }

    /// Records a failed call to `name` at `now_ms`.
    pub(crate) fn record(&self, name: &str, now_ms: i64) {
        self.lock()
            .insert(name.to_owned(), now_ms.saturating_add(FAILURE_TTL_MS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_remembered_for_its_time_only() {
        let f = RecentFailures::default();
        assert!(!f.failed_recently("hs.example", 0));
        f.record("hs.example", 1_000);
        assert!(f.failed_recently("hs.example", 1_000 + FAILURE_TTL_MS - 1));
        assert!(!f.failed_recently("other.example", 1_000));
        assert!(!f.failed_recently("hs.example", 1_000 + FAILURE_TTL_MS));
        assert!(
            !f.failed_recently("hs.example", 1_000),
            "forgotten once expired"
        );
        for i in 0..MAX_FAILED + 5 {
            f.record(&format!("h{i}"), 0);
        }
        assert_eq!(f.lock().len(), MAX_FAILED);
    }
}
