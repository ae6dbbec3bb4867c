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

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SydentSection {
    /// A `sydent.conf` to take settings from, for a server replacing sydent: its options
    /// that mean something here become their TOML twins (README, "Moving from sydent"),
    /// below this file and the environment, which win.
    pub config_file: Option<PathBuf>,
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

    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.token_unused_lifetime.0 < Duration::from_secs(2 * 3600) {
            p.push(
                "auth.token_unused_lifetime: must be at least 2h (use is recorded hourly)".into(),
            );
        }
        p
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionsConfig {
    /// How long a validation session lives: from its creation or last `requestToken` resend
    /// while it is not validated, from its (first) validation once it is. A duration such as
    /// `"24h"`, `"90m"`, `"90s"` (units `ms`, `s`, `m`, `h`, `d`). Default 24 h.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime: Option<ConfigDuration>,
    /// The same in whole hours (the older key); `lifetime` is its successor, set one of them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifetime_hours: Option<u64>,
    /// Wrong tokens tolerated per session before it is locked.
    pub max_submit_attempts: u32,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            lifetime: None,
            lifetime_hours: None,
            max_submit_attempts: 10,
        }
    }
}

/// The session lifetime when neither key is set.
const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(24 * 3600);

impl SessionsConfig {
    pub fn lifetime(&self) -> Duration {
        match (self.lifetime, self.lifetime_hours) {
            (Some(d), _) => d.0,
            (None, Some(h)) => Duration::from_secs(h.saturating_mul(3600)),
            (None, None) => DEFAULT_SESSION_LIFETIME,
        }
    }

    pub fn lifetime_ms(&self) -> i64 {
        i64::try_from(self.lifetime().as_millis()).unwrap_or(i64::MAX)
    }

    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.lifetime.is_some() && self.lifetime_hours.is_some() {
            p.push(
                "sessions: set `lifetime` or `lifetime_hours`, not both (`lifetime` replaces it)"
                    .into(),
            );
        }
        if self.lifetime_hours == Some(0) {
            p.push("sessions.lifetime_hours: must be at least 1".into());
        }
        if self.lifetime.is_some_and(|d| d.0 < Duration::from_secs(1)) {
            p.push("sessions.lifetime: must be at least 1s".into());
        }
        if self.max_submit_attempts == 0 {
            p.push("sessions.max_submit_attempts: must be at least 1".into());
        }
        p
    }
}

/// A duration written for people: a whole number and a unit, `"24h"`, `"90s"`, `"1500ms"`
/// (units `ms`, `s`, `m`, `h`, `d`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub struct ConfigDuration(pub Duration);

impl std::str::FromStr for ConfigDuration {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{text}` is not a duration: write a whole number and a unit, e.g. \"24h\", \"90s\" \
                 (units: ms, s, m, h, d)"
            )
        };
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, unit) = t.split_at(split);
        let n: u64 = number.parse().map_err(|_| bad())?;
        let ms_per_unit: u64 = match unit.trim() {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        n.checked_mul(ms_per_unit)
            .map(|ms| Self(Duration::from_millis(ms)))
            .ok_or_else(|| format!("`{text}` is too long a duration"))
    }
}

impl TryFrom<String> for ConfigDuration {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl From<ConfigDuration> for String {
    fn from(d: ConfigDuration) -> String {
        format!("{}ms", d.0.as_millis())
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
    /// Leading characters of the local part shown in an invite's `display_name` (sydent's
    /// `email.third_party_invite_username_obfuscate_characters`).
    pub username_reveal_characters: usize,
    /// Leading characters of the domain shown there (sydent's
    /// `email.third_party_invite_domain_obfuscate_characters`).
    pub domain_reveal_characters: usize,
    /// An invite still not delivered to its homeserver this long after it was stored is
    /// given up (logged and counted; no longer retried). Default 7 days.
    pub delivery_give_up_after: ConfigDuration,
    /// Deliveries in flight to one homeserver at once; more wait their turn, so a slow
    /// homeserver holds a few slots, not the whole queue.
    pub delivery_per_destination: u32,
}

impl Default for InvitesConfig {
    fn default() -> Self {
        Self {
            refuse_bound_addresses: true,
            username_reveal_characters: 3,
            domain_reveal_characters: 3,
            delivery_give_up_after: ConfigDuration(Duration::from_secs(7 * 86_400)),
            delivery_per_destination: 2,
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

/// Each limit is a burst refilled evenly over its period; 0 switches that limit off.
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
    /// Hashes one account may look up per hour in v2 lookups (each address of a request
    /// counts), against enumeration. 0: off (the default: v1 lookups need no account, so a
    /// budget only binds where the v1 API is switched off or its clients are few).
    pub lookup_hashes_per_account_per_hour: u32,
    /// The same per day (0: off).
    pub lookup_hashes_per_account_per_day: u32,
    /// Requests that make this server call a homeserver the request names — `register`
    /// (OpenID userinfo) and homeserver-signed `unbind` (its keys) — a client address may
    /// make per minute, both together.
    pub outbound_per_ip_per_minute: u32,
    /// How many leading bits of an IPv6 address are one client, for every per-address limit
    /// above and `server.max_connections_per_ip` (1–128). One IPv6 host usually holds a
    /// whole /64; an IPv4-mapped address (`::ffff:a.b.c.d`) counts as its IPv4 address.
    pub ipv6_prefix: crate::client_net::Ipv6Prefix,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            request_token_per_ip_per_minute: 10,
            request_token_per_address_per_hour: 5,
            invite_per_ip_per_minute: 10,
            invite_per_address_per_hour: 10,
            lookup_per_ip_per_second: 100,
            lookup_hashes_per_account_per_hour: 0,
            lookup_hashes_per_account_per_day: 0,
            outbound_per_ip_per_minute: 20,
            ipv6_prefix: crate::client_net::Ipv6Prefix::DEFAULT,
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
    pub fn load(file: Option<&Path>) -> Result<Self, Vec<String>> {
        Self::load_layers(file, None)
    }

    /// The configuration of a server replacing sydent that has no TOML file: `sydent_conf`'s
    /// options (as with `[sydent] config_file`), defaults and the environment.
    pub fn load_from_sydent_conf(sydent_conf: &Path) -> Result<Self, Vec<String>> {
        Self::load_layers(None, Some(sydent_conf))
    }

    fn load_layers(file: Option<&Path>, sydent_conf: Option<&Path>) -> Result<Self, Vec<String>> {
        if let Some(path) = file
            && !path.is_file()
        {
            return Err(vec![format!(
                "configuration file {} does not exist",
                path.display()
            )]);
        }
        let mut figment = Self::figment(file);
        let sydent_file = sydent_conf.map(Path::to_path_buf).or_else(|| {
            figment
                .extract_inner::<Option<PathBuf>>("sydent.config_file")
                .ok()
                .flatten()
        });
        if let Some(path) = sydent_file {
            let conf = crate::sydent::conf::SydentConf::load(&path).map_err(|e| vec![e])?;
            let base = path.parent().unwrap_or(Path::new("."));
            let (values, problems) = conf.oxident_values(base);
            if !problems.is_empty() {
                return Err(problems
                    .into_iter()
                    .map(|p| format!("sydent.config_file {}: {p}", path.display()))
                    .collect());
            }
            figment = Self::layered(file, Some(values));
        }
        let config: Config = figment
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
        let mut p = self.auth.problems();
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
            && let Err(e) = crate::edge::tls::check(tls)
        {
            p.push(format!("server.tls: {e}"));
        }
        if self.server.body_limit_bytes < 1024 {
            p.push("server.body_limit_bytes: must be at least 1024".into());
        }
        if let Some(url) = &self.database.url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            p.push("database.url: must start with postgres:// (or postgresql://)".into());
        }
        if self.database.max_connections < 2 {
            p.push("database.max_connections: must be at least 2".into());
        }
        p.extend(self.sessions.problems());
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
                p.push(format!(
                    "ratelimit.{name}: must be 0 (off) or at least lookup.max_addresses ({}): \
                     a request larger than the budget could never be answered",
                    self.lookup.max_addresses
                ));
            }
        }
        p.extend(self.sms.problems(self.email.templates.folder.as_deref()));
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
                let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| p.join("; "))?;
                assert_eq!(c.sessions.lifetime_ms(), ms, "{text}");
            }
            jail.create_file("c.toml", "[sessions]\nlifetime_hours = 3\n")?;
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| p.join("; "))?;
            assert_eq!(c.sessions.lifetime_ms(), 3 * 3_600_000);
            jail.set_env("OXIDENT_SESSIONS__LIFETIME", "45s");
            let c = Config::load(None).map_err(|p| p.join("; "))?;
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
                    problems.iter().any(|p| p.contains(expected)),
                    "{toml}: {problems:?}"
                );
            }
            jail.create_file("c.toml", "[ratelimit]\nipv6_prefix = 48\n")?;
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| p.join("; "))?;
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
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| p.join("; "))?;
            assert_eq!(c.server.bind, "127.0.0.1:3");
            let c = Config::load(None).map_err(|p| p.join("; "))?;
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
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| p.join("; "))?;
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
            let c = Config::load(Some(Path::new("c.toml"))).map_err(|p| p.join("; "))?;
            assert_eq!(c.server.bind, "127.0.0.1:2");
            assert_eq!(c.sessions.lifetime_hours, Some(48));
            assert_eq!(c.sessions.lifetime_ms(), 48 * 3_600_000);
            Ok(())
        });
    }
}
