//! Association lookup (is-behaviour §8): v1 single and bulk lookups in clear text, v2 hashed
//! lookups (`sha256`, and `none` = `"<address> <medium>"` in clear), and the lookup pepper.
//!
//! Every address is put in its canonical form (email case-folded) before it is compared or
//! hashed; answers echo the client's own strings so it can match them to its request. Each
//! request costs one store call proportional to its size, never a scan.

use crate::crypto::tokens::{PEPPER_LEN, RandomSource, random_token_from};
use crate::domain::Medium;
use crate::error::{ApiError, ApiResult};
use crate::service::ratelimit::{ClientLimiter, Limiter, check_all};
use crate::service::signed::{Signer, signed_association_for_lookup};
use crate::store::{Association, AssociationStore, Threepid};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// Lookups: the association store with its index, randomness for the pepper, the signer
/// (v1 answers are signed), the per-request size cap and the per-client limit.
pub struct LookupService {
    pub(crate) store: Arc<dyn AssociationStore>,
    pub(crate) random: Arc<dyn RandomSource>,
    pub(crate) signer: Arc<Signer>,
    pub(crate) max_addresses: usize,
    pub(crate) per_ip: ClientLimiter,
    /// `[ratelimit] lookup_hashes_per_account_per_hour` / `_per_day`, keyed by user ID and
    /// charged one event per hash.
    pub(crate) hashes_per_hour: Limiter,
    pub(crate) hashes_per_day: Limiter,
}

pub const ALGORITHM_NONE: &str = "none";
pub const ALGORITHM_SHA256: &str = "sha256";
/// What `/hash_details` offers. `none` is offered because this server's data is no secret to
/// it either way (sydent offers it too); clients should prefer `sha256`.
pub const ALGORITHMS: [&str; 2] = [ALGORITHM_NONE, ALGORITHM_SHA256];

impl LookupService {
    /// Counts one lookup request of a client (`429 M_LIMIT_EXCEEDED` over the limit).
    pub fn check_rate(&self, client: Option<IpAddr>) -> ApiResult<()> {
        self.per_ip.check(client)
    }

    /// Counts a v2 lookup of `hashes` addresses by `user_id`: one request of the client and
    /// `hashes` events of each of the account's budgets, all or none (`check_all`), so a
    /// refused request spends nothing. An over-size request is refused before it is counted.
    pub fn check_hashed_rate(
        &self,
        client: Option<IpAddr>,
        user_id: &str,
        hashes: usize,
    ) -> ApiResult<()> {
        self.check_count(hashes)?;
        if self.hashes_per_hour.is_off() && self.hashes_per_day.is_off() {
            // The default: no locks, boxes or key copies beyond the client's limit.
            return self.per_ip.check(client);
        }
        let cost = u32::try_from(hashes).unwrap_or(u32::MAX);
        let client = self.per_ip.key(client);
        check_all(&[
            &self.per_ip.charge(&client),
            &self.hashes_per_hour.charge_n(user_id, cost),
            &self.hashes_per_day.charge_n(user_id, cost),
        ])
    }

    /// v1 `GET /lookup`'s answer: the signed association, or `{}` when nothing is bound (the
    /// spec's 200 allows both).
    pub async fn lookup_signed(&self, medium: Medium, address: &str) -> ApiResult<Value> {
        match self.lookup_one(medium, address).await? {
            Some(a) => signed_association_for_lookup(&self.signer, &self.store, &a).await,
            None => Ok(Value::Object(Default::default())),
        }
    }

    /// The current lookup pepper, created (and persisted, with every association hashed under it)
    /// on first use. Rotation is an operator action (`store.rotate_lookup_pepper`).
    pub async fn current_pepper(&self) -> ApiResult<String> {
        if let Some(pepper) = self.store.lookup_pepper().await? {
            return Ok(pepper);
        }
        let candidate = random_token_from(self.random.as_ref(), PEPPER_LEN)?;
        Ok(self.store.get_or_create_lookup_pepper(&candidate).await?)
    }

    fn check_count(&self, count: usize) -> ApiResult<()> {
        let max = self.max_addresses;
        if count > max {
            return Err(ApiError::TooLarge(format!(
                "at most {max} addresses may be looked up at once"
            )));
        }
        Ok(())
    }

    /// v1 `GET /lookup`: the association of one 3PID, if bound.
    pub async fn lookup_one(
        &self,
        medium: Medium,
        address: &str,
    ) -> ApiResult<Option<Association>> {
        let threepid = Threepid::canonical(medium, address);
        Ok(self.store.get_association(&threepid).await?)
    }

    /// v1 `POST /bulk_lookup`: `(medium, address, mxid)` for every bound 3PID among `threepids`,
    /// medium and address exactly as the client sent them, in request order (duplicates once).
    /// An entry of a medium nobody binds is legal and matches nothing.
    pub async fn lookup_many(
        &self,
        threepids: &[(String, String)],
    ) -> ApiResult<Vec<(String, String, String)>> {
        self.check_count(threepids.len())?;
        let canonical: Vec<Option<Threepid>> = threepids
            .iter()
            .map(|(medium, address)| Some(Threepid::canonical(Medium::parse(medium)?, address)))
            .collect();
        let known: Vec<Threepid> = canonical.iter().flatten().cloned().collect();
        let owners = self.owners_of(&known).await?;
        let mut seen = HashSet::new();
        Ok(threepids
            .iter()
            .zip(&canonical)
            .filter_map(|((medium, address), key)| {
                let mxid = owners.get(key.as_ref()?)?;
                seen.insert((medium, address))
                    .then(|| (medium.clone(), address.clone(), mxid.clone()))
            })
            .collect())
    }

    /// One batched store call: canonical 3PID → owner.
    async fn owners_of(&self, threepids: &[Threepid]) -> ApiResult<HashMap<Threepid, String>> {
        let mut distinct: Vec<Threepid> = threepids.to_vec();
        distinct.sort();
        distinct.dedup();
        let found = self.store.get_associations(&distinct).await?;
        Ok(found
            .into_iter()
            .map(|a| (Threepid::new(a.medium, a.address), a.mxid.into_string()))
            .collect())
    }

    /// v2 `POST /lookup`: entry (exactly as sent) → mxid for the entries that match a binding.
    pub async fn lookup_hashed(
        &self,
        algorithm: &str,
        pepper: &str,
        addresses: Vec<String>,
    ) -> ApiResult<BTreeMap<String, String>> {
        self.check_count(addresses.len())?;
        match algorithm {
            ALGORITHM_SHA256 => self.lookup_sha256(pepper, addresses).await,
            ALGORITHM_NONE => self.lookup_none(pepper, &addresses).await,
            other => Err(ApiError::InvalidParam(format!(
                "unsupported algorithm `{other}`; see /hash_details"
            ))),
        }
    }

    async fn invalid_pepper(&self, algorithm: &str) -> ApiError {
        match self.current_pepper().await {
            Ok(pepper) => ApiError::InvalidPepper {
                algorithm: algorithm.to_owned(),
                pepper,
            },
            Err(e) => e,
        }
    }

    async fn lookup_sha256(
        &self,
        pepper: &str,
        addresses: Vec<String>,
    ) -> ApiResult<BTreeMap<String, String>> {
        // The store checks the pepper in the same snapshot as the lookup, and treats repeated
        // entries once (no sorted copy here: a 1000-entry request would copy every string).
        let Some(found) = self.store.lookup_hashes(pepper, addresses).await? else {
            return Err(self.invalid_pepper(ALGORITHM_SHA256).await);
        };
        // Hashes are compared exactly, so each match is the client's own string.
        Ok(found.into_iter().map(|m| (m.lookup_hash, m.mxid)).collect())
    }

    async fn lookup_none(
        &self,
        pepper: &str,
        addresses: &[String],
    ) -> ApiResult<BTreeMap<String, String>> {
        // `none` ignores the pepper but the client must still send the current one (§8.2.2).
        if self.current_pepper().await? != pepper {
            return Err(self.invalid_pepper(ALGORITHM_NONE).await);
        }
        // `"<address> <medium>"`; an entry of another shape simply matches nothing.
        let parsed: Vec<(&String, Threepid)> = addresses
            .iter()
            .filter_map(|entry| {
                let (address, medium) = entry.rsplit_once(' ')?;
                let medium = Medium::parse(medium)?;
                (!address.is_empty()).then(|| (entry, Threepid::canonical(medium, address)))
            })
            .collect();
        let threepids: Vec<Threepid> = parsed.iter().map(|(_, t)| t.clone()).collect();
        let owners = self.owners_of(&threepids).await?;
        Ok(parsed
            .into_iter()
            .filter_map(|(entry, key)| Some((entry.clone(), owners.get(&key)?.clone())))
            .collect())
    }
}
