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

use std::path::Path;
use std::sync::Arc;
use std::sync::RwLock;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};

use super::lookup_index::LookupIndex;
use super::sql::Backend;
use super::sql::associations::AssociationSql as _;
use super::{Store, StoreError, StoreReadings, StoreResult};

mod accounts;
mod associations;
mod import;
mod invites;
mod sessions;

use super::token_cache::TokenCache;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/sqlite");

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
    /// While a pepper rotation runs: the index under the next pepper, which becomes `index` at
    /// the switch (`store/sqlite/associations.rs`). Changed under `association_writes`.
    next_index: Arc<std::sync::Mutex<Option<LookupIndex>>>,
    /// Held by every write that changes associations or the pepper, from `BEGIN` until the
    /// index has applied it: commits and index updates happen in the same order.
    association_writes: Arc<tokio::sync::Mutex<()>>,
    /// Whether any signed association was imported: v1 lookups only ask for one then.
    imported_signatures: Arc<AtomicBool>,
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
            next_index: Arc::default(),
            association_writes: Arc::default(),
            imported_signatures: Arc::default(),
        };
        store.note_imported_signatures().await?;
        if options.lookup_index {
            let started = crate::clock::monotonic_now();
            let index = store.load_index().await?;
            tracing::info!(
                hashes = index.len(),
                kib = index.heap_bytes() / 1024,
                ms = crate::clock::monotonic_now()
                    .saturating_sub(started)
                    .as_millis(),
                "v2 lookup hashes loaded into memory"
            );
            *store.index_mut() = Some(index);
        }
        Ok(store)
    }

    /// Closes both pools, waiting for running queries. Later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    pub(super) async fn write_tx(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(db_err)
    }
}

impl Backend for SqliteStore {
    type Db = Sqlite;

    fn reads(&self) -> StoreResult<&SqlitePool> {
        Ok(&self.reader)
    }

    fn writes(&self) -> StoreResult<&SqlitePool> {
        Ok(&self.writer)
    }

    fn pools(&self) -> Vec<(&'static str, &SqlitePool)> {
        vec![("reader", &self.reader), ("writer", &self.writer)]
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.write_tx().await
    }

    fn bind_list<'q>(
        query: Query<'q, Sqlite, SqliteArguments>,
        items: &[String],
    ) -> StoreResult<Query<'q, Sqlite, SqliteArguments>> {
        Ok(query.bind(json_array(items)?))
    }

    fn db_err(e: sqlx::Error) -> StoreError {
        db_err(e)
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

fn json_array<T: serde::Serialize>(items: &[T]) -> StoreResult<String> {
    serde_json::to_string(items).map_err(|e| StoreError::Database(Box::new(e)))
}

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

    async fn readings(&self, now: crate::domain::Timestamp) -> StoreReadings {
        super::sql::readings(self, now).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::{AccountStore as _, conformance};

    pub(super) async fn open_temp() -> (tempfile::TempDir, SqliteStore) {
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

    pub(super) fn without_index() -> SqliteOptions {
        SqliteOptions {
            lookup_index: false,
            ..SqliteOptions::default()
        }
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

    #[tokio::test]
    async fn a_rotation_stopped_half_way_is_completed_after_a_restart() {
        for options in [SqliteOptions::default(), without_index()] {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("oxident.db");
            let store = SqliteStore::open_with(&path, options.clone())
                .await
                .expect("opens");
            conformance::rotation_stopped_half_way(&store).await;
            store.close().await;
            drop(store);
            let reopened = SqliteStore::open_with(&path, options)
                .await
                .expect("reopens");
            conformance::rotation_completed_after_restart(&reopened).await;
            reopened.close().await;
        }
    }

    /// A database written before the second lookup hash column (migration 7) keeps its pepper
    /// and hashes: they become slot 0's, found through the index and through SQL, and the
    /// next rotation covers its rows.
    #[tokio::test]
    async fn a_database_from_before_the_hash_slots_migrates() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("oxident.db");
        let old = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .expect("connects");
        MIGRATOR.run_to(6, &old).await.expect("migrates to 6");
        let hash = conformance::migrated_hash();
        for statement in [
            format!(
                "INSERT INTO lookup_pepper (id, pepper) VALUES (1, '{}')",
                conformance::MIGRATED_PEPPER
            ),
            format!(
                "INSERT INTO associations (medium, address, mxid, ts, not_before, not_after, \
                 lookup_hash) VALUES ('email', '{}', '@old:hs', 1, 1, 2, '{hash}')",
                conformance::MIGRATED_ADDRESS
            ),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(&old)
                .await
                .expect("old rows");
        }
        old.close().await;
        for options in [SqliteOptions::default(), without_index()] {
            let store = SqliteStore::open_with(&path, options).await.expect("opens");
            conformance::migrated_row_is_found(&store).await;
            store.close().await;
        }
        let store = SqliteStore::open(&path).await.expect("opens");
        conformance::migrated_row_is_rotated(&store).await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_never_see_busy() {
        let (_dir, store) = open_temp().await;
        conformance::concurrent_writes(Arc::new(store.clone())).await;
        store.close().await;
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let (dir, store) = open_temp().await;
        store
            .create_access_token(
                "t",
                &crate::domain::UserId::parse("@u:hs").expect("a user ID"),
                crate::domain::Timestamp::from_millis(1),
            )
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
