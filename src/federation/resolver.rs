//! The DNS resolver handed to reqwest: the system resolver (`tokio::net::lookup_host`) with every
//! denied address dropped. A name that resolves only to denied addresses fails with
//! [`DeniedAddress`], which the client maps to `FederationError::Denied`.
//!
//! reqwest does not call the resolver for IP-literal hosts; the client checks those itself
//! before sending.

use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::ip_filter::AddressFilter;

/// Every address of a host name was on the deny list.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to denied addresses")]
pub struct DeniedAddress {
    pub host: String,
}

#[derive(Debug, Clone)]
pub(crate) struct FilteringResolver {
    pub(crate) filter: Arc<AddressFilter>,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let filter = self.filter.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: reqwest substitutes the URL's port.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let total = addrs.len();
            let kept: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| filter.is_allowed(a.ip()))
                .collect();
            if kept.is_empty() {
                if total > 0 {
                    tracing::warn!(%host, "outbound request refused: host resolves only to denied addresses");
                    return Err(Box::new(DeniedAddress { host }) as Box<_>);
                }
                return Err(format!("{host}: no addresses").into());
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}
