//! [`AssociationStore`], once for both backends, and what both do with their in-memory
//! lookup index ([`LookupIndex`]): answering from it, applying a committed change to it,
//! loading it.

use std::future::Future;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use sqlx::{Database, Transaction};

use super::{
    Affected as _, Backend, Bind as _, Columns as _, Exec as _, conn, fetch_mapped, read_mapped,
};
use crate::crypto::hashing::lookup_hash;
use crate::domain::UserId;
use crate::store::lookup_index::{IndexFull, LookupIndex, Times};
use crate::store::rows::association_from_row;
use crate::store::{Association, AssociationStore, HashMatch, StoreError, StoreResult, Threepid};

/// What a committed association write changed, for [`AssociationSql::commit_change`].
pub(in crate::store) enum Change<'a> {
    /// Nothing the index holds (no row changed, or the row has no hash: no pepper yet).
    None,
    /// `association` is bound, with this lookup hash.
    Bound {
        hash: &'a str,
        association: &'a Association,
    },
    /// The binding with this lookup hash is gone.
    Unbound { hash: &'a str },
    /// Every hash changed (a pepper was created or replaced).
    Rehashed,
    /// A pepper exists that this instance may not have seen (another writer created it).
    PepperSeen,
}

impl Change<'_> {
    /// Applies the change to `index`, when it is one the index can apply (a pepper change
    /// needs a reload instead).
    pub(in crate::store) fn apply(&self, index: &mut LookupIndex) -> Result<(), IndexFull> {
        match self {
            Change::Bound { hash, association } => {
                index.insert(hash, &association.mxid, Times::of(association))
            }
            Change::Unbound { hash } => {
                index.remove(hash);
                Ok(())
            }
            Change::None | Change::PepperSeen | Change::Rehashed => Ok(()),
        }
    }
}

/// What a backend adds to the shared association operations.
pub(in crate::store) trait AssociationSql: Backend {
    /// Whether the index, when there is one, always knows the current pepper (SQLite: one
    /// process makes every change). Else (PostgreSQL) a pepper the index does not know may be
    /// one another instance just made current, and SQL answers.
    const INDEX_KNOWS_THE_PEPPER: bool;
    /// `count(*)` of the hashed associations, and the bytes their mxids' localparts with `@`
    /// take, as two `BIGINT`s (for sizing the index).
    const INDEX_SIZE: &'static str;
    /// Rows read per statement while loading the index.
    const INDEX_BATCH: i64;
    /// Says which backend lookups fall back to when the index goes.
    const NAME: &'static str;

    /// Held from the start of an association write to its commit (SQLite: an in-process
    /// lock, so the index applies commits in their order).
    type Order<'a>: Send
    where
        Self: 'a;

    /// Starts a write that changes associations or the pepper: writes take turns from here
    /// until [`Self::commit_change`] (PostgreSQL: an advisory lock, across instances).
    fn begin_association_write(
        &self,
    ) -> impl Future<Output = StoreResult<(Self::Order<'_>, Transaction<'static, Self::Db>)>> + Send;

    /// Commits `tx` (PostgreSQL: logging `change` in it first, for the other instances) and
    /// applies `change` to this store's index.
    fn commit_change(
        &self,
        tx: Transaction<'static, Self::Db>,
        change: Change<'_>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// Recomputes every association's lookup hash with `pepper` in `tx`; the row count.
    fn rehash_all(
        tx: &mut Transaction<'static, Self::Db>,
        pepper: &str,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// The stored rows (`association_from_row`'s columns) of `threepids`, by `(medium, address)`.
    fn association_rows(
        &self,
        threepids: &[Threepid],
    ) -> impl Future<Output = StoreResult<Vec<<Self::Db as Database>::Row>>> + Send;

    /// [`AssociationStore::lookup_hashes`] in SQL, in one statement (one snapshot).
    fn lookup_hashes_sql(
        &self,
        pepper: &str,
        hashes: Vec<String>,
    ) -> impl Future<Output = StoreResult<Option<Vec<HashMatch>>>> + Send;

    /// See [`AssociationStore::original_signed_association`].
    fn original_signed(
        &self,
        _association: &Association,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send {
        async { Ok(None) }
    }

    /// `None` inside: no index (switched off, or dropped after it could not follow).
    fn index_cell(&self) -> &RwLock<Option<LookupIndex>>;

    fn index_ref(&self) -> RwLockReadGuard<'_, Option<LookupIndex>> {
        self.index_cell().read().unwrap_or_else(|p| p.into_inner())
    }

    fn index_mut(&self) -> RwLockWriteGuard<'_, Option<LookupIndex>> {
        self.index_cell().write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a committed change to the index; drops the index if it cannot.
    fn update_index(&self, change: impl FnOnce(&mut LookupIndex) -> Result<(), IndexFull>) {
        let mut guard = self.index_mut();
        if let Some(index) = guard.as_mut()
            && change(index).is_err()
        {
            tracing::warn!(
                "the in-memory lookup index was dropped; lookups now query {}",
                Self::NAME
            );
            *guard = None;
        }
    }
}

const SELECT_ONE: &str = "SELECT medium, address, mxid, ts, not_before, not_after \
     FROM associations WHERE medium = $1 AND address = $2";

/// The current pepper, read on `conn` (in the caller's transaction).
pub(in crate::store) async fn current_pepper<B: Backend>(
    conn: &mut <B::Db as Database>::Connection,
) -> StoreResult<Option<String>> {
    sqlx::query("SELECT pepper FROM lookup_pepper WHERE id = 1")
        .fetch_optional(conn.ex())
        .await
        .map_err(B::db_err)?
        .map(|row| row.text("pepper").map_err(B::db_err))
        .transpose()
}

/// Every hashed association into a new index under `pepper`, read on `conn` (in the caller's
/// snapshot) [`AssociationSql::INDEX_BATCH`] rows at a time along the hash index (no row list
/// of the whole table in memory at once).
pub(in crate::store) async fn fill_index<B: AssociationSql>(
    conn: &mut <B::Db as Database>::Connection,
    pepper: Option<String>,
) -> StoreResult<LookupIndex> {
    let size = sqlx::query(B::INDEX_SIZE)
        .fetch_one(conn.ex())
        .await
        .map_err(B::db_err)?;
    let count = size.int("count").map_err(B::db_err)?;
    let name_bytes = size.int("name_bytes").map_err(B::db_err)?;
    let mut index = LookupIndex::with_capacity(
        pepper,
        usize::try_from(count).unwrap_or(0),
        usize::try_from(name_bytes).unwrap_or(0),
    );
    let corrupt = |_| StoreError::Corrupt("associations");
    let mut after = String::new();
    loop {
        let rows = sqlx::query(
            "SELECT lookup_hash, mxid, ts, not_before, not_after FROM associations \
             WHERE lookup_hash > $1 ORDER BY lookup_hash LIMIT $2",
        )
        .text(&after)
        .int(B::INDEX_BATCH)
        .fetch_all(conn.ex())
        .await
        .map_err(B::db_err)?;
        for row in &rows {
            after = row.text("lookup_hash").map_err(corrupt)?;
            let times = Times {
                ts: row.int("ts").map_err(corrupt)?,
                not_before: row.int("not_before").map_err(corrupt)?,
                not_after: row.int("not_after").map_err(corrupt)?,
            };
            index
                .insert(&after, &row.text("mxid").map_err(corrupt)?, times)
                .map_err(|_| StoreError::Corrupt("lookup index: too many associations"))?;
        }
        if rows.is_empty() {
            return Ok(index);
        }
    }
}

/// The first eight bytes of `s` as a big-endian number, zero-padded: ordering by it agrees
/// with ordering the strings, except that strings equal in it still need a string compare.
fn prefix_key(s: &str) -> u64 {
    if let Some(head) = s.as_bytes().first_chunk::<8>() {
        // The usual case (hashes are 43 characters): one load, no copy loop.
        return u64::from_be_bytes(*head);
    }
    let mut word = [0u8; 8];
    word[..s.len()].copy_from_slice(s.as_bytes());
    u64::from_be_bytes(word)
}

/// Sorts matches by hash. A 1000-match sort with string compares, moving 48-byte matches
/// around, took a fifth of a 1000-hash lookup: here each hash's 8-byte prefix is read once
/// and (prefix, position) pairs are sorted, then matches move once; only runs of equal
/// prefixes (repeated hashes, in practice) are compared as strings.
fn sort_by_hash(found: &mut [HashMatch]) {
    found.sort_by_cached_key(|m| prefix_key(&m.lookup_hash));
    let mut start = 0;
    while start < found.len() {
        let key = prefix_key(&found[start].lookup_hash);
        let run = found[start..]
            .iter()
            .take_while(|m| prefix_key(&m.lookup_hash) == key)
            .count();
        if run > 1 {
            found[start..start + run].sort_unstable_by(|a, b| a.lookup_hash.cmp(&b.lookup_hash));
        }
        start += run;
    }
}

#[async_trait]
impl<B: AssociationSql> AssociationStore for B {
    async fn bind(&self, association: &Association) -> StoreResult<Option<Association>> {
        let (_order, mut tx) = self.begin_association_write().await?;
        let pepper = current_pepper::<B>(&mut tx).await?;
        let query = sqlx::query(SELECT_ONE)
            .medium(association.medium)
            .text(&association.address);
        let previous = fetch_mapped::<B, _>(query, &mut tx, association_from_row).await?;
        let hash = pepper
            .as_deref()
            .map(|p| lookup_hash(&association.address, association.medium.as_str(), p));
        sqlx::query(
            "INSERT INTO associations (medium, address, mxid, ts, not_before, not_after, \
             lookup_hash) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (medium, address) DO UPDATE SET mxid = excluded.mxid, ts = excluded.ts, \
             not_before = excluded.not_before, not_after = excluded.not_after, \
             lookup_hash = excluded.lookup_hash",
        )
        .medium(association.medium)
        .text(&association.address)
        .text(&association.mxid)
        .time(association.ts)
        .time(association.not_before)
        .time(association.not_after)
        .opt_text(hash.as_deref())
        .execute((*tx).ex())
        .await
        .map_err(B::db_err)?;
        let change = match &hash {
            Some(hash) => Change::Bound { hash, association },
            None => Change::None,
        };
        self.commit_change(tx, change).await?;
        Ok(previous)
    }

    async fn unbind(&self, threepid: &Threepid, mxid: &UserId) -> StoreResult<bool> {
        let (_order, mut tx) = self.begin_association_write().await?;
        let removed = sqlx::query(
            "DELETE FROM associations WHERE medium = $1 AND address = $2 AND mxid = $3 \
             RETURNING lookup_hash",
        )
        .medium(threepid.medium)
        .text(&threepid.address)
        .text(mxid)
        .fetch_optional((*tx).ex())
        .await
        .map_err(B::db_err)?
        .map(|row| row.opt_text("lookup_hash").map_err(B::db_err))
        .transpose()?;
        let change = match &removed {
            Some(Some(hash)) => Change::Unbound { hash },
            _ => Change::None,
        };
        self.commit_change(tx, change).await?;
        Ok(removed.is_some())
    }

    async fn get_association(&self, threepid: &Threepid) -> StoreResult<Option<Association>> {
        if !B::storable(&threepid.address) {
            return Ok(None);
        }
        if let Some(answer) = self
            .index_ref()
            .as_ref()
            .and_then(|i| i.association(threepid))
        {
            return Ok(answer);
        }
        let query = sqlx::query(SELECT_ONE)
            .medium(threepid.medium)
            .text(&threepid.address);
        read_mapped(self, query, association_from_row).await
    }

    async fn get_associations(&self, threepids: &[Threepid]) -> StoreResult<Vec<Association>> {
        if threepids.is_empty() {
            return Ok(Vec::new());
        }
        // One read lock for the whole batch, released before any await below.
        let answers = self.index_ref().as_ref().and_then(|index| {
            threepids
                .iter()
                .map(|t| index.association(t))
                .collect::<Option<Vec<_>>>()
        });
        if let Some(answers) = answers {
            // The order and distinctness the statement gives.
            let mut found: Vec<Association> = answers.into_iter().flatten().collect();
            // The statement's order: by the medium's text, then the address.
            fn key(a: &Association) -> (&str, &str) {
                (a.medium.as_str(), &a.address)
            }
            if !found.is_sorted_by(|a, b| key(a) < key(b)) {
                found.sort_by(|a, b| key(a).cmp(&key(b)));
                found.dedup_by(|a, b| a.medium == b.medium && a.address == b.address);
            }
            return Ok(found);
        }
        let rows = self.association_rows(threepids).await?;
        rows.iter().map(association_from_row).collect()
    }

    async fn lookup_hashes(
        &self,
        pepper: &str,
        hashes: Vec<String>,
    ) -> StoreResult<Option<Vec<HashMatch>>> {
        if let Some(index) = self.index_ref().as_ref() {
            if index.pepper() == Some(pepper) {
                // Each match takes the asked-for string itself (it equals the stored one).
                let mut found: Vec<HashMatch> = hashes
                    .into_iter()
                    .filter_map(|hash| {
                        let mxid = index.get(&hash)?;
                        Some(HashMatch {
                            lookup_hash: hash,
                            mxid,
                        })
                    })
                    .collect();
                sort_by_hash(&mut found);
                found.dedup_by(|a, b| a.lookup_hash == b.lookup_hash);
                return Ok(Some(found));
            }
            if B::INDEX_KNOWS_THE_PEPPER {
                return Ok(None);
            }
        }
        if !B::storable(pepper) {
            return Ok(None);
        }
        self.lookup_hashes_sql(pepper, hashes).await
    }

    async fn lookup_pepper(&self) -> StoreResult<Option<String>> {
        if let Some(index) = self.index_ref().as_ref()
            && (B::INDEX_KNOWS_THE_PEPPER || index.pepper().is_some())
        {
            // Elsewhere a pepper only changes by rotation, which the index follows.
            return Ok(index.pepper().map(str::to_owned));
        }
        current_pepper::<B>(&mut *conn::<B>(self.reads()?).await?).await
    }

    async fn get_or_create_lookup_pepper(&self, candidate: &str) -> StoreResult<String> {
        if let Some(pepper) = self.lookup_pepper().await? {
            return Ok(pepper);
        }
        let (_order, mut tx) = self.begin_association_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO lookup_pepper (id, pepper) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        )
        .text(candidate)
        .execute((*tx).ex())
        .await
        .map_err(B::db_err)?
        .affected()
            == 1;
        if inserted {
            B::rehash_all(&mut tx, candidate).await?;
        }
        let pepper = current_pepper::<B>(&mut tx)
            .await?
            .ok_or(StoreError::Corrupt("lookup_pepper"))?;
        let change = if inserted {
            Change::Rehashed
        } else {
            Change::PepperSeen
        };
        self.commit_change(tx, change).await?;
        Ok(pepper)
    }

    async fn rotate_lookup_pepper(&self, new_pepper: &str) -> StoreResult<u64> {
        let (_order, mut tx) = self.begin_association_write().await?;
        sqlx::query(
            "INSERT INTO lookup_pepper (id, pepper) VALUES (1, $1) \
             ON CONFLICT (id) DO UPDATE SET pepper = excluded.pepper",
        )
        .text(new_pepper)
        .execute((*tx).ex())
        .await
        .map_err(B::db_err)?;
        let rehashed = B::rehash_all(&mut tx, new_pepper).await?;
        self.commit_change(tx, Change::Rehashed).await?;
        Ok(rehashed)
    }

    async fn original_signed_association(
        &self,
        association: &Association,
    ) -> StoreResult<Option<String>> {
        self.original_signed(association).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sorting by the prefix key, then the string, is sorting by the string.
    #[test]
    fn prefix_key_order_is_string_order() {
        let mut words: Vec<String> = [
            "",
            "a",
            "a\0",
            "a\0b",
            "ab",
            "abcdefgh",
            "abcdefgh\0",
            "abcdefgi",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        words.extend((0..200u32).map(|i| crate::crypto::lookup_hash(&i.to_string(), "email", "p")));
        words.extend((0..50u32).map(|i| format!("abcdefgh{}", 50 - i)));
        // Repeats, and strings sharing a prefix, out of order.
        words.extend(["abcdefgz", "abcdefga", "abcdefgh", "a"].map(str::to_owned));
        words.reverse();
        let mut matches: Vec<HashMatch> = words
            .iter()
            .map(|w| HashMatch {
                lookup_hash: w.clone(),
                mxid: format!("@{w}:hs"),
            })
            .collect();
        sort_by_hash(&mut matches);
        words.sort_unstable();
        let sorted: Vec<&String> = matches.iter().map(|m| &m.lookup_hash).collect();
        assert_eq!(sorted, words.iter().collect::<Vec<_>>());
        assert!(
            matches
                .iter()
                .all(|m| m.mxid == format!("@{}:hs", m.lookup_hash))
        );
    }
}
