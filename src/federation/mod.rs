//! Outbound requests to homeservers. This is the only module that makes outbound HTTP requests
//! to destinations chosen by request data (`matrix_server_name`, an `mxid`, an X-Matrix
//! origin), so every request goes through the SSRF guard here. (The SMS gateway's URL is the
//! operator's; `sms/http.rs` calls it with a client of its own.)
//!
//! * [`OutboundConfig`] — `[federation]` in the TOML configuration.
//! * [`FederationClient`] — reqwest client: HTTPS only, no redirects, no proxy, timeouts, a DNS
//!   resolver that drops denied addresses, and a pre-send check of IP-literal hosts (reqwest
//!   does not run the resolver for those). Requests to an SRV target go through a client
//!   pinned to the target's addresses, filtered before (`discovery.rs`).
//! * Server discovery (`discovery.rs`): the spec's steps — IP literal, explicit port,
//!   `/.well-known/matrix/server` (cached, `well_known.rs`), SRV `_matrix-fed._tcp` then
//!   `_matrix._tcp`, port 8448 — giving a [`Destination`]: URL (the TLS name), `Host` header,
//!   and the addresses to connect to when SRV chose them.
//! * [`FederationClient::openid_userinfo`] — the `POST /account/register` check (§5.4).
//!
//! Access tokens never appear in logs or error messages: reqwest errors are stripped of their
//! URL (which carries the token in its query) and tracing spans skip the token.
//!
//! Destinations in private, loopback, link-local and other special ranges (sydent's list plus
//! IPv4-mapped IPv6 and more; `ip_filter.rs`) are refused both for IP literals and after DNS
//! resolution, unless the operator allows them; responses are bounded in size. The client is built
//! on first use: a server that only answers lookups never maps in TLS setup. Clients pinned to an
//! SRV target's addresses are kept per (host, addresses), 16 at most. Only the chosen SRV target is
//! tried (no fail-over on connection errors), and an SRV lookup that fails (timeout, SERVFAIL)
//! counts as "no record", so discovery moves on as the spec does for a missing one. The well-known
//! cache (10 000 names) and the homeservers' key cache (4096 origins) are `hashlink::LruCache`s:
//! the least recently used entry goes, in O(1), where the well-known's old map scanned all entries
//! under its mutex and then dropped an arbitrary live one. `accept_invalid_certs` (test
//! homeservers only) also skips the handshake signature checks, which is what makes self-signed
//! X.509 v1 certificates work with rustls.

mod discovery;
pub mod failures;
mod ip_filter;
mod resolver;
mod server_keys;
mod tls;
mod well_known;
pub mod xmatrix;

#[cfg(test)]
mod discovery_tests;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnet::IpNet;
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::clock::Clock;

pub use crate::domain::server_name::{
    DEFAULT_FEDERATION_PORT, Host, InvalidServerName, ServerName, user_belongs_to,
};
pub use discovery::Destination;
pub use ip_filter::{AddressFilter, DEFAULT_DENIED_RANGES, default_denied};
pub use resolver::DeniedAddress;

/// Largest response body read from a homeserver (well-known, userinfo).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// `[federation]`: outbound request policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Drop the built-in deny list (loopback, private, link-local, …). Test set-ups only.
    pub allow_private_addresses: bool,
    /// Extra CIDR ranges to refuse, always applied.
    pub extra_denied: Vec<IpNet>,
    /// CIDR ranges to allow even when a deny list covers them.
    pub extra_allowed: Vec<IpNet>,
    /// Accept any TLS certificate (self-signed, X.509 v1, wrong name). For test homeservers only.
    pub accept_invalid_certs: bool,
    /// Connect and whole-request timeout, in seconds (integer or fraction).
    #[serde(deserialize_with = "de_seconds")]
    pub timeout: Duration,
    /// DNS servers (`ip:port`) for every lookup (A, AAAA, SRV). Empty: the system's resolvers.
    pub dns_servers: Vec<SocketAddr>,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow_private_addresses: false,
            extra_denied: Vec::new(),
            extra_allowed: Vec::new(),
            accept_invalid_certs: false,
            timeout: Duration::from_secs(10),
            dns_servers: Vec::new(),
        }
    }
}

fn de_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| serde::de::Error::custom("timeout must be a positive number of seconds"))
}

/// Why an outbound call failed. Callers map these to Matrix errors (register: `InvalidServerName`
/// → 400 `M_INVALID_PARAM`; `InvalidToken` → 401 `M_UNAUTHORIZED`; the rest → 500 `M_UNKNOWN`).
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error(transparent)]
    InvalidServerName(#[from] InvalidServerName),
    /// The destination resolved only to denied addresses, or is a denied IP literal.
    #[error("destination not allowed: {0}")]
    Denied(String),
    /// DNS failure, connection refused, timeout.
    #[error("homeserver unreachable: {0}")]
    Unreachable(String),
    /// The TLS handshake failed (e.g. an untrusted certificate).
    #[error("TLS failure: {0}")]
    Tls(String),
    /// 401/403 or `M_UNKNOWN_TOKEN` from the homeserver.
    #[error("the homeserver rejected the access token")]
    InvalidToken,
    /// The homeserver's answer is not the expected one (status, JSON, `sub`).
    #[error("bad response from homeserver: {0}")]
    BadResponse(String),
    /// The user ID returned does not belong to the server that was asked.
    #[error("user ID {user_id} does not belong to {server_name}")]
    ForeignUser {
        user_id: String,
        server_name: String,
    },
    /// The HTTP client could not be built.
    #[error("outbound client setup failed: {0}")]
    Setup(String),
}

/// The outbound HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct FederationClient {
    /// Built on first use: most requests never leave this server, and setting up TLS (root
    /// certificates, the crypto provider) maps in code and memory an identity server that only
    /// answers lookups never needs (peak RSS is a target, docs/benchmarks.md).
    http: Arc<std::sync::OnceLock<reqwest::Client>>,
    timeout: std::time::Duration,
    accept_invalid_certs: bool,
    filter: Arc<AddressFilter>,
    dns: Arc<resolver::Dns>,
    clock: Arc<dyn Clock>,
    /// Port of `/.well-known/matrix/server` requests: 443; tests point it elsewhere.
    well_known_port: u16,
    /// Port when discovery finds none: 8448; tests point it elsewhere.
    federation_port: u16,
    well_known: Arc<well_known::WellKnownCache>,
    /// Clients pinned to SRV targets' addresses (reqwest takes address overrides only when
    /// a client is built), newest last; a few destinations at most.
    pinned: Arc<Mutex<Vec<PinnedClient>>>,
    /// Homeservers' signing keys (X-Matrix verification).
    keys: Arc<server_keys::KeyCache>,
    /// Origins whose key fetch failed lately, and servers whose OpenID check failed lately
    /// (not for a bad token): not asked again for [`failures::FAILURE_TTL_MS`].
    key_failures: Arc<failures::RecentFailures>,
    openid_failures: Arc<failures::RecentFailures>,
}

/// Most clients pinned to SRV targets kept at once.
const MAX_PINNED_CLIENTS: usize = 16;

struct PinnedClient {
    host: String,
    addrs: Vec<SocketAddr>,
    client: reqwest::Client,
}

impl std::fmt::Debug for FederationClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationClient")
            .field("filter", &self.filter)
            .finish_non_exhaustive()
    }
}

impl FederationClient {
    pub fn new(cfg: &OutboundConfig, clock: Arc<dyn Clock>) -> Result<Self, FederationError> {
        let filter = Arc::new(AddressFilter::new(
            cfg.allow_private_addresses,
            &cfg.extra_denied,
            &cfg.extra_allowed,
        ));
        if cfg.accept_invalid_certs {
            tracing::warn!(
                "federation.accept_invalid_certs is on: homeserver TLS certificates are NOT verified"
            );
        }
        if cfg.allow_private_addresses {
            tracing::warn!("federation.allow_private_addresses is on: the SSRF guard is relaxed");
        }
        Ok(Self {
            http: Arc::default(),
            timeout: cfg.timeout,
            accept_invalid_certs: cfg.accept_invalid_certs,
            filter,
            dns: Arc::new(resolver::Dns::new(cfg.dns_servers.clone(), cfg.timeout)),
            clock,
            well_known_port: 443,
            federation_port: DEFAULT_FEDERATION_PORT,
            well_known: Arc::default(),
            pinned: Arc::default(),
            keys: Arc::default(),
            key_failures: Arc::default(),
            openid_failures: Arc::default(),
        })
    }

    /// The HTTP client, built the first time it is needed.
    fn http(&self) -> Result<&reqwest::Client, FederationError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = self.build_client(|b| b)?;
        // Two first uses may race; either client is as good, one is kept.
        Ok(self.http.get_or_init(|| client))
    }

    /// The client for `dest`: the shared one, or one pinned to its SRV target's addresses.
    fn client_for(&self, dest: &Destination) -> Result<reqwest::Client, FederationError> {
        let Some(addrs) = &dest.addrs else {
            return self.http().cloned();
        };
        let host = dest.url.host_str().unwrap_or_default();
        let mut pinned = self
            .pinned
            .lock()
            .map_err(|_| FederationError::Setup("pinned clients lock poisoned".into()))?;
        if let Some(p) = pinned.iter().find(|p| p.host == host && &p.addrs == addrs) {
            return Ok(p.client.clone());
        }
        let client = self.build_client(|b| b.resolve_to_addrs(host, addrs))?;
        if pinned.len() >= MAX_PINNED_CLIENTS {
            pinned.remove(0);
        }
        pinned.push(PinnedClient {
            host: host.to_owned(),
            addrs: addrs.clone(),
            client: client.clone(),
        });
        Ok(client)
    }

    fn build_client(
        &self,
        customise: impl FnOnce(reqwest::ClientBuilder) -> reqwest::ClientBuilder,
    ) -> Result<reqwest::Client, FederationError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("oxident/", env!("CARGO_PKG_VERSION")))
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(self.timeout)
            .connect_timeout(self.timeout)
            .dns_resolver(resolver::FilteringResolver {
                filter: self.filter.clone(),
                dns: self.dns.clone(),
            });
        if self.accept_invalid_certs {
            let tls =
                tls::insecure_client_config().map_err(|e| FederationError::Setup(e.to_string()))?;
            builder = builder.tls_backend_preconfigured(tls);
        }
        customise(builder).build().map_err(|e| {
            let e = FederationError::Setup(e.without_url().to_string());
            tracing::error!(error = %e, "cannot build the outbound HTTP client");
            e
        })
    }

    /// The address filter in force.
    pub fn filter(&self) -> &AddressFilter {
        &self.filter
    }

    /// Asks `server_name` who owns an OpenID `access_token`
    /// (`GET /_matrix/federation/v1/openid/userinfo?access_token=…`) and returns `sub`. The
    /// caller must still check [`user_belongs_to`]`(sub, server_name)`, or use
    /// [`Self::openid_user_id`] which does.
    // The server name comes from an unauthenticated client: its failures are `debug`, never
    // `error` (anyone could fill the error log).
    #[tracing::instrument(
        level = "debug",
        skip(self, access_token),
        err(level = "debug", Display)
    )]
    pub async fn openid_userinfo(
        &self,
        server_name: &str,
        access_token: &str,
    ) -> Result<String, FederationError> {
        let name = ServerName::parse(server_name)?;
        let dest = self.resolve(&name).await?;
        let mut url = dest.url_for("/_matrix/federation/v1/openid/userinfo");
        url.query_pairs_mut()
            .append_pair("access_token", access_token);
        let (status, body) = self.get_json(&dest, url).await?;
        let errcode = body
            .as_ref()
            .and_then(|v| v.get("errcode"))
            .and_then(|v| v.as_str());
        if status == StatusCode::UNAUTHORIZED
            || status == StatusCode::FORBIDDEN
            || errcode == Some("M_UNKNOWN_TOKEN")
        {
            return Err(FederationError::InvalidToken);
        }
        if status != StatusCode::OK {
            return Err(FederationError::BadResponse(match errcode {
                Some(c) => format!("HTTP {} ({c})", status.as_u16()),
                None => format!("HTTP {}", status.as_u16()),
            }));
        }
        let sub = body
            .as_ref()
            .and_then(|v| v.get("sub"))
            .and_then(|v| v.as_str())
            .ok_or_else(|| FederationError::BadResponse("no string `sub` in userinfo".into()))?;
        if !looks_like_user_id(sub) {
            return Err(FederationError::BadResponse(
                "`sub` is not a user ID".into(),
            ));
        }
        Ok(sub.to_owned())
    }

    /// [`Self::openid_userinfo`] plus the check that `sub` lives on `server_name`
    /// (`@alice:matrix.org` returned by `example.com` is refused with `ForeignUser`).
    pub async fn openid_user_id(
        &self,
        server_name: &str,
        access_token: &str,
    ) -> Result<String, FederationError> {
        let now_ms = self.clock.now_ms();
        let name = server_name.to_ascii_lowercase();
        if self.openid_failures.failed_recently(&name, now_ms) {
            return Err(FederationError::Unreachable(
                "failed moments ago; not asked again yet".into(),
            ));
        }
        let sub = match self.openid_userinfo(server_name, access_token).await {
            Ok(sub) => sub,
            Err(e) => {
                // The destination failed, not the client's token: remember it briefly.
                if matches!(
                    e,
                    FederationError::Denied(_)
                        | FederationError::Unreachable(_)
                        | FederationError::Tls(_)
                        | FederationError::BadResponse(_)
                ) {
                    self.openid_failures.record(&name, now_ms);
                }
                return Err(e);
            }
        };
        if !user_belongs_to(&sub, server_name) {
            return Err(FederationError::ForeignUser {
                user_id: sub,
                server_name: server_name.to_owned(),
            });
        }
        Ok(sub)
    }

    /// Sends a GET and reads at most [`MAX_RESPONSE_BYTES`]; the body is parsed as JSON whatever
    /// the Content-Type (some homeservers send none), `None` when it is not JSON.
    async fn get_json(
        &self,
        dest: &Destination,
        url: Url,
    ) -> Result<(StatusCode, Option<serde_json::Value>), FederationError> {
        let resp = self
            .request(reqwest::Method::GET, dest, url)?
            .send()
            .await
            .map_err(classify)?;
        read_json(resp).await
    }

    /// A request to `url` (on `dest`) through the guard: IP literals checked here, host names
    /// by the resolver or, for SRV targets, by discovery.
    fn request(
        &self,
        method: reqwest::Method,
        dest: &Destination,
        url: Url,
    ) -> Result<reqwest::RequestBuilder, FederationError> {
        self.check_literal_host(&url)?;
        Ok(self
            .client_for(dest)?
            .request(method, url)
            .header(reqwest::header::HOST, dest.host_header.as_str()))
    }

    /// `POST https://<server_name's federation address><path>` with a JSON body; the answer's
    /// status and JSON body (`None` when it is not JSON), read up to [`MAX_RESPONSE_BYTES`];
    /// `timeout` replaces the configured one for calls the peer is known to answer slowly.
    pub async fn post_json(
        &self,
        server_name: &str,
        path: &str,
        body: &serde_json::Value,
        timeout: Option<Duration>,
    ) -> Result<(StatusCode, Option<serde_json::Value>), FederationError> {
        let name = ServerName::parse(server_name)?;
        let dest = self.resolve(&name).await?;
        let url = dest.url_for(path);
        let mut request = self.request(reqwest::Method::POST, &dest, url)?;
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
        }
        let resp = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body).map_err(|e| FederationError::Setup(e.to_string()))?)
            .send()
            .await
            .map_err(classify)?;
        read_json(resp).await
    }

    /// reqwest skips the resolver for IP-literal hosts: check them here.
    fn check_literal_host(&self, url: &Url) -> Result<(), FederationError> {
        let host = url
            .host_str()
            .ok_or_else(|| FederationError::Denied("URL without host".into()))?;
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<std::net::IpAddr>()
            && !self.filter.is_allowed(ip)
        {
            static DENIED: crate::log_throttle::Throttle =
                crate::log_throttle::Throttle::new(std::time::Duration::from_secs(60));
            crate::warn_throttled!(DENIED, %ip, "outbound request refused: denied address");
            return Err(FederationError::Denied(ip.to_string()));
        }
        Ok(())
    }
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of an answer; the body is parsed as JSON whatever the
/// Content-Type (some homeservers send none), `None` when it is not JSON.
async fn read_json(
    mut resp: reqwest::Response,
) -> Result<(StatusCode, Option<serde_json::Value>), FederationError> {
    let status = resp.status();
    let mut buf = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(classify)? {
        if buf.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(FederationError::BadResponse("response too large".into()));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok((status, serde_json::from_slice(&buf).ok()))
}

fn looks_like_user_id(s: &str) -> bool {
    s.len() <= 255
        && s.strip_prefix('@')
            .and_then(|r| r.split_once(':'))
            .is_some_and(|(local, server)| !local.is_empty() && ServerName::parse(server).is_ok())
}

/// Maps a reqwest error to a [`FederationError`] without its URL (which may carry a token).
fn classify(e: reqwest::Error) -> FederationError {
    if let Some(d) = find_in_chain::<DeniedAddress>(&e) {
        return FederationError::Denied(d.host.clone());
    }
    if let Some(t) = find_in_chain::<rustls::Error>(&e) {
        return FederationError::Tls(t.to_string());
    }
    let timeout = e.is_timeout();
    let body = e.is_body() || e.is_decode();
    let msg = chain_message(&e.without_url());
    if timeout {
        FederationError::Unreachable(format!("timed out: {msg}"))
    } else if body {
        FederationError::BadResponse(msg)
    } else {
        FederationError::Unreachable(msg)
    }
}

/// Finds a `T` in the source chain, looking inside `io::Error`s too (whose `source()` skips the
/// wrapped error).
fn find_in_chain<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(t) = find_in_chain::<T>(inner)
        {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

fn chain_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut msg = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let part = s.to_string();
        if !msg.contains(&part) {
            msg.push_str(": ");
            msg.push_str(&part);
        }
        cur = s.source();
    }
    msg
}
