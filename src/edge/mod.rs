//! The HTTP edge: everything between a socket and the generated dispatcher.
//!
//! # Contract
//! * **In:** TCP (or TLS) connections, through [`serve`] (HTTP/1.1, the stall guard, graceful
//!   shutdown) and [`connection_limits`]; heads hyper cannot parse get Matrix JSON from
//!   [`early_errors`]. [`tls`] holds the reloadable certificate.
//! * **Per request,** [`App::handle`] does, in order: request id ([`request_id`]); marks
//!   `Authorization` sensitive (no `Debug` of the request shows it); opens the request's log
//!   scope (method and path only, [`crate::logging`]); lets each [`Hook`] intercept (CORS
//!   preflights); applies the body limit ([`body_limit`]); calls the inner service (the
//!   dispatcher) under a panic guard. The [`EdgeFuture`] then polls it under the deadline and
//!   the panic guard, makes any error Matrix JSON ([`errors`]), runs every hook's
//!   `on_response`, and sets `x-request-id` on the answer.
//! * **Out:** every answer is either the handler's, or Matrix JSON with `errcode` and `error`
//!   (413, 408, 500, or the handler's own non-JSON error statuses); never a panic or a
//!   plain-text body.
//! * **Adding a concern** (metrics, say): implement [`Hook`] and register it with
//!   [`App::with_hooks`]; neither the future nor `handle` changes.
//!
//! Why not a tower stack around axum's router: each layer's future wrapped the next one's and
//! was moved through at every level, the stack was cloned per request, and the router added a
//! boxed route and a boxed handler future of its own; copying those futures and the request
//! around was the largest user-space cost of a status request (docs/benchmarks.md). Here a
//! request is one call: the edge's work, then one boxed handler future from the dispatcher.

mod body_limit;
pub mod connection_limits;
pub mod early_errors;
pub(crate) mod errors;
mod future;
pub mod hooks;
mod on_wake;
mod request_id;
pub mod serve;
#[cfg(test)]
mod tests;
pub mod tls;

pub use future::EdgeFuture;
pub use hooks::{AccessLog, Cors, Hook};

use crate::logging::RequestInfo;
use body_limit::BodyLength;
use future::State;
use http::{Request, Response, header};
use oxident_api::rt::server::ResponseFuture;
use request_id::{REQUEST_ID, RequestIds};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// The body type of requests and answers (the generated dispatcher's).
pub type Body = axum::body::Body;

/// What answers a request inside the edge: the generated dispatcher in production, stubs in
/// the unit tests.
type Inner = dyn Fn(Request<Body>, Option<SocketAddr>) -> ResponseFuture + Send + Sync;

/// What every clone of [`App`] shares.
pub(crate) struct Edge {
    ids: RequestIds,
    body_limit: usize,
    timeout: Duration,
    hooks: Box<[Box<dyn Hook>]>,
    inner: Box<Inner>,
}

/// The application: the edge around the dispatcher; see the module documentation. Cloning
/// is one reference count.
#[derive(Clone)]
pub struct App(Arc<Edge>);

impl App {
    /// The edge with the standard hooks ([`Cors`], then [`AccessLog`]) around `inner`, which
    /// answers each request given its peer address.
    pub fn new(
        id_prefix: u32,
        body_limit: usize,
        timeout: Duration,
        inner: impl Fn(Request<Body>, Option<SocketAddr>) -> ResponseFuture + Send + Sync + 'static,
    ) -> Self {
        Self::with_hooks(
            id_prefix,
            body_limit,
            timeout,
            vec![Box::new(Cors), Box::new(AccessLog)],
            inner,
        )
    }

    /// The edge with these hooks, run in order.
    pub fn with_hooks(
        id_prefix: u32,
        body_limit: usize,
        timeout: Duration,
        hooks: Vec<Box<dyn Hook>>,
        inner: impl Fn(Request<Body>, Option<SocketAddr>) -> ResponseFuture + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(Edge {
            ids: RequestIds::new(id_prefix),
            body_limit,
            timeout,
            hooks: hooks.into_boxed_slice(),
            inner: Box::new(inner),
        }))
    }

    /// Answers one request from `peer` (the accept loop knows it per connection, so no
    /// request carries it in an extension map).
    pub fn handle(&self, mut req: Request<Body>, peer: Option<SocketAddr>) -> EdgeFuture {
        let edge = &*self.0;
        // Made once and moved onto the response at the end: a clone of a header value made
        // here would promote its bytes to a shared allocation. Handlers do not see it in the
        // request: they log through `tracing`, which adds it.
        let id = match req.headers().get(&REQUEST_ID) {
            Some(id) => Some(id.clone()),
            None => edge.ids.make(),
        };
        if let header::Entry::Occupied(mut auth) = req.headers_mut().entry(header::AUTHORIZATION) {
            for value in auth.iter_mut() {
                value.set_sensitive(true);
            }
        }
        let info = RequestInfo {
            id,
            method: req.method().clone(),
            uri: req.uri().clone(),
        };
        let timed = edge.hooks.iter().any(|h| h.wants_timing());
        let mut future = EdgeFuture {
            state: State::Done,
            edge: self.0.clone(),
            info: Some(Box::new(info)),
            started: timed.then(crate::clock::monotonic_now),
            sleep: None,
        };
        if let Some(answer) = edge.hooks.iter().find_map(|h| h.intercept(&req)) {
            future.state = State::Ready(answer);
            return future;
        }
        match body_limit::body_length(&req) {
            BodyLength::Over(limit) if limit > edge.body_limit => {
                future.state = State::Ready(errors::too_large());
                return future;
            }
            BodyLength::None => {}
            BodyLength::Over(_) | BodyLength::Unknown => {
                let limit = edge.body_limit;
                req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
            }
        }
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| (edge.inner)(req, peer)));
        future.state = match called {
            Ok(inner) => State::Inner(inner),
            Err(panic) => State::Ready(errors::panicked(&*panic)),
        };
        future
    }
}

/// For tests and for embedding the app in another tower stack: the peer address is read from
/// axum's `ConnectInfo` when the server put one there.
impl tower::Service<Request<Body>> for App {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = EdgeFuture;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> EdgeFuture {
        let peer = req
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        self.handle(req, peer)
    }
}
