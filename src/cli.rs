//! Command-line interface: `oxident` (serve), `check-config`, `generate-key`, `import-key`,
//! `import-sydent`, `health`, `validate`, `admin …` and `rotate-pepper`. Parsing lives here so `main.rs` stays a few lines.

use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "oxident", version, about = "A Matrix identity server")]
pub struct Cli {
    /// TOML configuration file (every key can also be set as OXIDENT_<SECTION>__<KEY>).
    #[arg(long, short, global = true, env = "OXIDENT_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Check the configuration and report every problem.
    CheckConfig,
    /// Write a new ed25519 signing key file.
    GenerateKey {
        /// Where to write it (default: keys.signing_key_path from the configuration).
        #[arg(long)]
        path: Option<PathBuf>,
        /// Replace an existing key file (signatures made with the old key stop verifying).
        #[arg(long)]
        force: bool,
    },
    /// Import a signing key in the reference server's (sydent) format, `ed25519 0 <seed>`.
    ImportKey {
        /// File holding the key (`-` for standard input).
        input: String,
        #[arg(long)]
        path: Option<PathBuf>,
        #[arg(long)]
        force: bool,
    },
    /// Carry a sydent over: associations, invites and ephemeral keys, accounts and tokens,
    /// accepted terms, the lookup pepper and (with --sydent-config) the signing key. Safe to run
    /// again: rows already imported are left as they are. Run it while the server is stopped.
    ImportSydent {
        /// sydent's SQLite database (`db.file` of sydent.conf); only read.
        #[arg(long)]
        db: PathBuf,
        /// sydent.conf, for the signing key and the server name. `--config sydent.conf` works
        /// too: a sydent.conf given there is recognised and then configures this server.
        #[arg(long = "sydent-config", alias = "sydent-conf")]
        sydent_config: Option<PathBuf>,
        /// Replace a different signing key already in keys.signing_key_path.
        #[arg(long)]
        force: bool,
    },
    /// Ask the running server's operator listener (`[metrics] bind`) whether it is alive (or
    /// ready, with --ready): exit 0 if so, 1 if not. For container health checks, where no
    /// HTTP client is installed.
    Health {
        /// Ask `/ready` (store reachable, index loaded, key present) instead of `/health`.
        #[arg(long)]
        ready: bool,
    },
    /// Ask the running server's admin listener (`[admin] bind`, with `[admin] secret` from the
    /// configuration). Prints the JSON answer; exit 0 on success, 1 on a refusal, 2 when the
    /// listener cannot be reached.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Replace the lookup pepper and rehash every association, in batches while lookups and
    /// binds go on; interrupted, it leaves the old pepper current (run it again). Asks the
    /// running server's admin listener when `[admin] bind` is set and it answers; otherwise (the
    /// server stopped, or no admin listener) rotates in the database directly. On SQLite the
    /// server must then be stopped (its in-memory lookup index would not follow); PostgreSQL
    /// instances follow.
    RotatePepper,
    /// Check a JSON payload against an operation's request or response schema.
    ///
    /// Exit status: 0 valid, 1 invalid, 2 usage error or unreadable input.
    Validate {
        /// operationId (e.g. bindV2) or snake_case name (bind_v2).
        operation: String,
        /// `request` (body), `params` (query/path parameters as a JSON object) or
        /// `response:<status>`.
        part: String,
        /// JSON file; `-` or nothing for standard input.
        file: Option<String>,
    },
}

/// `oxident admin …`: one admin operation each.
#[derive(Debug, Subcommand)]
pub enum AdminAction {
    /// Bind a 3PID to a Matrix ID without validation (sydent's internal bind).
    Bind(ThreepidArgs),
    /// Remove a 3PID's binding to a Matrix ID (sydent's internal unbind).
    Unbind(ThreepidArgs),
    /// List a user's or a 3PID's associations and pending invites.
    List(SubjectArgs),
    /// Everything held about a user or a 3PID, as JSON.
    Export(SubjectArgs),
    /// Erase everything held about a user or a 3PID.
    Erase(SubjectArgs),
    /// Revoke every access token of a user.
    RevokeTokens {
        #[arg(long)]
        mxid: String,
    },
    /// Replace the lookup pepper (the running server only; see `oxident rotate-pepper`).
    RotatePepper,
}

#[derive(Debug, clap::Args)]
pub struct ThreepidArgs {
    #[arg(long)]
    pub medium: String,
    #[arg(long)]
    pub address: String,
    #[arg(long)]
    pub mxid: String,
}

/// A user (`--mxid`) or a 3PID (`--medium` and `--address`).
#[derive(Debug, clap::Args)]
pub struct SubjectArgs {
    #[arg(long, conflicts_with_all = ["medium", "address"], required_unless_present_all = ["medium", "address"])]
    pub mxid: Option<String>,
    #[arg(long, requires = "address")]
    pub medium: Option<String>,
    #[arg(long, requires = "medium")]
    pub address: Option<String>,
}

impl SubjectArgs {
    fn pairs(&self) -> Vec<(&'static str, &str)> {
        let mut pairs = Vec::new();
        if let Some(mxid) = &self.mxid {
            pairs.push(("mxid", mxid.as_str()));
        }
        if let Some(medium) = &self.medium {
            pairs.push(("medium", medium.as_str()));
        }
        if let Some(address) = &self.address {
            pairs.push(("address", address.as_str()));
        }
        pairs
    }

    fn body(&self) -> serde_json::Value {
        let object: serde_json::Map<String, serde_json::Value> = self
            .pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
            .collect();
        serde_json::Value::Object(object)
    }
}

/// Runs a non-server command; `None` means "serve".
pub fn run_command(cli: &Cli) -> Option<ExitCode> {
    match cli.command.as_ref()? {
        Command::Serve => None,
        Command::CheckConfig => Some(check_config(cli)),
        Command::GenerateKey { path, force } => Some(generate_key(cli, path.clone(), *force)),
        Command::ImportKey { input, path, force } => {
            Some(import_key(cli, input, path.clone(), *force))
        }
        Command::ImportSydent {
            db,
            sydent_config,
            force,
        } => Some(import_sydent(cli, db, sydent_config.as_deref(), *force)),
        Command::Health { ready } => Some(health(cli, *ready)),
        Command::Admin { action } => Some(admin(cli, action)),
        Command::RotatePepper => Some(rotate_pepper(cli)),
        Command::Validate {
            operation,
            part,
            file,
        } => {
            let stdout = &mut std::io::stdout();
            let stderr = &mut std::io::stderr();
            Some(ExitCode::from(validate(
                operation,
                part,
                file.as_deref(),
                stdout,
                stderr,
            )))
        }
    }
}

fn check_config(cli: &Cli) -> ExitCode {
    match crate::config::Config::load(cli.config.as_deref()) {
        Ok(_) => {
            println!("configuration OK");
            ExitCode::SUCCESS
        }
        Err(problems) => {
            eprintln!("{} problem(s) in the configuration:", problems.len());
            for p in problems {
                eprintln!("  - {p}");
            }
            ExitCode::from(1)
        }
    }
}

fn health(cli: &Cli, ready: bool) -> ExitCode {
    let config = match crate::config::Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(problems) => {
            for p in problems {
                eprintln!("config: {p}");
            }
            return ExitCode::from(2);
        }
    };
    let Some(mut addr) = config.metrics.bind else {
        eprintln!("no operator listener: set [metrics] bind (OXIDENT_METRICS__BIND)");
        return ExitCode::from(2);
    };
    // A wildcard bind is reached on loopback.
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    match crate::ops::probe::ask(addr, ready) {
        Ok((healthy, body)) => {
            println!("{body}");
            if healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}

fn load_config(cli: &Cli) -> Result<crate::config::Config, ExitCode> {
    crate::config::Config::load(cli.config.as_deref()).map_err(|problems| {
        for p in problems {
            eprintln!("config: {p}");
        }
        ExitCode::from(2)
    })
}

/// How long the CLI waits for the admin listener: a rotation rehashes every association.
const ADMIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

fn admin(cli: &Cli, action: &AdminAction) -> ExitCode {
    use serde_json::json;
    let config = match load_config(cli) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let (method, path, body) = match action {
        AdminAction::Bind(t) | AdminAction::Unbind(t) => {
            let path = if matches!(action, AdminAction::Bind(_)) {
                "bind"
            } else {
                "unbind"
            };
            let body = json!({"medium": t.medium, "address": t.address, "mxid": t.mxid});
            ("POST", path.to_owned(), Some(body))
        }
        AdminAction::List(s) => (
            "GET",
            format!("records?{}", crate::ops::admin_client::query(&s.pairs())),
            None,
        ),
        AdminAction::Export(s) => (
            "GET",
            format!("export?{}", crate::ops::admin_client::query(&s.pairs())),
            None,
        ),
        AdminAction::Erase(s) => ("POST", "erase".to_owned(), Some(s.body())),
        AdminAction::RevokeTokens { mxid } => (
            "POST",
            "revoke_tokens".to_owned(),
            Some(json!({"mxid": mxid})),
        ),
        AdminAction::RotatePepper => ("POST", "rotate_pepper".to_owned(), None),
    };
    let answer =
        crate::ops::admin_client::call(&config.admin, method, &path, body.as_ref(), ADMIN_TIMEOUT);
    print_admin_answer(answer)
}

fn print_admin_answer(
    answer: Result<(u16, serde_json::Value), crate::ops::admin_client::AdminCallError>,
) -> ExitCode {
    match answer {
        Ok((status, json)) => {
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            if (200..300).contains(&status) {
                println!("{text}");
                ExitCode::SUCCESS
            } else {
                eprintln!("{status}: {text}");
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
    }
}

fn rotate_pepper(cli: &Cli) -> ExitCode {
    use crate::ops::admin_client::{AdminCallError, call};
    let config = match load_config(cli) {
        Ok(c) => c,
        Err(code) => return code,
    };
    match call(&config.admin, "POST", "rotate_pepper", None, ADMIN_TIMEOUT) {
        Err(AdminCallError::Off | AdminCallError::NotRunning(_)) => {}
        answer => return print_admin_answer(answer),
    }
    if config.database.url.is_none() {
        eprintln!(
            "no admin listener answers: rotating in {} directly (the server must be stopped)",
            config.storage.sqlite_path.display()
        );
    }
    let rotated = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| {
            runtime.block_on(async {
                let store = crate::state::open_store(&config).await?;
                let random = crate::crypto::tokens::OsRandom;
                let pepper = crate::crypto::tokens::random_token_from(
                    &random,
                    crate::crypto::tokens::PEPPER_LEN,
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                let rehashed = store.rotate_lookup_pepper(&pepper).await?;
                Ok::<_, anyhow::Error>((pepper, rehashed))
            })
        });
    match rotated {
        Ok((pepper, rehashed)) => {
            println!(
                "{}",
                serde_json::json!({"lookup_pepper": pepper, "rehashed": rehashed})
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn key_path(cli: &Cli, path: Option<PathBuf>) -> Result<PathBuf, ExitCode> {
    if let Some(p) = path {
        return Ok(p);
    }
    crate::config::Config::load(cli.config.as_deref())
        .map(|c| c.keys.signing_key_path)
        .map_err(|problems| {
            for p in problems {
                eprintln!("config: {p}");
            }
            ExitCode::from(2)
        })
}

fn generate_key(cli: &Cli, path: Option<PathBuf>, force: bool) -> ExitCode {
    let path = match key_path(cli, path) {
        Ok(p) => p,
        Err(code) => return code,
    };
    match crate::crypto::keyfile::generate_key_file(&path, force) {
        Ok(key) => {
            println!(
                "wrote {} ({}, public key {})",
                path.display(),
                key.key_id(),
                key.public_key().to_base64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn import_key(cli: &Cli, input: &str, path: Option<PathBuf>, force: bool) -> ExitCode {
    let path = match key_path(cli, path) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let text = match read_input(Some(input)) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let key = match crate::crypto::keyfile::import_sydent_key(&text) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("error: not a key in the reference server's format: {e}");
            return ExitCode::from(1);
        }
    };
    match crate::crypto::keyfile::write_key_file(&path, std::slice::from_ref(&key), force) {
        Ok(()) => {
            println!(
                "imported {} into {} (public key {})",
                key.key_id(),
                path.display(),
                key.public_key().to_base64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn import_sydent(
    cli: &Cli,
    db: &std::path::Path,
    sydent_config: Option<&std::path::Path>,
    force: bool,
) -> ExitCode {
    // `import-sydent --config sydent.conf`: the file is sydent's, and is then the
    // configuration of this server too (as `[sydent] config_file`).
    let given_sydent_conf = match (cli.config.as_deref(), sydent_config) {
        (Some(path), None) if crate::sydent::conf::SydentConf::is_sydent_conf(path) => Some(path),
        _ => None,
    };
    let loaded = match given_sydent_conf {
        Some(path) => crate::config::Config::load_from_sydent_conf(path),
        None => crate::config::Config::load(cli.config.as_deref()),
    };
    let config = match loaded {
        Ok(c) => c,
        Err(problems) => {
            for p in problems {
                eprintln!("config: {p}");
            }
            return ExitCode::from(2);
        }
    };
    let sydent_config = sydent_config.or(given_sydent_conf);
    match crate::sydent::run_import(&config, db, sydent_config, force, &mut std::io::stdout()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn read_input(file: Option<&str>) -> Result<String, String> {
    match file {
        None | Some("-") => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            Ok(s)
        }
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}")),
    }
}

/// The `validate` command, with its output streams passed in so tests can read them.
pub fn validate(
    operation: &str,
    part: &str,
    file: Option<&str>,
    out: &mut dyn std::io::Write,
    err: &mut dyn std::io::Write,
) -> u8 {
    use oxident_api::validate;
    let Some(op) = validate::operation(operation) else {
        let mut close: Vec<(f64, &str)> = validate::OPERATIONS
            .iter()
            .flat_map(|o| [o.operation_id, o.name])
            .map(|name| {
                (
                    strsim::jaro_winkler(&name.to_lowercase(), &operation.to_lowercase()),
                    name,
                )
            })
            .filter(|(score, _)| *score > 0.75)
            .collect();
        close.sort_by(|a, b| b.0.total_cmp(&a.0));
        close.dedup_by(|a, b| a.1 == b.1);
        let _ = writeln!(err, "error: unknown operation `{operation}`");
        if !close.is_empty() {
            let names: Vec<&str> = close.iter().take(5).map(|(_, n)| *n).collect();
            let _ = writeln!(err, "did you mean: {}", names.join(", "));
        }
        return 2;
    };
    let validator = match part {
        "request" | "body" => op.request_body.ok_or("this operation has no request body"),
        "params" | "query" => op
            .request_params
            .ok_or("this operation has no query or path parameters"),
        other => match other.strip_prefix("response:").map(str::parse::<u16>) {
            Some(Ok(status)) => op
                .response_validator(status)
                .ok_or("this operation documents no JSON body for that status"),
            _ => {
                let _ = writeln!(
                    err,
                    "error: the part must be `request`, `params` or `response:<status>`, not `{other}`"
                );
                return 2;
            }
        },
    };
    let validator = match validator {
        Ok(v) => v,
        Err(why) => {
            let _ = writeln!(
                err,
                "error: {why} (documented responses: {})",
                op.response_keys().collect::<Vec<_>>().join(", ")
            );
            return 2;
        }
    };
    let text = match read_input(file) {
        Ok(t) => t,
        Err(e) => {
            let _ = writeln!(err, "error: {e}");
            return 2;
        }
    };
    let value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => {
            let _ = writeln!(err, "error: input is not JSON: {e}");
            return 2;
        }
    };
    match validator(&value) {
        Ok(()) => {
            let _ = writeln!(out, "valid");
            0
        }
        Err(errors) => {
            for e in errors.iter() {
                let _ = writeln!(
                    out,
                    "{}: {}",
                    if e.pointer.is_empty() { "" } else { &e.pointer },
                    e.message
                );
            }
            1
        }
    }
}
