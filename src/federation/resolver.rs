//! DNS for outbound requests, and the resolver handed to reqwest.
//!
//! [`Dns`] answers A/AAAA through the system resolver (`tokio::net::lookup_host`, so
//! `/etc/hosts` and nsswitch apply as for any program) and SRV through hickory with the
//! system's `resolv.conf`; with `[federation] dns_servers` set, every lookup goes to those
//! servers through hickory instead (operators with their own resolver; tests, which must not
//! query DNS off the machine).
//!
//! [`FilteringResolver`] is reqwest's resolver: [`Dns`] with every denied address dropped. A
//! name that resolves only to denied addresses fails with [`DeniedAddress`], which the client
//! maps to `FederationError::Denied`. reqwest does not call the resolver for IP-literal hosts
//! nor for names given to `resolve_to_addrs` (SRV targets): the client checks those itself.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::ip_filter::AddressFilter;

/// Every address of a host name was on the deny list.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to denied addresses")]
pub struct DeniedAddress {
    pub host: String,
}

/// One SRV answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SrvRecord {
    pub(crate) priority: u16,
    pub(crate) weight: u16,
    pub(crate) port: u16,
    /// Lower-case, without the trailing dot; empty for the root (`.`: "no such service").
    pub(crate) target: String,
}

/// The lookups discovery needs. Cheap to share (`Arc`).
pub(crate) struct Dns {
    /// `dns_servers`, empty for the system's resolvers.
    servers: Vec<SocketAddr>,
    timeout: Duration,
    /// Built on first use, like the HTTP client: most servers never look anything up.
    hickory: OnceLock<TokioResolver>,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns")
            .field("servers", &self.servers)
            .finish_non_exhaustive()
    }
}

impl Dns {
    pub(crate) fn new(servers: Vec<SocketAddr>, timeout: Duration) -> Self {
        Self {
            servers,
            timeout,
            hickory: OnceLock::new(),
        }
    }

    fn hickory(&self) -> std::io::Result<&TokioResolver> {
        if let Some(r) = self.hickory.get() {
            return Ok(r);
        }
        let provider = TokioRuntimeProvider::default();
        let mut builder = if self.servers.is_empty() {
            TokioResolver::builder(provider).map_err(std::io::Error::other)?
        } else {
            let mut config = ResolverConfig::default();
            for server in &self.servers {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                config.add_name_server(NameServerConfig::new(server.ip(), true, vec![udp, tcp]));
            }
            let mut b = TokioResolver::builder_with_config(config, provider);
            // "All lookups go to these servers": not /etc/hosts either.
            b.options_mut().use_hosts_file = ResolveHosts::Never;
            b
        };
        let opts: &mut ResolverOpts = builder.options_mut();
        opts.timeout = opts.timeout.min(self.timeout);
        let resolver = builder.build().map_err(std::io::Error::other)?;
        Ok(self.hickory.get_or_init(|| resolver))
    }

    /// A and AAAA addresses of `host` (a DNS name, no trailing dot).
    pub(crate) async fn lookup_ip(&self, host: &str) -> std::io::Result<Vec<IpAddr>> {
        if self.servers.is_empty() {
            // Port 0: only the addresses matter.
            return Ok(tokio::net::lookup_host((host, 0))
                .await?
                .map(|a| a.ip())
                .collect());
        }
        // The trailing dot: a fully qualified name, no search domains.
        let lookup = self
            .hickory()?
            .lookup_ip(format!("{host}."))
            .await
            .map_err(std::io::Error::other)?;
        Ok(lookup.iter().collect())
    }

    /// SRV records of `name` (`_service._tcp.host`). Empty when there are none; any failure
    /// (timeout, server failure) is also reported as none, and logged: discovery then moves
    /// on to its next step, as it would for a missing record.
    pub(crate) async fn lookup_srv(&self, name: &str) -> Vec<SrvRecord> {
        let resolver = match self.hickory() {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "no DNS resolver for SRV lookups");
                return Vec::new();
            }
        };
        match resolver.lookup(format!("{name}."), RecordType::SRV).await {
            Ok(lookup) => lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::SRV(srv) => Some(SrvRecord {
                        priority: srv.priority,
                        weight: srv.weight,
                        port: srv.port,
                        target: srv
                            .target
                            .to_ascii()
                            .trim_end_matches('.')
                            .to_ascii_lowercase(),
                    }),
                    _ => None,
                })
                .collect(),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Vec::new(),
            Err(e) => {
                tracing::debug!(%name, error = %e, "SRV lookup failed");
                Vec::new()
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct FilteringResolver {
    pub(crate) filter: Arc<AddressFilter>,
    pub(crate) dns: Arc<Dns>,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let filter = self.filter.clone();
        let dns = self.dns.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = dns.lookup_ip(&host).await?;
            // Port 0: reqwest substitutes the URL's port.
            let kept = allowed_addrs(&filter, &host, &addrs, 0)?;
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The allowed ones of `host`'s addresses, with `port`; [`DeniedAddress`] when all were
/// denied, an error when there were none.
pub(crate) fn allowed_addrs(
    filter: &AddressFilter,
    host: &str,
    addrs: &[IpAddr],
    port: u16,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let kept: Vec<SocketAddr> = addrs
        .iter()
        .filter(|ip| filter.is_allowed(**ip))
        .map(|ip| SocketAddr::new(*ip, port))
        .collect();
    if kept.is_empty() {
        if !addrs.is_empty() {
            static DENIED: crate::log_throttle::Throttle =
                crate::log_throttle::Throttle::new(std::time::Duration::from_secs(60));
            crate::warn_throttled!(
                DENIED,
                %host,
                "outbound request refused: host resolves only to denied addresses"
            );
            return Err(Box::new(DeniedAddress {
                host: host.to_owned(),
            }));
        }
        return Err(format!("{host}: no addresses").into());
    }
    Ok(kept)
}
