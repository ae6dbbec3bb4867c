//! The store operations written once for both backends. Each operation is one generic
//! function (a blanket `impl … for B` per area, in this folder's file of that area); a backend
//! supplies only what its dialect forces, through this folder's traits: [`Backend`] (pools,
//! how a write transaction starts, error classes, which strings it can hold) and one trait per
//! area (`SessionSql`, `AssociationSql`, `InviteSql`, `AccountSql`: the statements whose SQL
//! differs, and the steps only one backend has: PostgreSQL's advisory locks, change log and
//! delivery claims, SQLite's in-process write order).
//!
//! Placeholders are `$N` in every statement: PostgreSQL's syntax, which SQLite reads as
//! named parameters and sqlx binds by their number, so a statement both dialects share is one
//! string.
//!
//! sqlx's generic API needs its bounds (`for<'c> &'c mut Connection: Executor<'c>`, `Encode`
//! and `Decode` for each value type) repeated on every generic function, because Rust does not
//! imply a trait's where-clauses. [`SqlDb`] carries them once instead: as bounds on the
//! database's associated types ([`Exec`] on its connection, [`Columns`] on its row), which
//! Rust does imply, and as the supertrait [`Values`].
//!
//! # One implementation, two dialects
//!
//! Each store operation is written once, in `store/sql/<area>.rs`, as one blanket impl of the
//! area trait (`impl<B: SessionSql> SessionStore for B`); a backend supplies only what its
//! dialect forces, in its own file of that area, by implementing that area's dialect trait
//! (`SessionSql`, `AssociationSql`, `InviteSql`, `AccountSql`) and, once, `sql::Backend`:
//! - its pools (SQLite: a reader pool and the one writer; PostgreSQL: one pool behind the health
//!   check), how a write transaction begins (`BEGIN IMMEDIATE` on SQLite), its error classes, which
//!   keys it can store (PostgreSQL: no NUL), how a list is one parameter (SQLite: a JSON array for
//!   `json_each`; PostgreSQL: a `text[]`);
//! - the statements whose text differs (list updates, `accept_terms`' upsert, the ephemeral-key
//!   check that also reads SQLite's imported keys, the batched v1/v2 lookups, the index sizing
//!   query, a rotation's batch of rehashing: a Rust loop on SQLite, one statement with the hash in
//!   SQL on PostgreSQL);
//! - the steps only one backend has: PostgreSQL's advisory locks (`lock_scope`,
//!   `begin_association_write`), its change log and the index's read-your-writes rule
//!   (`commit_change` with the `Change` the shared code made), its delivery claims
//!   (`pending_rows`); SQLite's in-process write order (a mutex held as `AssociationSql::Order`).
//!
//! Placeholders are `$N` in every statement: PostgreSQL's syntax, which SQLite reads as named
//! parameters that sqlx binds by number, so a statement both dialects share is one string.
//!
//! Why generic functions: sqlx's generic API keeps each backend's native driver (its types,
//! `RETURNING`, arrays, transactions as they are) and is monomorphised per backend into the
//! calls the hand-written twins made (no boxing or conversion per row or call; a read takes a
//! pooled connection explicitly, which is what sqlx's `&Pool` executor did inside); the lookup
//! index and the change-log poller behave as before (the shared code hands each backend a
//! `Change` to apply; PostgreSQL's index answers now sort with SQLite's prefix-key sort). Not
//! re-measured with the benchmarks: no hot path gained work. Its cost is bounds: `for<'c> &'c mut Connection: Executor<'c>`,
//! `Encode`/`Decode` per value type, on every generic function, since Rust does not imply a
//! trait's where-clauses. `sql::SqlDb` carries them once instead, as bounds on `Database`'s
//! associated types (`Connection: Exec`, `Row: Columns`, …), which Rust does imply, plus a
//! supertrait whose methods bind values (`query.text(..)`, `.int(..)`). Rejected: sqlx's `Any`
//! driver — it converts every row to `AnyRow` (a copy per value), has no arrays (PostgreSQL's
//! `= ANY($1)` and `unnest`), and cannot take SQLite's own connection options (`IMMEDIATE`,
//! pragmas per pool); a shared "plan" both backends execute — the operations branch on what they
//! read inside their transaction (`request_session`, `bind`), so the plan would be an
//! interpreter, and each backend's executor would again be a twin of the other's. A retyped
//! signature (domain types) changes one place: the area's file in `sql/`.

use std::future::Future;

use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction, Type,
};

use super::{IndexReading, PoolReading, StoreError, StoreReadings, StoreResult};
use crate::domain::{Medium, Timestamp};
use crate::error::ApiResult;
use associations::AssociationSql;
use invites::InviteSql;

pub(super) mod accounts;
pub(super) mod admin;
pub(super) mod associations;
pub(super) mod invites;
pub(super) mod sessions;

/// A database the shared operations run on (SQLite and PostgreSQL; blanket-implemented).
pub(in crate::store) trait SqlDb:
    Database<
        Connection: Exec<Self>,
        Row: Columns,
        QueryResult: Affected,
        Arguments: IntoArguments<Self>,
    > + Values
{
}

impl<DB> SqlDb for DB where
    DB: Database<
            Connection: Exec<DB>,
            Row: Columns,
            QueryResult: Affected,
            Arguments: IntoArguments<DB>,
        > + Values
{
}

/// How many rows a statement changed (sqlx has no trait for it).
pub(in crate::store) trait Affected {
    fn affected(&self) -> u64;
}

impl Affected for sqlx::sqlite::SqliteQueryResult {
    fn affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl Affected for sqlx::postgres::PgQueryResult {
    fn affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// A connection as a sqlx executor (`conn.ex()`), for generic code.
pub(in crate::store) trait Exec<DB: Database>: Send {
    fn ex(&mut self) -> impl Executor<'_, Database = DB>;
}

impl<DB: Database, C: Send> Exec<DB> for C
where
    for<'c> &'c mut C: Executor<'c, Database = DB>,
{
    fn ex(&mut self) -> impl Executor<'_, Database = DB> {
        self
    }
}

/// Reading the two column types every table uses (text and 64-bit integers) by name, and
/// the domain types stored in them: the one place a column becomes a [`Timestamp`], a
/// [`Medium`] or an identifier, for both backends. A value its type refuses (a medium this
/// server does not serve, an mxid that is not a user ID) is a decoding error, which the row
/// mappers report as [`StoreError::Corrupt`].
pub(in crate::store) trait Columns {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;

    /// Milliseconds since the epoch (every `*_ms` column, `ts`, `not_before`, `not_after`).
    fn time(&self, column: &str) -> Result<Timestamp, sqlx::Error> {
        self.int(column).map(Timestamp::from_millis)
    }
    fn opt_time(&self, column: &str) -> Result<Option<Timestamp>, sqlx::Error> {
        Ok(self.opt_int(column)?.map(Timestamp::from_millis))
    }
    fn medium(&self, column: &str) -> Result<Medium, sqlx::Error> {
        let text = self.text(column)?;
        Medium::parse(&text).ok_or_else(|| refused(column, format!("unsupported medium `{text}`")))
    }
    /// The column's text through a domain type's validating constructor.
    fn parsed<T>(&self, column: &str, parse: fn(String) -> ApiResult<T>) -> Result<T, sqlx::Error> {
        parse(self.text(column)?).map_err(|e| refused(column, e.to_string()))
    }
}

/// A column whose stored value its domain type refuses.
fn refused(column: &str, why: String) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: why.into(),
    }
}

impl<R: Row> Columns for R
where
    for<'a> &'a str: ColumnIndex<R>,
    String: for<'r> Decode<'r, R::Database> + Type<R::Database>,
    i64: for<'r> Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }
    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }
}

/// Binding the value types the shared statements take.
pub(in crate::store) trait Values: Database {
    fn bind_text<'q>(
        q: Query<'q, Self, Self::Arguments>,
        v: &str,
    ) -> Query<'q, Self, Self::Arguments>;
    fn bind_opt_text<'q>(
        q: Query<'q, Self, Self::Arguments>,
        v: Option<&str>,
    ) -> Query<'q, Self, Self::Arguments>;
    fn bind_int<'q>(
        q: Query<'q, Self, Self::Arguments>,
        v: i64,
    ) -> Query<'q, Self, Self::Arguments>;
    fn bind_opt_int<'q>(
        q: Query<'q, Self, Self::Arguments>,
        v: Option<i64>,
    ) -> Query<'q, Self, Self::Arguments>;
}

impl<DB: Database> Values for DB
where
    for<'a> &'a str: Encode<'a, DB> + Type<DB>,
    for<'a> Option<&'a str>: Encode<'a, DB> + Type<DB>,
    for<'a> i64: Encode<'a, DB> + Type<DB>,
    for<'a> Option<i64>: Encode<'a, DB> + Type<DB>,
{
    fn bind_text<'q>(q: Query<'q, DB, DB::Arguments>, v: &str) -> Query<'q, DB, DB::Arguments> {
        q.bind(v)
    }
    fn bind_opt_text<'q>(
        q: Query<'q, DB, DB::Arguments>,
        v: Option<&str>,
    ) -> Query<'q, DB, DB::Arguments> {
        q.bind(v)
    }
    fn bind_int<'q>(q: Query<'q, DB, DB::Arguments>, v: i64) -> Query<'q, DB, DB::Arguments> {
        q.bind(v)
    }
    fn bind_opt_int<'q>(
        q: Query<'q, DB, DB::Arguments>,
        v: Option<i64>,
    ) -> Query<'q, DB, DB::Arguments> {
        q.bind(v)
    }
}

/// `query.text(..)`, `query.int(..)`, …: [`Values`] in sqlx's chaining style, and the
/// domain types in the columns' forms (identifiers bind as text through `Deref<Target = str>`).
pub(in crate::store) trait Bind: Sized {
    fn text(self, v: &str) -> Self;
    fn opt_text(self, v: Option<&str>) -> Self;
    fn int(self, v: i64) -> Self;
    fn opt_int(self, v: Option<i64>) -> Self;

    fn time(self, v: Timestamp) -> Self {
        self.int(v.as_millis())
    }
    fn opt_time(self, v: Option<Timestamp>) -> Self {
        self.opt_int(v.map(Timestamp::as_millis))
    }
    fn medium(self, v: Medium) -> Self {
        self.text(v.as_str())
    }
}

impl<DB: Values> Bind for Query<'_, DB, DB::Arguments> {
    fn text(self, v: &str) -> Self {
        DB::bind_text(self, v)
    }
    fn opt_text(self, v: Option<&str>) -> Self {
        DB::bind_opt_text(self, v)
    }
    fn int(self, v: i64) -> Self {
        DB::bind_int(self, v)
    }
    fn opt_int(self, v: Option<i64>) -> Self {
        DB::bind_opt_int(self, v)
    }
}

/// What each backend supplies to every area: its pools, its write transactions, its error
/// classes and which strings it can store.
pub(in crate::store) trait Backend: Send + Sync + 'static {
    type Db: SqlDb;

    /// The pool reads go to (SQLite: the read-only connections).
    fn reads(&self) -> StoreResult<&Pool<Self::Db>>;

    /// The pool single-statement writes go to (SQLite: its one writer connection).
    fn writes(&self) -> StoreResult<&Pool<Self::Db>>;

    /// Every pool, named, whether or not the database answers (for [`readings`]).
    fn pools(&self) -> Vec<(&'static str, &Pool<Self::Db>)>;

    /// A transaction for writes (SQLite: `BEGIN IMMEDIATE`, so it never upgrades a read lock).
    fn begin(&self) -> impl Future<Output = StoreResult<Transaction<'static, Self::Db>>> + Send;

    /// Binds `items` as one parameter, in the form the backend's list statements expand
    /// (SQLite: a JSON array for `json_each`; PostgreSQL: a `text[]`).
    fn bind_list<'q>(
        query: Query<'q, Self::Db, <Self::Db as Database>::Arguments>,
        items: &[String],
    ) -> StoreResult<Query<'q, Self::Db, <Self::Db as Database>::Arguments>>;

    /// The backend's error classes ([`StoreError::Unavailable`], `Conflict`, …).
    fn db_err(e: sqlx::Error) -> StoreError;

    /// Whether a key can be stored at all; a read by one that cannot matches nothing and is
    /// not sent (PostgreSQL's `text` holds no NUL).
    fn storable(_s: &str) -> bool {
        true
    }
}

/// [`Store::readings`](super::Store::readings) but for what only one backend has (PostgreSQL's
/// change-log lag, which its own implementation adds).
pub(in crate::store) async fn readings<B: AssociationSql + InviteSql>(
    store: &B,
    now: Timestamp,
) -> StoreReadings {
    let lookup_index = store.index_ref().as_ref().map(|index| IndexReading {
        entries: u64::try_from(index.len()).unwrap_or(u64::MAX),
        bytes: u64::try_from(index.heap_bytes()).unwrap_or(u64::MAX),
    });
    let pools = store
        .pools()
        .into_iter()
        .map(|(pool, p)| {
            let size = p.size();
            let idle = u32::try_from(p.num_idle()).unwrap_or(size).min(size);
            PoolReading {
                pool,
                in_use: size - idle,
                idle,
            }
        })
        .collect();
    let pending_deliveries = match invites::delivery_queue(store, now).await {
        Ok(pending) => Some(pending),
        Err(e) => {
            tracing::debug!(error = %e, "metrics: the invite delivery queue was not read");
            None
        }
    };
    StoreReadings {
        lookup_index,
        pools,
        pending_deliveries,
        change_log_lag: None,
    }
}

/// A connection from `pool`, errors classed by `B`.
pub(in crate::store) async fn conn<B: Backend>(
    pool: &Pool<B::Db>,
) -> StoreResult<PoolConnection<B::Db>> {
    pool.acquire().await.map_err(B::db_err)
}

/// Runs `query` on `conn` and maps its row, if there is one, with `map`.
pub(in crate::store) async fn fetch_mapped<B: Backend, T>(
    query: Query<'_, B::Db, <B::Db as Database>::Arguments>,
    conn: &mut <B::Db as Database>::Connection,
    map: impl Fn(&<B::Db as Database>::Row) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    query
        .fetch_optional(conn.ex())
        .await
        .map_err(B::db_err)?
        .map(|row| map(&row))
        .transpose()
}

/// [`fetch_mapped`] on a connection from `store`'s read pool.
pub(in crate::store) async fn read_mapped<B: Backend, T>(
    store: &B,
    query: Query<'_, B::Db, <B::Db as Database>::Arguments>,
    map: impl Fn(&<B::Db as Database>::Row) -> StoreResult<T>,
) -> StoreResult<Option<T>> {
    fetch_mapped::<B, T>(query, &mut *conn::<B>(store.reads()?).await?, map).await
}

/// `db_err`, with a unique-key violation named `what`.
pub(in crate::store) fn conflict<B: Backend>(
    what: &'static str,
) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match B::db_err(e) {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        other => other,
    }
}
