//! Moving from sydent: `oxident import-sydent --db sydent.db [--config sydent.conf]` carries
//! a sydent's data over (`import`), reading its configuration file (`conf`) for the signing
//! key and the server name its signatures were made under.
//!
//! `import` maps sydent's rows onto ours: the newest global association per 3PID, invites
//! paired with the ephemeral key stored just before them, accounts with tokens and terms.
//! Associations and invites of a medium other than email/msisdn, and associations whose mxid
//! is not a user ID, are skipped and listed in the report (nothing here could serve them); such
//! an invite's key stays valid as an unowned key. The sydent database is read by
//! `store/sydent_db.rs` (read-only, schema version 5 or refused) and written through
//! `SqliteStore`'s `import_*` methods (`store/sqlite/import.rs`: one transaction per area,
//! idempotent by natural key, the lookup index rebuilt after associations); migration
//! `0004_sydent_import.sql` keeps sydent's original signed associations, which v1 lookups serve
//! for a carried-over binding (`Store::original_signed_association`: a replication peer's
//! signature cannot be made again here), and the ephemeral keys no invite owns.

pub mod conf;
#[cfg(test)]
pub(crate) mod cpython;
pub mod import;
pub mod terms;

use std::io::Write;
use std::path::Path;

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::crypto::keyfile;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The whole `import-sydent` command: the signing key first (so a refused key writes no
/// data), then the database. Progress and counts go to `out`; the error is the reason.
pub fn run_import(
    config: &Config,
    db: &Path,
    sydent_conf: Option<&Path>,
    force_key: bool,
    out: &mut dyn Write,
) -> Result<(), String> {
    if let Some(path) = sydent_conf {
        let conf = conf::SydentConf::load(path)?;
        import_signing_key(config, &conf, force_key, out)?;
        if let Some(name) = conf.server_name()
            && name != config.server.server_name
        {
            let _ = writeln!(
                out,
                "warning: sydent signed as `{name}` but server.server_name is `{}`: set \
                 server.server_name = \"{name}\" so existing signatures and key ids stay valid",
                config.server.server_name
            );
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    if config.database.url.is_some() {
        return Err(
            "import-sydent writes the SQLite database only: import into SQLite \
                    (without [database] url) first"
                .into(),
        );
    }
    runtime.block_on(async {
        let data = crate::store::sydent_db::read(db)
            .await
            .map_err(|e| e.to_string())?;
        if let Some(parent) = config.storage.sqlite_path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        let store = crate::store::SqliteStore::open(&config.storage.sqlite_path)
            .await
            .map_err(|e| format!("{}: {e}", config.storage.sqlite_path.display()))?;
        let report = import::import(&store, data, SystemClock.now_ms()).await;
        store.close().await;
        let report = report.map_err(|e| format!("import failed, nothing of it kept: {e}"))?;
        for line in report.lines() {
            let _ = writeln!(out, "{line}");
        }
        Ok(())
    })
}

fn import_signing_key(
    config: &Config,
    conf: &conf::SydentConf,
    force: bool,
    out: &mut dyn Write,
) -> Result<(), String> {
    let Some(value) = conf.signing_key() else {
        let _ = writeln!(out, "signing key: none in the sydent configuration");
        return Ok(());
    };
    let key = keyfile::import_sydent_key(value)
        .map_err(|e| format!("sydent's ed25519.signingkey: {e}"))?;
    let path = &config.keys.signing_key_path;
    if path.exists() {
        let existing = keyfile::load_key_file(path).map_err(|e| e.to_string())?;
        if existing.first().is_some_and(|k| {
            k.key_id() == key.key_id() && k.public_key().to_base64() == key.public_key().to_base64()
        }) {
            let _ = writeln!(out, "signing key: already present ({})", key.key_id());
            return Ok(());
        }
        if !force {
            return Err(format!(
                "{} holds another signing key; pass --force to replace it with sydent's \
                 (signatures made with the current one stop verifying)",
                path.display()
            ));
        }
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    keyfile::write_key_file(path, std::slice::from_ref(&key), true).map_err(|e| e.to_string())?;
    let _ = writeln!(
        out,
        "signing key: imported {} into {} (public key {})",
        key.key_id(),
        path.display(),
        key.public_key().to_base64()
    );
    Ok(())
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SydentSection {
    /// A `sydent.conf` to take settings from, for a server replacing sydent: its options
    /// that mean something here become their TOML twins (README, "Moving from sydent"),
    /// below this file and the environment, which win.
    pub config_file: Option<PathBuf>,
}
