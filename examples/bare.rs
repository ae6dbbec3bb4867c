//! The baseline for `scripts/load.sh`: a bare axum server (same axum/hyper/tokio versions and
//! runtime setup as `oxident`) answering `GET /_matrix/identity/v2` with `{}`, no layers.
//!
//! ```sh
//! cargo run --release --example bare -- 127.0.0.1:8091
//! ```

use axum::http::header;
use axum::routing::get;

fn main() -> anyhow::Result<()> {
    let addr: std::net::SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8091".to_owned())
        .parse()?;
    let app = axum::Router::new().route(
        "/_matrix/identity/v2",
        get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}") }),
    );
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await?;
            axum::serve(listener, app).await?;
            Ok(())
        })
}
