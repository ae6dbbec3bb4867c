//! The SQLite backend.
//!
//! Connection setup ([`SqliteStore::open`]):
//! * **WAL** journal: readers never block the writer nor each other.
//! * **`synchronous = FULL`**: in WAL mode each commit is fsynced before it returns. With
//!   `NORMAL`, a power loss or OS crash can roll back the last commits *after* the client was
//!   told they succeeded (a bind, an invite, an accepted token) — this server must not lose
//!   anything it acknowledged, and its write rate is small, so the fsync per commit is cheap.
//! * **Two pools**: one writer connection and a few readers (`query_only`, one per core
//!   between 2 and 4, with a 2 MiB page cache each). Writers queue
//!   in the pool, in order, instead of spinning on SQLite's lock, so `SQLITE_BUSY` does not
//!   surface under write concurrency; write transactions also start with `BEGIN IMMEDIATE`
//!   (no read-to-write lock upgrade, which `busy_timeout` cannot rescue). A `busy_timeout`
//!   still covers other processes (backups, the sqlite3 shell).
//! * `foreign_keys = ON`; embedded migrations from `src/store/migrations/sqlite`.
//! * No ping before handing out a pooled connection (`test_before_acquire(false)`): an SQLite
//!   connection is an open file in this process and cannot go stale like a network socket,
//!   and sqlx's ping is a round trip to the connection's worker thread on every query.
//! * Access-token owners are cached in memory ([`TokenCache`]), so authenticated requests
//!   do not query the database each time; logout through this store invalidates at once.
//! * Every association is kept in memory by its lookup hash ([`LookupIndex`], unless
//!   [`SqliteOptions::lookup_index`] is off): loaded at open, changed after each commit that
//!   changes associations, under a lock that serialises those writes so the index applies
//!   them in commit order. The database stays the truth: if the index cannot follow (a failed
//!   commit whose outcome is unknown, an arena too large), it is dropped and lookups go to
//!   SQL. Both v2 (hashed) and v1 (clear-text, hashed here) lookups are answered from it.
//!
//! Only runtime `sqlx::query` is used — no compile-time checked macros, so building needs no
//! database. Batched lookups pass the keys as one JSON array and expand it with `json_each`,
//! so the SQL text is static and there is one round trip per call.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Connection as _, Row as _, Sqlite, Transaction};

use super::lookup_index::{IndexFull, LookupIndex, Times};
use super::{
    AccessTokenOwner, Association, EphemeralKey, HashMatch, Invite, NewEphemeralKey, NewInvite,
    NewSession, PendingDelivery, SessionRequest, SessionRequestOutcome, Store, StoreError,
    StoreResult, Threepid, ValidationSession,
};
use crate::crypto::SecretString;
use crate::crypto::b64;
use crate::crypto::hashing::lookup_hash;
use crate::crypto::tokens::{access_token_digest, access_token_sha256};

mod import;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

/// Rows rehashed per statement batch during a pepper change.
const REHASH_BATCH: i64 = 1000;

/// Page cache of each reader connection, as SQLite's `cache_size` (negative: KiB): SQLite's
/// default of 2 MiB, stated. v2 lookups are answered from the in-memory index, so readers
/// serve point reads (v1 lookups, sessions, invites), for which the upper B-tree pages are
/// what matters. Before the index, 1000-hash lookups in SQL ran best with one larger cache
/// per connection (2 × 4 MiB; docs/benchmarks.md); with the index off, that is still the
/// trade to consider.
const READER_CACHE_SIZE: &str = "-2048";

/// Reader connections by default: one per core the process may run on, at least 2 (so one
/// long read does not hold up the others) and at most 4. Reads of cached pages are CPU-bound,
/// so connections beyond the core count only add page caches (memory) and worker threads.
fn default_readers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    u32::try_from(cores).unwrap_or(u32::MAX).clamp(2, 4)
}

/// Tuning for [`SqliteStore::open_with`].
#[derive(Debug, Clone)]
pub struct SqliteOptions {
    /// Reader connections (WAL lets them run in parallel with the writer). Default: one per
    /// available core, between 2 and 4.
    pub readers: u32,
    /// How long a connection waits for a lock held by another process before failing.
    pub busy_timeout: Duration,
    /// How long a caller waits for a free connection before failing with `Unavailable`.
    pub acquire_timeout: Duration,
    /// Keep the v2 lookup hashes in memory (~60 bytes per association) rather than asking
    /// SQLite for each. Default: on.
    pub lookup_index: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            readers: default_readers(),
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
            lookup_index: true,
        }
    }
}

/// [`Store`] on one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
    /// For short-lived connections of their own (loading the lookup index).
    connect: SqliteConnectOptions,
    tokens: Arc<TokenCache>,
    /// `None` inside: no index (switched off, or dropped after it could not follow a write).
    index: Arc<RwLock<Option<LookupIndex>>>,
    /// Held by every write that changes associations or the pepper, from `BEGIN` until the
    /// index has applied it: commits and index updates happen in the same order.
    association_writes: Arc<tokio::sync::Mutex<()>>,
    /// Whether any signed association was imported: v1 lookups only ask for one then.
    imported_signatures: Arc<AtomicBool>,
}

/// Entries kept by [`TokenCache`] before it starts over.
const TOKEN_CACHE_CAPACITY: usize = 4096;
/// How long a cached token owner is believed without asking the database again. Bounds how
/// long a token deleted by *another* process (the sqlite3 shell, a second server on the same
/// file) stays usable here; logout through this store takes effect immediately.
const TOKEN_CACHE_TTL: Duration = Duration::from_secs(60);

/// Owners of recently presented access tokens, keyed by token digest (the cache holds no
/// token). Bounded: when full it is cleared, which costs one query per token afterwards.
/// Only found tokens are cached, so random tokens cannot fill it with misses.
///
/// A lookup that races with a deletion must not re-insert the deleted token: every deletion
/// bumps `generation`, and a lookup only caches its result if no deletion happened since it
/// started reading.
#[derive(Debug, Default)]
struct TokenCache {
    generation: AtomicU64,
    /// Keyed by the token's raw SHA-256 (the stored digest before encoding).
    entries: Mutex<HashMap<[u8; 32], (AccessTokenOwner, Duration), DigestHash>>,
}

/// Hashes a SHA-256 digest by taking 8 of its bytes: digests are uniform already, and SipHash
/// over 32 bytes was a tenth of an authenticated lookup's own work. Not a way in for hash
/// flooding: only tokens this server issued are ever inserted, and a digest cannot be chosen
/// without inverting SHA-256 — a probe with any other costs at most the probe length the
/// stored ones make.
#[derive(Debug, Default, Clone, Copy)]
struct DigestHash;

impl std::hash::BuildHasher for DigestHash {
    type Hasher = DigestHasher;

    fn build_hasher(&self) -> DigestHasher {
        DigestHasher(0)
    }
}

/// See [`DigestHash`]. A `[u8; 32]` hashes as its length, then its bytes.
#[derive(Debug)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut word = [0u8; 8];
        let n = bytes.len().min(8);
        word[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(word);
    }

    fn write_usize(&mut self, _length: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

impl TokenCache {
    fn get(&self, digest: &[u8; 32]) -> Option<AccessTokenOwner> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let (owner, cached_at) = entries.get(digest)?;
        (crate::clock::monotonic_now().saturating_sub(*cached_at) < TOKEN_CACHE_TTL)
            .then(|| owner.clone())
    }

    /// Caches `owner` unless a deletion happened after `generation` was read.
    fn insert(&self, generation: u64, digest: [u8; 32], owner: AccessTokenOwner) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if self.generation.load(Ordering::Acquire) != generation {
            return;
        }
        if entries.len() >= TOKEN_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(digest, (owner, crate::clock::monotonic_now()));
    }

    /// Forgets `digest`; called after the row was deleted.
    fn remove(&self, digest: &[u8; 32]) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.remove(digest);
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    pub async fn open(path: impl AsRef<Path>) -> StoreResult<Self> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    pub async fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> StoreResult<Self> {
        create_private_file(path.as_ref())?;
        let connect = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(true);

        // The writer connection stays open for the life of the store.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(unavailable)?;
        MIGRATOR.run(&writer).await.map_err(unavailable)?;

        let connect = connect
            .create_if_missing(false)
            .pragma("query_only", "ON")
            .pragma("cache_size", READER_CACHE_SIZE);
        let reader = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .max_connections(options.readers.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(unavailable)?;
        let store = Self {
            writer,
            reader,
            connect,
            tokens: Arc::default(),
            index: Arc::default(),
            association_writes: Arc::default(),
            imported_signatures: Arc::default(),
        };
        store.note_imported_signatures().await?;
        if options.lookup_index {
            let index = store.load_index().await?;
            tracing::info!(
                hashes = index.len(),
                kib = index.heap_bytes() / 1024,
                "v2 lookup hashes loaded into memory"
            );
            *store.index_mut() = Some(index);
        }
        Ok(store)
    }

    /// Reads every association's lookup hash and owner, in one snapshot, a batch at a time
    /// along the covering index (no row list of the whole table in memory at once), on a
    /// connection of its own with a small page cache: through a pooled reader, the scan would
    /// leave that reader's whole cache filled with index pages nobody reads again.
    async fn load_index(&self) -> StoreResult<LookupIndex> {
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

    async fn load_index_on(conn: &mut sqlx::SqliteConnection) -> StoreResult<LookupIndex> {
        let mut tx = conn.begin().await.map_err(db_err)?;
        let pepper = current_pepper(&mut tx).await?;
        let (count, name_bytes): (i64, i64) = sqlx::query_as(
            "SELECT count(*), coalesce(sum(instr(CAST(mxid AS BLOB), ':')), 0) \
             FROM associations WHERE lookup_hash IS NOT NULL",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_err)?;
        let mut index = LookupIndex::with_capacity(
            pepper,
            usize::try_from(count).unwrap_or(0),
            usize::try_from(name_bytes).unwrap_or(0),
        );
        let mut after = String::new();
        loop {
            let rows: Vec<(String, String, i64, i64, i64)> = sqlx::query_as(
                "SELECT lookup_hash, mxid, ts, not_before, not_after FROM associations \
                 WHERE lookup_hash > ?1 ORDER BY lookup_hash LIMIT ?2",
            )
            .bind(&after)
            .bind(REHASH_BATCH)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
            let Some((last, ..)) = rows.last() else {
                break;
            };
            after.clone_from(last);
            for (hash, mxid, ts, not_before, not_after) in &rows {
                let times = Times {
                    ts: *ts,
                    not_before: *not_before,
                    not_after: *not_after,
                };
                index
                    .insert(hash, mxid, times)
                    .map_err(|_| StoreError::Corrupt("lookup index: too many associations"))?;
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(index)
    }

    fn index_ref(&self) -> std::sync::RwLockReadGuard<'_, Option<LookupIndex>> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    fn index_mut(&self) -> std::sync::RwLockWriteGuard<'_, Option<LookupIndex>> {
        self.index.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies a committed change to the index; drops the index if it cannot.
    fn update_index(&self, change: impl FnOnce(&mut LookupIndex) -> Result<(), IndexFull>) {
        let mut guard = self.index_mut();
        if let Some(index) = guard.as_mut()
            && change(index).is_err()
        {
            tracing::warn!("the in-memory lookup index was dropped; lookups now query SQLite");
            *guard = None;
        }
    }

    /// After a commit that failed with an unknown outcome, or changed every hash: reloads the
    /// index from the database (if there is one), or drops it if that fails.
    async fn reload_index(&self) {
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
    async fn commit_associations(&self, tx: Transaction<'static, Sqlite>) -> StoreResult<()> {
        match tx.commit().await {
            Ok(()) => Ok(()),
            Err(e) => {
                self.reload_index().await;
                Err(db_err(e))
            }
        }
    }

    /// Number of entries in the in-memory lookup index, `None` without one (tests).
    #[cfg(test)]
    pub(crate) fn indexed_hashes(&self) -> Option<usize> {
        self.index_ref().as_ref().map(LookupIndex::len)
    }

    /// Closes both pools, waiting for running queries. Later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }

    /// `EXPLAIN QUERY PLAN` rows of the two batched lookups (for index tests).
    #[cfg(test)]
    pub(crate) async fn lookup_query_plans(&self) -> StoreResult<(Vec<String>, Vec<String>)> {
        let mut plans = Vec::new();
        for (sql, params) in [(SQL_LOOKUP_HASHES, 2), (SQL_GET_ASSOCIATIONS, 1)] {
            let mut query =
                sqlx::query(sqlx::AssertSqlSafe(format!("EXPLAIN QUERY PLAN {sql}"))).bind("[]");
            if params == 2 {
                query = query.bind("");
            }
            let rows = query.fetch_all(&self.reader).await.map_err(db_err)?;
            let mut details = Vec::new();
            for row in rows {
                details.push(row.try_get::<String, _>("detail").map_err(db_err)?);
            }
            plans.push(details);
        }
        let associations = plans.pop().unwrap_or_default();
        let hashes = plans.pop().unwrap_or_default();
        Ok((hashes, associations))
    }
}

/// Creates the database file with mode 0600 if it does not exist yet: it holds client
/// secrets, session tokens and ephemeral private keys. SQLite gives the `-wal` and `-shm`
/// files the same permissions as the database file. An empty file is a valid empty database.
fn create_private_file(path: &Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and row decoding
// ---------------------------------------------------------------------------------------------

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict("unique key exists")
        }
        // SQLITE_BUSY (5) and SQLITE_LOCKED (6), with extended codes in the high bits.
        sqlx::Error::Database(d)
            if d.code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6)) =>
        {
            StoreError::Unavailable(Box::new(e))
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(Box::new(e))
        }
        _ => StoreError::Database(Box::new(e)),
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

fn json_array<T: serde::Serialize>(items: &[T]) -> StoreResult<String> {
    serde_json::to_string(items).map_err(|e| StoreError::Database(Box::new(e)))
}

/// The columns [`session_from_row`] reads (a macro so SQL strings stay `&'static str`).
macro_rules! session_select {
    () => {
        "SELECT sid, medium, address, client_secret, token, send_attempt, next_link, \
         created_ms, modified_ms, validated_ms, failed_submits FROM validation_sessions "
    };
}

fn session_from_row(row: &SqliteRow) -> StoreResult<ValidationSession> {
    (|| {
        Ok::<_, sqlx::Error>(ValidationSession {
            sid: row.try_get("sid")?,
            medium: row.try_get("medium")?,
            address: row.try_get("address")?,
            client_secret: row.try_get("client_secret")?,
            token: row.try_get("token")?,
            send_attempt: row.try_get("send_attempt")?,
            next_link: row.try_get("next_link")?,
            created_ms: row.try_get("created_ms")?,
            modified_ms: row.try_get("modified_ms")?,
            validated_ms: row.try_get("validated_ms")?,
            failed_submits: row.try_get("failed_submits")?,
        })
    })()
    .map_err(|_| StoreError::Corrupt("validation_sessions"))
}

fn association_from_row(row: &SqliteRow) -> StoreResult<Association> {
    (|| {
        Ok::<_, sqlx::Error>(Association {
            medium: row.try_get("medium")?,
            address: row.try_get("address")?,
            mxid: row.try_get("mxid")?,
            ts: row.try_get("ts")?,
            not_before: row.try_get("not_before")?,
            not_after: row.try_get("not_after")?,
        })
    })()
    .map_err(|_| StoreError::Corrupt("associations"))
}

/// Columns of `invites i JOIN ephemeral_keys e`, as read by [`invite_from_row`].
macro_rules! invite_columns {
    () => {
        "SELECT i.token, i.medium, i.address, i.room_id, i.sender, i.params, i.created_ms, \
         i.delivered_ms, i.delivery_attempts, i.next_attempt_ms, e.public_key, e.private_key, \
         e.created_ms AS key_created_ms, e.expires_ms AS key_expires_ms "
    };
}
macro_rules! invite_from {
    () => {
        "FROM invites AS i JOIN ephemeral_keys AS e ON e.invite_token = i.token "
    };
}
macro_rules! invite_select {
    () => {
        concat!(invite_columns!(), invite_from!())
    };
}

fn invite_from_row(row: &SqliteRow) -> StoreResult<Invite> {
    let corrupt = |_| StoreError::Corrupt("invites");
    let params: String = row.try_get("params").map_err(corrupt)?;
    let params =
        serde_json::from_str(&params).map_err(|_| StoreError::Corrupt("invites.params"))?;
    let private_key: Option<String> = row.try_get("private_key").map_err(corrupt)?;
    Ok(Invite {
        token: row.try_get("token").map_err(corrupt)?,
        medium: row.try_get("medium").map_err(corrupt)?,
        address: row.try_get("address").map_err(corrupt)?,
        room_id: row.try_get("room_id").map_err(corrupt)?,
        sender: row.try_get("sender").map_err(corrupt)?,
        params,
        created_ms: row.try_get("created_ms").map_err(corrupt)?,
        delivered_ms: row.try_get("delivered_ms").map_err(corrupt)?,
        delivery_attempts: row.try_get("delivery_attempts").map_err(corrupt)?,
        next_attempt_ms: row.try_get("next_attempt_ms").map_err(corrupt)?,
        ephemeral_key: EphemeralKey {
            public_key: row.try_get("public_key").map_err(corrupt)?,
            private_key: private_key.map(SecretString::from),
            created_ms: row.try_get("key_created_ms").map_err(corrupt)?,
            expires_ms: row.try_get("key_expires_ms").map_err(corrupt)?,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// SQL
// ---------------------------------------------------------------------------------------------

/// v2 lookup in one statement, hence one snapshot: no row if there is no pepper; else
/// whether `?2` is the current pepper and, only if it is, the matches of the hashes in the
/// JSON array `?1` (sorted, distinct) as one JSON array of `[hash, mxid]` pairs, in the
/// order of `?1`.
/// * One row instead of one per match: sqlx hands every row over from its worker thread
///   separately.
/// * `json_each CROSS JOIN associations` walks the (sorted) hashes and searches the
///   covering index `associations_lookup_hash (lookup_hash, mxid)` for each; `IN (SELECT
///   ...)` would first build and sort a temporary index of the hashes.
const SQL_LOOKUP_HASHES: &str = "SELECT p.pepper = ?2 AS current, \
     CASE WHEN p.pepper = ?2 THEN ( \
     SELECT json_group_array(json_array(associations.lookup_hash, associations.mxid)) \
     FROM json_each(?1) CROSS JOIN associations \
     ON associations.lookup_hash = json_each.value) END AS matches \
     FROM lookup_pepper AS p WHERE p.id = 1";

const SQL_GET_ASSOCIATIONS: &str = "SELECT medium, address, mxid, ts, not_before, not_after \
     FROM associations WHERE (medium, address) IN \
     (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)) \
     ORDER BY medium, address";

/// Recomputes every association's lookup hash with `pepper`, in the caller's transaction,
/// in key order, [`REHASH_BATCH`] rows at a time (bounded memory). Returns the row count.
async fn rehash_all(tx: &mut Transaction<'static, Sqlite>, pepper: &str) -> StoreResult<u64> {
    let mut done = 0u64;
    let mut after: Option<(String, String)> = None;
    loop {
        let rows =
            match &after {
                None => sqlx::query(
                    "SELECT medium, address FROM associations ORDER BY medium, address LIMIT ?1",
                )
                .bind(REHASH_BATCH)
                .fetch_all(&mut **tx)
                .await,
                Some((medium, address)) => sqlx::query(
                    "SELECT medium, address FROM associations WHERE (medium, address) > (?1, ?2) \
                     ORDER BY medium, address LIMIT ?3",
                )
                .bind(medium)
                .bind(address)
                .bind(REHASH_BATCH)
                .fetch_all(&mut **tx)
                .await,
            }
            .map_err(db_err)?;
        if rows.is_empty() {
            return Ok(done);
        }
        let mut last = None;
        for row in &rows {
            let medium: String = row.try_get("medium").map_err(db_err)?;
            let address: String = row.try_get("address").map_err(db_err)?;
            sqlx::query(
                "UPDATE associations SET lookup_hash = ?1 WHERE medium = ?2 AND address = ?3",
            )
            .bind(lookup_hash(&address, &medium, pepper))
            .bind(&medium)
            .bind(&address)
            .execute(&mut **tx)
            .await
            .map_err(db_err)?;
            done += 1;
            last = Some((medium, address));
        }
        after = last;
    }
}

async fn current_pepper(conn: &mut sqlx::SqliteConnection) -> StoreResult<Option<String>> {
    sqlx::query_scalar::<_, String>("SELECT pepper FROM lookup_pepper WHERE id = 1")
        .fetch_optional(conn)
        .await
        .map_err(db_err)
}

// ---------------------------------------------------------------------------------------------
// The trait
// ---------------------------------------------------------------------------------------------

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(db_err)?;
        sqlx::query("SELECT 1")
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn request_session(
        &self,
        candidate: &NewSession,
        stale_before_ms: i64,
        now_ms: i64,
    ) -> StoreResult<SessionRequest> {
        let mut tx = self.write_tx().await?;
        let existing = sqlx::query(concat!(
            session_select!(),
            "WHERE medium = ?1 AND address = ?2 AND client_secret = ?3"
        ))
        .bind(&candidate.medium)
        .bind(&candidate.address)
        .bind(&candidate.client_secret)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|row| session_from_row(&row))
        .transpose()?;

        let result = match existing {
            Some(mut session) if session.modified_ms >= stale_before_ms => {
                if candidate.send_attempt > session.send_attempt {
                    sqlx::query(
                        "UPDATE validation_sessions SET send_attempt = ?1, modified_ms = ?2, \
                         next_link = COALESCE(?3, next_link) WHERE sid = ?4",
                    )
                    .bind(candidate.send_attempt)
                    .bind(now_ms)
                    .bind(&candidate.next_link)
                    .bind(&session.sid)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
                    session.send_attempt = candidate.send_attempt;
                    session.modified_ms = now_ms;
                    if candidate.next_link.is_some() {
                        session.next_link.clone_from(&candidate.next_link);
                    }
                    SessionRequest {
                        session,
                        outcome: SessionRequestOutcome::Resend,
                    }
                } else {
                    SessionRequest {
                        session,
                        outcome: SessionRequestOutcome::Unchanged,
                    }
                }
            }
            stale => {
                if let Some(stale) = stale {
                    sqlx::query("DELETE FROM validation_sessions WHERE sid = ?1")
                        .bind(&stale.sid)
                        .execute(&mut *tx)
                        .await
                        .map_err(db_err)?;
                }
                sqlx::query(
                    "INSERT INTO validation_sessions (sid, medium, address, client_secret, token, \
                     send_attempt, next_link, created_ms, modified_ms, validated_ms, failed_submits) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, NULL, 0)",
                )
                .bind(&candidate.sid)
                .bind(&candidate.medium)
                .bind(&candidate.address)
                .bind(&candidate.client_secret)
                .bind(&candidate.token)
                .bind(candidate.send_attempt)
                .bind(&candidate.next_link)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .map_err(|e| match db_err(e) {
                    StoreError::Conflict(_) => StoreError::Conflict("session id exists"),
                    other => other,
                })?;
                SessionRequest {
                    session: ValidationSession {
                        sid: candidate.sid.clone(),
                        medium: candidate.medium.clone(),
                        address: candidate.address.clone(),
                        client_secret: candidate.client_secret.clone(),
                        token: candidate.token.clone(),
                        send_attempt: candidate.send_attempt,
                        next_link: candidate.next_link.clone(),
                        created_ms: now_ms,
                        modified_ms: now_ms,
                        validated_ms: None,
                        failed_submits: 0,
                    },
                    outcome: SessionRequestOutcome::Created,
                }
            }
        };
        tx.commit().await.map_err(db_err)?;
        Ok(result)
    }

    async fn get_session(&self, sid: &str) -> StoreResult<Option<ValidationSession>> {
        sqlx::query(concat!(session_select!(), "WHERE sid = ?1"))
            .bind(sid)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|row| session_from_row(&row))
            .transpose()
    }

    async fn find_session(
        &self,
        medium: &str,
        address: &str,
        client_secret: &str,
    ) -> StoreResult<Option<ValidationSession>> {
        sqlx::query(concat!(
            session_select!(),
            "WHERE medium = ?1 AND address = ?2 AND client_secret = ?3"
        ))
        .bind(medium)
        .bind(address)
        .bind(client_secret)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .map(|row| session_from_row(&row))
        .transpose()
    }

    async fn mark_session_validated(
        &self,
        sid: &str,
        now_ms: i64,
        max_failures: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE validation_sessions SET validated_ms = COALESCE(validated_ms, ?1), \
             modified_ms = ?1 WHERE sid = ?2 AND failed_submits < ?3",
        )
        .bind(now_ms)
        .bind(sid)
        .bind(max_failures)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_failed_submit(&self, sid: &str, max_failures: i64) -> StoreResult<Option<i64>> {
        sqlx::query_scalar::<_, i64>(
            "UPDATE validation_sessions SET failed_submits = failed_submits + 1 \
             WHERE sid = ?1 AND failed_submits < ?2 RETURNING failed_submits",
        )
        .bind(sid)
        .bind(max_failures)
        .fetch_optional(&self.writer)
        .await
        .map_err(db_err)
    }

    async fn delete_sessions_modified_before(&self, cutoff_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query("DELETE FROM validation_sessions WHERE modified_ms < ?1")
            .bind(cutoff_ms)
            .execute(&self.writer)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn bind(&self, association: &Association) -> StoreResult<Option<Association>> {
        let _order = self.association_writes.lock().await;
        let mut tx = self.write_tx().await?;
        let pepper = current_pepper(&mut tx).await?;
        let previous = sqlx::query(
            "SELECT medium, address, mxid, ts, not_before, not_after FROM associations \
             WHERE medium = ?1 AND address = ?2",
        )
        .bind(&association.medium)
        .bind(&association.address)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?
        .map(|row| association_from_row(&row))
        .transpose()?;
        let hash = pepper
            .as_deref()
            .map(|p| lookup_hash(&association.address, &association.medium, p));
        sqlx::query(
            "INSERT INTO associations (medium, address, mxid, ts, not_before, not_after, lookup_hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (medium, address) DO UPDATE SET mxid = excluded.mxid, ts = excluded.ts, \
             not_before = excluded.not_before, not_after = excluded.not_after, \
             lookup_hash = excluded.lookup_hash",
        )
        .bind(&association.medium)
        .bind(&association.address)
        .bind(&association.mxid)
        .bind(association.ts)
        .bind(association.not_before)
        .bind(association.not_after)
        .bind(&hash)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        self.commit_associations(tx).await?;
        if let Some(hash) = &hash {
            let times = Times::of(association);
            self.update_index(|index| index.insert(hash, &association.mxid, times));
        }
        Ok(previous)
    }

    async fn unbind(&self, threepid: &Threepid, mxid: &str) -> StoreResult<bool> {
        let _order = self.association_writes.lock().await;
        let mut tx = self.write_tx().await?;
        let removed: Option<Option<String>> = sqlx::query_scalar(
            "DELETE FROM associations WHERE medium = ?1 AND address = ?2 AND mxid = ?3 \
             RETURNING lookup_hash",
        )
        .bind(&threepid.medium)
        .bind(&threepid.address)
        .bind(mxid)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        self.commit_associations(tx).await?;
        if let Some(Some(hash)) = &removed {
            self.update_index(|index| {
                index.remove(hash);
                Ok(())
            });
        }
        Ok(removed.is_some())
    }

    async fn get_association(&self, threepid: &Threepid) -> StoreResult<Option<Association>> {
        if let Some(answer) = self
            .index_ref()
            .as_ref()
            .and_then(|i| i.association(threepid))
        {
            return Ok(answer);
        }
        sqlx::query(
            "SELECT medium, address, mxid, ts, not_before, not_after FROM associations \
             WHERE medium = ?1 AND address = ?2",
        )
        .bind(&threepid.medium)
        .bind(&threepid.address)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?
        .map(|row| association_from_row(&row))
        .transpose()
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
            // The order and distinctness the statement below gives.
            let mut found: Vec<Association> = answers.into_iter().flatten().collect();
            fn key(a: &Association) -> (&str, &str) {
                (&a.medium, &a.address)
            }
            if !found.is_sorted_by(|a, b| key(a) < key(b)) {
                found.sort_by(|a, b| key(a).cmp(&key(b)));
                found.dedup_by(|a, b| a.medium == b.medium && a.address == b.address);
            }
            return Ok(found);
        }
        let pairs: Vec<[&str; 2]> = threepids
            .iter()
            .map(|t| [t.medium.as_str(), t.address.as_str()])
            .collect();
        let rows = sqlx::query(SQL_GET_ASSOCIATIONS)
            .bind(json_array(&pairs)?)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?;
        rows.iter().map(association_from_row).collect()
    }

    async fn lookup_hashes(
        &self,
        pepper: &str,
        hashes: Vec<String>,
    ) -> StoreResult<Option<Vec<HashMatch>>> {
        if let Some(index) = self.index_ref().as_ref() {
            if index.pepper() != Some(pepper) {
                return Ok(None);
            }
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
        // Sorted and distinct, as the statement expects (callers usually send them so).
        let mut keys: Vec<&str> = hashes.iter().map(String::as_str).collect();
        if !keys.is_sorted_by(|a, b| a < b) {
            keys.sort_unstable();
            keys.dedup();
        }
        // One statement: the pepper check and the lookup see the same snapshot.
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

    async fn lookup_pepper(&self) -> StoreResult<Option<String>> {
        if let Some(index) = self.index_ref().as_ref() {
            return Ok(index.pepper().map(str::to_owned));
        }
        sqlx::query_scalar::<_, String>("SELECT pepper FROM lookup_pepper WHERE id = 1")
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)
    }

    async fn get_or_create_lookup_pepper(&self, candidate: &str) -> StoreResult<String> {
        if let Some(pepper) = self.lookup_pepper().await? {
            return Ok(pepper);
        }
        let _order = self.association_writes.lock().await;
        let mut tx = self.write_tx().await?;
        let inserted = sqlx::query(
            "INSERT INTO lookup_pepper (id, pepper) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING",
        )
        .bind(candidate)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?
        .rows_affected()
            == 1;
        if inserted {
            rehash_all(&mut tx, candidate).await?;
        }
        let pepper = current_pepper(&mut tx)
            .await?
            .ok_or(StoreError::Corrupt("lookup_pepper"))?;
        self.commit_associations(tx).await?;
        if inserted {
            self.reload_index().await;
        }
        Ok(pepper)
    }

    async fn rotate_lookup_pepper(&self, new_pepper: &str) -> StoreResult<u64> {
        let _order = self.association_writes.lock().await;
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO lookup_pepper (id, pepper) VALUES (1, ?1) \
             ON CONFLICT (id) DO UPDATE SET pepper = excluded.pepper",
        )
        .bind(new_pepper)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let rehashed = rehash_all(&mut tx, new_pepper).await?;
        self.commit_associations(tx).await?;
        self.reload_index().await;
        Ok(rehashed)
    }

    async fn store_invite(
        &self,
        invite: &NewInvite,
        key: &NewEphemeralKey,
        now_ms: i64,
    ) -> StoreResult<()> {
        let params =
            serde_json::to_string(&invite.params).map_err(|e| StoreError::Database(Box::new(e)))?;
        let conflict = |e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict("invite token or ephemeral key exists"),
            other => other,
        };
        let mut tx = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO invites (token, medium, address, room_id, sender, params, created_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .bind(&invite.token)
        .bind(&invite.medium)
        .bind(&invite.address)
        .bind(&invite.room_id)
        .bind(&invite.sender)
        .bind(params)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        sqlx::query(
            "INSERT INTO ephemeral_keys (public_key, invite_token, private_key, created_ms, expires_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&key.public_key)
        .bind(&invite.token)
        .bind(key.private_key.as_ref().map(SecretString::expose))
        .bind(now_ms)
        .bind(key.expires_ms)
        .execute(&mut *tx)
        .await
        .map_err(conflict)?;
        tx.commit().await.map_err(db_err)
    }

    async fn get_invite(&self, token: &str) -> StoreResult<Option<Invite>> {
        sqlx::query(concat!(invite_select!(), "WHERE i.token = ?1"))
            .bind(token)
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .map(|row| invite_from_row(&row))
            .transpose()
    }

    async fn undelivered_invites(&self, threepid: &Threepid) -> StoreResult<Vec<Invite>> {
        let rows = sqlx::query(concat!(
            invite_select!(),
            "WHERE i.medium = ?1 AND i.address = ?2 AND i.delivered_ms IS NULL \
             ORDER BY i.created_ms, i.token"
        ))
        .bind(&threepid.medium)
        .bind(&threepid.address)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter().map(invite_from_row).collect()
    }

    async fn pending_deliveries(
        &self,
        now_ms: i64,
        limit: u32,
    ) -> StoreResult<Vec<PendingDelivery>> {
        let rows = sqlx::query(concat!(
            invite_columns!(),
            ", a.mxid ",
            invite_from!(),
            "JOIN associations AS a ON a.medium = i.medium AND a.address = i.address \
             WHERE i.delivered_ms IS NULL \
             AND (i.next_attempt_ms IS NULL OR i.next_attempt_ms <= ?1) \
             ORDER BY i.created_ms, i.token LIMIT ?2"
        ))
        .bind(now_ms)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)?;
        rows.iter()
            .map(|row| {
                Ok(PendingDelivery {
                    invite: invite_from_row(row)?,
                    mxid: row.try_get("mxid").map_err(db_err)?,
                })
            })
            .collect()
    }

    async fn mark_invites_delivered(&self, tokens: &[String], now_ms: i64) -> StoreResult<u64> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE invites SET delivered_ms = ?1 \
             WHERE delivered_ms IS NULL AND token IN (SELECT value FROM json_each(?2))",
        )
        .bind(now_ms)
        .bind(json_array(tokens)?)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn record_delivery_failure(
        &self,
        tokens: &[String],
        next_attempt_ms: i64,
    ) -> StoreResult<u64> {
        if tokens.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(
            "UPDATE invites SET delivery_attempts = delivery_attempts + 1, next_attempt_ms = ?1 \
             WHERE delivered_ms IS NULL AND token IN (SELECT value FROM json_each(?2))",
        )
        .bind(next_attempt_ms)
        .bind(json_array(tokens)?)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn is_ephemeral_key_valid(&self, public_key: &str, now_ms: i64) -> StoreResult<bool> {
        let found = sqlx::query_scalar::<_, i64>(
            "SELECT 1 FROM ephemeral_keys WHERE public_key = ?1 \
             AND (expires_ms IS NULL OR expires_ms > ?2) \
             UNION ALL SELECT 1 FROM unowned_ephemeral_keys WHERE public_key = ?1 LIMIT 1",
        )
        .bind(public_key)
        .bind(now_ms)
        .fetch_optional(&self.reader)
        .await
        .map_err(db_err)?;
        Ok(found.is_some())
    }

    async fn create_access_token(
        &self,
        token: &str,
        user_id: &str,
        now_ms: i64,
    ) -> StoreResult<()> {
        let mut tx = self.write_tx().await?;
        sqlx::query("INSERT INTO accounts (user_id, created_ms) VALUES (?1, ?2) ON CONFLICT (user_id) DO NOTHING")
            .bind(user_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO access_tokens (token_hash, user_id, created_ms) VALUES (?1, ?2, ?3)",
        )
        .bind(access_token_digest(token))
        .bind(user_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| match db_err(e) {
            StoreError::Conflict(_) => StoreError::Conflict("access token exists"),
            other => other,
        })?;
        tx.commit().await.map_err(db_err)
    }

    async fn access_token_owner(&self, token: &str) -> StoreResult<Option<AccessTokenOwner>> {
        let raw = access_token_sha256(token);
        if let Some(owner) = self.tokens.get(&raw) {
            return Ok(Some(owner));
        }
        let digest = b64::encode_url_safe(&raw);
        let generation = self.tokens.generation.load(Ordering::Acquire);
        let row =
            sqlx::query("SELECT user_id, created_ms FROM access_tokens WHERE token_hash = ?1")
                .bind(&digest)
                .fetch_optional(&self.reader)
                .await
                .map_err(db_err)?;
        let owner = row
            .map(|row| {
                Ok(AccessTokenOwner {
                    user_id: row.try_get("user_id").map_err(db_err)?,
                    created_ms: row.try_get("created_ms").map_err(db_err)?,
                })
            })
            .transpose()?;
        if let Some(owner) = &owner {
            self.tokens.insert(generation, raw, owner.clone());
        }
        Ok(owner)
    }

    async fn delete_access_token(&self, token: &str) -> StoreResult<bool> {
        let digest = access_token_digest(token);
        let done = sqlx::query("DELETE FROM access_tokens WHERE token_hash = ?1")
            .bind(&digest)
            .execute(&self.writer)
            .await;
        // Forget it even if the DELETE failed: the next request asks the database.
        self.tokens.remove(&access_token_sha256(token));
        Ok(done.map_err(db_err)?.rows_affected() == 1)
    }

    async fn accept_terms(&self, user_id: &str, urls: &[String], now_ms: i64) -> StoreResult<()> {
        if urls.is_empty() {
            return Ok(());
        }
        // One statement, so all URLs land or none; `WHERE true` disambiguates the upsert.
        sqlx::query(
            "INSERT INTO accepted_terms (user_id, url, accepted_ms) \
             SELECT ?1, value, ?2 FROM json_each(?3) WHERE true \
             ON CONFLICT (user_id, url) DO NOTHING",
        )
        .bind(user_id)
        .bind(now_ms)
        .bind(json_array(urls)?)
        .execute(&self.writer)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn original_signed_association(
        &self,
        association: &Association,
    ) -> StoreResult<Option<String>> {
        if !self.imported_signatures.load(Ordering::Acquire) {
            return Ok(None);
        }
        self.imported_signed_association(
            &association.medium,
            &association.address,
            &association.mxid,
            association.ts,
        )
        .await
    }

    async fn accepted_terms(&self, user_id: &str) -> StoreResult<Vec<String>> {
        sqlx::query_scalar::<_, String>(
            "SELECT url FROM accepted_terms WHERE user_id = ?1 ORDER BY url",
        )
        .bind(user_id)
        .fetch_all(&self.reader)
        .await
        .map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

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

    use super::*;
    use crate::store::conformance;

    async fn open_temp() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("oxident.db"))
            .await
            .expect("opens");
        (dir, store)
    }

    #[tokio::test]
    async fn conformance_suite() {
        let (_dir, store) = open_temp().await;
        conformance::run_all(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn conformance_suite_without_lookup_index() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open_with(dir.path().join("oxident.db"), without_index())
            .await
            .expect("opens");
        assert_eq!(store.indexed_hashes(), None);
        conformance::run_all(&store).await;
        store.close().await;
    }

    fn without_index() -> SqliteOptions {
        SqliteOptions {
            lookup_index: false,
            ..SqliteOptions::default()
        }
    }

    fn association(i: usize, mxid: &str) -> Association {
        Association {
            medium: "email".into(),
            address: format!("u{i}@example.org"),
            mxid: mxid.into(),
            // Distinct per association and per binding: the index must keep each exactly.
            ts: 1_700_000_000_000 + i64::try_from(i * 7 + mxid.len()).expect("small"),
            not_before: 1_700_000_000_000 - i64::try_from(i).expect("small"),
            not_after: i64::MAX - i64::try_from(i % 3).expect("small"),
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
            .map(|i| Threepid::new("email", format!("u{i}@example.org")))
            .chain([Threepid::new("msisdn", "u0@example.org")])
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
                            &Threepid::new("email", format!("u{i}@example.org")),
                            &format!("@a{i}:hs"),
                        )
                        .await
                        .expect("unbind");
                }
                2 => {
                    store
                        .unbind(
                            &Threepid::new("email", format!("u{i}@example.org")),
                            "@someone-else:hs",
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
                                .unbind(&Threepid::new("email", format!("u{i}@example.org")), &mxid)
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
    async fn everything_survives_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oxident.db");
        let store = SqliteStore::open(&path).await.expect("opens");
        conformance::write_every_kind(&store).await;
        store.close().await;
        drop(store);

        let reopened = SqliteStore::open(&path)
            .await
            .expect("reopens (migrations are idempotent)");
        conformance::check_every_kind(&reopened).await;
        reopened.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_never_see_busy() {
        let (_dir, store) = open_temp().await;
        conformance::concurrent_writes(Arc::new(store.clone())).await;
        store.close().await;
    }

    #[test]
    fn token_cache_does_not_resurrect_a_deleted_token() {
        let cache = TokenCache::default();
        let owner = AccessTokenOwner {
            user_id: "@u:hs".into(),
            created_ms: 1,
        };
        // A lookup reads the generation, then a logout deletes the token before the lookup
        // caches what it read: the stale result is not cached.
        let generation = cache.generation.load(Ordering::Acquire);
        let d = [7u8; 32];
        cache.remove(&d);
        cache.insert(generation, d, owner.clone());
        assert_eq!(cache.get(&d), None);
        let generation = cache.generation.load(Ordering::Acquire);
        cache.insert(generation, d, owner.clone());
        assert_eq!(cache.get(&d), Some(owner.clone()));
        cache.remove(&d);
        assert_eq!(cache.get(&d), None);
        // Digests alike in the bytes the table hashes are still told apart.
        let mut twin = d;
        twin[31] = 8;
        let other = AccessTokenOwner {
            user_id: "@v:hs".into(),
            created_ms: 2,
        };
        let generation = cache.generation.load(Ordering::Acquire);
        cache.insert(generation, d, owner.clone());
        cache.insert(generation, twin, other.clone());
        assert_eq!(cache.get(&d), Some(owner));
        assert_eq!(cache.get(&twin), Some(other));
    }

    #[tokio::test]
    async fn cached_token_owner_is_forgotten_on_logout() {
        let (_dir, store) = open_temp().await;
        store
            .create_access_token("t", "@u:hs", 1)
            .await
            .expect("create");
        assert!(
            store
                .access_token_owner("t")
                .await
                .expect("owner")
                .is_some()
        );
        assert!(
            store
                .access_token_owner("t")
                .await
                .expect("cached")
                .is_some()
        );
        assert!(store.delete_access_token("t").await.expect("logout"));
        assert_eq!(store.access_token_owner("t").await.expect("owner"), None);
        store.close().await;
    }

    #[tokio::test]
    async fn batched_lookups_use_indexes() {
        let (_dir, store) = open_temp().await;
        let (hashes, associations) = store.lookup_query_plans().await.expect("plans");
        let scans = |plan: &[String]| plan.iter().any(|d| d.starts_with("SCAN associations"));
        assert!(
            !scans(&hashes),
            "v2 lookup must not scan associations: {hashes:?}"
        );
        assert!(
            hashes
                .iter()
                .any(|d| d.contains("associations_lookup_hash")),
            "v2 lookup uses the lookup_hash index: {hashes:?}"
        );
        assert!(
            !scans(&associations),
            "bulk lookup must not scan associations: {associations:?}"
        );
        store.close().await;
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let (dir, store) = open_temp().await;
        store
            .create_access_token("t", "@u:hs", 1)
            .await
            .expect("write");
        for name in ["oxident.db", "oxident.db-wal", "oxident.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .expect(name)
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        store.close().await;
    }

    #[tokio::test]
    async fn opening_a_corrupt_file_is_unavailable_not_a_panic() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("not-a-db");
        std::fs::write(
            &path,
            b"this is not a database, just some text that is long enough",
        )
        .expect("write");
        assert!(matches!(
            SqliteStore::open(&path).await,
            Err(StoreError::Unavailable(_))
        ));
    }

    #[tokio::test]
    async fn pragmas_are_applied() {
        let (_dir, store) = open_temp().await;
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&store.writer)
            .await
            .expect("pragma");
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&store.writer)
            .await
            .expect("pragma");
        let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&store.reader)
            .await
            .expect("pragma");
        assert_eq!(
            (journal.as_str(), sync, fk),
            ("wal", 2, 1),
            "WAL, synchronous=FULL, foreign keys"
        );
        // Readers cannot write.
        assert!(
            sqlx::query("DELETE FROM accounts")
                .execute(&store.reader)
                .await
                .is_err()
        );
        store.ping().await.expect("ping");
        store.close().await;
        assert!(
            matches!(store.ping().await, Err(StoreError::Unavailable(_))),
            "closed"
        );
    }
}
