//! Seeds millions of associations for the scale benchmark (`scripts/load-scale.sh`): the
//! schema, pepper and access token through the server's own store, the rows in bulk — COPY on
//! PostgreSQL, one transaction of prepared inserts on SQLite — with lookup hashes computed by
//! `oxident::crypto::lookup_hash`, written to `lookup_hash_0`: the column of a database's first
//! pepper (seed a new database; after a pepper rotation the current column may be the other
//! one). Writes the same request bodies as `examples/seed.rs`.
//!
//! ```sh
//! cargo run --release --example seed_bulk -- sqlite DB_PATH OUT_DIR COUNT
//! cargo run --release --example seed_bulk -- postgres URL OUT_DIR COUNT
//! ```

// A benchmark tool: it stamps rows with the real time and times itself.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use oxident::crypto::lookup_hash;
use oxident::crypto::tokens::{ACCESS_TOKEN_LEN, PEPPER_LEN, random_token};
use oxident::domain::{Timestamp, UserId};
use oxident::store::{AccountStore as _, AssociationStore as _, PostgresStore, SqliteStore};
use sqlx::Connection as _;

/// Rows per COPY message / per progress report.
const CHUNK: usize = 100_000;

fn address(i: usize) -> String {
    format!("user{i}@example.org")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: seed_bulk sqlite|postgres DB_PATH|URL OUT_DIR COUNT";
    let backend = args.next().context(usage)?;
    let target = args.next().context(usage)?;
    let out = PathBuf::from(args.next().context(usage)?);
    let count: usize = args.next().context(usage)?.parse()?;
    std::fs::create_dir_all(&out)?;
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let not_after = now + 100 * 365 * 24 * 3600 * 1000;
    let token = random_token(ACCESS_TOKEN_LEN)?;
    let bench = UserId::parse("@bench:example.org").map_err(|e| anyhow::anyhow!("{e}"))?;

    // Schema, pepper and token through the store (its migrations, its pepper rules).
    let pepper = match backend.as_str() {
        "sqlite" => {
            let store = SqliteStore::open(&target).await?;
            let pepper = store
                .get_or_create_lookup_pepper(&random_token(PEPPER_LEN)?)
                .await?;
            store
                .create_access_token(&token, &bench, Timestamp::from_millis(now))
                .await?;
            store.close().await;
            pepper
        }
        "postgres" => {
            let store = PostgresStore::open(&target).await?;
            let pepper = store
                .get_or_create_lookup_pepper(&random_token(PEPPER_LEN)?)
                .await?;
            store
                .create_access_token(&token, &bench, Timestamp::from_millis(now))
                .await?;
            store.close().await;
            pepper
        }
        _ => anyhow::bail!(usage),
    };

    let started = Instant::now();
    match backend.as_str() {
        "postgres" => {
            let mut conn = sqlx::PgConnection::connect(&target).await?;
            let mut copy = conn
                .copy_in_raw(
                    "COPY associations (medium, address, mxid, ts, not_before, not_after, \
                     lookup_hash_0) FROM STDIN",
                )
                .await?;
            let mut buf = String::new();
            for i in 0..count {
                let a = address(i);
                let hash = lookup_hash(&a, "email", &pepper);
                buf.push_str(&format!(
                    "email\t{a}\t@user{i}:example.org\t{now}\t{now}\t{not_after}\t{hash}\n"
                ));
                if (i + 1) % CHUNK == 0 || i + 1 == count {
                    copy.send(std::mem::take(&mut buf).into_bytes()).await?;
                    eprint!("\rcopied {}/{count}", i + 1);
                }
            }
            copy.finish().await?;
            sqlx::query("ANALYZE associations")
                .execute(&mut conn)
                .await?;
            conn.close().await?;
        }
        _ => {
            let mut conn = sqlx::SqliteConnection::connect(&target).await?;
            let mut tx = conn.begin().await?;
            for i in 0..count {
                let a = address(i);
                sqlx::query(
                    "INSERT INTO associations \
                     (medium, address, mxid, ts, not_before, not_after, lookup_hash_0) \
                     VALUES ('email', ?1, ?2, ?3, ?3, ?4, ?5)",
                )
                .bind(&a)
                .bind(format!("@user{i}:example.org"))
                .bind(now)
                .bind(not_after)
                .bind(lookup_hash(&a, "email", &pepper))
                .execute(&mut *tx)
                .await?;
                if (i + 1) % CHUNK == 0 || i + 1 == count {
                    eprint!("\rinserted {}/{count}", i + 1);
                }
            }
            tx.commit().await?;
            conn.close().await?;
        }
    }
    eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());

    let hashes = |n: usize| -> Vec<String> {
        (0..n)
            .map(|k| lookup_hash(&address(k * count / n), "email", &pepper))
            .collect()
    };
    let body = |addresses: Vec<String>| {
        serde_json::json!({"addresses": addresses, "algorithm": "sha256", "pepper": pepper})
            .to_string()
    };
    std::fs::write(out.join("token"), &token)?;
    std::fs::write(out.join("pepper"), &pepper)?;
    std::fs::write(out.join("lookup1.json"), body(hashes(1)))?;
    std::fs::write(out.join("lookup1000.json"), body(hashes(1000.min(count))))?;
    std::fs::write(out.join("v1_address"), address(count / 2))?;
    Ok(())
}
