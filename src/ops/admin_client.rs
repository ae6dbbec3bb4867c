//! `oxident admin …` and `oxident rotate-pepper`: the admin listener asked from the command
//! line, at the address and with the secret of the configuration (so the secret never appears
//! on a command line or in a shell history). Only ever this server's own admin listener.

use super::admin::AdminConfig;
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

/// Why a request to the admin listener got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AdminCallError {
    #[error("[admin] bind is not set: the admin listener is off")]
    Off,
    /// Nothing listens there: the server is stopped (or listens elsewhere).
    #[error("cannot connect to the admin listener at {0}")]
    NotRunning(SocketAddr),
    #[error("{0}")]
    Other(String),
}

/// Where to reach the listener: its address, or loopback for a wildcard address.
fn target(config: &AdminConfig) -> Result<SocketAddr, AdminCallError> {
    let mut addr = config.bind.ok_or(AdminCallError::Off)?;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Ok(addr)
}

/// `key=value&…` with each value percent-encoded (everything but RFC 3986's unreserved
/// characters), for the admin API's query parameters.
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        for byte in value.bytes() {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
    }
    out
}

/// Sends one request (`path` below `/_matrix/identity/internal`) and returns the status and
/// the JSON answer. Runs its own runtime: the CLI has none.
pub fn call(
    config: &AdminConfig,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<(u16, Value), AdminCallError> {
    let addr = target(config)?;
    let url = format!("http://{addr}/_matrix/identity/internal/{path}");
    let method = reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|e| AdminCallError::Other(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AdminCallError::Other(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| AdminCallError::Other(e.to_string()))?;
        let mut request = client.request(method, &url);
        if let Some(secret) = &config.secret {
            request = request.bearer_auth(secret.expose());
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| {
            if e.is_connect() {
                AdminCallError::NotRunning(addr)
            } else {
                AdminCallError::Other(format!("{url}: {e}"))
            }
        })?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| AdminCallError::Other(e.to_string()))?;
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, json))
    })
}
