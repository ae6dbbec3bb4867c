//! Typed configuration: a TOML file, every key overridable by environment variables
//! (`OXIDENT_<SECTION>__<KEY>`, e.g. `OXIDENT_SERVER__BIND=0.0.0.0:8090`), and defaults that
//! run: with no file at all the server listens on 127.0.0.1:8090 with SQLite, a generated key
//! and mail written to a folder.
//!
//! Each area owns its section's settings and their checks (`[sessions]` in
//! `service::sessions`, `[terms]` in `service::terms`, `[ratelimit]` in `service::ratelimit`,
//! `[invites]` in `service::invites`, `[server.tls]` in `edge::tls`, `[sydent]` in `sydent`,
//! `[sms]` in `sms`); this module only composes them: figment's layers, the environment, and
//! every area's problems gathered into one list of [`ConfigError`]s.

pub use crate::duration::ConfigDuration;
use crate::mail::smtp::SmtpConfig;
use crate::mail::templates::TemplatesConfig;
use crate::service::invites::InvitesConfig;
use crate::service::ratelimit::RateLimitConfig;
use crate::service::sessions::{SessionsConfig, SessionsConfigError};
use crate::service::terms::{TermsConfig, TermsConfigError};
use crate::sydent::SydentSection;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `OXIDENT_CONFIG` as figment sees it once the prefix is stripped (keys are lower-cased).
const CONFIG_FILE_VARIABLE_KEY: &str = "config";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub database: DatabaseConfig,
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
    pub sydent: SydentSection,
    pub api: ApiConfig,
    pub sms: crate::sms::SmsConfig,
    pub metrics: crate::ops::MetricsConfig,
}

/// `[api]`: which API generations are served (sydent's `enable_v1_access` and
/// `enable_v1_associations`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiConfig {
    /// Serve the deprecated v1 API (`/_matrix/identity/api/v1/…`). Off: every v1 path is
    /// `404 M_UNRECOGNIZED`, as on a server that never had it.
    pub enable_v1_access: bool,
    /// Serve v1 `/3pid/bind` (unauthenticated binding). Off whenever v1 is off.
    pub enable_v1_associations: bool,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enable_v1_access: true,
            enable_v1_associations: true,
        }
    }
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
    /// Open connections from one client address (0: no cap); IPv6 addresses count per
    /// `[ratelimit] ipv6_prefix` network.
    pub max_connections_per_ip: usize,
    /// `[server.tls]`: serve HTTPS on `bind` (reloaded on SIGHUP); plain HTTP without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<crate::edge::tls::TlsConfig>,
    /// On SIGTERM or Ctrl-C, how long requests in flight (and invite deliveries under way)
    /// may take to finish before the server exits anyway.
    pub shutdown_grace: ConfigDuration,
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
            shutdown_grace: ConfigDuration(Duration::from_secs(10)),
        }
    }
}

/// `[database]`: PostgreSQL, for several instances on one database. When `url` is set it wins
/// over `[storage] sqlite_path` (which is then not opened).
#[derive(Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `postgres://user:password@host:port/database` (`?sslmode=require` for TLS).
    pub url: Option<String>,
    /// Connections in this instance's pool (each instance has its own).
    pub max_connections: u32,
    /// How long a request waits for a free connection before it is answered 503 (with
    /// `Retry-After`). Once the health check (every 250 ms) finds the database unreachable,
    /// requests are answered 503 at once, and served again within a second of its return.
    pub acquire_timeout: ConfigDuration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: None,
            max_connections: 16,
            acquire_timeout: ConfigDuration(Duration::from_secs(3)),
        }
    }
}

/// The URL holds a password: never printed.
impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig")
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
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
    /// An access token not used for this long is deleted (a client then registers again,
    /// as after a logout). Use is recorded to within an hour. Default 30 days.
    pub token_unused_lifetime: ConfigDuration,
    /// Access tokens kept per account: a new one past this drops the oldest. 0: no cap.
    pub max_tokens_per_account: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            accept_query_access_token: true,
            token_unused_lifetime: ConfigDuration(Duration::from_secs(30 * 86_400)),
            max_tokens_per_account: 32,
        }
    }
}

impl AuthConfig {
    pub fn token_unused_lifetime_ms(&self) -> i64 {
        i64::try_from(self.token_unused_lifetime.0.as_millis()).unwrap_or(i64::MAX)
    }

    fn problems(&self) -> Vec<ConfigError> {
        let mut p = Vec::new();
        if self.token_unused_lifetime.0 < Duration::from_secs(2 * 3600) {
            p.push(ConfigError::invalid(
                "auth.token_unused_lifetime",
                "must be at least 2h (use is recorded hourly)",
            ));
        }
        p
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
        Self::layered(file, None)
    }

    /// Defaults, then values taken from a sydent.conf, then the file, then the environment.
    fn layered(file: Option<&Path>, sydent: Option<serde_json::Value>) -> Figment {
        let mut f = Figment::from(Serialized::defaults(EmptyDefaults {}));
        if let Some(values) = sydent {
            f = f.merge(Serialized::defaults(values));
        }
        if let Some(path) = file {
            f = f.merge(Toml::file_exact(path));
        }
        // `OXIDENT_CONFIG` names the file itself (the `--config` flag's variable), it is no
        // configuration key: read as one, `deny_unknown_fields` refused to start the server.
        f.merge(
            Env::prefixed("OXIDENT_")
                .ignore(&[CONFIG_FILE_VARIABLE_KEY])
                .split("__"),
        )
    }

    /// Loads and checks the configuration; every problem is reported, not just the first.
    pub fn load(file: Option<&Path>) -> Result<Self, Vec<ConfigError>> {
        Self::load_layers(file, None)
    }

    /// The configuration of a server replacing sydent that has no TOML file: `sydent_conf`'s
    /// options (as with `[sydent] config_file`), defaults and the environment.
    pub fn load_from_sydent_conf(sydent_conf: &Path) -> Result<Self, Vec<ConfigError>> {
        Self::load_layers(None, Some(sydent_conf))
    }

    fn load_layers(
        file: Option<&Path>,
        sydent_conf: Option<&Path>,
    ) -> Result<Self, Vec<ConfigError>> {
        if let Some(path) = file
            && !path.is_file()
        {
            return Err(vec![ConfigError::NoFile(path.to_path_buf())]);
        }
        let mut figment = Self::figment(file);
        let sydent_file = sydent_conf.map(Path::to_path_buf).or_else(|| {
            figment
                .extract_inner::<Option<PathBuf>>("sydent.config_file")
                .ok()
                .flatten()
        });
        if let Some(path) = sydent_file {
            let conf = crate::sydent::conf::SydentConf::load(&path)
                .map_err(|e| vec![ConfigError::SydentFile(e)])?;
            let base = path.parent().unwrap_or(Path::new("."));
            let (values, problems) = conf.oxident_values(base);
            if !problems.is_empty() {
                return Err(problems
                    .into_iter()
                    .map(|problem| ConfigError::SydentOption {
                        path: path.clone(),
                        problem,
                    })
                    .collect());
            }
            figment = Self::layered(file, Some(values));
        }
        let config: Config = figment.extract().map_err(|e| {
            e.into_iter()
                .map(|e| ConfigError::Read(e.to_string()))
                .collect::<Vec<_>>()
        })?;
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }

    /// Semantic checks beyond types: every area's own, then those across sections.
    pub fn problems(&self) -> Vec<ConfigError> {
        let mut p = self.auth.problems();
        if self.server.bind.parse::<SocketAddr>().is_err() {
            p.push(ConfigError::invalid(
                "server.bind",
                format!(
                    "`{}` is not an address like 127.0.0.1:8090",
                    self.server.bind
                ),
            ));
        }
        if self.server.server_name.trim().is_empty() || self.server.server_name.contains('/') {
            p.push(ConfigError::invalid(
                "server.server_name",
                "must be a host name (with optional port)",
            ));
        }
        let url = &self.server.public_base_url;
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            p.push(ConfigError::invalid(
                "server.public_base_url",
                format!("`{url}` must start with http:// or https://"),
            ));
        }
        if let Some(tls) = &self.server.tls
            && let Err(e) = crate::edge::tls::check(tls)
        {
            p.push(ConfigError::Tls(e));
        }
        if self.server.body_limit_bytes < 1024 {
            p.push(ConfigError::invalid(
                "server.body_limit_bytes",
                "must be at least 1024",
            ));
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            p.push(ConfigError::invalid(
                "database.url",
                "must start with postgres:// (or postgresql://)",
            ));
        }
        if self.database.max_connections < 2 {
            p.push(ConfigError::invalid(
                "database.max_connections",
                "must be at least 2",
            ));
        }
        p.extend(self.sessions.validate().into_iter().map(ConfigError::from));
        if let Some(smtp) = &self.email.smtp {
            if smtp.host.trim().is_empty() {
                p.push(ConfigError::invalid("email.smtp.host", "must not be empty"));
            }
            if let Some(problem) = smtp.plaintext_auth_problem() {
                p.push(ConfigError::invalid("email.smtp", problem));
            }
            if smtp.from.trim().is_empty() && self.email.templates.from.trim().is_empty() {
                p.push(ConfigError::invalid(
                    "email.smtp.from",
                    "a sender address is needed",
                ));
            }
        }
        if let Some(folder) = &self.email.templates.folder
            && !folder.is_dir()
        {
            p.push(ConfigError::invalid(
                "email.templates.folder",
                format!("{} is not a folder", folder.display()),
            ));
        }
        if let Err(e) = self.terms.validate() {
            p.push(e.into());
        }
        if self.lookup.max_addresses == 0 {
            p.push(ConfigError::invalid(
                "lookup.max_addresses",
                "must be at least 1",
            ));
        }
        for (name, budget) in [
            (
                "lookup_hashes_per_account_per_hour",
                self.ratelimit.lookup_hashes_per_account_per_hour,
            ),
            (
                "lookup_hashes_per_account_per_day",
                self.ratelimit.lookup_hashes_per_account_per_day,
            ),
        ] {
            if budget != 0 && (budget as usize) < self.lookup.max_addresses {
                p.push(ConfigError::invalid(
                    format!("ratelimit.{name}"),
                    format!(
                        "must be 0 (off) or at least lookup.max_addresses ({}): a request \
                         larger than the budget could never be answered",
                        self.lookup.max_addresses
                    ),
                ));
            }
        }
        p.extend(
            self.sms
                .problems(self.email.templates.folder.as_deref())
                .into_iter()
                .map(ConfigError::Sms),
        );
        p
    }

    pub fn bind_addr(&self) -> SocketAddr {
        self.server
            .bind
            .parse()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8090)))
    }
}

/// One problem with the configuration. Its text names the key (`section.key: …`) and is what
/// `check-config` and a refused start print, one per line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {} does not exist", .0.display())]
    NoFile(PathBuf),
    /// A value of the wrong type, an unknown key, a file that does not parse (figment's
    /// message, which says where the value came from).
    #[error("{0}")]
    Read(String),
    /// The sydent.conf named by `[sydent] config_file` cannot be read.
    #[error("{0}")]
    SydentFile(String),
    /// An option of that sydent.conf has no meaning here or a bad value.
    #[error("sydent.config_file {}: {problem}", path.display())]
    SydentOption { path: PathBuf, problem: String },
    #[error(transparent)]
    Sessions(#[from] SessionsConfigError),
    #[error(transparent)]
    Terms(#[from] TermsConfigError),
    #[error("server.tls: {0}")]
    Tls(#[from] crate::edge::tls::TlsError),
    /// A `[sms]` problem, as `sms::SmsConfig::problems` words it.
    #[error("{0}")]
    Sms(String),
    /// A section this module keeps (server, database, auth, email, lookup) or a rule
    /// across sections.
    #[error("{key}: {problem}")]
    Invalid { key: String, problem: String },
}

impl ConfigError {
    fn invalid(key: impl Into<String>, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.into(),
            problem: problem.into(),
        }
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

    /// Problems as one line, for a test's error.
    pub(super) fn joined(problems: &[ConfigError]) -> String {
        problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    }

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
    fn session_lifetime_is_a_duration_and_lifetime_hours_still_works() {
        figment::Jail::expect_with(|jail| {
            for (text, ms) in [
                ("\"90s\"", 90_000),
                ("\"2s\"", 2_000),
                ("\"24h\"", 86_400_000),
                ("\"1500ms\"", 1_500),
                ("\"30m\"", 1_800_000),
                ("\"2d\"", 172_800_000),
            ] {
                jail.create_file("c.toml", &format!("[sessions]\nlifetime = {text}\n"))?;
                let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| joined(&p))?;
                assert_eq!(c.sessions.lifetime_ms(), ms, "{text}");
            }
            jail.create_file("c.toml", "[sessions]\nlifetime_hours = 3\n")?;
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| joined(&p))?;
            assert_eq!(c.sessions.lifetime_ms(), 3 * 3_600_000);
            jail.set_env("OXIDENT_SESSIONS__LIFETIME", "45s");
            let c = Config::load(None).map_err(|p| joined(&p))?;
            assert_eq!(c.sessions.lifetime_ms(), 45_000);
            Ok(())
        });
    }

    #[test]
    fn bad_lifetimes_and_prefixes_are_refused_with_a_reason() {
        figment::Jail::expect_with(|jail| {
            for (toml, expected) in [
                (
                    "[sessions]\nlifetime = \"24 hours\"\n",
                    "units: ms, s, m, h, d",
                ),
                ("[sessions]\nlifetime = \"h\"\n", "not a duration"),
                ("[sessions]\nlifetime = \"10\"\n", "not a duration"),
                ("[sessions]\nlifetime = \"-1s\"\n", "not a duration"),
                ("[sessions]\nlifetime = \"0s\"\n", "at least 1s"),
                (
                    "[sessions]\nlifetime = \"1h\"\nlifetime_hours = 1\n",
                    "not both",
                ),
                ("[ratelimit]\nipv6_prefix = 0\n", "1 to 128"),
                ("[ratelimit]\nipv6_prefix = 129\n", "1 to 128"),
            ] {
                jail.create_file("c.toml", toml)?;
                let problems = Config::load(Some(Path::new("c.toml"))).expect_err(toml);
                assert!(
                    problems.iter().any(|p| p.to_string().contains(expected)),
                    "{toml}: {problems:?}"
                );
            }
            jail.create_file("c.toml", "[ratelimit]\nipv6_prefix = 48\n")?;
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| joined(&p))?;
            assert_eq!(c.ratelimit.ipv6_prefix.bits(), 48);
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
    fn database_url_is_checked_read_from_the_environment_and_never_printed() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(Config::load(None).expect("defaults").database.url, None);
            jail.set_env("OXIDENT_DATABASE__URL", "postgres://u:hunter2@db/oxident");
            jail.set_env("OXIDENT_DATABASE__MAX_CONNECTIONS", "4");
            let c = Config::load(None).expect("valid");
            assert_eq!(
                c.database.url.as_deref(),
                Some("postgres://u:hunter2@db/oxident")
            );
            assert_eq!(c.database.max_connections, 4);
            assert!(!format!("{c:?}").contains("hunter2"));
            jail.set_env("OXIDENT_DATABASE__URL", "mysql://db/oxident");
            jail.set_env("OXIDENT_DATABASE__MAX_CONNECTIONS", "1");
            let problems = Config::load(None).expect_err("invalid");
            assert_eq!(problems.len(), 2, "{problems:?}");
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
                problems[0]
                    .to_string()
                    .starts_with("server.tls: cannot read /nonexistent/cert.pem"),
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
            assert!(problems[0].to_string().contains("bnid"), "{problems:?}");
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
    use super::tests::joined;
    use super::*;

    /// The documented example must stay loadable and describe the defaults.
    #[test]
    fn example_config_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("oxident.example.toml");
        figment::Jail::expect_with(|_| {
            let c = Config::load(Some(&path)).expect("example config loads");
            assert_eq!(c.server.bind, ServerConfig::default().bind);
            assert_eq!(c.sessions.lifetime(), Duration::from_secs(24 * 3600));
            assert_eq!(c.ratelimit.ipv6_prefix.bits(), 64);
            Ok(())
        });
    }

    /// `OXIDENT_CONFIG` (the `--config` flag's variable, shown by `--help`) names the file; it
    /// must not be read as a configuration key of its own.
    #[test]
    fn config_file_variable_is_not_a_key() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nbind = \"127.0.0.1:3\"\n")?;
            jail.set_env("OXIDENT_CONFIG", "c.toml");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| joined(&p))?;
            assert_eq!(c.server.bind, "127.0.0.1:3");
            let c = Config::load(None).map_err(|p| joined(&p))?;
            assert_eq!(c.server.bind, ServerConfig::default().bind);
            Ok(())
        });
    }

    /// A sydent.conf named by `sydent.config_file` supplies what it sets; the TOML file and
    /// the environment still win.
    #[test]
    fn sydent_conf_values_sit_below_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "sydent.conf",
                "[general]\nserver.name = is.example\nbrand.default = matrix-org\n\
                 address_lookup_limit = 77\nterms.path = terms.yaml\n\
                 [http]\nclientapi.http.bind_address = 127.0.0.1\nclientapi.http.port = 9999\n\
                 client_http_base = https://is.example\nfederation.verifycerts = false\n\
                 [email]\nemail.smtphost = mail.example\nemail.smtpport = 2525\n\
                 email.tlsmode = STARTTLS\nemail.from = Identity <id@{hostname}>\n\
                 email.hostname = is.example\nemail.invite.subject = %(sender)s invites you\n",
            )?;
            jail.create_file(
                "terms.yaml",
                "master_version: m\ndocs:\n  p:\n    version: '1'\n    langs:\n      en:\n        \
                 name: P\n        url: https://t/p\n",
            )?;
            jail.create_file(
                "c.toml",
                "[sydent]\nconfig_file = \"sydent.conf\"\n[lookup]\nmax_addresses = 5\n",
            )?;
            jail.set_env("OXIDENT_SERVER__SERVER_NAME", "env.example");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| joined(&p))?;
            assert_eq!(c.server.server_name, "env.example");
            assert_eq!(c.lookup.max_addresses, 5);
            assert_eq!(c.server.bind, "127.0.0.1:9999");
            assert_eq!(c.server.public_base_url, "https://is.example");
            assert!(c.federation.accept_invalid_certs);
            let smtp = c.email.smtp.as_ref().ok_or("smtp from sydent.conf")?;
            assert_eq!(
                (smtp.host.as_str(), smtp.port),
                ("mail.example", Some(2525))
            );
            assert_eq!(smtp.tls, crate::mail::SmtpTls::StartTls);
            assert_eq!(c.email.templates.from, "Identity <id@is.example>");
            assert_eq!(c.email.templates.invite_subject, "%(sender)s invites you");
            assert!(c.terms.policies_file.is_some());
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("c.toml", "[server]\nbind = \"127.0.0.1:1\"\n")?;
            jail.set_env("OXIDENT_SERVER__BIND", "127.0.0.1:2");
            jail.set_env("OXIDENT_SESSIONS__LIFETIME_HOURS", "48");
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| joined(&p))?;
            assert_eq!(c.server.bind, "127.0.0.1:2");
            assert_eq!(c.sessions.lifetime_hours, Some(48));
            assert_eq!(c.sessions.lifetime_ms(), 48 * 3_600_000);
            Ok(())
        });
    }
}
