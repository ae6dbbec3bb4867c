//! The PostgreSQL backend: several Oxident instances on one database.
//!
//! * One pool per instance (`[database] max_connections`); runtime `sqlx::query` only, TLS
//!   through rustls with aws-lc-rs (`sslmode` in the URL).
//! * Writes that change associations or the pepper take one transaction-scoped advisory lock
//!   (cluster-wide, [`ASSOCIATION_WRITES`]) from the start of their transaction to its commit,
//!   so they commit in the order of their `association_changes.seq`. Binds are rare (a human
//!   validates an address first); lookups never take it.
//! * Each instance keeps the in-memory lookup index of the SQLite backend
//!   ([`super::lookup_index`]): loaded at open, changed at once by this instance's own writes,
//!   and following the others' through `association_changes`, polled every
//!   [`PostgresOptions::follow_interval`] (the delay bound, stated in ARCHITECTURE.md).
//! * Invite delivery claims: [`InviteStore::pending_deliveries`](super::InviteStore) takes a
//!   lease on the invites it returns, so two instances' delivery workers never hold the same
//!   invite at once.
//! * Access-token owners are cached for [`PostgresOptions::token_cache_ttl`] (10 s): a logout
//!   holds at once on the instance that handled it, on the others within that time.
//!
//! # Several instances on one database
//!
//! `[database] url = "postgres://…"` selects `PostgresStore` (it wins over `[storage]
//! sqlite_path`, which is then never opened); `max_connections` sizes each instance's pool.
//! Instances share nothing but the database; what that takes:
//!
//! - **Shared state.** Sessions, associations, the lookup pepper, invites, ephemeral keys,
//!   tokens and terms are rows. The **signing key stays a file**, the same file on every instance
//!   (`oxident generate-key` once, then distribute it as a secret, like a TLS key): the private
//!   key is not in every database dump and replica, and the key file remains the one unit the
//!   operator backs up, rotates and imports (`import-key`). An instance started without the
//!   file would generate a key of its own: provision the file before the second instance starts.
//! - **Concurrency.** Every write that changes associations or the pepper takes one
//!   transaction-scoped advisory lock, so two binds of one address on two instances run one
//!   after the other and leave one row (the primary key would anyway); `request_session` locks
//!   its `(medium, address, client_secret)` scope the same way, so concurrent requests make one
//!   session. `record_failed_submit` and `mark_session_validated` are single conditional
//!   `UPDATE`s: the cap holds under PostgreSQL's row locks. Invite tokens and ephemeral keys are
//!   primary keys.
//! - **Invite delivery.** `pending_deliveries` claims what it returns (`claimed_by` = the
//!   instance's number from a sequence, a 30-minute lease, `FOR UPDATE SKIP LOCKED`), so the
//!   delivery workers of two instances never hold one invite at once; a recorded failure
//!   releases the claim, an instance that died releases it when the lease ends.
//! - **Lookups.** Each instance keeps its own in-memory lookup index. Every association write
//!   appends to `association_changes` under the advisory lock, so `seq` order is commit order
//!   and a poller reading `seq > last applied` never skips a row committed later with a smaller
//!   number. Each instance applies its own writes at once (unless its poller already applied
//!   that `seq`, and so any later change to the same hash: re-applying would undo the later one)
//!   and everyone's by polling every 100 ms. **Delay bound: a bind or unbind on one instance reaches the others' lookups within
//!   1 s** (poll interval plus one query; measured 4–110 ms in `tests/it/multi_instance.rs`). A
//!   pepper change logs a reload marker (the others rebuild their index; a rotation logs it at
//!   its switch, its batches nothing: `store/postgres/associations.rs`); a lookup with a pepper
//!   the index does not know yet is answered by SQL, which checks the pepper itself. The log
//!   keeps the last 100 000 changes; an instance further behind (or restarted) rebuilds.
//! - **Access tokens.** Each instance caches token owners (`store/token_cache.rs`, shared with
//!   SQLite) for 10 s on PostgreSQL: a logout holds at once on the instance that handled it and
//!   on the others within 10 s. Without the cache every authenticated request (each v2 lookup)
//!   paid a database round trip: 1-hash v2 lookups ran at a fifth of SQLite's rate.
//! - **Rate limits are per instance** (in memory): with N instances behind a balancer the
//!   effective limit is up to N × the configured one. Sharing them would put a database write on
//!   every limited request; divide the configured limits by N where that matters.
//! - **Outages** (issue 21). A health check per instance asks `SELECT 1` every 250 ms (through
//!   the pool while the database answers; on a connection of its own while it does not, since
//!   the pool retries a failed connect with a back-off of seconds inside one acquire). While it
//!   fails, every store call fails at once with `StoreError::Unavailable` (no pool wait), which
//!   `ApiError::StoreUnavailable` answers `503 M_UNKNOWN` "The database is unavailable; try again
//!   shortly" with `retry_after_ms` and `Retry-After` (1 s; `rt::server::error_response` sets the
//!   header on a 503 whose body carries `retry_after_ms`); its first success ends the outage, so
//!   service resumes within ~250 ms of the database's return (`tests/it/db_outage.rs`, through
//!   a TCP relay that is cut and restored). Before the check notices, a request waits at most
//!   `[database] acquire_timeout` (3 s; was 30 s) and gets the same 503; a connection broken
//!   mid-conversation (I/O, protocol or TLS failure) is `Unavailable`, not a 500.
//!   `Store::available()` exposes the state without I/O, for a readiness probe. The change-log
//!   follower pauses while the database is down.
//! - `import-sydent` writes SQLite only (it refuses to run with `database.url` set).
//! - Text columns are `COLLATE "C"`: orders and comparisons are bytewise, as in SQLite, whatever
//!   the database's default collation.
//! - PostgreSQL's `text` cannot hold a NUL character, so no row contains one: every read by a key
//!   with a NUL answers "not found" without sending it (`storable` in the backend's `mod.rs`),
//!   instead of the database error a client could provoke (schemathesis found a v2 lookup with
//!   pepper `"#\u0000"` answered 500). The conformance story `unstorable_keys_match_nothing`
//!   holds both backends to it.

use std::str::FromStr as _;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::PgArguments;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::query::Query;
use sqlx::{Postgres, Transaction};

use super::lookup_index::LookupIndex;
use super::sql::Backend;
use super::sql::associations::AssociationSql as _;
use super::token_cache::TokenCache;
use super::{Store, StoreError, StoreReadings, StoreResult};

mod accounts;
mod associations;
mod invites;
mod sessions;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("src/store/migrations/postgres");

/// The advisory lock (two-key form: class 0x01d3, key 1) every association or pepper write
/// holds until it commits.
const ASSOCIATION_WRITES: (i32, i32) = (0x01d3, 1);
/// The advisory lock class of `request_session` (second key: a hash of the session's scope).
const SESSION_SCOPE: i32 = 0x01d4;

/// Tuning for [`PostgresStore::open_with`].
#[derive(Debug, Clone)]
pub struct PostgresOptions {
    /// Connections in this instance's pool.
    pub max_connections: u32,
    /// How long a caller waits for a free connection before failing with `Unavailable`
    /// (before the health check has noticed an outage; after, calls fail at once).
    pub acquire_timeout: Duration,
    /// Keep the lookup hashes in memory (and follow the other instances' changes).
    pub lookup_index: bool,
    /// How often the change log is polled: binds and unbinds made by other instances reach
    /// this one's lookups within this interval plus one query.
    pub follow_interval: Duration,
    /// How long an access token's owner is cached: a logout on another instance holds here
    /// after at most this long (at once on the instance that handled it).
    pub token_cache_ttl: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(3),
            lookup_index: true,
            follow_interval: Duration::from_millis(100),
            token_cache_ttl: Duration::from_secs(10),
        }
    }
}

/// [`Store`] on a PostgreSQL database shared by any number of instances.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    /// `None` inside: no index (switched off, or dropped after it could not follow).
    index: RwLock<Option<LookupIndex>>,
    /// Held while the index applies changes (own writes and the followed log), so that a
    /// reload and an update do not interleave.
    index_writes: tokio::sync::Mutex<()>,
    /// The last `association_changes.seq` the index reflects.
    applied: AtomicI64,
    /// This store's number (from the `store_instances` sequence): the owner of its claims.
    instance: i64,
    tokens: TokenCache,
    health: Health,
    /// For the health check's own connections while the database is down.
    connect: PgConnectOptions,
}

/// Whether the database answers, as [`watch_health`] last found: while it does not, every
/// call fails at once with `Unavailable` (answered 503 with `Retry-After`) instead of
/// queueing for a connection the pool keeps failing to make.
#[derive(Debug, Default)]
struct Health {
    down: AtomicBool,
}

impl Health {
    fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    fn set(&self, down: bool) {
        if self.down.swap(down, Ordering::AcqRel) != down {
            if down {
                tracing::error!(
                    "the database does not answer: requests are refused (503) until it does"
                );
            } else {
                tracing::info!("the database answers again");
            }
        }
    }
}

/// How often the health check asks the database: an outage is noticed, and its end acted
/// on, within about this (plus one round trip). 4 `SELECT 1` a second per instance.
const HEALTH_INTERVAL: Duration = Duration::from_millis(250);
/// A health check not answered in this time counts as a failure.
const HEALTH_TIMEOUT: Duration = Duration::from_millis(500);

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database?sslmode=…`) and applies
    /// pending migrations (several instances starting at once: sqlx serialises them).
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, PostgresOptions::default()).await
    }

    pub async fn open_with(url: &str, options: PostgresOptions) -> StoreResult<Self> {
        let connect = PgConnectOptions::from_str(url).map_err(unavailable)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(2))
            .acquire_timeout(options.acquire_timeout)
            .connect_with(connect.clone())
            .await
            .map_err(unavailable)?;
        MIGRATOR.run(&pool).await.map_err(unavailable)?;
        let instance: i64 = sqlx::query_scalar("SELECT nextval('store_instances')")
            .fetch_one(&pool)
            .await
            .map_err(db_err)?;
        let inner = Arc::new(Inner {
            pool,
            index: RwLock::new(None),
            index_writes: tokio::sync::Mutex::new(()),
            applied: AtomicI64::new(0),
            instance,
            tokens: TokenCache::new(options.token_cache_ttl),
            health: Health::default(),
            connect,
        });
        tokio::spawn(watch_health(Arc::downgrade(&inner)));
        let store = Self { inner };
        if options.lookup_index {
            let _guard = store.inner.index_writes.lock().await;
            let started = crate::clock::monotonic_now();
            let (index, seq) = store.load_index().await?;
            tracing::info!(
                hashes = index.len(),
                kib = index.heap_bytes() / 1024,
                ms = crate::clock::monotonic_now()
                    .saturating_sub(started)
                    .as_millis(),
                "v2 lookup hashes loaded into memory"
            );
            *store.index_mut() = Some(index);
            store.inner.applied.store(seq, Ordering::Release);
            drop(_guard);
            tokio::spawn(follow(
                Arc::downgrade(&store.inner),
                options.follow_interval,
            ));
        }
        Ok(store)
    }

    /// Closes the pool, waiting for running queries. Later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    fn pool(&self) -> StoreResult<&PgPool> {
        if self.inner.health.is_down() {
            return Err(StoreError::Unavailable(
                "the database is unreachable (waiting for it to answer again)".into(),
            ));
        }
        Ok(&self.inner.pool)
    }

    async fn tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.pool()?.begin().await.map_err(db_err)
    }
}

impl Backend for PostgresStore {
    type Db = Postgres;

    fn reads(&self) -> StoreResult<&PgPool> {
        self.pool()
    }

    fn writes(&self) -> StoreResult<&PgPool> {
        self.pool()
    }

    fn pools(&self) -> Vec<(&'static str, &PgPool)> {
        vec![("main", &self.inner.pool)]
    }

    async fn begin(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.tx().await
    }

    fn bind_list<'q>(
        query: Query<'q, Postgres, PgArguments>,
        items: &[String],
    ) -> StoreResult<Query<'q, Postgres, PgArguments>> {
        Ok(query.bind(items))
    }

    fn db_err(e: sqlx::Error) -> StoreError {
        db_err(e)
    }

    fn storable(s: &str) -> bool {
        storable(s)
    }
}

/// Asks the database `SELECT 1` every [`HEALTH_INTERVAL`] until the store is dropped or
/// closed, and sets [`Health`]. While it answers, through the pool (a dead pooled connection
/// is noticed by the pool's own test before acquire). While it does not, on a connection of
/// its own, one attempt per interval: the pool retries a failed connect with a growing
/// back-off inside one acquire, which delayed recovery by seconds; a fresh attempt every
/// 250 ms notices the database's return within that, and requests then connect at once.
async fn watch_health(inner: Weak<Inner>) {
    use sqlx::Connection as _;
    loop {
        tokio::time::sleep(HEALTH_INTERVAL).await;
        let Some(inner) = inner.upgrade() else { return };
        if inner.pool.is_closed() {
            return;
        }
        let ok = if inner.health.is_down() {
            let attempt = async {
                let mut conn = sqlx::PgConnection::connect_with(&inner.connect).await?;
                sqlx::query("SELECT 1").execute(&mut conn).await?;
                conn.close().await
            };
            matches!(
                tokio::time::timeout(HEALTH_TIMEOUT, attempt).await,
                Ok(Ok(()))
            )
        } else {
            let ping = sqlx::query("SELECT 1").execute(&inner.pool);
            matches!(tokio::time::timeout(HEALTH_TIMEOUT, ping).await, Ok(Ok(_)))
        };
        inner.health.set(!ok);
    }
}

/// Polls the change log until the store is dropped or closed.
async fn follow(inner: Weak<Inner>, interval: Duration) {
    loop {
        tokio::time::sleep(interval).await;
        let Some(inner) = inner.upgrade() else { return };
        if inner.pool.is_closed() {
            return;
        }
        if inner.health.is_down() {
            // Nothing to read; the health check says when there is again.
            continue;
        }
        let store = PostgresStore { inner };
        if let Err(e) = store.follow_changes().await {
            tracing::warn!(error = %e, "could not read the association change log");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

/// Whether PostgreSQL can hold `s`: its `text` has no NUL character, so no stored row
/// contains one and a lookup by a string with one matches nothing. Read paths answer "not
/// found" for such keys instead of sending them (PostgreSQL refuses them with an error).
pub(super) fn storable(s: &str) -> bool {
    !s.contains('\0')
}

fn db_err(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            StoreError::Conflict("unique key exists")
        }
        // Class 08 (connection exception), 53 (insufficient resources), 57P (shutdown).
        sqlx::Error::Database(d)
            if d.code().is_some_and(|c| {
                c.starts_with("08") || c.starts_with("53") || c.starts_with("57P")
            }) =>
        {
            StoreError::Unavailable(Box::new(e))
        }
        // A connection that breaks mid-conversation or while being made (the server went
        // away, a relay cut it) reads as a protocol or TLS failure: the database is not
        // reachable, which the client can retry; nothing it sent was wrong.
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Database(Box::new(e)),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1")
            .execute(self.pool()?)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    fn available(&self) -> bool {
        !self.inner.health.is_down()
    }

    async fn readings(&self, now: crate::domain::Timestamp) -> StoreReadings {
        let mut readings = super::sql::readings(self, now).await;
        readings.change_log_lag = match self.change_log_lag().await {
            Ok(lag) => lag,
            Err(e) => {
                tracing::debug!(error = %e, "metrics: the association change log was not read");
                None
            }
        };
        readings
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write as _;
    use std::sync::Arc;

    use super::*;
    use crate::store::conformance;

    /// A fresh, empty database on the cluster named by `TEST_POSTGRES_URL` (an admin URL),
    /// or `None` (after one SKIPPED line) without one; with `CI` set, a missing cluster fails.
    pub(crate) async fn fresh_database(test: &str) -> Option<String> {
        let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty()),
                "CI is set but TEST_POSTGRES_URL is not: the PostgreSQL tests must run in CI"
            );
            // Once, straight to stderr: libtest captures `eprintln!` of passing tests.
            static ONCE: std::sync::Once = std::sync::Once::new();
            ONCE.call_once(|| {
                let _ = writeln!(
                    std::io::stderr(),
                    "SKIPPED the PostgreSQL store tests ({test}, …): no PostgreSQL; \
                     to run them: scripts/test-postgres.sh"
                );
            });
            return None;
        };
        let name = format!(
            "lib_{}_{}",
            test.replace(|c: char| !c.is_ascii_alphanumeric(), "_"),
            std::process::id()
        );
        let pool = PgPool::connect(&admin).await.expect("admin connection");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&pool)
        .await
        .expect("drop");
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .expect("create database");
        pool.close().await;
        let (base, _) = admin.rsplit_once('/').expect("URL with a database");
        Some(format!("{base}/{name}"))
    }

    #[tokio::test]
    async fn conformance_suite() {
        let Some(url) = fresh_database("postgres_conformance").await else {
            return;
        };
        let store = PostgresStore::open(&url).await.expect("opens");
        conformance::run_all(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn conformance_suite_without_lookup_index() {
        let Some(url) = fresh_database("postgres_conformance_noindex").await else {
            return;
        };
        let options = PostgresOptions {
            lookup_index: false,
            ..PostgresOptions::default()
        };
        let store = PostgresStore::open_with(&url, options)
            .await
            .expect("opens");
        conformance::run_all(&store).await;
        store.close().await;
    }

    #[tokio::test]
    async fn everything_survives_a_restart() {
        let Some(url) = fresh_database("postgres_restart").await else {
            return;
        };
        let store = PostgresStore::open(&url).await.expect("opens");
        conformance::write_every_kind(&store).await;
        store.close().await;
        let reopened = PostgresStore::open(&url)
            .await
            .expect("reopens (migrations are idempotent)");
        conformance::check_every_kind(&reopened).await;
        reopened.close().await;
    }

    #[tokio::test]
    async fn a_rotation_stopped_half_way_is_completed_after_a_restart() {
        let Some(url) = fresh_database("postgres_rotation_restart").await else {
            return;
        };
        let store = PostgresStore::open(&url).await.expect("opens");
        conformance::rotation_stopped_half_way(&store).await;
        store.close().await;
        let reopened = PostgresStore::open(&url).await.expect("reopens");
        conformance::rotation_completed_after_restart(&reopened).await;
        reopened.close().await;
    }

    /// A database written before the second lookup hash column (migration 4) keeps its pepper
    /// and hashes: they become slot 0's, found through the index and through SQL, and the
    /// next rotation covers its rows.
    #[tokio::test]
    async fn a_database_from_before_the_hash_slots_migrates() {
        let Some(url) = fresh_database("postgres_slots_migration").await else {
            return;
        };
        let old = PgPool::connect(&url).await.expect("connects");
        MIGRATOR.run_to(3, &old).await.expect("migrates to 3");
        sqlx::query("INSERT INTO lookup_pepper (id, pepper) VALUES (1, $1)")
            .bind(conformance::MIGRATED_PEPPER)
            .execute(&old)
            .await
            .expect("pepper");
        sqlx::query(
            "INSERT INTO associations (medium, address, mxid, ts, not_before, not_after, \
             lookup_hash) VALUES ('email', $1, '@old:hs', 1, 1, 2, $2)",
        )
        .bind(conformance::MIGRATED_ADDRESS)
        .bind(conformance::migrated_hash())
        .execute(&old)
        .await
        .expect("association");
        old.close().await;
        for lookup_index in [true, false] {
            let options = PostgresOptions {
                lookup_index,
                ..PostgresOptions::default()
            };
            let store = PostgresStore::open_with(&url, options)
                .await
                .expect("opens");
            conformance::migrated_row_is_found(&store).await;
            store.close().await;
        }
        let store = PostgresStore::open(&url).await.expect("opens");
        conformance::migrated_row_is_rotated(&store).await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_writers_all_succeed() {
        let Some(url) = fresh_database("postgres_concurrent").await else {
            return;
        };
        let store = PostgresStore::open(&url).await.expect("opens");
        conformance::concurrent_writes(Arc::new(store.clone())).await;
        store.close().await;
    }

    /// A second store on the same database follows the first one's pepper creation, binds,
    /// rebinds, unbinds and pepper rotation through the change log.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_second_instance_follows_the_change_log() {
        use crate::crypto::hashing::lookup_hash;
        use crate::domain::{Medium, Timestamp, UserId};
        use crate::store::{Association, AssociationStore as _, Threepid};
        let Some(url) = fresh_database("postgres_follow").await else {
            return;
        };
        let a = PostgresStore::open(&url).await.expect("opens");
        let b = PostgresStore::open(&url).await.expect("opens");
        let assoc = |address: &str, mxid: &str| Association {
            medium: Medium::Email,
            address: address.into(),
            mxid: UserId::parse(mxid).expect("a user ID"),
            ts: Timestamp::from_millis(10),
            not_before: Timestamp::from_millis(10),
            not_after: Timestamp::from_millis(20),
        };
        // Waits until `b` answers `expected` for `address` (v2 and v1), at most 2 s.
        async fn converges(b: &PostgresStore, pepper: &str, address: &str, expected: Option<&str>) {
            for _ in 0..200 {
                let hash = lookup_hash(address, "email", pepper);
                let v2 = b.lookup_hashes(pepper, vec![hash]).await.expect("lookup");
                let v1 = b
                    .get_association(&Threepid::new(Medium::Email, address))
                    .await
                    .expect("lookup");
                let v2 = v2.map(|m| m.first().map(|m| m.mxid.clone()));
                if v2 == Some(expected.map(str::to_owned))
                    && v1.as_ref().map(|a| a.mxid.as_str()) == expected
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{address}: the second instance did not converge on {expected:?}");
        }
        a.bind(&assoc("early@x", "@early:hs")).await.expect("bind");
        let pepper = a.get_or_create_lookup_pepper("p1").await.expect("pepper");
        assert_eq!(
            b.get_or_create_lookup_pepper("p-other")
                .await
                .expect("pepper"),
            "p1"
        );
        converges(&b, "p1", "early@x", Some("@early:hs")).await;
        a.bind(&assoc("u@x", "@u:hs")).await.expect("bind");
        converges(&b, &pepper, "u@x", Some("@u:hs")).await;
        b.bind(&assoc("u@x", "@v:hs")).await.expect("rebind");
        converges(&a, &pepper, "u@x", Some("@v:hs")).await;
        assert!(
            a.unbind(
                &Threepid::new(Medium::Email, "u@x"),
                &UserId::parse("@v:hs").expect("a user ID")
            )
            .await
            .expect("unbind")
        );
        converges(&b, &pepper, "u@x", None).await;
        a.rotate_lookup_pepper("p2").await.expect("rotate");
        converges(&b, "p2", "early@x", Some("@early:hs")).await;
        // The old pepper is refused once the second instance followed the rotation.
        let mut refused = false;
        for _ in 0..200 {
            if b.lookup_hashes("p1", vec![])
                .await
                .expect("lookup")
                .is_none()
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "the old pepper is still accepted");
        a.close().await;
        b.close().await;
    }

    /// An instance that loads its index while a rotation is half done (here: stopped after
    /// three batches, as a crash leaves it) reads the current column in its snapshot: it
    /// answers the old pepper completely and follows binds; when a rotation completes, it
    /// follows the switch.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_instance_loading_during_a_rotation_answers_the_old_pepper_then_follows() {
        use std::ops::ControlFlow;

        use crate::crypto::hashing::lookup_hash;
        use crate::domain::{Medium, Timestamp, UserId};
        use crate::store::{Association, AssociationStore as _, Rotation};
        let Some(url) = fresh_database("postgres_rotation_follow").await else {
            return;
        };
        let assoc = |i: usize| Association {
            medium: Medium::Email,
            address: format!("f{i}@x"),
            mxid: UserId::parse(format!("@f{i}:hs")).expect("a user ID"),
            ts: Timestamp::from_millis(10),
            not_before: Timestamp::from_millis(10),
            not_after: Timestamp::from_millis(20),
        };
        // Whether `store` answers `pepper` with exactly the owners of `0..n`.
        async fn answers(store: &PostgresStore, pepper: &str, n: usize) -> bool {
            let hashes = (0..n)
                .map(|i| lookup_hash(&format!("f{i}@x"), "email", pepper))
                .collect();
            store
                .lookup_hashes(pepper, hashes)
                .await
                .expect("lookup")
                .is_some_and(|found| {
                    found.len() == n
                        && found.iter().all(|m| {
                            (0..n).any(|i| {
                                m.mxid == format!("@f{i}:hs")
                                    && m.lookup_hash
                                        == lookup_hash(&format!("f{i}@x"), "email", pepper)
                            })
                        })
                })
        }
        async fn eventually(store: &PostgresStore, pepper: &str, n: usize) {
            for _ in 0..300 {
                if answers(store, pepper, n).await {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{pepper} does not answer the {n} associations");
        }
        let a = PostgresStore::open(&url).await.expect("opens");
        a.get_or_create_lookup_pepper("p1").await.expect("pepper");
        for i in 0..40 {
            a.bind(&assoc(i)).await.expect("bind");
        }
        let stop = |rehashed: u64| {
            if rehashed >= 15 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        assert_eq!(
            a.rotate_lookup_pepper_with("p2", 5, &stop)
                .await
                .expect("rotation"),
            Rotation::Stopped(15)
        );
        let b = PostgresStore::open(&url).await.expect("opens");
        assert!(answers(&b, "p1", 40).await, "loaded during the rotation");
        assert!(!answers(&b, "p2", 40).await);
        a.bind(&assoc(40)).await.expect("bind");
        eventually(&b, "p1", 41).await;
        a.rotate_lookup_pepper("p3").await.expect("rotation");
        eventually(&b, "p3", 41).await;
        // Within the change log's delay, the old pepper is refused.
        let mut refused = false;
        for _ in 0..300 {
            if b.lookup_hashes("p1", Vec::new())
                .await
                .expect("lookup")
                .is_none()
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(refused, "the old pepper is still accepted");
        a.close().await;
        b.close().await;
    }

    /// The statements that read or write one hash column search its index (or the primary
    /// key), never scan the table: checked in the plans PostgreSQL makes for a table of
    /// 20 000 associations, for both columns.
    #[tokio::test]
    async fn hash_columns_are_searched_through_their_indexes() {
        use super::associations::{REHASH_AFTER, SQL_LOOKUP_HASHES};
        let Some(url) = fresh_database("postgres_plans").await else {
            return;
        };
        let store = PostgresStore::open(&url).await.expect("opens");
        let pool = store.pool().expect("pool");
        for statement in [
            "INSERT INTO lookup_pepper (id, pepper) VALUES (1, 'p')",
            "INSERT INTO associations (medium, address, mxid, ts, not_before, not_after, \
             lookup_hash_0, lookup_hash_1) SELECT 'email', 'u' || i || '@x', '@u' || i || ':hs', \
             1, 1, 2, md5(i::text), md5(i::text || 'n') FROM generate_series(1, 20000) AS i",
            "ANALYZE associations",
        ] {
            sqlx::query(statement).execute(pool).await.expect("setup");
        }
        let plan = |statement: String| async move {
            let rows: Vec<String> =
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!("EXPLAIN {statement}")))
                    .fetch_all(pool)
                    .await
                    .expect("explain");
            rows.join("\n")
        };
        for (slot, rehash_after) in REHASH_AFTER.iter().enumerate() {
            sqlx::query("UPDATE lookup_pepper SET slot = $1")
                .bind(i64::try_from(slot).expect("small"))
                .execute(pool)
                .await
                .expect("slot");
            let lookup = plan(
                SQL_LOOKUP_HASHES
                    .replace("$1", "ARRAY[md5('5'), md5('7n'), 'none']")
                    .replace("$2", "'p'"),
            )
            .await;
            assert!(!lookup.contains("Seq Scan on associations"), "{lookup}");
            for index in ["associations_lookup_hash ", "associations_lookup_hash_1 "] {
                assert!(lookup.contains(index), "{index}: {lookup}");
            }
            let batch = plan(
                rehash_after
                    .replace("$1", "'p2'")
                    .replace("$2", "'email'")
                    .replace("$3", "'u5@x'")
                    .replace("$4", "5000"),
            )
            .await;
            assert!(!batch.contains("Seq Scan"), "{batch}");
            assert!(
                batch.contains("Index Cond: ((ROW(medium, address) > ROW('email'::text, 'u5@x'::text)) AND (ROW(medium, address) <= ROW("),
                "the batch's rows are a key range of the primary key: {batch}"
            );
        }
        store.close().await;
    }

    /// Delivery work is claimed: while one instance holds an invite, another does not get
    /// it; the holder gets it again; after the lease, or a recorded failure, another may.
    #[tokio::test]
    async fn delivery_claims_keep_two_instances_apart() {
        use crate::crypto::SecretString;
        use crate::domain::{Medium, Timestamp, UserId};
        use crate::store::{
            Association, AssociationStore as _, InviteStore as _, NewEphemeralKey, NewInvite,
        };
        let t = Timestamp::from_millis;
        let Some(url) = fresh_database("postgres_claims").await else {
            return;
        };
        let a = PostgresStore::open(&url).await.expect("opens");
        let b = PostgresStore::open(&url).await.expect("opens");
        let invite = NewInvite {
            token: "inv".into(),
            medium: Medium::Email,
            address: "d@x".into(),
            room_id: "!r:hs".into(),
            sender: "@s:hs".into(),
        };
        let key = NewEphemeralKey {
            public_key: "pk".into(),
            private_key: Some(SecretString::new("sk".to_owned())),
            expires_at: None,
        };
        a.store_invite(&invite, &key, t(100)).await.expect("store");
        b.bind(&Association {
            medium: Medium::Email,
            address: "d@x".into(),
            mxid: UserId::parse("@d:hs").expect("a user ID"),
            ts: t(100),
            not_before: t(100),
            not_after: t(200),
        })
        .await
        .expect("bind");
        let tokens = |v: Vec<crate::store::PendingDelivery>| {
            v.into_iter().map(|p| p.invite.token).collect::<Vec<_>>()
        };
        assert_eq!(
            tokens(a.pending_deliveries(t(1_000), 10).await.expect("a")),
            ["inv"]
        );
        assert!(
            b.pending_deliveries(t(1_000), 10)
                .await
                .expect("b")
                .is_empty()
        );
        assert_eq!(
            tokens(a.pending_deliveries(t(1_001), 10).await.expect("a")),
            ["inv"]
        );
        let after_lease = 1_001 + 30 * 60 * 1000;
        assert_eq!(
            tokens(b.pending_deliveries(t(after_lease), 10).await.expect("b")),
            ["inv"]
        );
        assert!(
            a.pending_deliveries(t(after_lease), 10)
                .await
                .expect("a")
                .is_empty()
        );
        // B failed: the retry is due later and open to any instance.
        assert_eq!(
            b.record_delivery_failure(&["inv".to_owned()], t(after_lease + 10))
                .await
                .expect("failure"),
            1
        );
        assert_eq!(
            tokens(
                a.pending_deliveries(t(after_lease + 10), 10)
                    .await
                    .expect("a")
            ),
            ["inv"]
        );
        assert_eq!(
            a.mark_invites_delivered(&["inv".to_owned()], t(after_lease + 20))
                .await
                .expect("delivered"),
            1
        );
        assert!(
            b.pending_deliveries(t(i64::MAX / 2), 10)
                .await
                .expect("b")
                .is_empty()
        );
        a.close().await;
        b.close().await;
    }
}
