//! Oxident: a Matrix identity server. The library holds everything; `main.rs` only parses
//! arguments and calls in, so tests drive the same code without a socket.

pub mod api;
pub mod app;
pub mod cli;
pub mod client_net;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod duration;
pub mod edge;
pub mod error;
pub mod federation;
pub mod log_throttle;
pub mod logging;
pub mod mail;
pub mod private_files;
pub mod service;
pub mod sms;
pub mod state;
pub mod store;
pub mod sydent;

pub use app::app;
/// The edge's listener parts, at the paths embedders and tests have used.
pub use edge::{connection_limits, serve, tls};

use std::sync::Arc;

/// Runs the server until Ctrl-C / SIGTERM.
pub async fn serve(config: config::Config) -> anyhow::Result<()> {
    let addr = config.bind_addr();
    let state = Arc::new(state::AppState::from_config(config).await?);
    let tls = match &state.config.server.tls {
        Some(c) => {
            let tls = Arc::new(tls::Tls::load(c)?);
            tls::reload_on_sighup(tls.clone());
            Some(tls)
        }
        None => None,
    };
    let fd_limit = connection_limits::raise_fd_limit();
    let limits = connection_limits::ConnectionLimits {
        total: connection_limits::effective_total(state.config.server.max_connections, fd_limit),
        per_ip: state.config.server.max_connections_per_ip,
        ipv6_prefix: state.config.ratelimit.ipv6_prefix,
        exempt: state.config.server.trusted_proxies.clone(),
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        %addr,
        tls = tls.is_some(),
        server_name = %state.config.server.server_name,
        max_connections = limits.total,
        max_connections_per_ip = limits.per_ip,
        open_files_limit = fd_limit,
        "oxident listening"
    );
    let _background = spawn_background(state.clone());
    let stall = stall_period(&state.config);
    serve::serve_limited(listener, app(state), stall, tls, limits, shutdown_signal()).await?;
    Ok(())
}

/// The accept loop's stall period: the request timeout. A connection that sends no new request
/// head for that long is closed (slowloris clients, idle keep-alive connections); it must be
/// at least the edge's request timeout, so an answer in progress never trips it.
pub fn stall_period(config: &config::Config) -> std::time::Duration {
    std::time::Duration::from_secs(config.server.request_timeout_secs.max(1))
}

/// The server's background tasks; dropping this stops them.
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Starts what runs beside the request handlers: invite delivery (whose first pass picks up
/// whatever a previous run left undelivered) and housekeeping. Production and the
/// integration tests both start the server's tasks here.
pub fn spawn_background(state: Arc<state::AppState>) -> Background {
    Background(vec![
        tokio::spawn(state.services.deliveries.clone().run()),
        tokio::spawn(housekeeping(
            state.services.sessions.clone(),
            state.services.accounts.clone(),
        )),
    ])
}

/// Hourly chores that keep storage small: deleting long-expired validation sessions and
/// access tokens unused for `[auth] token_unused_lifetime`.
async fn housekeeping(
    sessions: Arc<service::sessions::SessionService>,
    accounts: Arc<service::accounts::AccountService>,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match sessions.purge_old_sessions().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "purged long-expired validation sessions"),
            Err(e) => tracing::warn!(error = %e, "session purge failed"),
        }
        match accounts.purge_unused_tokens().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(tokens = n, "purged unused access tokens"),
            Err(e) => tracing::warn!(error = %e, "access token purge failed"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
