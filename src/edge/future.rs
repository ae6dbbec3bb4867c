//! The future of one request: small whatever the operation (the handler's own future is
//! boxed by the dispatcher). It owns the two jobs that must wrap every poll — panics
//! (was `CatchPanic`: a panic while polling becomes a 500) and the deadline (was `Timeout`:
//! 408 when the answer is not ready `timeout` after the first poll; the timer is armed only if
//! that poll is not ready, since registering one costs a wake-up of tokio's driver) — and
//! hands the answer to the hooks. Cross-cutting concerns are hooks, not code here.

use super::errors::{empty, json_errors, panicked};
use super::request_id::REQUEST_ID;
use super::{Body, Edge};
use crate::logging::RequestInfo;
use http::{Response, StatusCode};
use oxident_api::rt::server::ResponseFuture;
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

pub(super) enum State {
    Inner(ResponseFuture),
    Ready(Response<Body>),
    Done,
}

pub struct EdgeFuture {
    pub(super) state: State,
    pub(super) edge: Arc<Edge>,
    /// The request as log lines name it (and its id, for the response); in the logging
    /// thread-local while polling.
    pub(super) info: Option<Box<RequestInfo>>,
    /// When the request arrived (monotonic), if a hook wants durations.
    pub(super) started: Option<Duration>,
    pub(super) sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Future for EdgeFuture {
    type Output = Result<Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut info = this.info.take();
        let polled = crate::logging::with_request(&mut info, || {
            let response = match this.poll_inner(cx) {
                Poll::Ready(response) => response,
                Poll::Pending => return Poll::Pending,
            };
            Poll::Ready(this.finish(response))
        });
        let polled = polled.map(|mut response| {
            // After the last log line of the request, which names it by this id.
            if let Some(id) = info.as_mut().and_then(|i| i.id.take()) {
                response.headers_mut().entry(&REQUEST_ID).or_insert(id);
            }
            Ok(response)
        });
        this.info = info;
        polled
    }
}

impl EdgeFuture {
    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<Response<Body>> {
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| match &mut self.state {
            State::Inner(f) => f.as_mut().poll(cx),
            State::Ready(_) | State::Done => {
                match std::mem::replace(&mut self.state, State::Done) {
                    State::Ready(response) => Poll::Ready(response),
                    _ => Poll::Ready(json_errors(empty(StatusCode::INTERNAL_SERVER_ERROR))),
                }
            }
        }));
        match polled {
            Ok(Poll::Ready(response)) => {
                self.state = State::Done;
                Poll::Ready(response)
            }
            Ok(Poll::Pending) => {
                let timeout = self.edge.timeout;
                let sleep = self
                    .sleep
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
                if sleep.as_mut().poll(cx).is_ready() {
                    self.state = State::Done;
                    return Poll::Ready(empty(StatusCode::REQUEST_TIMEOUT));
                }
                Poll::Pending
            }
            Err(panic) => {
                self.state = State::Done;
                Poll::Ready(panicked(&*panic))
            }
        }
    }

    /// Matrix JSON for any error, then every hook in order (inside the request's log scope).
    fn finish(&mut self, response: Response<Body>) -> Response<Body> {
        let mut response = json_errors(response);
        let elapsed = self
            .started
            .map(|t| crate::clock::monotonic_now().saturating_sub(t));
        crate::logging::current_request(|info| {
            if let Some(info) = info {
                for hook in self.edge.hooks.iter() {
                    hook.on_response(info, &mut response, elapsed);
                }
            }
        });
        response
    }
}
