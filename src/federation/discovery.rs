//! Server discovery: where to send a request meant for a server name, following the spec's
//! "Resolving server names" steps (Server-Server API) exactly:
//!
//! 1. IP literal → that address, its port or 8448; `Host` = the server name.
//! 2. Host name with a port → that name and port; `Host` = the server name.
//! 3. `https://<hostname>/.well-known/matrix/server` (cached, `well_known.rs`), when it
//!    names a delegated server:
//!    1. an IP literal → that address, its port or 8448; `Host` = the delegated name;
//!    2. a host name with a port → that name and port; `Host` = the delegated name;
//!    3. SRV `_matrix-fed._tcp.<delegated>`, 4. SRV `_matrix._tcp.<delegated>` (deprecated)
//!       → the target's addresses and port; TLS name and `Host` = the delegated host name;
//!    5. else the delegated host name, port 8448.
//! 4. SRV `_matrix-fed._tcp.<hostname>`, 5. SRV `_matrix._tcp.<hostname>` (deprecated);
//!    TLS name and `Host` = the host name.
//! 6. The host name, port 8448.
//!
//! SRV answers are ordered by priority (lowest first), then by weight (highest first); the
//! weighted random choice of RFC 2782 is not made, so discovery is deterministic. The first
//! record whose target has an allowed address is used; a target of `.` alone means the
//! service is not offered there. The target's addresses are resolved here and filtered with
//! the address guard before the request (reqwest skips its resolver, and so our guard, for
//! names it is given addresses for).
//!
//! The `Host` header is always set explicitly: the spec's values differ from what an HTTP client
//! derives from the URL (no `:8448`, say); the URL's host is the name TLS verifies and sends as
//! SNI. When no SRV target has an allowed address, the name is `Denied`.

use std::net::SocketAddr;

use reqwest::Url;

use super::resolver::{DeniedAddress, SrvRecord, allowed_addrs};
use super::{FederationClient, FederationError, Host, InvalidServerName, ServerName};

/// SRV services, in the order the spec asks for them.
const SRV_SERVICES: [&str; 2] = ["_matrix-fed._tcp", "_matrix._tcp"];

/// Where requests for a server name go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// `https://<host>:<port>/`; `host` is the name the TLS certificate must be valid for.
    pub url: Url,
    /// The `Host` header every request carries.
    pub host_header: String,
    /// The addresses to connect to instead of resolving `url`'s host (SRV targets), already
    /// filtered by the address guard.
    pub addrs: Option<Vec<SocketAddr>>,
}

impl Destination {
    /// `url` with `path` (and no query).
    pub fn url_for(&self, path: &str) -> Url {
        let mut url = self.url.clone();
        url.set_path(path);
        url
    }

    fn direct(host: &str, port: u16, host_header: String) -> Result<Self, FederationError> {
        Ok(Self {
            url: base_url(host, port)?,
            host_header,
            addrs: None,
        })
    }
}

pub(super) fn base_url(host: &str, port: u16) -> Result<Url, FederationError> {
    Url::parse(&format!("https://{host}:{port}/"))
        .map_err(|_| FederationError::InvalidServerName(InvalidServerName("not usable in a URL")))
}

impl FederationClient {
    /// The destination of requests meant for `name` (see the module documentation).
    pub async fn resolve(&self, name: &ServerName) -> Result<Destination, FederationError> {
        let Host::Domain(hostname) = &name.host else {
            // Step 1.
            return Destination::direct(
                &name.host_str(),
                name.port.unwrap_or(self.federation_port),
                name.to_string(),
            );
        };
        if name.port.is_some() {
            // Step 2.
            return Destination::direct(
                hostname,
                name.port.unwrap_or(self.federation_port),
                name.to_string(),
            );
        }
        match self.well_known(hostname).await? {
            Some(delegated) => {
                tracing::debug!(server_name = %name, %delegated, "well-known delegation");
                match (&delegated.host, delegated.port) {
                    // Steps 3.1 and 3.2.
                    (Host::Ipv4(_) | Host::Ipv6(_), _) | (Host::Domain(_), Some(_)) => {
                        Destination::direct(
                            &delegated.host_str(),
                            delegated.port.unwrap_or(self.federation_port),
                            delegated.to_string(),
                        )
                    }
                    // Steps 3.3 to 3.5.
                    (Host::Domain(d), None) => self.srv_or_default(d).await,
                }
            }
            // Steps 4 to 6.
            None => self.srv_or_default(hostname).await,
        }
    }

    /// Base URL of the federation API of `server_name`.
    pub async fn resolve_server(&self, server_name: &str) -> Result<Destination, FederationError> {
        self.resolve(&ServerName::parse(server_name)?).await
    }

    /// SRV `_matrix-fed._tcp.<host>`, then `_matrix._tcp.<host>`, else `<host>:8448`.
    async fn srv_or_default(&self, host: &str) -> Result<Destination, FederationError> {
        for service in SRV_SERVICES {
            let records = self.dns.lookup_srv(&format!("{service}.{host}")).await;
            if !records.is_empty() {
                tracing::debug!(%host, service, "SRV records found");
                return self.srv_destination(host, records).await;
            }
        }
        Destination::direct(host, self.federation_port, host.to_owned())
    }

    async fn srv_destination(
        &self,
        host: &str,
        mut records: Vec<SrvRecord>,
    ) -> Result<Destination, FederationError> {
        if records.len() == 1 && records[0].target.is_empty() {
            return Err(FederationError::Unreachable(format!(
                "{host} offers no federation service (SRV target \".\")"
            )));
        }
        records.sort_by_key(|r| (r.priority, std::cmp::Reverse(r.weight)));
        let mut denied = None;
        let mut failure = None;
        for r in records
            .iter()
            .filter(|r| !r.target.is_empty() && r.port != 0)
        {
            let ips = match self.dns.lookup_ip(&r.target).await {
                Ok(ips) => ips,
                Err(e) => {
                    failure = Some(format!("SRV target {}: {e}", r.target));
                    continue;
                }
            };
            match allowed_addrs(&self.filter, &r.target, &ips, r.port) {
                Ok(addrs) => {
                    return Ok(Destination {
                        url: base_url(host, r.port)?,
                        host_header: host.to_owned(),
                        addrs: Some(addrs),
                    });
                }
                Err(e) if e.is::<DeniedAddress>() => denied = Some(r.target.clone()),
                Err(e) => failure = Some(e.to_string()),
            }
        }
        match (denied, failure) {
            (Some(target), _) => Err(FederationError::Denied(target)),
            (None, Some(msg)) => Err(FederationError::Unreachable(msg)),
            (None, None) => Err(FederationError::Unreachable(format!(
                "{host}: no usable SRV record"
            ))),
        }
    }
}
