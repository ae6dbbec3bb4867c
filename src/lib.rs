//! Oxident: a Matrix identity server. The library holds everything; `main.rs` only parses
//! arguments and calls in, so tests drive the same code without a socket.

pub mod api;
pub mod app;
pub mod cli;
pub mod client_net;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod domain;
pub mod duration;
pub mod edge;
pub mod error;
pub mod federation;
pub mod log_throttle;
pub mod logging;
pub mod mail;
pub mod ops;
pub mod private_files;
pub mod service;
pub mod sms;
pub mod state;
pub mod store;
pub mod sydent;

pub use app::{admin_app, app};
/// The edge's listener parts, at the paths embedders and tests have used.
pub use edge::{connection_limits, serve, tls};

use std::sync::Arc;

/// Runs the server until Ctrl-C / SIGTERM.
pub async fn serve(config: config::Config) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.bind_addr()).await?;
    let ops_listener = match config.metrics.bind {
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    // Checked again here (`Config::load` refuses it too) because a listener on the network
    // without the secret would hand anyone unvalidated binds and erasures.
    let admin_listener = match config.admin.bind {
        Some(addr) if !addr.ip().is_loopback() && config.admin.secret.is_none() => {
            anyhow::bail!("admin.bind {addr} is not a loopback address and admin.secret is not set")
        }
        Some(addr) => Some(tokio::net::TcpListener::bind(addr).await?),
        None => None,
    };
    serve_on(
        listener,
        Listeners {
            ops: ops_listener,
            admin: admin_listener,
        },
        config,
        shutdown_signal(),
    )
    .await
}

/// The listeners besides the client port, each off unless configured.
#[derive(Debug, Default)]
pub struct Listeners {
    /// `[metrics] bind`: `/health`, `/ready`, `/metrics`.
    pub ops: Option<tokio::net::TcpListener>,
    /// `[admin] bind`: the admin API (`spec/admin.yaml`).
    pub admin: Option<tokio::net::TcpListener>,
}

/// Runs the server on these listeners until `shutdown` completes, then drains: no new
/// connection is accepted, requests in flight are answered, and it returns once every
/// connection is closed. The operator listener (if any) answers from the start, `/ready`
/// saying 503 until the store is open and its index built.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    others: Listeners,
    config: config::Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let ops = ops::listener::Ops::default();
    if let Some(ops_listener) = others.ops {
        tracing::info!(addr = ?ops_listener.local_addr().ok(), "operator listener (/health, /ready, /metrics)");
        tokio::spawn(ops::listener::serve(
            ops_listener,
            ops.clone(),
            stopped(stop_rx.clone()),
        ));
    }
    let addr = listener.local_addr()?;
    let state = Arc::new(state::AppState::from_config_with(config, ops.clone()).await?);
    let tls = match &state.config.server.tls {
        Some(c) => {
            let tls = Arc::new(tls::Tls::load(c)?);
            tls::reload_on_sighup(tls.clone());
            Some(tls)
        }
        None => None,
    };
    let fd_limit = connection_limits::raise_fd_limit();
    let limits = connection_caps(&state.config, fd_limit);
    tracing::info!(
        %addr,
        tls = tls.is_some(),
        server_name = %state.config.server.server_name,
        max_connections = limits.total,
        max_connections_per_ip = limits.per_ip,
        open_files_limit = fd_limit,
        "oxident listening"
    );
    let admin = others.admin.map(|admin_listener| {
        tracing::info!(
            addr = ?admin_listener.local_addr().ok(),
            secret = state.config.admin.secret.is_some(),
            "admin listener"
        );
        tokio::spawn(serve::serve_with_tls(
            admin_listener,
            admin_app(state.clone()),
            stall_period(&state.config),
            None,
            stopped(stop_rx.clone()),
        ))
    });
    let counter = connection_limits::ConnectionCounter::new(limits);
    ops.metrics.watch_connections(counter.clone());
    let background = spawn_background(state.clone());
    let stall = stall_period(&state.config);
    let grace = state.config.server.shutdown_grace.0;
    let serving = serve::serve_counted(
        listener,
        app(state),
        stall,
        tls,
        counter,
        stopped(stop_rx.clone()),
    );
    tokio::pin!(serving);
    // Once told to stop, connections get `grace` to finish the requests in hand.
    let grace_over = async {
        stopped(stop_rx).await;
        tracing::info!(
            ?grace,
            "shutting down: no new connections; finishing requests in flight"
        );
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        served = &mut serving => served?,
        () = grace_over => tracing::warn!("shutdown grace period over: closing connections still open"),
    }
    if let Some(admin) = admin {
        // Stopped with the client listener (same signal); an operator's request in flight
        // gets what is left of the grace period.
        let _ = tokio::time::timeout(grace, admin).await;
    }
    background.stop(grace).await;
    tracing::info!("stopped");
    Ok(())
}

/// The accept loop's caps from `[server]`: the total kept below the open-files limit
/// `fd_limit`, per client as `[ratelimit] ipv6_prefix` counts clients, proxies exempt.
pub fn connection_caps(
    config: &config::Config,
    fd_limit: Option<u64>,
) -> connection_limits::ConnectionLimits {
    connection_limits::ConnectionLimits {
        total: connection_limits::effective_total(config.server.max_connections, fd_limit),
        per_ip: config.server.max_connections_per_ip,
        ipv6_prefix: config.ratelimit.ipv6_prefix,
        exempt: config.server.trusted_proxies.clone(),
    }
}

/// The accept loop's stall period: the request timeout. A connection that sends no new request
/// head for that long is closed (slowloris clients, idle keep-alive connections); it must be
/// at least the edge's request timeout, so an answer in progress never trips it.
pub fn stall_period(config: &config::Config) -> std::time::Duration {
    std::time::Duration::from_secs(config.server.request_timeout_secs.max(1))
}

/// The server's background tasks; [`Background::stop`] stops them between units of work,
/// dropping this stops them at once.
pub struct Background {
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Background {
    /// Asks every task to stop after the work in hand (no new delivery starts) and waits for
    /// them, at most `grace`; what is still running then is cut off.
    pub async fn stop(mut self, grace: std::time::Duration) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut self.tasks);
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(grace, all).await.is_err() {
            tracing::warn!("background tasks still busy after the shutdown grace period");
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Starts what runs beside the request handlers: invite delivery (whose first pass picks up
/// whatever a previous run left undelivered) and housekeeping. Production and the
/// integration tests both start the server's tasks here.
pub fn spawn_background(state: Arc<state::AppState>) -> Background {
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let deliveries = state.services.deliveries.clone();
    let chores = housekeeping(
        state.services.sessions.clone(),
        state.services.accounts.clone(),
    );
    let stop_chores = until_stopped();
    Background {
        stop,
        tasks: vec![
            tokio::spawn(deliveries.run_until(until_stopped())),
            tokio::spawn(async move {
                tokio::select! {
                    () = chores => {}
                    () = stop_chores => {}
                }
            }),
        ],
    }
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
