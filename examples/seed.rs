//! Seeds an SQLite database for the load benchmark (`scripts/load.sh`) through the server's
//! own store code, and writes the request bodies the load scripts send.
//!
//! ```sh
//! cargo run --release --example seed -- DB_PATH OUT_DIR [COUNT]
//! ```
//!
//! * creates the lookup pepper (`get_or_create_lookup_pepper`), then binds COUNT (default
//!   100 000) email associations `user<i>@example.org` → `@user<i>:example.org` with
//!   `Store::bind`, so the store computes each lookup hash itself;
//! * creates one access token (`create_access_token`);
//! * writes into OUT_DIR: `token` (the access token), `pepper`, `lookup1.json` and
//!   `lookup1000.json` (v2 lookup bodies whose hashes, computed with
//!   `oxident::crypto::lookup_hash` and the stored pepper, all match seeded addresses) and
//!   `v1_address` (a seeded address for the v1 lookup).
//!
//! Each bind is its own `synchronous = FULL` transaction, so seed on a fast file system
//! (tmpfs) and copy the file; `scripts/load.sh` does that.

// A benchmark tool: it stamps rows with the real time and times itself.
#![allow(clippy::disallowed_methods)]

use std::path::PathBuf;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use oxident::crypto::lookup_hash;
use oxident::crypto::tokens::{ACCESS_TOKEN_LEN, PEPPER_LEN, random_token};
use oxident::domain::{Medium, Timestamp, UserId};
use oxident::service::signed::VALIDITY;
use oxident::store::sqlite::SqliteStore;
use oxident::store::{AccountStore, Association, AssociationStore};

/// Progress is reported every this many binds.
const BATCH: usize = 1000;

fn address(i: usize) -> String {
    format!("user{i}@example.org")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: seed DB_PATH OUT_DIR [COUNT]";
    let db = PathBuf::from(args.next().context(usage)?);
    let out = PathBuf::from(args.next().context(usage)?);
    let count: usize = args.next().map_or(Ok(100_000), |c| c.parse())?;
    std::fs::create_dir_all(&out)?;
    if let Some(parent) = db.parent() {
        std::fs::create_dir_all(parent)?;
    }

    let store = SqliteStore::open(&db).await?;
    let now = Timestamp::from_millis(i64::try_from(
        SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis(),
    )?);
    let user = |id: String| UserId::parse(id).map_err(|e| anyhow::anyhow!("{e}"));
    let pepper = store
        .get_or_create_lookup_pepper(&random_token(PEPPER_LEN)?)
        .await?;

    let started = Instant::now();
    for i in 0..count {
        store
            .bind(&Association {
                medium: Medium::Email,
                address: address(i),
                mxid: user(format!("@user{i}:example.org"))?,
                ts: now,
                not_before: now,
                not_after: now + VALIDITY,
            })
            .await?;
        if (i + 1) % BATCH == 0 || i + 1 == count {
            eprint!("\rbound {}/{count}", i + 1);
        }
    }
    eprintln!(" in {:.1} s", started.elapsed().as_secs_f64());

    let token = random_token(ACCESS_TOKEN_LEN)?;
    store
        .create_access_token(&token, &user("@bench:example.org".into())?, now)
        .await?;
    store.close().await;

    // Hashes of seeded addresses, spread over the whole table.
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
    eprintln!(
        "wrote token, pepper and request bodies to {}",
        out.display()
    );
    Ok(())
}
