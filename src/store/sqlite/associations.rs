//! [`AssociationStore`](crate::store::AssociationStore) on SQLite: the shared operations
//! (`store/sql/associations.rs`) with this dialect's batched statements (keys as one JSON
//! array expanded by `json_each`), and the upkeep of the in-memory lookup index: loaded at
//! open, changed after each commit that changes associations (in commit order: one writer
//! at a time holds `association_writes`), reloaded when a commit's outcome is unknown or
//! every hash changed.
//!
//! During a pepper rotation a second index, under the next pepper, is built as the rotation
//! goes (each batch's rows, and every bind, unbind and erasure meanwhile, under the same
//! lock) and becomes the index at the switch: one process makes every change, so it is
//! complete then, and the switch does not hold the write lock for a reload of the whole table.
//! It costs a second index's memory while the rotation runs. Without it (the rotation was
//! begun by another process, or it was dropped: an unknown commit outcome, an import, an
//! arena too large) the switch reloads the index instead, as every pepper change once did.

use std::sync::RwLock;
use std::sync::atomic::Ordering;

use sqlx::sqlite::SqliteRow;
use sqlx::{ConnectOptions as _, Connection as _, Row as _, Sqlite, Transaction};

use super::{SqliteStore, db_err, json_array, unavailable};
use crate::crypto::hashing::lookup_hash;
use crate::store::lookup_index::{IndexFull, LookupIndex, Times};
use crate::store::sql::associations::{
    AssociationSql, Batch, Change, Hashed, Slot, by_slot, fill_index, pepper_state,
};
use crate::store::{Association, HashMatch, StoreError, StoreResult, Threepid};

/// Rows hashed per statement while a pepper's creation hashes every association.
const REHASH_BATCH: i64 = 1000;

/// A rotation batch's rows, in primary-key order: the first ones, and those after `($1, $2)`.
const BATCH_FIRST: &str = "SELECT medium, address, mxid, ts, not_before, not_after \
     FROM associations ORDER BY medium, address LIMIT $1";
const BATCH_AFTER: &str = "SELECT medium, address, mxid, ts, not_before, not_after \
     FROM associations WHERE (medium, address) > ($1, $2) ORDER BY medium, address LIMIT $3";
/// The batch's hashes in one column, in one statement: `$1` is a JSON array of
/// `[medium, address, hash]`, each row found by its primary key (a statement per row cost a
/// round trip to the connection's thread each, most of a batch's time).
const SET_HASHES: [&str; 2] = by_slot!(
    "UPDATE associations SET ",
    HASH,
    " = json_extract(j.value, '$[2]') FROM json_each($1) AS j \
     WHERE associations.medium = json_extract(j.value, '$[0]') \
     AND associations.address = json_extract(j.value, '$[1]')"
);

impl SqliteStore {
    /// Reads every association's lookup hash and owner, in one snapshot, on a connection of
    /// its own with a small page cache: through a pooled reader, the scan would leave that
    /// reader's whole cache filled with index pages nobody reads again.
    pub(super) async fn load_index(&self) -> StoreResult<LookupIndex> {
        let mut conn = self
            .connect
            .clone()
            .pragma("cache_size", "-256")
            .connect()
            .await
            .map_err(unavailable)?;
        let index = Self::load_index_on(&mut conn).await;
        conn.close().await.map_err(db_err)?;
        index
    }

    pub(super) async fn load_index_on(
        conn: &mut sqlx::SqliteConnection,
    ) -> StoreResult<LookupIndex> {
        let mut tx = conn.begin().await.map_err(db_err)?;
        let state = pepper_state::<Self>(&mut tx).await?;
        let index = fill_index::<Self>(&mut tx, state).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(index)
    }

    /// After a commit that failed with an unknown outcome, or changed every hash: reloads the
    /// index from the database (if there is one), or drops it if that fails. The index a
    /// rotation builds is dropped too (it may have missed the change; the switch reloads).
    pub(super) async fn reload_index(&self) {
        *self.next_index_mut() = None;
        if self.index_ref().is_none() {
            return;
        }
        let loaded = self.load_index().await;
        let mut guard = self.index_mut();
        match loaded {
            Ok(index) => *guard = Some(index),
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "the in-memory lookup index could not be reloaded; lookups now query SQLite"
                );
                *guard = None;
            }
        }
    }

    /// Commits `tx`; if the commit fails, the index is reloaded (the outcome is unknown).
    pub(super) async fn commit_associations(
        &self,
        tx: Transaction<'static, Sqlite>,
    ) -> StoreResult<()> {
        match tx.commit().await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.reload_index().await;
                Err(db_err(e))
            }
        }
    }

    fn next_index_mut(&self) -> std::sync::MutexGuard<'_, Option<LookupIndex>> {
        self.next_index.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A rotation to `pepper` began: an empty index under it, which its batches and every
    /// association write fill until the switch (none without an index).
    fn begin_next_index(&self, pepper: &str) {
        let size = self.index_ref().as_ref().map(LookupIndex::len);
        *self.next_index_mut() =
            size.map(|count| LookupIndex::with_capacity(Some(pepper.to_owned()), count, 0));
    }

    /// Applies a committed change to the index a rotation builds; drops it if it cannot.
    fn update_next_index(&self, change: impl FnOnce(&mut LookupIndex) -> Result<(), IndexFull>) {
        let mut guard = self.next_index_mut();
        if let Some(next) = guard.as_mut()
            && change(next).is_err()
        {
            tracing::warn!(
                "the lookup index being built for the new pepper was dropped; \
                 the switch reloads the index instead"
            );
            *guard = None;
        }
    }

    /// At the switch to `pepper`: the index built during the rotation becomes the index, or,
    /// without one, the index is reloaded.
    async fn switch_index(&self, pepper: &str) {
        let next = self.next_index_mut().take();
        match next {
            Some(next) if next.pepper() == Some(pepper) => {
                let mut index = self.index_mut();
                if index.is_some() {
                    *index = Some(next);
                }
            }
            _ => self.reload_index().await,
        }
    }

    /// Number of entries in the index a rotation builds, `None` without one (tests).
    #[cfg(test)]
    pub(crate) fn next_indexed_hashes(&self) -> Option<usize> {
        self.next_index_mut().as_ref().map(LookupIndex::len)
    }

    /// Number of entries in the in-memory lookup index, `None` without one (tests).
    #[cfg(test)]
    pub(crate) fn indexed_hashes(&self) -> Option<usize> {
        self.index_ref().as_ref().map(LookupIndex::len)
    }

    /// `EXPLAIN QUERY PLAN` rows of `sql` with `params` (for index tests).
    #[cfg(test)]
    pub(crate) async fn query_plan(&self, sql: &str, params: usize) -> StoreResult<Vec<String>> {
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}")));
        for _ in 0..params {
            query = query.bind("[]");
        }
        let rows = query.fetch_all(&self.reader).await.map_err(db_err)?;
        rows.iter()
            .map(|row| row.try_get::<String, _>("detail").map_err(db_err))
            .collect()
    }
}

/// v2 lookup in one statement, hence one snapshot: no row if there is no pepper; else
/// whether `$2` is the current pepper and, only if it is, the matches of the hashes in the
/// JSON array `$1` (sorted, distinct) in the current column (`slot`) as one JSON array of
/// `[hash, mxid]` pairs, in the order of `$1`.
/// * One subquery per column, each naming its column (so each searches its column's index),
///   of which `CASE` runs the current one only.
/// * One row instead of one per match: sqlx hands every row over from its worker thread
///   separately.
/// * `json_each CROSS JOIN associations` walks the (sorted) hashes and searches the
///   covering index `associations_lookup_hash (lookup_hash_0, mxid)` (or `_1`'s) for each;
///   `IN (SELECT ...)` would first build and sort a temporary index of the hashes.
const SQL_LOOKUP_HASHES: &str = "SELECT p.pepper = $2 AS current, \
     CASE WHEN p.pepper = $2 THEN CASE p.slot WHEN 0 THEN ( \
     SELECT json_group_array(json_array(associations.lookup_hash_0, associations.mxid)) \
     FROM json_each($1) CROSS JOIN associations \
     ON associations.lookup_hash_0 = json_each.value) ELSE ( \
     SELECT json_group_array(json_array(associations.lookup_hash_1, associations.mxid)) \
     FROM json_each($1) CROSS JOIN associations \
     ON associations.lookup_hash_1 = json_each.value) END END AS matches \
     FROM lookup_pepper AS p WHERE p.id = 1";

const SQL_GET_ASSOCIATIONS: &str = "SELECT medium, address, mxid, ts, not_before, not_after \
     FROM associations WHERE (medium, address) IN \
     (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($1)) \
     ORDER BY medium, address";

impl AssociationSql for SqliteStore {
    const INDEX_KNOWS_THE_PEPPER: bool = true;
    const INDEX_SIZE: [&'static str; 2] = by_slot!(
        "SELECT count(*) AS count, coalesce(sum(instr(CAST(mxid AS BLOB), ':')), 0) \
         AS name_bytes FROM associations WHERE ",
        HASH,
        " IS NOT NULL"
    );
    const INDEX_BATCH: i64 = 1000;
    const NAME: &'static str = "SQLite";
    const THREEPID_COPIES: &'static [&'static str] =
        &["DELETE FROM imported_signed_associations WHERE medium = $1 AND address = $2"];

    type Order<'a> = tokio::sync::MutexGuard<'a, ()>;

    async fn begin_association_write(
        &self,
    ) -> StoreResult<(Self::Order<'_>, Transaction<'static, Sqlite>)> {
        let order = self.association_writes.lock().await;
        Ok((order, self.write_tx().await?))
    }

    async fn commit_change(
        &self,
        tx: Transaction<'static, Sqlite>,
        change: Change<'_>,
    ) -> StoreResult<()> {
        self.commit_associations(tx).await?;
        match change {
            Change::None | Change::PepperSeen => {}
            Change::Rehashed => self.reload_index().await,
            Change::RotationStarted { pepper } => self.begin_next_index(pepper),
            Change::Switched { pepper, .. } => {
                self.update_next_index(|next| change.apply_next(next));
                self.switch_index(pepper).await;
            }
            Change::Bound { .. }
            | Change::Unbound { .. }
            | Change::UnboundAll { .. }
            | Change::NextHashed { .. } => {
                self.update_index(|index| change.apply(index));
                self.update_next_index(|next| change.apply_next(next));
            }
        }
        Ok(())
    }

    /// In key order, [`REHASH_BATCH`] rows at a time (bounded memory).
    async fn rehash_all(
        tx: &mut Transaction<'static, Sqlite>,
        slot: Slot,
        pepper: &str,
    ) -> StoreResult<u64> {
        let mut done = 0u64;
        let mut after = None;
        loop {
            let batch = Self::rehash_batch(tx, slot, pepper, after.as_ref(), REHASH_BATCH).await?;
            done += batch.rehashed;
            match batch.last {
                Some(last) => after = Some(last),
                None => return Ok(done),
            }
        }
    }

    /// The hashes computed here (SQLite has no SHA-256 in SQL), written in one statement.
    async fn rehash_batch(
        tx: &mut Transaction<'static, Sqlite>,
        slot: Slot,
        pepper: &str,
        after: Option<&(String, String)>,
        limit: i64,
    ) -> StoreResult<Batch> {
        let rows = match after {
            None => {
                sqlx::query(BATCH_FIRST)
                    .bind(limit)
                    .fetch_all(&mut **tx)
                    .await
            }
            Some((medium, address)) => {
                sqlx::query(BATCH_AFTER)
                    .bind(medium)
                    .bind(address)
                    .bind(limit)
                    .fetch_all(&mut **tx)
                    .await
            }
        }
        .map_err(db_err)?;
        let corrupt = |_| StoreError::Corrupt("associations");
        let mut entries = Vec::with_capacity(rows.len());
        let mut keys = Vec::with_capacity(rows.len());
        for row in &rows {
            let medium: String = row.try_get("medium").map_err(corrupt)?;
            let address: String = row.try_get("address").map_err(corrupt)?;
            let hash = lookup_hash(&address, &medium, pepper);
            entries.push(Hashed {
                hash: hash.clone(),
                mxid: row.try_get("mxid").map_err(corrupt)?,
                times: Times {
                    ts: row.try_get("ts").map_err(corrupt)?,
                    not_before: row.try_get("not_before").map_err(corrupt)?,
                    not_after: row.try_get("not_after").map_err(corrupt)?,
                },
            });
            keys.push([medium, address, hash]);
        }
        if !keys.is_empty() {
            sqlx::query(SET_HASHES[slot.index()])
                .bind(json_array(&keys)?)
                .execute(&mut **tx)
                .await
                .map_err(db_err)?;
        }
        let last = keys.pop().map(|[medium, address, _]| (medium, address));
        Ok(Batch {
            rehashed: entries.len() as u64,
            last,
            entries,
        })
    }

    async fn association_rows(&self, threepids: &[Threepid]) -> StoreResult<Vec<SqliteRow>> {
        let pairs: Vec<[&str; 2]> = threepids
            .iter()
            .map(|t| [t.medium.as_str(), t.address.as_str()])
            .collect();
        sqlx::query(SQL_GET_ASSOCIATIONS)
            .bind(json_array(&pairs)?)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)
    }

    async fn lookup_hashes_sql(
        &self,
        pepper: &str,
        hashes: Vec<String>,
    ) -> StoreResult<Option<Vec<HashMatch>>> {
        // Sorted and distinct, as the statement expects (callers usually send them so).
        let mut keys: Vec<&str> = hashes.iter().map(String::as_str).collect();
        if !keys.is_sorted_by(|a, b| a < b) {
            keys.sort_unstable();
            keys.dedup();
        }
        let Some(row) = sqlx::query(SQL_LOOKUP_HASHES)
            .bind(json_array(&keys)?)
            .bind(pepper)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        if !row.try_get::<bool, _>("current").map_err(db_err)? {
            return Ok(None);
        }
        let matches: &str = row.try_get("matches").map_err(db_err)?;
        let pairs: Vec<(String, String)> = serde_json::from_str(matches)
            .map_err(|_| StoreError::Corrupt("associations.lookup_hash"))?;
        let mut found: Vec<HashMatch> = pairs
            .into_iter()
            .map(|(lookup_hash, mxid)| HashMatch { lookup_hash, mxid })
            .collect();
        // SQLite returns them in index order already; the order is part of the contract.
        if !found.is_sorted_by(|a, b| a.lookup_hash <= b.lookup_hash) {
            found.sort_by(|a, b| a.lookup_hash.cmp(&b.lookup_hash));
        }
        Ok(Some(found))
    }

    /// Imported from sydent (`oxident import-sydent`), looked for only once there were any.
    async fn original_signed(&self, association: &Association) -> StoreResult<Option<String>> {
        if !self.imported_signatures.load(Ordering::Acquire) {
            return Ok(None);
        }
        self.imported_signed_association(association).await
    }

    fn index_cell(&self) -> &RwLock<Option<LookupIndex>> {
        &self.index
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use std::path::Path;

    use super::super::tests::{open_temp, without_index};
    use super::*;
    use crate::domain::{Medium, Timestamp, UserId};
    use crate::store::{AssociationStore as _, Rotation};

    fn association(i: usize, mxid: &str) -> Association {
        let t = Timestamp::from_millis;
        Association {
            medium: Medium::Email,
            address: format!("u{i}@example.org"),
            mxid: UserId::parse(mxid).expect("a user ID"),
            // Distinct per association and per binding: the index must keep each exactly.
            ts: t(1_700_000_000_000 + i64::try_from(i * 7 + mxid.len()).expect("small")),
            not_before: t(1_700_000_000_000 - i64::try_from(i).expect("small")),
            not_after: t(i64::MAX - i64::try_from(i % 3).expect("small")),
        }
    }

    /// Every hash of `0..n` (and some that never existed) answers the same from the index
    /// as from SQL, read by a second store without an index on the same file.
    async fn assert_index_agrees(indexed: &SqliteStore, path: &Path, n: usize) {
        let plain = SqliteStore::open_with(path, without_index())
            .await
            .expect("opens");
        let pepper = plain.lookup_pepper().await.expect("pepper");
        assert_eq!(indexed.lookup_pepper().await.expect("pepper"), pepper);
        let pepper = pepper.expect("a pepper exists");
        let mut hashes: Vec<String> = (0..n + 5)
            .map(|i| lookup_hash(&format!("u{i}@example.org"), "email", &pepper))
            .collect();
        hashes.push("not-a-hash".into());
        hashes.push(hashes[0].clone());
        let from_index = indexed
            .lookup_hashes(&pepper, hashes.clone())
            .await
            .expect("lookup");
        let from_sql = plain
            .lookup_hashes(&pepper, hashes.clone())
            .await
            .expect("lookup");
        assert_eq!(from_index, from_sql);
        // Clear-text (v1) lookups answer from the index too: the same associations, times
        // included, single and batched.
        let threepids: Vec<Threepid> = (0..n + 5)
            .map(|i| Threepid::new(Medium::Email, format!("u{i}@example.org")))
            .chain([Threepid::new(Medium::Msisdn, "u0@example.org")])
            .collect();
        for threepid in &threepids {
            assert_eq!(
                indexed.get_association(threepid).await.expect("get"),
                plain.get_association(threepid).await.expect("get"),
                "{threepid:?}"
            );
        }
        let mut distinct = threepids.clone();
        distinct.sort();
        assert_eq!(
            indexed.get_associations(&distinct).await.expect("get"),
            plain.get_associations(&distinct).await.expect("get")
        );
        let mut shuffled = threepids.clone();
        shuffled.reverse();
        shuffled.push(threepids[0].clone());
        assert_eq!(
            indexed.get_associations(&shuffled).await.expect("get"),
            plain.get_associations(&shuffled).await.expect("get")
        );
        let bound: i64 = sqlx::query_scalar("SELECT count(*) FROM associations")
            .fetch_one(&plain.reader)
            .await
            .expect("count");
        assert_eq!(indexed.indexed_hashes(), usize::try_from(bound).ok());
        assert_eq!(
            indexed
                .lookup_hashes("other", hashes)
                .await
                .expect("lookup"),
            None
        );
        plain.close().await;
    }

    #[tokio::test]
    async fn lookup_index_follows_binds_unbinds_and_pepper_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oxident.db");
        let store = SqliteStore::open(&path).await.expect("opens");
        assert_eq!(store.indexed_hashes(), Some(0));
        // Bindings before any pepper have no hash; creating the pepper hashes them all.
        for i in 0..20 {
            store
                .bind(&association(i, &format!("@a{i}:hs")))
                .await
                .expect("bind");
        }
        assert_eq!(store.indexed_hashes(), Some(0));
        store
            .get_or_create_lookup_pepper("p1")
            .await
            .expect("pepper");
        assert_index_agrees(&store, &path, 40).await;
        // Rebinds replace, unbinds remove (only the owner's), new binds add.
        for i in 0..40 {
            match i % 4 {
                0 => {
                    store
                        .bind(&association(i, &format!("@b{i}:hs")))
                        .await
                        .expect("bind");
                }
                1 => {
                    store
                        .unbind(
                            &Threepid::new(Medium::Email, format!("u{i}@example.org")),
                            &UserId::parse(format!("@a{i}:hs")).expect("a user ID"),
                        )
                        .await
                        .expect("unbind");
                }
                2 => {
                    store
                        .unbind(
                            &Threepid::new(Medium::Email, format!("u{i}@example.org")),
                            &UserId::parse("@someone-else:hs").expect("a user ID"),
                        )
                        .await
                        .expect("unbind");
                }
                _ => {
                    store
                        .bind(&association(i, &format!("@c{i}:hs")))
                        .await
                        .expect("bind");
                }
            }
        }
        assert_index_agrees(&store, &path, 40).await;
        store.rotate_lookup_pepper("p2").await.expect("rotate");
        assert_index_agrees(&store, &path, 40).await;
        store.close().await;
        // After a restart the index is rebuilt from the file.
        let reopened = SqliteStore::open(&path).await.expect("reopens");
        assert_index_agrees(&reopened, &path, 40).await;
        reopened.close().await;
    }

    /// The index a rotation builds under the next pepper is, at the switch, exactly what the
    /// database holds: binds, rebinds, unbinds and an erasure went on during the rotation, on
    /// keys its batches had passed and keys they had not reached.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_index_built_during_a_rotation_is_the_index_after_it() {
        use std::ops::ControlFlow;
        use std::sync::atomic::AtomicU64;

        use crate::store::AdminStore as _;
        use crate::store::admin::Subject;

        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oxident.db");
        let store = SqliteStore::open(&path).await.expect("opens");
        store
            .get_or_create_lookup_pepper("p1")
            .await
            .expect("pepper");
        for i in 0..200 {
            store
                .bind(&association(i, &format!("@a{i}:hs")))
                .await
                .expect("bind");
        }
        let batches = AtomicU64::new(0);
        let progress = |_: u64| {
            batches.fetch_add(1, Ordering::AcqRel);
            ControlFlow::Continue(())
        };
        let rotation = store.rotate_lookup_pepper_with("p2", 9, &progress);
        let writes = async {
            let mut during = None;
            // Keys sort as text: u0, u1, u10, u100, …; writes land before and after the batches.
            for i in (0..220).rev().step_by(7) {
                if during.is_none() {
                    during = store.next_indexed_hashes();
                }
                let threepid = Threepid::new(Medium::Email, format!("u{i}@example.org"));
                match i % 3 {
                    0 => {
                        store
                            .bind(&association(i, &format!("@b{i}:hs")))
                            .await
                            .expect("rebind");
                    }
                    1 => {
                        store
                            .unbind(&threepid, &UserId::parse(format!("@a{i}:hs")).expect("id"))
                            .await
                            .expect("unbind");
                    }
                    _ => {
                        store
                            .erase_subject(&Subject::Threepid(threepid))
                            .await
                            .expect("erase");
                    }
                }
            }
            during
        };
        let (rotated, during) = tokio::join!(rotation, writes);
        assert!(matches!(rotated, Ok(Rotation::Switched(_))), "{rotated:?}");
        assert!(
            during.is_some(),
            "an index under the next pepper was being built during the rotation"
        );
        assert_eq!(store.next_indexed_hashes(), None, "it became the index");
        assert!(batches.load(Ordering::Acquire) > 1);
        assert_index_agrees(&store, &path, 220).await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn lookup_index_applies_concurrent_binds_in_commit_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oxident.db");
        let store = Arc::new(SqliteStore::open(&path).await.expect("opens"));
        store
            .get_or_create_lookup_pepper("p")
            .await
            .expect("pepper");
        let mut tasks = Vec::new();
        for t in 0..16 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                for round in 0..5 {
                    for i in 0..3 {
                        let mxid = format!("@t{t}r{round}:hs");
                        if (t + round) % 3 == 0 {
                            store
                                .unbind(
                                    &Threepid::new(Medium::Email, format!("u{i}@example.org")),
                                    &UserId::parse(mxid.as_str()).expect("a user ID"),
                                )
                                .await
                                .expect("unbind");
                        } else {
                            store.bind(&association(i, &mxid)).await.expect("bind");
                        }
                    }
                }
            }));
        }
        for task in tasks {
            task.await.expect("task");
        }
        assert_index_agrees(&store, &path, 3).await;
        store.close().await;
    }

    #[tokio::test]
    async fn batched_lookups_use_indexes() {
        let (_dir, store) = open_temp().await;
        let plan = |sql: &'static str, params| store.query_plan(sql, params);
        let scans = |plan: &[String]| plan.iter().any(|d| d.starts_with("SCAN associations"));
        let hashes = plan(SQL_LOOKUP_HASHES, 2).await.expect("plan");
        assert!(
            !scans(&hashes),
            "v2 lookup must not scan associations: {hashes:?}"
        );
        for index in ["associations_lookup_hash ", "associations_lookup_hash_1 "] {
            assert!(
                hashes.iter().any(|d| d.contains(index)),
                "v2 lookup searches each column through its index ({index}): {hashes:?}"
            );
        }
        let associations = plan(SQL_GET_ASSOCIATIONS, 1).await.expect("plan");
        assert!(
            !scans(&associations),
            "bulk lookup must not scan associations: {associations:?}"
        );
        store.close().await;
    }

    /// A rotation batch reads and writes its rows through the primary key (never a scan of the
    /// table, which would make a rotation quadratic), and loading the index reads each column
    /// through its index.
    #[tokio::test]
    async fn rotation_batches_and_index_loads_use_indexes() {
        let (_dir, store) = open_temp().await;
        let plan = |sql: &'static str, params| store.query_plan(sql, params);
        let searches = |plan: &[String], how: &str| {
            plan.len() == 1 && plan[0].starts_with("SEARCH associations") && plan[0].contains(how)
        };
        let after = plan(BATCH_AFTER, 3).await.expect("plan");
        assert!(searches(&after, "PRIMARY KEY"), "{after:?}");
        for slot in 0..2 {
            let set = plan(SET_HASHES[slot], 1).await.expect("plan");
            assert!(
                set.len() == 2
                    && set[0].starts_with("SCAN j")
                    && set[1].starts_with("SEARCH associations USING PRIMARY KEY"),
                "{set:?}"
            );
            let fill = plan(crate::store::sql::associations::FILL_INDEX[slot], 2)
                .await
                .expect("plan");
            let index = ["associations_lookup_hash ", "associations_lookup_hash_1 "][slot];
            assert!(searches(&fill, index), "{fill:?}");
        }
        // In key order without sorting: the first batch reads its rows and stops.
        let first = plan(BATCH_FIRST, 1).await.expect("plan");
        assert!(
            first.len() == 1 && first[0].starts_with("SCAN associations"),
            "{first:?}"
        );
        store.close().await;
    }
}
