//! Homeservers' federation signing keys (`GET /_matrix/key/v2/server`), fetched directly
//! from the homeserver (no notary) and cached until the answer's `valid_until_ts`.
//!
//! An answer is used only if it names the server that was asked and each key we keep has
//! signed the answer itself, so a delegated or intercepted response cannot slip in a key of
//! another server. A key id the cache does not know triggers at most one fetch per origin
//! per [`REFETCH_AFTER_MS`]: a stream of requests with made-up key ids cannot make this
//! server hammer a homeserver.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use hashlink::LruCache;

use serde_json::Value;

use super::{FederationClient, FederationError};
use crate::crypto::{PublicKey, verify_json};

/// Longest time an answer is trusted, whatever its `valid_until_ts` says.
const MAX_CACHE_MS: i64 = 7 * 24 * 3600 * 1000;
/// A key id missing from a cached answer is looked for again no sooner than this.
pub const REFETCH_AFTER_MS: i64 = 30 * 1000;
/// Homeservers kept in the cache; the least recently used is dropped past this.
const MAX_ORIGINS: usize = 4096;

#[derive(Debug, Clone)]
struct Entry {
    keys: HashMap<String, PublicKey>,
    fetched_ms: i64,
    expires_ms: i64,
}

/// The cache; one per [`FederationClient`]. A `hashlink::LruCache`: O(1) per use and per
/// eviction (the old `HashMap` searched all 4096 entries for the oldest under its mutex).
#[derive(Debug)]
pub struct KeyCache {
    entries: Mutex<LruCache<String, Entry>>,
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::with_capacity(MAX_ORIGINS)
    }
}

impl KeyCache {
    fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(LruCache::new(capacity.max(1))),
        }
    }

    fn lock(&self) -> MutexGuard<'_, LruCache<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, origin: &str, now_ms: i64) -> Option<Entry> {
        let mut entries = self.lock();
        let entry = entries.get(origin)?;
        if entry.expires_ms > now_ms {
            return Some(entry.clone());
        }
        entries.remove(origin);
        None
    }

    fn put(&self, origin: &str, entry: Entry) {
        // At capacity the insert forgets the least recently used origin.
        self.lock().insert(origin.to_owned(), entry);
    }
}

impl FederationClient {
    /// The current key `key_id` of homeserver `origin`, from the cache or the homeserver.
    /// `Ok(None)`: the homeserver answered, but has no such key.
    pub async fn server_key(
        &self,
        origin: &str,
        key_id: &str,
        now_ms: i64,
    ) -> Result<Option<PublicKey>, FederationError> {
        if let Some(entry) = self.keys.get(origin, now_ms) {
            if let Some(key) = entry.keys.get(key_id) {
                return Ok(Some(*key));
            }
            if now_ms - entry.fetched_ms < REFETCH_AFTER_MS {
                return Ok(None);
            }
        }
        let name = origin.to_ascii_lowercase();
        if self.key_failures.failed_recently(&name, now_ms) {
            return Err(FederationError::Unreachable(
                "failed moments ago; not asked again yet".into(),
            ));
        }
        let entry = match self.fetch_keys(origin, now_ms).await {
            Ok(entry) => entry,
            Err(e) => {
                self.key_failures.record(&name, now_ms);
                return Err(e);
            }
        };
        let key = entry.keys.get(key_id).copied();
        self.keys.put(origin, entry);
        Ok(key)
    }

    async fn fetch_keys(&self, origin: &str, now_ms: i64) -> Result<Entry, FederationError> {
        let name = super::ServerName::parse(origin)?;
        let dest = self.resolve(&name).await?;
        let url = dest.url_for("/_matrix/key/v2/server");
        let (status, body) = self.get_json(&dest, url).await?;
        if !status.is_success() {
            return Err(FederationError::BadResponse(format!(
                "key request answered HTTP {}",
                status.as_u16()
            )));
        }
        let body = body.ok_or_else(|| FederationError::BadResponse("keys are not JSON".into()))?;
        entry_from_answer(&body, origin, now_ms)
    }
}

/// A key answer as a cache entry: its self-signed keys, kept until its `valid_until_ts`
/// (at most [`MAX_CACHE_MS`]). An answer whose validity has passed is refused: a key is
/// only good for requests signed while it is valid, and these requests are signed now.
fn entry_from_answer(body: &Value, origin: &str, now_ms: i64) -> Result<Entry, FederationError> {
    let keys = self_signed_keys(body, origin)?;
    let valid_until = body
        .get("valid_until_ts")
        .and_then(Value::as_i64)
        .ok_or_else(|| FederationError::BadResponse("no valid_until_ts".into()))?;
    if valid_until <= now_ms {
        return Err(FederationError::BadResponse(
            "the homeserver's keys have expired".into(),
        ));
    }
    Ok(Entry {
        keys,
        fetched_ms: now_ms,
        expires_ms: valid_until.min(now_ms.saturating_add(MAX_CACHE_MS)),
    })
}

/// The `verify_keys` of a key answer from `origin` that signed the answer themselves.
fn self_signed_keys(
    body: &Value,
    origin: &str,
) -> Result<HashMap<String, PublicKey>, FederationError> {
    if body.get("server_name").and_then(Value::as_str) != Some(origin) {
        return Err(FederationError::BadResponse(
            "key answer names another server".into(),
        ));
    }
    let verify_keys = body
        .get("verify_keys")
        .and_then(Value::as_object)
        .ok_or_else(|| FederationError::BadResponse("no verify_keys".into()))?;
    let mut keys = HashMap::new();
    for (key_id, entry) in verify_keys {
        if !key_id.starts_with("ed25519:") {
            continue;
        }
        let Some(key) = entry
            .get("key")
            .and_then(Value::as_str)
            .and_then(|k| PublicKey::from_base64(k).ok())
        else {
            continue;
        };
        if verify_json(body, origin, key_id, &key).is_ok() {
            keys.insert(key_id.clone(), key);
        }
    }
    if keys.is_empty() {
        return Err(FederationError::BadResponse(
            "no self-signed ed25519 key in the key answer".into(),
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{SigningKey, sign_json};
    use serde_json::json;

    fn answer(origin: &str, key: &SigningKey, signer: &SigningKey) -> Value {
        let mut body = json!({
            "server_name": origin,
            "valid_until_ts": 1_000_000,
            "verify_keys": {key.key_id(): {"key": key.public_key().to_base64()}},
            "old_verify_keys": {},
        });
        sign_json(&mut body, origin, signer).expect("sign");
        body
    }

    #[test]
    fn keeps_only_self_signed_keys_of_the_server_asked() {
        let key = SigningKey::from_seed("a", &[1u8; 32]).expect("key");
        let keys = self_signed_keys(&answer("hs.example", &key, &key), "hs.example").expect("ok");
        assert_eq!(keys.get("ed25519:a"), Some(&key.public_key()));
        // Another server's name, or signed by some other key: refused.
        assert!(self_signed_keys(&answer("hs.example", &key, &key), "evil.example").is_err());
        let other = SigningKey::from_seed("a", &[2u8; 32]).expect("key");
        assert!(self_signed_keys(&answer("hs.example", &key, &other), "hs.example").is_err());
    }

    #[test]
    fn expired_answers_are_refused_and_entries_end_with_their_validity() {
        let key = SigningKey::from_seed("a", &[1u8; 32]).expect("key");
        let body = answer("hs.example", &key, &key); // valid_until_ts 1_000_000
        let entry = entry_from_answer(&body, "hs.example", 10).expect("valid");
        assert_eq!(entry.expires_ms, 1_000_000);
        assert!(entry_from_answer(&body, "hs.example", 1_000_000).is_err());
        assert!(entry_from_answer(&body, "hs.example", 2_000_000).is_err());
        let far = entry_from_answer(&body, "hs.example", -MAX_CACHE_MS).expect("valid");
        assert_eq!(far.expires_ms, 0, "capped at seven days");
        let mut unsigned_validity = body.clone();
        unsigned_validity
            .as_object_mut()
            .expect("object")
            .remove("valid_until_ts");
        assert!(entry_from_answer(&unsigned_validity, "hs.example", 10).is_err());
    }

    #[test]
    fn cache_expiry_and_eviction() {
        let cache = KeyCache::default();
        let entry = Entry {
            keys: HashMap::new(),
            fetched_ms: 0,
            expires_ms: 100,
        };
        cache.put("a", entry.clone());
        assert!(cache.get("a", 99).is_some());
        assert!(cache.get("a", 100).is_none());
        for i in 0..MAX_ORIGINS + 10 {
            let mut e = entry.clone();
            e.fetched_ms = i64::try_from(i).expect("small") + 1;
            cache.put(&format!("o{i}"), e);
        }
        assert_eq!(cache.lock().len(), MAX_ORIGINS);
        assert!(cache.get("a", 0).is_none(), "the oldest fetch went first");
        // Least recently *used* goes next: o10 was fetched before o11 but is used now.
        assert!(cache.get("o10", 0).is_some());
        cache.put("late", entry.clone());
        assert_eq!(cache.lock().len(), MAX_ORIGINS);
        assert!(cache.get("o10", 0).is_some());
        assert!(cache.get("o11", 0).is_none());
    }
}
