//! The accept loop: HTTP/1.1 connections served by hyper with the application service, and a
//! graceful shutdown that lets requests in flight finish.
//!
//! Why not `axum::serve`: it detects HTTP/2 on every connection, clones the service for every
//! request through two adapters, and adds the peer address with a layer of its own; this loop
//! hands each request straight to one cheap-to-clone stack (docs/benchmarks.md). It also arms
//! hyper's header-read timeout, which `axum::serve` does not: a client that opens connections
//! and never finishes a request head (slowloris) is disconnected.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower::{Service, ServiceExt as _};

/// Serves `app` on `listener` until `shutdown` completes, then stops accepting, asks every
/// connection to close after its current request, and waits for them.
///
/// Each request carries its peer address as `ConnectInfo<SocketAddr>` (what axum's
/// `into_make_service_with_connect_info` provides), which the rate limits read.
pub async fn serve<S>(
    listener: TcpListener,
    app: S,
    header_read_timeout: Duration,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    // `closing` tells connections to wind down; `open` is dropped by each connection task
    // when it ends, so `open_tx.closed()` resolves once all are gone.
    let (closing_tx, closing_rx) = watch::channel(false);
    let (open_tx, open_rx) = watch::channel(());
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: log, back off, keep serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let mut closing = closing_rx.clone();
        let open = open_rx.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let mut req = req.map(Body::new);
                req.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(req)
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder.timer(TokioTimer::new());
            if !header_read_timeout.is_zero() {
                builder.header_read_timeout(header_read_timeout);
            }
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = async { closing.wait_for(|c| *c).await.is_ok() } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(open_rx);
    open_tx.closed().await;
    Ok(())
}
