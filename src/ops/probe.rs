//! `oxident health`: the operator listener asked from the command line, for container health
//! checks (a slim image has no HTTP client). Only ever the server's own listener, which the
//! operator configured.

use std::net::SocketAddr;
use std::time::Duration;

/// `GET /health` (or `/ready`) at `addr`: whether it answered 2xx, and its body.
pub fn ask(addr: SocketAddr, ready: bool) -> Result<(bool, String), String> {
    let url = format!("http://{addr}/{}", if ready { "ready" } else { "health" });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let response = client
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let healthy = response.status().is_success();
        let body = response.text().await.unwrap_or_default();
        Ok((healthy, body))
    })
}
