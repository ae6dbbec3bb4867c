//! Reads a sydent SQLite database (read-only) into plain rows for `oxident import-sydent`.
//! Lives in `store/` because only this module names sqlx; the mapping to Oxident's data is
//! `crate::sydent::import`'s business.
//!
//! sydent (2.x) records its schema version in `PRAGMA user_version`; version 5 is the last
//! one it has had (v2.0 to v2.6). Another version, or a file without sydent's tables, is
//! refused with the reason: guessing at an unknown schema could import wrong data.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};
use sqlx::{ConnectOptions as _, Connection as _, Row as _};

/// The schema version this reader understands.
pub const SYDENT_SCHEMA_VERSION: i64 = 5;

const REQUIRED_TABLES: [&str; 9] = [
    "local_threepid_associations",
    "global_threepid_associations",
    "invite_tokens",
    "ephemeral_public_keys",
    "hashing_metadata",
    "accounts",
    "tokens",
    "accepted_terms_urls",
    "threepid_validation_sessions",
];

#[derive(Debug, thiserror::Error)]
pub enum SydentDbError {
    #[error("cannot open {path}: {reason}")]
    Open { path: String, reason: String },
    #[error(
        "unknown sydent schema version {found} (this importer reads version {expected}, \
         written by sydent 2.0 to 2.6); upgrade or downgrade sydent to 2.6 and let it start \
         once on this database first"
    )]
    UnknownSchema { found: i64, expected: i64 },
    #[error("not a sydent database: table {0} is missing")]
    MissingTable(&'static str),
    #[error("unexpected data in sydent's {table}: {reason}")]
    BadRow { table: &'static str, reason: String },
}

/// `local_threepid_associations`: bindings this sydent made (`mxid` NULL once unbound).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalAssociationRow {
    pub id: i64,
    pub medium: String,
    pub address: String,
    pub mxid: Option<String>,
    pub ts: Option<i64>,
    pub not_before: Option<i64>,
    pub not_after: Option<i64>,
}

/// `global_threepid_associations`: what lookups answer, with the signed object served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalAssociationRow {
    pub id: i64,
    pub medium: String,
    pub address: String,
    pub mxid: String,
    pub ts: i64,
    pub not_before: i64,
    pub not_after: i64,
    pub origin_server: String,
    pub origin_id: i64,
    pub sg_assoc: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    pub id: i64,
    pub medium: String,
    pub address: String,
    pub room_id: String,
    pub sender: String,
    pub token: String,
    pub received_ts: Option<i64>,
    pub sent_ts: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EphemeralKeyRow {
    pub id: i64,
    pub public_key: String,
    pub persistence_ts: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub user_id: String,
    pub created_ts: i64,
}

/// Everything the importer carries over, in id (or key) order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SydentData {
    pub local_associations: Vec<LocalAssociationRow>,
    pub global_associations: Vec<GlobalAssociationRow>,
    pub invites: Vec<InviteRow>,
    pub ephemeral_keys: Vec<EphemeralKeyRow>,
    pub accounts: Vec<AccountRow>,
    /// `(token, user_id)`; tokens are secrets: never print them.
    pub tokens: Vec<(crate::crypto::SecretString, String)>,
    /// `(user_id, url)`.
    pub accepted_terms: Vec<(String, String)>,
    pub lookup_pepper: Option<String>,
}

/// Reads the whole database at `path` without writing to it.
pub async fn read(path: &Path) -> Result<SydentData, SydentDbError> {
    let open_err = |e: sqlx::Error| SydentDbError::Open {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    if !path.is_file() {
        return Err(SydentDbError::Open {
            path: path.display().to_string(),
            reason: "no such file".to_owned(),
        });
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .connect()
        .await
        .map_err(open_err)?;
    let version: i64 = sqlx::query_scalar("PRAGMA user_version")
        .fetch_one(&mut conn)
        .await
        .map_err(open_err)?;
    if version != SYDENT_SCHEMA_VERSION {
        return Err(SydentDbError::UnknownSchema {
            found: version,
            expected: SYDENT_SCHEMA_VERSION,
        });
    }
    for table in REQUIRED_TABLES {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")
                .bind(table)
                .fetch_optional(&mut conn)
                .await
                .map_err(open_err)?;
        if found.is_none() {
            return Err(SydentDbError::MissingTable(table));
        }
    }
    let data = read_tables(&mut conn).await;
    let _ = conn.close().await;
    data
}

async fn rows(
    conn: &mut sqlx::SqliteConnection,
    table: &'static str,
    sql: &'static str,
) -> Result<Vec<SqliteRow>, SydentDbError> {
    sqlx::query(sql)
        .fetch_all(conn)
        .await
        .map_err(|e| SydentDbError::BadRow {
            table,
            reason: e.to_string(),
        })
}

fn bad(table: &'static str) -> impl Fn(sqlx::Error) -> SydentDbError {
    move |e| SydentDbError::BadRow {
        table,
        reason: e.to_string(),
    }
}

async fn read_tables(conn: &mut sqlx::SqliteConnection) -> Result<SydentData, SydentDbError> {
    let mut data = SydentData::default();

    const LOCAL: &str = "local_threepid_associations";
    for r in rows(
        conn,
        LOCAL,
        "SELECT id, medium, address, mxid, ts, notBefore, notAfter \
         FROM local_threepid_associations ORDER BY id",
    )
    .await?
    {
        let e = bad(LOCAL);
        data.local_associations.push(LocalAssociationRow {
            id: r.try_get("id").map_err(&e)?,
            medium: r.try_get("medium").map_err(&e)?,
            address: r.try_get("address").map_err(&e)?,
            mxid: r.try_get("mxid").map_err(&e)?,
            ts: r.try_get("ts").map_err(&e)?,
            not_before: r.try_get("notBefore").map_err(&e)?,
            not_after: r.try_get("notAfter").map_err(&e)?,
        });
    }

    const GLOBAL: &str = "global_threepid_associations";
    for r in rows(
        conn,
        GLOBAL,
        "SELECT id, medium, address, mxid, ts, notBefore, notAfter, originServer, originId, \
         sgAssoc FROM global_threepid_associations ORDER BY id",
    )
    .await?
    {
        let e = bad(GLOBAL);
        data.global_associations.push(GlobalAssociationRow {
            id: r.try_get("id").map_err(&e)?,
            medium: r.try_get("medium").map_err(&e)?,
            address: r.try_get("address").map_err(&e)?,
            mxid: r.try_get("mxid").map_err(&e)?,
            ts: r.try_get("ts").map_err(&e)?,
            not_before: r.try_get("notBefore").map_err(&e)?,
            not_after: r.try_get("notAfter").map_err(&e)?,
            origin_server: r.try_get("originServer").map_err(&e)?,
            origin_id: r.try_get("originId").map_err(&e)?,
            sg_assoc: r.try_get("sgAssoc").map_err(&e)?,
        });
    }

    const INVITES: &str = "invite_tokens";
    for r in rows(
        conn,
        INVITES,
        "SELECT id, medium, address, room_id, sender, token, received_ts, sent_ts \
         FROM invite_tokens ORDER BY id",
    )
    .await?
    {
        let e = bad(INVITES);
        data.invites.push(InviteRow {
            id: r.try_get("id").map_err(&e)?,
            medium: r.try_get("medium").map_err(&e)?,
            address: r.try_get("address").map_err(&e)?,
            room_id: r.try_get("room_id").map_err(&e)?,
            sender: r.try_get("sender").map_err(&e)?,
            token: r.try_get("token").map_err(&e)?,
            received_ts: r.try_get("received_ts").map_err(&e)?,
            sent_ts: r.try_get("sent_ts").map_err(&e)?,
        });
    }

    const KEYS: &str = "ephemeral_public_keys";
    for r in rows(
        conn,
        KEYS,
        "SELECT id, public_key, persistence_ts FROM ephemeral_public_keys ORDER BY id",
    )
    .await?
    {
        let e = bad(KEYS);
        data.ephemeral_keys.push(EphemeralKeyRow {
            id: r.try_get("id").map_err(&e)?,
            public_key: r.try_get("public_key").map_err(&e)?,
            persistence_ts: r.try_get("persistence_ts").map_err(&e)?,
        });
    }

    const ACCOUNTS: &str = "accounts";
    for r in rows(
        conn,
        ACCOUNTS,
        "SELECT user_id, created_ts FROM accounts ORDER BY user_id",
    )
    .await?
    {
        let e = bad(ACCOUNTS);
        data.accounts.push(AccountRow {
            user_id: r.try_get("user_id").map_err(&e)?,
            created_ts: r.try_get("created_ts").map_err(&e)?,
        });
    }

    const TOKENS: &str = "tokens";
    for r in rows(
        conn,
        TOKENS,
        "SELECT token, user_id FROM tokens ORDER BY user_id",
    )
    .await?
    {
        let e = bad(TOKENS);
        let token: String = r.try_get("token").map_err(&e)?;
        data.tokens
            .push((token.into(), r.try_get("user_id").map_err(&e)?));
    }

    const TERMS: &str = "accepted_terms_urls";
    for r in rows(
        conn,
        TERMS,
        "SELECT user_id, url FROM accepted_terms_urls ORDER BY user_id, url",
    )
    .await?
    {
        let e = bad(TERMS);
        data.accepted_terms.push((
            r.try_get("user_id").map_err(&e)?,
            r.try_get("url").map_err(&e)?,
        ));
    }

    const PEPPER: &str = "hashing_metadata";
    let peppers = rows(
        conn,
        PEPPER,
        "SELECT lookup_pepper FROM hashing_metadata WHERE lookup_pepper IS NOT NULL ORDER BY id",
    )
    .await?;
    if peppers.len() > 1 {
        return Err(SydentDbError::BadRow {
            table: PEPPER,
            reason: "more than one lookup pepper".to_owned(),
        });
    }
    if let Some(r) = peppers.first() {
        data.lookup_pepper = Some(r.try_get("lookup_pepper").map_err(bad(PEPPER))?);
    }
    Ok(data)
}
