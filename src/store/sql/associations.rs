//! [`AssociationStore`], once for both backends, and what both do with their in-memory
//! lookup index ([`LookupIndex`]): answering from it, applying a committed change to it,
//! loading it.
//!
//! # Two hash columns, one current
//!
//! Each association has two lookup hash columns, `lookup_hash_0` and `lookup_hash_1`;
//! `lookup_pepper.slot` says which one holds the hashes under the current pepper ([`Slot`],
//! read with the pepper as a [`PepperState`]). Everything that reads hashes reads that column
//! only, and in the same snapshot as the pepper (a lookup is one statement; the index is
//! loaded in one transaction), so a pepper is never paired with the other column's hashes.
//! The other column serves a rotation (see `store/associations.rs`): `lookup_pepper.next_pepper`
//! is set, binds write both columns, and batches fill it in primary-key order, each batch in a
//! short write transaction of its own that re-checks that its rotation is still the latest one
//! (`lookup_pepper.rotation`). The batch that finds the end of the table also switches:
//! `pepper := next_pepper`, `slot := the other` — one row. Why not one column rewritten at the
//! switch: that is the full-table update inside one transaction the batches exist to avoid;
//! why not a table of (pepper, hash) rows: a second copy of each association to keep in step
//! on every bind, unbind and erasure, and a join on every SQL lookup.
//!
//! Rows bound before a rotation began are covered because the batches walk every key; rows
//! bound or rebound during it carry both hashes already (a batch redoing one writes the same
//! value). A rotation that stops half-way leaves the current column whole; the next one starts
//! again from the first key, so nothing depends on how far the last one got.

use std::future::Future;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use async_trait::async_trait;
use sqlx::{Database, Transaction};

use super::{
    Affected as _, Backend, Bind as _, Columns as _, Exec as _, conn, fetch_mapped, read_mapped,
};
use crate::crypto::hashing::lookup_hash;
use crate::domain::{Medium, UserId};
use crate::store::lookup_index::{IndexFull, LookupIndex, Times};
use crate::store::rows::association_from_row;
use crate::store::{
    Association, AssociationStore, HashMatch, Rotation, RotationProgress, StoreError, StoreResult,
    Threepid,
};

/// One of the two lookup hash columns (`lookup_hash_0`, `lookup_hash_1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::store) struct Slot(usize);

impl Slot {
    /// Slot 0: a database's first pepper is hashed into it.
    pub(in crate::store) const FIRST: Slot = Slot(0);

    /// `0` or `1`: the position of this slot's statement in a [`by_slot!`] pair.
    pub(in crate::store) fn index(self) -> usize {
        self.0
    }

    pub(in crate::store) fn other(self) -> Slot {
        Slot(1 - self.0)
    }

    /// As stored in `lookup_pepper.slot`.
    pub(in crate::store) fn number(self) -> i64 {
        if self.0 == 0 { 0 } else { 1 }
    }

    fn from_number(n: i64) -> Option<Slot> {
        match n {
            0 => Some(Slot(0)),
            1 => Some(Slot(1)),
            _ => None,
        }
    }
}

/// `[statement on lookup_hash_0, the same on lookup_hash_1]`, for the statements that read or
/// write one hash column (an index on a column is used only when the statement names it):
/// `by_slot!("SELECT ", HASH, " FROM associations")`, every `HASH` replaced by the column's
/// name, a part in braces (`{other_macro!(…)}`) spliced as it is. Pick one with [`Slot::index`].
macro_rules! by_slot {
    (@column $column:literal, HASH) => {
        $column
    };
    (@column $column:literal, { $($spliced:tt)* }) => {
        $($spliced)*
    };
    (@column $column:literal, $part:literal) => {
        $part
    };
    ($($part:tt),+ $(,)?) => {
        [
            concat!($(by_slot!(@column "lookup_hash_0", $part)),+),
            concat!($(by_slot!(@column "lookup_hash_1", $part)),+),
        ]
    };
}
pub(in crate::store) use by_slot;

/// The `lookup_pepper` row: the current pepper, its column, and the rotation in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(in crate::store) struct PepperState {
    /// `None` until the first pepper is created.
    pub pepper: Option<String>,
    /// The column holding the hashes under `pepper`.
    pub slot: Slot,
    /// While a rotation runs: the pepper it switches to, whose hashes go in the other column.
    pub next: Option<String>,
    /// The number of the latest rotation begun.
    pub rotation: i64,
}

impl PepperState {
    /// No pepper yet (no `lookup_pepper` row).
    const NONE: PepperState = PepperState {
        pepper: None,
        slot: Slot::FIRST,
        next: None,
        rotation: 0,
    };

    /// The lookup hashes a row for `address` gets: under the current pepper, and under the
    /// next one while a rotation runs.
    pub(in crate::store) fn hashes(
        &self,
        medium: Medium,
        address: &str,
    ) -> (Option<String>, Option<String>) {
        let hash = |pepper: &Option<String>| {
            pepper
                .as_deref()
                .map(|p| lookup_hash(address, medium.as_str(), p))
        };
        (hash(&self.pepper), hash(&self.next))
    }

    /// `(lookup_hash_0, lookup_hash_1)` of a row whose current and next hashes are these.
    pub(in crate::store) fn columns<'h>(
        &self,
        current: Option<&'h str>,
        next: Option<&'h str>,
    ) -> [Option<&'h str>; 2] {
        let mut columns = [None, None];
        columns[self.slot.index()] = current;
        columns[self.slot.other().index()] = next;
        columns
    }

    /// A row's current and next hashes, from its `lookup_hash_0` and `lookup_hash_1` (the
    /// other column is a leftover unless a rotation runs).
    pub(in crate::store) fn split(
        &self,
        mut columns: [Option<String>; 2],
    ) -> (Option<String>, Option<String>) {
        let current = columns[self.slot.index()].take();
        let next = match self.next {
            Some(_) => columns[self.slot.other().index()].take(),
            None => None,
        };
        (current, next)
    }
}

/// A row's two hash columns, `lookup_hash_0` and `lookup_hash_1`.
pub(in crate::store) fn hash_columns<R: super::Columns>(
    row: &R,
) -> Result<[Option<String>; 2], sqlx::Error> {
    Ok([
        row.opt_text("lookup_hash_0")?,
        row.opt_text("lookup_hash_1")?,
    ])
}

/// An association a rotation batch rehashed: its new hash and what the index keeps of it.
pub(in crate::store) struct Hashed {
    pub hash: String,
    pub mxid: String,
    pub times: Times,
}

/// What one rotation batch did ([`AssociationSql::rehash_batch`]).
pub(in crate::store) struct Batch {
    /// Rows rehashed: fewer than asked for means the end of the table.
    pub rehashed: u64,
    /// The primary key `(medium, address)` of the last one: the next batch starts after it.
    pub last: Option<(String, String)>,
    /// The rows with their new hashes, for a backend whose index follows the rotation as it
    /// goes (SQLite: one process makes every change, so an index built from the batches and
    /// the writes meanwhile is complete at the switch); else empty (PostgreSQL: other
    /// instances bind too and log only current hashes, so every instance reloads at the
    /// switch).
    pub entries: Vec<Hashed>,
}

/// What a committed association write changed, for [`AssociationSql::commit_change`].
pub(in crate::store) enum Change<'a> {
    /// Nothing the index holds (no row changed, or the row has no hash: no pepper yet).
    None,
    /// `association` is bound, with this lookup hash (and, while a rotation runs, this one
    /// under the next pepper).
    Bound {
        hash: &'a str,
        next_hash: Option<&'a str>,
        association: &'a Association,
    },
    /// The binding with this lookup hash (and next one) is gone.
    Unbound {
        hash: &'a str,
        next_hash: Option<&'a str>,
    },
    /// The bindings with these lookup hashes (and next ones) are gone (an erasure).
    UnboundAll {
        hashes: &'a [String],
        next_hashes: &'a [String],
    },
    /// Every hash changed (a pepper was created).
    Rehashed,
    /// A pepper exists that this instance may not have seen (another writer created it).
    PepperSeen,
    /// A rotation to `pepper` began (or began again): nothing is hashed under it yet.
    RotationStarted { pepper: &'a str },
    /// A rotation batch hashed these under the next pepper (`entries` as [`Batch::entries`]).
    NextHashed { entries: &'a [Hashed] },
    /// The last batch, then the switch: `pepper` is current.
    Switched {
        pepper: &'a str,
        entries: &'a [Hashed],
    },
}

impl Change<'_> {
    /// Applies the change to `index`, when it is one the index can apply (a pepper change
    /// needs a reload instead).
    pub(in crate::store) fn apply(&self, index: &mut LookupIndex) -> Result<(), IndexFull> {
        match self {
            Change::Bound {
                hash, association, ..
            } => index.insert(hash, &association.mxid, Times::of(association)),
            Change::Unbound { hash, .. } => {
                index.remove(hash);
                Ok(())
            }
            Change::UnboundAll { hashes, .. } => {
                for hash in *hashes {
                    index.remove(hash);
                }
                Ok(())
            }
            Change::None
            | Change::PepperSeen
            | Change::Rehashed
            | Change::RotationStarted { .. }
            | Change::NextHashed { .. }
            | Change::Switched { .. } => Ok(()),
        }
    }

    /// Applies the change to the index a rotation builds under the next pepper (SQLite's,
    /// which becomes the index at the switch).
    pub(in crate::store) fn apply_next(&self, next: &mut LookupIndex) -> Result<(), IndexFull> {
        match self {
            Change::Bound {
                next_hash: Some(hash),
                association,
                ..
            } => next.insert(hash, &association.mxid, Times::of(association)),
            Change::Unbound {
                next_hash: Some(hash),
                ..
            } => {
                next.remove(hash);
                Ok(())
            }
            Change::UnboundAll { next_hashes, .. } => {
                for hash in *next_hashes {
                    next.remove(hash);
                }
                Ok(())
            }
            Change::NextHashed { entries } | Change::Switched { entries, .. } => {
                for entry in *entries {
                    next.insert(&entry.hash, &entry.mxid, entry.times)?;
                }
                Ok(())
            }
            Change::None
            | Change::PepperSeen
            | Change::Rehashed
            | Change::RotationStarted { .. }
            | Change::Bound { .. }
            | Change::Unbound { .. } => Ok(()),
        }
    }
}

/// What a backend adds to the shared association operations.
pub(in crate::store) trait AssociationSql: Backend {
    /// Whether the index, when there is one, always knows the current pepper (SQLite: one
    /// process makes every change). Else (PostgreSQL) a pepper the index does not know may be
    /// one another instance just made current, and SQL answers.
    const INDEX_KNOWS_THE_PEPPER: bool;
    /// Per slot ([`by_slot!`]): `count(*)` of the associations hashed in that column, and the
    /// bytes their mxids' localparts with `@` take, as two `BIGINT`s (for sizing the index).
    const INDEX_SIZE: [&'static str; 2];
    /// Rows read per statement while loading the index.
    const INDEX_BATCH: i64;
    /// Says which backend lookups fall back to when the index goes.
    const NAME: &'static str;
    /// Statements deleting what the backend keeps about a 3PID (`$1` medium, `$2` address)
    /// outside the shared tables, for an erasure (SQLite: imported signed associations).
    const THREEPID_COPIES: &'static [&'static str] = &[];

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

    /// Recomputes every association's lookup hash in column `slot` with `pepper` in `tx`;
    /// the row count (a pepper's creation, which has no old pepper to answer meanwhile).
    fn rehash_all(
        tx: &mut Transaction<'static, Self::Db>,
        slot: Slot,
        pepper: &str,
    ) -> impl Future<Output = StoreResult<u64>> + Send;

    /// Hashes with `pepper` into column `slot` the first `limit` associations after the
    /// primary key `after` (from the first one without it), in key order, in `tx`.
    fn rehash_batch(
        tx: &mut Transaction<'static, Self::Db>,
        slot: Slot,
        pepper: &str,
        after: Option<&(String, String)>,
        limit: i64,
    ) -> impl Future<Output = StoreResult<Batch>> + Send;

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

/// A rotation logs its progress every this many batches.
const LOG_EVERY: u64 = 20;

const SELECT_ONE: &str = "SELECT medium, address, mxid, ts, not_before, not_after \
     FROM associations WHERE medium = $1 AND address = $2";

/// The pepper, its column and the rotation in progress, read on `conn` (in the caller's
/// transaction).
pub(in crate::store) async fn pepper_state<B: Backend>(
    conn: &mut <B::Db as Database>::Connection,
) -> StoreResult<PepperState> {
    let Some(row) =
        sqlx::query("SELECT pepper, slot, next_pepper, rotation FROM lookup_pepper WHERE id = 1")
            .fetch_optional(conn.ex())
            .await
            .map_err(B::db_err)?
    else {
        return Ok(PepperState::NONE);
    };
    let corrupt = |_| StoreError::Corrupt("lookup_pepper");
    Ok(PepperState {
        pepper: Some(row.text("pepper").map_err(corrupt)?),
        slot: Slot::from_number(row.int("slot").map_err(corrupt)?)
            .ok_or(StoreError::Corrupt("lookup_pepper.slot"))?,
        next: row.opt_text("next_pepper").map_err(corrupt)?,
        rotation: row.int("rotation").map_err(corrupt)?,
    })
}

/// The current pepper, read on `conn` (in the caller's transaction).
pub(in crate::store) async fn current_pepper<B: Backend>(
    conn: &mut <B::Db as Database>::Connection,
) -> StoreResult<Option<String>> {
    Ok(pepper_state::<B>(conn).await?.pepper)
}

/// Reads the index, column by column.
pub(in crate::store) const FILL_INDEX: [&str; 2] = by_slot!(
    "SELECT ",
    HASH,
    " AS lookup_hash, mxid, ts, not_before, not_after FROM associations WHERE ",
    HASH,
    " > $1 ORDER BY ",
    HASH,
    " LIMIT $2"
);

/// Every association hashed in column `slot` into a new index under `pepper` (the state's),
/// read on `conn` (in the caller's snapshot, the one `pepper` and `slot` were read in)
/// [`AssociationSql::INDEX_BATCH`] rows at a time along the hash index (no row list of the
/// whole table in memory at once).
pub(in crate::store) async fn fill_index<B: AssociationSql>(
    conn: &mut <B::Db as Database>::Connection,
    state: PepperState,
) -> StoreResult<LookupIndex> {
    let PepperState { pepper, slot, .. } = state;
    let size = sqlx::query(B::INDEX_SIZE[slot.index()])
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
        let rows = sqlx::query(FILL_INDEX[slot.index()])
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
        let state = pepper_state::<B>(&mut tx).await?;
        let query = sqlx::query(SELECT_ONE)
            .medium(association.medium)
            .text(&association.address);
        let previous = fetch_mapped::<B, _>(query, &mut tx, association_from_row).await?;
        let (hash, next_hash) = state.hashes(association.medium, &association.address);
        let [hash_0, hash_1] = state.columns(hash.as_deref(), next_hash.as_deref());
        sqlx::query(
            "INSERT INTO associations (medium, address, mxid, ts, not_before, not_after, \
             lookup_hash_0, lookup_hash_1) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (medium, address) DO UPDATE SET mxid = excluded.mxid, ts = excluded.ts, \
             not_before = excluded.not_before, not_after = excluded.not_after, \
             lookup_hash_0 = excluded.lookup_hash_0, lookup_hash_1 = excluded.lookup_hash_1",
        )
        .medium(association.medium)
        .text(&association.address)
        .text(&association.mxid)
        .time(association.ts)
        .time(association.not_before)
        .time(association.not_after)
        .opt_text(hash_0)
        .opt_text(hash_1)
        .execute((*tx).ex())
        .await
        .map_err(B::db_err)?;
        let change = match &hash {
            Some(hash) => Change::Bound {
                hash,
                next_hash: next_hash.as_deref(),
                association,
            },
            None => Change::None,
        };
        self.commit_change(tx, change).await?;
        Ok(previous)
    }

    async fn unbind(&self, threepid: &Threepid, mxid: &UserId) -> StoreResult<bool> {
        let (_order, mut tx) = self.begin_association_write().await?;
        let state = pepper_state::<B>(&mut tx).await?;
        let removed = sqlx::query(
            "DELETE FROM associations WHERE medium = $1 AND address = $2 AND mxid = $3 \
             RETURNING lookup_hash_0, lookup_hash_1",
        )
        .medium(threepid.medium)
        .text(&threepid.address)
        .text(mxid)
        .fetch_optional((*tx).ex())
        .await
        .map_err(B::db_err)?
        .map(|row| hash_columns(&row).map_err(B::db_err))
        .transpose()?;
        let Some(columns) = removed else {
            self.commit_change(tx, Change::None).await?;
            return Ok(false);
        };
        let (hash, next_hash) = state.split(columns);
        let change = match &hash {
            Some(hash) => Change::Unbound {
                hash,
                next_hash: next_hash.as_deref(),
            },
            None => Change::None,
        };
        self.commit_change(tx, change).await?;
        Ok(true)
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
        let state = pepper_state::<B>(&mut tx).await?;
        if inserted {
            B::rehash_all(&mut tx, state.slot, candidate).await?;
        }
        let pepper = state.pepper.ok_or(StoreError::Corrupt("lookup_pepper"))?;
        let change = if inserted {
            Change::Rehashed
        } else {
            Change::PepperSeen
        };
        self.commit_change(tx, change).await?;
        Ok(pepper)
    }

    async fn rotate_lookup_pepper_with(
        &self,
        new_pepper: &str,
        batch: u32,
        progress: RotationProgress<'_>,
    ) -> StoreResult<Rotation> {
        let limit = i64::from(batch.max(1));
        // Begin (or begin again, replacing a rotation in progress): from this commit on,
        // binds hash under both peppers.
        let rotation = {
            let (_order, mut tx) = self.begin_association_write().await?;
            let state = pepper_state::<B>(&mut tx).await?;
            if state.pepper.is_none() {
                // Nothing is answered under a pepper yet: this is the pepper's creation.
                sqlx::query("INSERT INTO lookup_pepper (id, pepper) VALUES (1, $1)")
                    .text(new_pepper)
                    .execute((*tx).ex())
                    .await
                    .map_err(B::db_err)?;
                let rehashed = B::rehash_all(&mut tx, state.slot, new_pepper).await?;
                self.commit_change(tx, Change::Rehashed).await?;
                return Ok(Rotation::Switched(rehashed));
            }
            let rotation = state.rotation.wrapping_add(1);
            sqlx::query("UPDATE lookup_pepper SET next_pepper = $1, rotation = $2 WHERE id = 1")
                .text(new_pepper)
                .int(rotation)
                .execute((*tx).ex())
                .await
                .map_err(B::db_err)?;
            self.commit_change(tx, Change::RotationStarted { pepper: new_pepper })
                .await?;
            rotation
        };
        tracing::info!("pepper rotation begun");
        let mut after: Option<(String, String)> = None;
        let mut rehashed = 0u64;
        let mut batches = 0u64;
        loop {
            let (order, mut tx) = self.begin_association_write().await?;
            let state = pepper_state::<B>(&mut tx).await?;
            if state.rotation != rotation || state.next.as_deref() != Some(new_pepper) {
                return Err(StoreError::Conflict(
                    "another pepper rotation began and replaced this one",
                ));
            }
            let next = state.slot.other();
            let done = B::rehash_batch(&mut tx, next, new_pepper, after.as_ref(), limit).await?;
            rehashed += done.rehashed;
            if done.rehashed < u64::try_from(limit).unwrap_or(u64::MAX) {
                // The end of the table: every association has its hash under the new pepper.
                sqlx::query(
                    "UPDATE lookup_pepper SET pepper = next_pepper, slot = $1, next_pepper = NULL \
                     WHERE id = 1",
                )
                .int(next.number())
                .execute((*tx).ex())
                .await
                .map_err(B::db_err)?;
                let change = Change::Switched {
                    pepper: new_pepper,
                    entries: &done.entries,
                };
                self.commit_change(tx, change).await?;
                drop(order);
                tracing::info!(rehashed, "pepper rotation: the new pepper is current");
                return Ok(Rotation::Switched(rehashed));
            }
            self.commit_change(
                tx,
                Change::NextHashed {
                    entries: &done.entries,
                },
            )
            .await?;
            // Binds waiting for the lock go before the next batch.
            drop(order);
            after = done.last;
            batches += 1;
            if batches.is_multiple_of(LOG_EVERY) {
                tracing::info!(rehashed, "pepper rotation: associations rehashed so far");
            }
            if progress(rehashed).is_break() {
                return Ok(Rotation::Stopped(rehashed));
            }
        }
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
