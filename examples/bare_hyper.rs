//! The load benchmark's strictest baseline (`scripts/load.sh`): a bare hyper server — no
//! router, no layers — answering every request with `{}` (`content-type: application/json`),
//! on the same tokio runtime setup as `oxident`. The issue states the status target against
//! "a bare hyper server answering `{}`"; `examples/bare.rs` is the same with axum's router and
//! `axum::serve`.
//!
//! ```sh
//! cargo run --release --example bare_hyper -- 127.0.0.1:8099
//! ```

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

async fn answer(
    _req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(response)
}

fn main() -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".to_owned())
        .parse()?;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            loop {
                let (stream, _) = listener.accept().await?;
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(answer);
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        })
}
