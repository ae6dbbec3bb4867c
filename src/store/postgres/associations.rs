//! [`AssociationStore`](crate::store::AssociationStore) on PostgreSQL: the shared
//! operations (`store/sql/associations.rs`) with this dialect's batched statements (`text[]`
//! parameters), the advisory lock every association write takes, and the in-memory lookup
//! index of each instance: loaded at open, changed at once by this instance's writes,
//! following every instance's writes through the `association_changes` log (by sequence
//! number), rebuilt when the log says every hash changed or when this instance fell behind
//! its pruning.
//!
//! A pepper rotation (`store/sql/associations.rs`) logs nothing while its batches run: they
//! write only the column no lookup reads, binds meanwhile log their current hash as always,
//! and an instance loading its index then (at start, or after falling behind) reads the
//! current column in the snapshot it reads the pepper and the slot in, so the batches change
//! nothing it reads. The switch logs one reload marker, on which every instance rebuilds its
//! index, as for any pepper change; until it has, a lookup with the new pepper is answered by
//! SQL, and one with the old pepper by the index it still holds (the delay bound of
//! `store/postgres/mod.rs`). Other instances' binds log only current hashes, so this
//! instance could not build the next pepper's index as the rotation goes, as SQLite does. The
//! rebuild holds no database lock (the switch has committed), but it holds this instance's
//! index lock: a bind committed here meanwhile answers once the rebuild is done.

use std::sync::RwLock;

use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row as _, Transaction};

use super::{ASSOCIATION_WRITES, PostgresStore, db_err, storable};
use crate::store::lookup_index::{IndexFull, LookupIndex, Times};
use crate::store::sql::associations::{
    AssociationSql, Batch, Change, Slot, by_slot, fill_index, pepper_state,
};
use crate::store::{HashMatch, StoreError, StoreResult, Threepid};

/// Rows read per statement while loading the index or following the log.
const BATCH: i64 = 10_000;
/// Log rows kept behind the newest: an instance further behind rebuilds its index.
const LOG_KEPT: i64 = 100_000;
/// Binds between two prunings of the log.
const PRUNE_EVERY: i64 = 1024;

/// The lookup hash of `address`, `medium`, `pepper` computed in SQL, equal to
/// [`lookup_hash`](crate::crypto::lookup_hash) (URL-safe unpadded base64 of SHA-256 of
/// `address medium pepper`): a pepper change rehashes a batch of rows in one statement instead
/// of a round trip per row.
macro_rules! sql_lookup_hash {
    ($pepper:literal) => {
        concat!(
            "translate(rtrim(encode(sha256(convert_to(address || ' ' || medium || ' ' || ",
            $pepper,
            ", 'UTF8')), 'base64'), '='), '+/', '-_')"
        )
    };
}

/// One rotation batch in one statement, per slot ([`by_slot!`]): the first `$2` rows in key
/// order (`FIRST`), or the first `$4` after the key `($2, $3)` (`AFTER`), hashed with `$1`;
/// answers how many, and the last key. The rows are updated as the key range up to the
/// batch's last key, which the advisory lock keeps other writers out of; the bound is a
/// scalar subquery so that it is part of the primary key's index condition (joined, it was a
/// filter on a scan to the end of the table, and a rotation quadratic).
macro_rules! rehash_batch {
    ($after:literal, $limit:literal, $lower:literal) => {
        by_slot!(
            "WITH batch AS (SELECT medium, address FROM associations ",
            $after,
            " ORDER BY medium, address LIMIT ",
            $limit,
            "), last AS (SELECT medium AS last_medium, address AS last_address FROM batch \
             ORDER BY medium DESC, address DESC LIMIT 1), \
             done AS (UPDATE associations SET ",
            HASH,
            " = ",
            { sql_lookup_hash!("$1") },
            " WHERE ",
            $lower,
            "(medium, address) <= \
             ((SELECT last_medium FROM last), (SELECT last_address FROM last)) RETURNING 1) \
             SELECT (SELECT count(*) FROM done) AS rehashed, last_medium, last_address \
             FROM (SELECT 1) AS one LEFT JOIN last ON TRUE"
        )
    };
}
const REHASH_FIRST: [&str; 2] = rehash_batch!("", "$2", "");
pub(super) const REHASH_AFTER: [&str; 2] = rehash_batch!(
    "WHERE (medium, address) > ($2, $3)",
    "$4",
    "(medium, address) > ($2, $3) AND "
);
/// Every row's hash in one column (a pepper's creation).
const REHASH_ALL: [&str; 2] = by_slot!("UPDATE associations SET ", HASH, " = ", {
    sql_lookup_hash!("$1")
});

/// v2 lookup in one statement (one snapshot: the pepper check and the matches agree): whether
/// `$2` is the current pepper and, if it is, the matches of `$1` in the current column, as two
/// arrays. One branch per column, each naming its column (so each can search that column's
/// index), of which the current one's runs: the other's condition on `p.slot` is false before
/// any row is read (a one-time filter in the plan).
pub(super) const SQL_LOOKUP_HASHES: &str = "SELECT p.pepper = $2 AS current, \
     coalesce(m.hashes, '{}') AS hashes, coalesce(m.mxids, '{}') AS mxids \
     FROM lookup_pepper AS p LEFT JOIN LATERAL ( \
     SELECT array_agg(h.lookup_hash ORDER BY h.lookup_hash, h.mxid) AS hashes, \
     array_agg(h.mxid ORDER BY h.lookup_hash, h.mxid) AS mxids FROM ( \
     SELECT a.lookup_hash_0 AS lookup_hash, a.mxid FROM associations AS a \
     WHERE p.pepper = $2 AND p.slot = 0 AND a.lookup_hash_0 = ANY($1) \
     UNION ALL \
     SELECT a.lookup_hash_1 AS lookup_hash, a.mxid FROM associations AS a \
     WHERE p.pepper = $2 AND p.slot = 1 AND a.lookup_hash_1 = ANY($1)) AS h) AS m ON TRUE \
     WHERE p.id = 1";

impl PostgresStore {
    /// Reads every lookup hash and owner, and the log position they reflect, in one snapshot.
    pub(super) async fn load_index(&self) -> StoreResult<(LookupIndex, i64)> {
        let mut tx = self.tx().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let seq: i64 = sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM association_changes")
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let state = pepper_state::<Self>(&mut tx).await?;
        let index = fill_index::<Self>(&mut tx, state).await?;
        tx.commit().await.map_err(db_err)?;
        Ok((index, seq))
    }

    /// Rebuilds the index from the database (if there is one), or drops it if that fails.
    async fn reload_index(&self) {
        if self.index_ref().is_none() {
            return;
        }
        let loaded = self.load_index().await;
        let mut guard = self.index_mut();
        match loaded {
            Ok((index, seq)) => {
                *guard = Some(index);
                drop(guard);
                self.inner
                    .applied
                    .store(seq, std::sync::atomic::Ordering::Release);
            }
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "the in-memory lookup index could not be reloaded; lookups now query PostgreSQL"
                );
                *guard = None;
            }
        }
    }

    /// How many association changes other instances (or this one) committed that this
    /// instance's index has not applied yet: the newest `seq` minus the applied one (an
    /// index-only read of the log's key). `None` without an index: nothing follows the log.
    pub(super) async fn change_log_lag(&self) -> StoreResult<Option<u64>> {
        if self.index_ref().is_none() {
            return Ok(None);
        }
        let newest: i64 =
            sqlx::query_scalar("SELECT coalesce(max(seq), 0) FROM association_changes")
                .fetch_one(self.pool()?)
                .await
                .map_err(db_err)?;
        let applied = self
            .inner
            .applied
            .load(std::sync::atomic::Ordering::Acquire);
        Ok(Some(
            u64::try_from(newest.saturating_sub(applied)).unwrap_or(0),
        ))
    }

    /// Applies the log rows committed since the last ones applied (by any instance, this one
    /// included: re-applying its own change is idempotent), in `seq` order.
    pub(super) async fn follow_changes(&self) -> StoreResult<()> {
        use std::sync::atomic::Ordering;
        let _guard = self.inner.index_writes.lock().await;
        if self.index_ref().is_none() {
            return Ok(());
        }
        loop {
            let applied = self.inner.applied.load(Ordering::Acquire);
            let pruned: i64 =
                sqlx::query_scalar("SELECT upto FROM association_changes_pruned WHERE id = 1")
                    .fetch_one(self.pool()?)
                    .await
                    .map_err(db_err)?;
            if pruned > applied {
                self.reload_index().await;
                return Ok(());
            }
            let rows = sqlx::query(
                "SELECT seq, lookup_hash, mxid, ts, not_before, not_after, reload \
                 FROM association_changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(applied)
            .bind(BATCH)
            .fetch_all(self.pool()?)
            .await
            .map_err(db_err)?;
            let Some(last) = rows.last() else {
                return Ok(());
            };
            let last: i64 = last.try_get("seq").map_err(db_err)?;
            let mut reload = false;
            for row in &rows {
                let change = (|| {
                    Ok::<_, sqlx::Error>((
                        row.try_get::<bool, _>("reload")?,
                        row.try_get::<Option<String>, _>("lookup_hash")?,
                        row.try_get::<Option<String>, _>("mxid")?,
                        row.try_get::<Option<i64>, _>("ts")?,
                        row.try_get::<Option<i64>, _>("not_before")?,
                        row.try_get::<Option<i64>, _>("not_after")?,
                    ))
                })()
                .map_err(|_| StoreError::Corrupt("association_changes"))?;
                match change {
                    (true, ..) => reload = true,
                    (
                        false,
                        Some(hash),
                        Some(mxid),
                        Some(ts),
                        Some(not_before),
                        Some(not_after),
                    ) => {
                        let times = Times {
                            ts,
                            not_before,
                            not_after,
                        };
                        self.update_index(|index| index.insert(&hash, &mxid, times));
                    }
                    (false, Some(hash), None, ..) => self.update_index(|index| {
                        index.remove(&hash);
                        Ok(())
                    }),
                    _ => return Err(StoreError::Corrupt("association_changes")),
                }
            }
            if reload {
                self.reload_index().await;
                return Ok(());
            }
            self.inner.applied.store(last, Ordering::Release);
            if i64::try_from(rows.len()).unwrap_or(i64::MAX) < BATCH {
                return Ok(());
            }
        }
    }

    /// Commits, then applies the change (logged as `seq`) to this instance's index at once
    /// (read-your-writes); the poller applies it again in log order, which leaves the same
    /// state. Unless the poller got there first: between the commit and taking the index
    /// lock, another instance may commit a later change to the same hash and this poller
    /// apply both; applying ours again then would undo the later one for good (two racing
    /// binds of one address left an instance answering the loser). A commit that failed with
    /// an unknown outcome is found in the log by the poller.
    async fn commit_and_apply(
        &self,
        tx: Transaction<'static, Postgres>,
        seq: i64,
        change: impl FnOnce(&mut LookupIndex) -> Result<(), IndexFull>,
    ) -> StoreResult<()> {
        tx.commit().await.map_err(db_err)?;
        let _guard = self.inner.index_writes.lock().await;
        // The poller applies whole batches under this lock, in order: if it has applied our
        // change, it has applied everything before the ones it stopped at too.
        if self
            .inner
            .applied
            .load(std::sync::atomic::Ordering::Acquire)
            < seq
        {
            self.update_index(change);
        }
        Ok(())
    }

    /// Logs a reload marker (every hash changed) and prunes the log, in `tx`.
    async fn log_reload(tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
        sqlx::query("INSERT INTO association_changes (reload) VALUES (TRUE)")
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        Self::prune_log(tx).await
    }

    /// Deletes log rows more than [`LOG_KEPT`] behind the newest, noting how far it pruned.
    async fn prune_log(tx: &mut Transaction<'static, Postgres>) -> StoreResult<()> {
        let upto: Option<i64> = sqlx::query_scalar(
            "WITH cut AS (SELECT max(seq) - $1 AS upto FROM association_changes) \
             DELETE FROM association_changes WHERE seq <= (SELECT upto FROM cut) RETURNING seq",
        )
        .bind(LOG_KEPT)
        .fetch_all(&mut **tx)
        .await
        .map_err(db_err)?
        .into_iter()
        .max();
        if let Some(upto) = upto {
            sqlx::query(
                "UPDATE association_changes_pruned SET upto = greatest(upto, $1) WHERE id = 1",
            )
            .bind(upto)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        }
        Ok(())
    }

    /// Rebuilds this instance's index after a change of every hash made here.
    async fn reload_after_rehash(&self) {
        let _guard = self.inner.index_writes.lock().await;
        self.reload_index().await;
    }

    /// Logs `change` in `tx` (for the other instances) and commits; applies it here.
    async fn log_and_commit(
        &self,
        mut tx: Transaction<'static, Postgres>,
        change: Change<'_>,
    ) -> StoreResult<()> {
        let seq: i64 = match &change {
            // A rotation's batches fill the column no index reads (see the module's text).
            Change::None | Change::RotationStarted { .. } | Change::NextHashed { .. } => {
                return tx.commit().await.map_err(db_err);
            }
            Change::PepperSeen | Change::Rehashed | Change::Switched { .. } => {
                if matches!(change, Change::Rehashed | Change::Switched { .. }) {
                    Self::log_reload(&mut tx).await?;
                }
                tx.commit().await.map_err(db_err)?;
                self.reload_after_rehash().await;
                return Ok(());
            }
            Change::Bound {
                hash, association, ..
            } => sqlx::query_scalar(
                "INSERT INTO association_changes (lookup_hash, mxid, ts, not_before, not_after) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING seq",
            )
            .bind(hash)
            .bind(association.mxid.as_str())
            .bind(association.ts.as_millis())
            .bind(association.not_before.as_millis())
            .bind(association.not_after.as_millis()),
            Change::Unbound { hash, .. } => sqlx::query_scalar(
                "INSERT INTO association_changes (lookup_hash) VALUES ($1) RETURNING seq",
            )
            .bind(hash),
            // One log row per hash; the last one's number stands for all (they commit together).
            Change::UnboundAll { hashes, .. } => sqlx::query_scalar(
                "WITH logged AS (INSERT INTO association_changes (lookup_hash) \
                 SELECT unnest($1::text[]) RETURNING seq) SELECT max(seq) FROM logged",
            )
            .bind(*hashes),
        }
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        if seq % PRUNE_EVERY == 0 {
            Self::prune_log(&mut tx).await?;
        }
        self.commit_and_apply(tx, seq, |index| change.apply(index))
            .await
    }
}

impl AssociationSql for PostgresStore {
    const INDEX_KNOWS_THE_PEPPER: bool = false;
    const INDEX_SIZE: [&'static str; 2] = by_slot!(
        "SELECT count(*) AS count, \
         coalesce(sum(octet_length(split_part(mxid, ':', 1)) + 1), 0)::BIGINT AS name_bytes \
         FROM associations WHERE ",
        HASH,
        " IS NOT NULL"
    );
    const INDEX_BATCH: i64 = BATCH;
    const NAME: &'static str = "PostgreSQL";

    type Order<'a> = ();

    /// Holds the association write lock until the transaction ends.
    async fn begin_association_write(&self) -> StoreResult<((), Transaction<'static, Postgres>)> {
        let mut tx = self.tx().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(ASSOCIATION_WRITES.0)
            .bind(ASSOCIATION_WRITES.1)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(((), tx))
    }

    async fn commit_change(
        &self,
        tx: Transaction<'static, Postgres>,
        change: Change<'_>,
    ) -> StoreResult<()> {
        self.log_and_commit(tx, change).await
    }

    /// In one statement (the hash computed in SQL).
    async fn rehash_all(
        tx: &mut Transaction<'static, Postgres>,
        slot: Slot,
        pepper: &str,
    ) -> StoreResult<u64> {
        let done = sqlx::query(REHASH_ALL[slot.index()])
            .bind(pepper)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    /// In one statement (the hashes computed in SQL); no entries (see `Batch::entries`).
    async fn rehash_batch(
        tx: &mut Transaction<'static, Postgres>,
        slot: Slot,
        pepper: &str,
        after: Option<&(String, String)>,
        limit: i64,
    ) -> StoreResult<Batch> {
        let query = match after {
            None => sqlx::query(REHASH_FIRST[slot.index()])
                .bind(pepper)
                .bind(limit),
            Some((medium, address)) => sqlx::query(REHASH_AFTER[slot.index()])
                .bind(pepper)
                .bind(medium)
                .bind(address)
                .bind(limit),
        };
        let row = query.fetch_one(&mut **tx).await.map_err(db_err)?;
        let corrupt = |_| StoreError::Corrupt("associations");
        let rehashed: i64 = row.try_get("rehashed").map_err(corrupt)?;
        let last_medium: Option<String> = row.try_get("last_medium").map_err(corrupt)?;
        let last_address: Option<String> = row.try_get("last_address").map_err(corrupt)?;
        Ok(Batch {
            rehashed: u64::try_from(rehashed).unwrap_or(0),
            last: last_medium.zip(last_address),
            entries: Vec::new(),
        })
    }

    async fn association_rows(&self, threepids: &[Threepid]) -> StoreResult<Vec<PgRow>> {
        let threepids = threepids.iter().filter(|t| storable(&t.address));
        let (media, addresses): (Vec<&str>, Vec<&str>) = threepids
            .map(|t| (t.medium.as_str(), t.address.as_str()))
            .unzip();
        sqlx::query(
            "SELECT medium, address, mxid, ts, not_before, not_after FROM associations \
             WHERE (medium, address) IN (SELECT * FROM unnest($1::text[], $2::text[])) \
             ORDER BY medium, address",
        )
        .bind(&media)
        .bind(&addresses)
        .fetch_all(self.pool()?)
        .await
        .map_err(db_err)
    }

    async fn lookup_hashes_sql(
        &self,
        pepper: &str,
        hashes: Vec<String>,
    ) -> StoreResult<Option<Vec<HashMatch>>> {
        let hashes: Vec<String> = hashes.into_iter().filter(|h| storable(h)).collect();
        let Some(row) = sqlx::query(SQL_LOOKUP_HASHES)
            .bind(&hashes)
            .bind(pepper)
            .fetch_optional(self.pool()?)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        if !row.try_get::<bool, _>("current").map_err(db_err)? {
            return Ok(None);
        }
        let found_hashes: Vec<String> = row.try_get("hashes").map_err(db_err)?;
        let mxids: Vec<String> = row.try_get("mxids").map_err(db_err)?;
        let mut found: Vec<HashMatch> = found_hashes
            .into_iter()
            .zip(mxids)
            .map(|(lookup_hash, mxid)| HashMatch { lookup_hash, mxid })
            .collect();
        found.dedup_by(|a, b| a.lookup_hash == b.lookup_hash);
        Ok(Some(found))
    }

    fn index_cell(&self) -> &RwLock<Option<LookupIndex>> {
        &self.inner.index
    }
}
