//! The operator's side of the server: a listener of its own (`[metrics] bind`) that answers
//! `/health`, `/ready` and `/metrics`. It is kept off the client port so that probes and
//! scrapes never compete with clients under the connection caps, and so that nothing about the
//! server's internals is visible to the Internet unless the operator binds it there.

pub mod health;
pub mod listener;
pub mod metrics;
pub mod probe;

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// `[metrics]`: where the operator listener listens. Off unless configured; sydent.conf's
/// `prometheus_port`/`prometheus_addr` map onto it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// `127.0.0.1:9090`, say. Loopback unless a scraper on another host must reach it: the
    /// answers carry no secret, but they describe the load and the store.
    pub bind: Option<SocketAddr>,
}
