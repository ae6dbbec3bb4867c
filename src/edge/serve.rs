//! The accept loop: HTTP/1.1 connections served by hyper with the application service, and a
//! graceful shutdown that lets requests in flight finish.
//!
//! Why not `axum::serve`: it detects HTTP/2 on every connection, clones the service for every
//! request through two adapters, and adds the peer address with a layer of its own; this loop
//! hands each request straight to the application (docs/benchmarks.md). It also guards
//! against stalled connections, which `axum::serve` does not: a client that opens
//! connections and never finishes a request head (slowloris) is disconnected ([`stalled`]).
//!
//! The stall guard is one timer per connection, not hyper's `header_read_timeout` (which
//! allocates, registers and cancels a timer for every request head): a connection that
//! delivers no new request head for a whole period (the request timeout) is closed after
//! finishing any answer in hand, slowloris clients and idle keep-alive connections alike,
//! within one to two periods. With `[server.tls]` (`serve_with_tls`) each connection's task
//! first does the TLS handshake, bounded by the stall period and cut short by shutdown.
//!
//! On shutdown the loop stops accepting but first takes the connections the kernel already
//! completed (dropping the listener would reset them with their requests unread), and a
//! connection that has not sent its first request head yet gets a moment to send it: every
//! request sent before the stop is answered (`tests/it/shutdown.rs`: SIGTERM under load, a
//! fresh connection per request, none cut off). [`serve_plain`] serves small fixed answers
//! (the operator listener, `ops/`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;

use super::Body;
use http::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::App;
use super::connection_limits::{ConnectionCounter, ConnectionLimits};
use super::early_errors::JsonEarlyErrors;
use super::on_wake::OnWake;
use super::tls::Tls;

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, asks every
/// connection to close after its current request, and waits for them.
///
/// Each connection's requests are handed to [`App::handle`] with the connection's peer
/// address, which the rate limits read: no per-request extension map, clone or readiness
/// check (what `Oneshot` and `ConnectInfo` cost per request before).
pub async fn serve(
    listener: TcpListener,
    app: App,
    stall_period: Duration,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_with_tls(listener, app, stall_period, None, shutdown).await
}

/// [`serve`], speaking TLS on every connection when `tls` is given (`[server.tls]`).
///
/// The handshake runs in the connection's own task, bounded by the stall period (10 s when
/// that is zero) and cut short by shutdown, so a client that connects and never finishes a
/// handshake holds neither the accept loop nor the shutdown.
pub async fn serve_with_tls(
    listener: TcpListener,
    app: App,
    stall_period: Duration,
    tls: Option<Arc<Tls>>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    serve_limited(
        listener,
        app,
        stall_period,
        tls,
        ConnectionLimits::unlimited(),
        shutdown,
    )
    .await
}

/// [`serve_with_tls`] with caps on open connections ([`super::connection_limits`]): a plain
/// HTTP connection over a cap is answered at once (429 or 503, Matrix JSON) and closed, a TLS
/// one closed, so slow connections cannot make `accept` fail for everyone else.
pub async fn serve_limited(
    listener: TcpListener,
    app: App,
    stall_period: Duration,
    tls: Option<Arc<Tls>>,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let counter = ConnectionCounter::new(limits);
    serve_counted(listener, app, stall_period, tls, counter, shutdown).await
}

/// [`serve_limited`] with a counter made by the caller, who can then read how many
/// connections are open and how many were refused (the operator's metrics).
pub async fn serve_counted(
    listener: TcpListener,
    app: App,
    stall_period: Duration,
    tls: Option<Arc<Tls>>,
    counter: Arc<ConnectionCounter>,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    // `closing` tells connections to wind down; `open` is dropped by each connection task
    // when it ends, so `open_tx.closed()` resolves once all are gone.
    let (closing_tx, closing_rx) = watch::channel(false);
    let (open_tx, open_rx) = watch::channel(());
    tokio::pin!(shutdown);
    let mut draining = false;
    loop {
        let (stream, peer) = if draining {
            // Connections the kernel completed before the stop are still answered: dropping
            // the listener would reset them, their requests sent and never read.
            match std::future::poll_fn(|cx| match listener.poll_accept(cx) {
                Poll::Pending => Poll::Ready(None),
                Poll::Ready(accepted) => Poll::Ready(accepted.ok()),
            })
            .await
            {
                Some(pair) => pair,
                None => break,
            }
        } else {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: log, back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => {
                    draining = true;
                    let _ = closing_tx.send(true);
                    continue;
                }
            }
        };
        let admitted = match counter.admit(peer) {
            Ok(admitted) => admitted,
            Err(why) => {
                // A refusal in plain HTTP means nothing to a TLS client: it is just closed.
                if tls.is_none() {
                    counter.refuse(stream, why);
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut closing = closing_rx.clone();
        let open = open_rx.clone();
        match &tls {
            None => {
                tokio::spawn(async move {
                    connection(stream, app, peer, stall_period, closing).await;
                    drop((open, admitted));
                });
            }
            Some(tls) => {
                let acceptor = tls.acceptor().clone();
                tokio::spawn(async move {
                    // Holds this connection's place under the caps until the task ends.
                    let _admitted = admitted;
                    let limit = if stall_period.is_zero() {
                        HANDSHAKE_TIMEOUT_WITHOUT_STALL_PERIOD
                    } else {
                        stall_period
                    };
                    let handshake = tokio::select! {
                        done = tokio::time::timeout(limit, acceptor.accept(stream)) => done,
                        _ = closing.wait_for(|c| *c) => {
                            drop(open);
                            return;
                        }
                    };
                    match handshake {
                        Ok(Ok(stream)) => {
                            connection(stream, app, peer, stall_period, closing).await;
                        }
                        // Plain HTTP on the TLS port, scanners, expired client patience:
                        // nothing the operator can act on per connection.
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                    drop(open);
                });
            }
        }
    }
    drop(listener);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}

/// How long a TLS handshake may take when the stall guard is off (a zero stall period).
const HANDSHAKE_TIMEOUT_WITHOUT_STALL_PERIOD: Duration = Duration::from_secs(10);

/// Serves one connection's requests until the client closes it, it stalls, or the server
/// shuts down.
async fn connection<IO>(
    stream: IO,
    app: App,
    peer: SocketAddr,
    stall_period: Duration,
    mut closing: watch::Receiver<bool>,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // Request heads received on this connection, for the stall guard.
    let heads = AtomicU64::new(0);
    let service = hyper::service::service_fn(|req: Request<Incoming>| {
        heads.fetch_add(1, Ordering::Relaxed);
        app.handle(req.map(Body::new), Some(peer))
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(JsonEarlyErrors::new(stream)), service);
    tokio::pin!(connection);
    // The guards wake once a period or once a lifetime, the connection once a request: they
    // are polled only when their own waker fired ([`OnWake`]), the connection first.
    let guards = OnWake::new(async {
        tokio::select! {
            () = stalled(&heads, stall_period) => Guard::Stalled,
            () = async { drop(closing.wait_for(|c| *c).await) } => Guard::Closing,
        }
    });
    tokio::select! {
        biased;
        _ = connection.as_mut() => return,
        guard = guards => if guard == Guard::Closing && heads.load(Ordering::Relaxed) == 0 {
            // A connection closing before its first request head was read may have the
            // request on its way (accepted as the server stopped): read it and answer it,
            // rather than close on a client that cannot tell whether it was done.
            tokio::select! {
                _ = connection.as_mut() => return,
                () = first_head(&heads) => {}
                () = tokio::time::sleep(FIRST_HEAD_AT_SHUTDOWN) => {}
            }
        }
    }
    // Finish the request in hand, if any, then close; a response the client does
    // not read gets one more period, not forever.
    connection.as_mut().graceful_shutdown();
    if stall_period.is_zero() {
        let _ = connection.await;
    } else {
        let _ = tokio::time::timeout(stall_period, connection).await;
    }
}

/// Which guard ended a connection's service.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guard {
    /// No request head for a whole period.
    Stalled,
    /// The server is shutting down.
    Closing,
}

/// How long a connection accepted as the server stops may take to send its first request
/// head before it is closed unanswered.
const FIRST_HEAD_AT_SHUTDOWN: Duration = Duration::from_millis(500);

/// Resolves once a request head was received on the connection.
async fn first_head(heads: &AtomicU64) {
    while heads.load(Ordering::Relaxed) == 0 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Resolves when a whole `period` has passed without a new request head on the connection
/// (never, for a zero period). That is the slowloris guard: a client that opens a connection
/// and dribbles a request head, or sends nothing, is disconnected within one to two periods;
/// so is a keep-alive connection left idle. A request being answered cannot trip it: the
/// edge answers within the request timeout (the same period), so a head counted in one
/// period has its answer before the next period ends.
///
/// Why not hyper's `stall_period`: it allocates, registers and cancels a timer for
/// every request head; this is one timer per connection and one relaxed add per request
/// (docs/benchmarks.md).
async fn stalled(heads: &AtomicU64, period: Duration) {
    if period.is_zero() {
        return std::future::pending().await;
    }
    let mut seen = heads.load(Ordering::Relaxed);
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = heads.load(Ordering::Relaxed);
        if now == seen {
            return;
        }
        seen = now;
    }
}

/// A plain HTTP/1.1 listener for small fixed answers (the operator listener, `ops/`): no
/// caps, hooks or limits of the client port, each connection closed after `limit`.
pub async fn serve_plain<F, A>(
    listener: TcpListener,
    answer: F,
    limit: Duration,
    shutdown: impl Future<Output = ()>,
) where
    F: Fn(http::Method, String) -> A + Clone + Send + Sync + 'static,
    A: Future<Output = http::Response<String>> + Send + 'static,
{
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let answer = answer.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let answering = answer(request.method().clone(), request.uri().path().to_owned());
                async move { Ok::<_, std::convert::Infallible>(answering.await.map(Body::from)) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(limit, connection).await;
        });
    }
}
