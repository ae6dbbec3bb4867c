//! `GET https://<hostname>/.well-known/matrix/server` and its cache, with the spec's rules:
//! answers are kept as long as their `Cache-Control: max-age` (or `Expires`) says, 24 h
//! when they say nothing, never more than 48 h, and not at all with `no-store`/`no-cache`;
//! failures (non-200, not JSON, no valid `m.server`, unreachable) are kept 1 h, so a server
//! without delegation is not asked again for every request. Time is the state's `Clock`.
//!
//! Redirects are followed here, not by the client (which follows none for any request):
//! at most [`MAX_REDIRECTS`], HTTPS only, no loops, each hop through the same guard (IP
//! literals checked before the request, names by the filtering resolver). A name whose
//! well-known (or a hop of its redirects) is a denied address is refused outright and not
//! cached. Not done: the exponential back-off on repeated failures the spec encourages (a
//! failure costs one request an hour).

use std::sync::{Mutex, MutexGuard};

use hashlink::LruCache;

use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, EXPIRES, HeaderMap};

use super::discovery::base_url;
use super::{FederationClient, FederationError, ServerName, read_json};

const HOUR_MS: i64 = 3_600_000;
/// Lifetime of an answer without cache headers.
pub(crate) const DEFAULT_TTL_MS: i64 = 24 * HOUR_MS;
/// Longest lifetime of any answer.
pub(crate) const MAX_TTL_MS: i64 = 48 * HOUR_MS;
/// Lifetime of a failure.
pub(crate) const ERROR_TTL_MS: i64 = HOUR_MS;
/// Redirects followed for one well-known.
pub(crate) const MAX_REDIRECTS: usize = 5;
/// Cached names at most; past it the least recently used name is forgotten.
const MAX_ENTRIES: usize = 10_000;

/// Well-known answers by host name: the delegated name, or `None` for a failure, and when
/// the answer expires. A `hashlink::LruCache`: O(1) per use and per eviction, where the old
/// `HashMap` scanned all 10 000 entries under its mutex (and then dropped an arbitrary live
/// one) whenever a new name came in at capacity (issue 21).
#[derive(Debug)]
pub(crate) struct WellKnownCache {
    entries: Mutex<LruCache<String, (Option<ServerName>, i64)>>,
}

impl Default for WellKnownCache {
    fn default() -> Self {
        Self::with_capacity(MAX_ENTRIES)
    }
}

impl WellKnownCache {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity.max(1))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<String, (Option<ServerName>, i64)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, host: &str, now_ms: i64) -> Option<Option<ServerName>> {
        let mut entries = self.lock();
        let (delegated, expires) = entries.get(host)?;
        if *expires > now_ms {
            return Some(delegated.clone());
        }
        entries.remove(host);
        None
    }

    fn put(&self, host: &str, delegated: Option<ServerName>, ttl_ms: i64, now_ms: i64) {
        let mut entries = self.lock();
        if ttl_ms <= 0 {
            entries.remove(host);
            return;
        }
        // At capacity the insert forgets the least recently used name.
        entries.insert(host.to_owned(), (delegated, now_ms.saturating_add(ttl_ms)));
    }
}

/// How long a successful answer may be kept, from its headers: `Cache-Control` wins over
/// `Expires`; 0 means "do not keep".
pub(crate) fn cache_lifetime_ms(headers: &HeaderMap, now_ms: i64) -> i64 {
    let directives: Vec<String> = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|d| d.trim().to_ascii_lowercase())
        .collect();
    if directives
        .iter()
        .any(|d| d == "no-store" || d == "no-cache")
    {
        return 0;
    }
    let max_age = directives.iter().find_map(|d| {
        let v = d.strip_prefix("max-age")?.trim_start().strip_prefix('=')?;
        Some(v.trim().trim_matches('"').parse::<u64>().unwrap_or(0))
    });
    let ttl = match max_age {
        Some(secs) => i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX),
        None => match headers.get(EXPIRES) {
            // An unreadable date means "already expired" (RFC 9111 §5.3).
            Some(v) => v
                .to_str()
                .ok()
                .and_then(|s| httpdate::parse_http_date(s).ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_millis()).ok())
                .map_or(0, |expires_ms| expires_ms.saturating_sub(now_ms)),
            None => DEFAULT_TTL_MS,
        },
    };
    ttl.clamp(0, MAX_TTL_MS)
}

impl FederationClient {
    /// The server `hostname` delegates to, `None` when its well-known gives none.
    pub(super) async fn well_known(
        &self,
        hostname: &str,
    ) -> Result<Option<ServerName>, FederationError> {
        let now_ms = self.clock.now_ms();
        if let Some(hit) = self.well_known.get(hostname, now_ms) {
            return Ok(hit);
        }
        let (delegated, ttl_ms) = match self.fetch_well_known(hostname, now_ms).await {
            Ok(answer) => answer,
            Err(e @ FederationError::Denied(_)) => return Err(e),
            Err(e) => {
                tracing::debug!(%hostname, error = %e, "no usable well-known");
                (None, ERROR_TTL_MS)
            }
        };
        self.well_known
            .put(hostname, delegated.clone(), ttl_ms, now_ms);
        Ok(delegated)
    }

    async fn fetch_well_known(
        &self,
        hostname: &str,
        now_ms: i64,
    ) -> Result<(Option<ServerName>, i64), FederationError> {
        let mut url = base_url(hostname, self.well_known_port)?;
        url.set_path("/.well-known/matrix/server");
        let mut visited = vec![url.clone()];
        let resp = loop {
            self.check_literal_host(&url)?;
            let resp = self
                .http()?
                .get(url.clone())
                .send()
                .await
                .map_err(super::classify)?;
            if !resp.status().is_redirection() {
                break resp;
            }
            let next = resp
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| FederationError::BadResponse("redirect without Location".into()))?;
            if next.scheme() != "https" {
                return Err(FederationError::BadResponse(
                    "redirect to plain HTTP".into(),
                ));
            }
            if visited.contains(&next) || visited.len() > MAX_REDIRECTS {
                return Err(FederationError::BadResponse("too many redirects".into()));
            }
            visited.push(next.clone());
            url = next;
        };
        let ttl_ms = cache_lifetime_ms(resp.headers(), now_ms);
        let (status, body) = read_json(resp).await?;
        if status != StatusCode::OK {
            return Err(FederationError::BadResponse(format!(
                "well-known answered HTTP {}",
                status.as_u16()
            )));
        }
        let delegated = body
            .as_ref()
            .and_then(|v| v.get("m.server"))
            .and_then(|v| v.as_str())
            .ok_or_else(|| FederationError::BadResponse("no string `m.server`".into()))?;
        let delegated = ServerName::parse(delegated)?;
        Ok((Some(delegated), ttl_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    }

    #[test]
    fn lifetimes_follow_the_headers_within_bounds() {
        // 2026-01-01T00:00:00Z
        let now = 1_767_225_600_000;
        for (pairs, want) in [
            (vec![], DEFAULT_TTL_MS),
            (vec![("cache-control", "max-age=600")], 600_000),
            (vec![("cache-control", "public, Max-Age=\"60\"")], 60_000),
            (vec![("cache-control", "max-age=999999999")], MAX_TTL_MS),
            (vec![("cache-control", "max-age=0")], 0),
            (vec![("cache-control", "no-store")], 0),
            (
                vec![
                    ("cache-control", "max-age=600"),
                    ("cache-control", "no-cache"),
                ],
                0,
            ),
            (vec![("cache-control", "max-age=bogus")], 0),
            (
                vec![("expires", "Thu, 01 Jan 2026 02:00:00 GMT")],
                2 * HOUR_MS,
            ),
            (vec![("expires", "Thu, 01 Jan 2026 00:00:00 GMT")], 0),
            (
                vec![("expires", "Sat, 10 Jan 2026 00:00:00 GMT")],
                MAX_TTL_MS,
            ),
            (vec![("expires", "0")], 0),
            (
                vec![
                    ("cache-control", "max-age=60"),
                    ("expires", "Thu, 01 Jan 2026 02:00:00 GMT"),
                ],
                60_000,
            ),
        ] {
            assert_eq!(cache_lifetime_ms(&headers(&pairs), now), want, "{pairs:?}");
        }
    }

    #[test]
    fn cache_keeps_until_expiry_and_stays_bounded() {
        let c = WellKnownCache::default();
        let name = ServerName::parse("hs.example:443").expect("name");
        c.put("a.example", Some(name.clone()), 1000, 0);
        assert_eq!(c.get("a.example", 999), Some(Some(name)));
        assert_eq!(c.get("a.example", 1000), None);
        c.put("b.example", None, 0, 0);
        assert_eq!(c.get("b.example", 0), None);
        for i in 0..MAX_ENTRIES + 10 {
            c.put(&format!("h{i}.example"), None, 1000, 0);
        }
        assert_eq!(c.lock().len(), MAX_ENTRIES);
    }

    #[test]
    fn past_its_bound_the_cache_forgets_the_least_recently_used_name() {
        let c = WellKnownCache::default();
        for i in 0..MAX_ENTRIES {
            c.put(&format!("h{i}.example"), None, 1000, 0);
        }
        // h0 is the oldest entry but was just used; h1 is now the least recently used.
        assert_eq!(c.get("h0.example", 1), Some(None));
        c.put("new.example", None, 1000, 1);
        assert_eq!(c.lock().len(), MAX_ENTRIES);
        assert_eq!(c.get("h0.example", 2), Some(None), "used recently: kept");
        assert_eq!(
            c.get("h1.example", 2),
            None,
            "least recently used: forgotten"
        );
        assert_eq!(c.get("new.example", 2), Some(None));
        assert_eq!(
            c.get("h2.example", 2),
            Some(None),
            "live entries are not dropped"
        );
    }
}
