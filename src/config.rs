//! Typed configuration: a TOML file, every key overridable by environment variables
//! (`OXIDENT_<SECTION>__<KEY>`, e.g. `OXIDENT_SERVER__BIND=0.0.0.0:8090`), and defaults that
//! run: with no file at all the server listens on 127.0.0.1:8090 with SQLite, a generated key
//! and mail written to a folder.

use crate::mail::smtp::SmtpConfig;
use crate::mail::templates::TemplatesConfig;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub keys: KeysConfig,
    pub auth: AuthConfig,
    pub sessions: SessionsConfig,
    pub email: EmailConfig,
    pub invites: InvitesConfig,
    pub lookup: LookupConfig,
    pub terms: TermsConfig,
    pub ratelimit: RateLimitConfig,
    pub federation: crate::federation::OutboundConfig,
    pub logging: LoggingConfig,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub bind: String,
    /// This identity server's name: signatures are made under it, homeservers know us by it.
    pub server_name: String,
    /// Public base URL (scheme + host [+ port]) used in `key_validity_url`s and email links.
    pub public_base_url: String,
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Requests taking longer are answered 408 `M_UNKNOWN`, in seconds; also the stall period
    /// after which a connection that sends no new request head is closed (`serve.rs`).
    pub request_timeout_secs: u64,
    /// Proxies whose `X-Forwarded-For` is believed for the client address (rate limits).
    /// They are also exempt from `max_connections_per_ip`.
    pub trusted_proxies: Vec<IpAddr>,
    /// Open connections in total (0: as many as the open-files limit allows); kept below
    /// the open-files limit, which is raised to its hard limit at start.
    pub max_connections: usize,
    /// Open connections from one client address (0: no cap).
    pub max_connections_per_ip: usize,
    /// `[server.tls]`: serve HTTPS on `bind` (reloaded on SIGHUP); plain HTTP without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::tls::TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8090".into(),
            server_name: "localhost:8090".into(),
            public_base_url: "http://127.0.0.1:8090".into(),
            body_limit_bytes: 256 * 1024,
            request_timeout_secs: 30,
            trusted_proxies: Vec::new(),
            max_connections: 10_000,
            max_connections_per_ip: 256,
            tls: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// SQLite database file (created with its folder on first start).
    pub sqlite_path: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            sqlite_path: PathBuf::from("data/oxident.sqlite"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct KeysConfig {
    /// The long-term ed25519 signing key; generated here on first start when missing.
    pub signing_key_path: PathBuf,
}

impl Default for KeysConfig {
    fn default() -> Self {
        Self {
            signing_key_path: PathBuf::from("data/signing.key"),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Accept the deprecated `access_token` query parameter (required by spec v1.11–v1.19;
    /// dropped by the next version). When off, `/versions` stops advertising those versions.
    pub accept_query_access_token: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            accept_query_access_token: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// A validation session expires this long after its last change.
    pub lifetime_hours: u64,
    /// Wrong tokens tolerated per session before it is locked.
    pub max_submit_attempts: u32,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            lifetime_hours: 24,
            max_submit_attempts: 10,
        }
    }
}

impl SessionsConfig {
    pub fn lifetime_ms(&self) -> i64 {
        i64::try_from(self.lifetime_hours.saturating_mul(3_600_000)).unwrap_or(i64::MAX)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    /// Real SMTP delivery. Without it, mails are written to `outbox_dir` (development).
    pub smtp: Option<SmtpConfig>,
    /// Where mails go while no SMTP server is configured.
    pub outbox_dir: PathBuf,
    pub templates: TemplatesConfig,
}

impl Default for EmailConfig {
    fn default() -> Self {
        Self {
            smtp: None,
            outbox_dir: PathBuf::from("data/outbox"),
            templates: TemplatesConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InvitesConfig {
    /// Refuse store-invite for an address that is already bound (`M_THREEPID_IN_USE`).
    pub refuse_bound_addresses: bool,
}

impl Default for InvitesConfig {
    fn default() -> Self {
        Self {
            refuse_bound_addresses: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LookupConfig {
    /// Most addresses accepted in one v2 lookup or v1 bulk_lookup.
    pub max_addresses: usize,
}

impl Default for LookupConfig {
    fn default() -> Self {
        Self {
            max_addresses: 10_000,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TermsConfig {
    /// A TOML or JSON file of policies in the `/v2/terms` shape (`{policies: {...}}`).
    /// None: no terms, nothing is gated.
    pub policies_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Validation mails a client address may trigger per minute (burst = this number).
    pub request_token_per_ip_per_minute: u32,
    /// Validation mails one destination address may receive per hour.
    pub request_token_per_address_per_hour: u32,
    /// Invitation mails a client address may trigger per minute.
    pub invite_per_ip_per_minute: u32,
    /// Invitation mails one email address may receive per hour, whoever sends them (many
    /// senders or homeservers cannot flood one inbox).
    pub invite_per_address_per_hour: u32,
    /// Lookups (v1 and v2) a client address may make per second.
    pub lookup_per_ip_per_second: u32,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            request_token_per_ip_per_minute: 10,
            request_token_per_address_per_hour: 5,
            invite_per_ip_per_minute: 10,
            invite_per_address_per_hour: 10,
            lookup_per_ip_per_second: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct LoggingConfig {
    /// A tracing filter, e.g. `info` or `oxident=debug,sqlx=warn`. `RUST_LOG` wins.
    pub filter: String,
    /// `text` for people, `json` (one object per line) for log collectors.
    pub format: LogFormat,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            filter: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Defaults, then the file (when given), then `OXIDENT_*` environment variables.
    pub fn figment(file: Option<&Path>) -> Figment {
        let mut f = Figment::from(Serialized::defaults(EmptyDefaults {}));
        if let Some(path) = file {
            f = f.merge(Toml::file_exact(path));
        }
        f.merge(Env::prefixed("OXIDENT_").split("__"))
    }

    /// Loads and checks the configuration; every problem is reported, not just the first.
    pub fn load(file: Option<&Path>) -> Result<Self, Vec<String>> {
        if let Some(path) = file
            && !path.is_file()
        {
            return Err(vec![format!(
                "configuration file {} does not exist",
                path.display()
            )]);
        }
        let config: Config = Self::figment(file)
            .extract()
            .map_err(|e| e.into_iter().map(|e| e.to_string()).collect::<Vec<_>>())?;
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// Semantic checks beyond types.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.server.bind.parse::<SocketAddr>().is_err() {
            p.push(format!(
                "server.bind: `{}` is not an address like 127.0.0.1:8090",
                self.server.bind
            ));
        }
        if self.server.server_name.trim().is_empty() || self.server.server_name.contains('/') {
            p.push("server.server_name: must be a host name (with optional port)".into());
        }
        let url = &self.server.public_base_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            p.push(format!(
                "server.public_base_url: `{url}` must start with http:// or https://"
            ));
        }
        if let Some(tls) = &self.server.tls
            && let Err(e) = crate::tls::check(tls)
        {
            p.push(format!("server.tls: {e}"));
        }
        if self.server.body_limit_bytes < 1024 {
            p.push("server.body_limit_bytes: must be at least 1024".into());
        }
        if self.sessions.lifetime_hours == 0 {
            p.push("sessions.lifetime_hours: must be at least 1".into());
        }
        if self.sessions.max_submit_attempts == 0 {
            p.push("sessions.max_submit_attempts: must be at least 1".into());
        }
        if let Some(smtp) = &self.email.smtp {
            if smtp.host.trim().is_empty() {
                p.push("email.smtp.host: must not be empty".into());
            }
            if let Some(problem) = smtp.plaintext_auth_problem() {
                p.push(format!("email.smtp: {problem}"));
            }
            if smtp.from.trim().is_empty() && self.email.templates.from.trim().is_empty() {
                p.push("email.smtp.from: a sender address is needed".into());
            }
        }
        if let Some(folder) = &self.email.templates.folder
            && !folder.is_dir()
        {
            p.push(format!(
                "email.templates.folder: {} is not a folder",
                folder.display()
            ));
        }
        if let Some(file) = &self.terms.policies_file {
            match crate::service::terms::Policies::load(file) {
                Ok(_) => {}
                Err(e) => p.push(format!("terms.policies_file: {e}")),
            }
        }
        if self.lookup.max_addresses == 0 {
            p.push("lookup.max_addresses: must be at least 1".into());
        }
        p
    }

    pub fn bind_addr(&self) -> SocketAddr {
        self.server
            .bind
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8090)))
    }
}

/// Figment needs a provider for defaults; the serde defaults on each struct do the real work.
#[derive(Serialize)]
struct EmptyDefaults {}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment::Jail's closure signature returns figment::Error"
)]
mod tests {
    use super::*;

    // Every test that reads the environment runs inside figment's Jail, which serialises
    // them, so one test's OXIDENT_* variables never leak into another.
    #[test]
    fn defaults_run_without_a_file() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(None).expect("defaults are valid");
            assert_eq!(c.server.bind, "127.0.0.1:8090");
            assert!(c.email.smtp.is_none());
            assert_eq!(c.sessions.lifetime_ms(), 24 * 3_600_000);
            Ok(())
        });
    }

    #[test]
    fn every_problem_is_reported() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.toml");
        std::fs::write(
            &path,
            "[server]\nbind = \"nope\"\npublic_base_url = \"ftp://x\"\n[sessions]\nlifetime_hours = 0\n",
        )
        .expect("write");
        figment::Jail::expect_with(|_| {
            let problems = Config::load(Some(&path)).expect_err("invalid");
            assert_eq!(problems.len(), 3, "{problems:?}");
            Ok(())
        });
    }

    #[test]
    fn tls_files_are_checked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tls.toml");
        std::fs::write(
            &path,
            "[server.tls]\ncert_path = \"/nonexistent/cert.pem\"\nkey_path = \"/nonexistent/key.pem\"\n",
        )
        .expect("write");
        figment::Jail::expect_with(|_| {
            let problems = Config::load(Some(&path)).expect_err("missing files");
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(
                problems[0].starts_with("server.tls: cannot read /nonexistent/cert.pem"),
                "{problems:?}"
            );
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("typo.toml");
        std::fs::write(&path, "[server]\nbnid = \"127.0.0.1:1\"\n").expect("write");
        figment::Jail::expect_with(|_| {
            let problems = Config::load(Some(&path)).expect_err("typo");
            assert!(problems[0].contains("bnid"), "{problems:?}");
            Ok(())
        });
    }
}

#[cfg(test)]
#[allow(
    clippy::result_large_err,
    reason = "figment::Jail's closure signature returns figment::Error"
)]
mod example_file {
    use super::*;

    /// The documented example must stay loadable and describe the defaults.
    #[test]
    fn example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("oxident.example.toml");
        figment::Jail::expect_with(|_| {
            let c = Config::load(Some(&path)).expect("example config loads");
            assert_eq!(c.server.bind, ServerConfig::default().bind);
            assert_eq!(c.sessions.lifetime_hours, 24);
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nbind = \"127.0.0.1:1\"\n")?;
            jail.set_env("OXIDENT_SERVER__BIND", "127.0.0.1:2");
            jail.set_env("OXIDENT_SESSIONS__LIFETIME_HOURS", "48");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| p.join("; "))?;
            assert_eq!(c.server.bind, "127.0.0.1:2");
            assert_eq!(c.sessions.lifetime_hours, 48);
            Ok(())
        });
    }
}
