//! The axum application: the generated router around our `Api`, plus the cross-cutting layers
//! (CORS, request ids, tracing without secrets, timeouts, body limits, panic safety) and the
//! rule that every error leaves as Matrix JSON.

use crate::api::Api;
use crate::logging::{InRequest, RequestInfo};
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use oxident_api::rt::{ErrCode, MatrixError};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;
use std::time::Instant;
use tower::{Layer, Service};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{Any, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::map_response_body::MapResponseBodyLayer;
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application; tests call this without a socket.
///
/// Per-request cost matters here (docs/benchmarks.md): the layers are composed with two
/// `ServiceBuilder`s, so a request goes through two boxed services instead of one per layer,
/// and four layers are replaced by leaner equivalents below ([`RequestIdLayer`],
/// [`DeadlineLayer`], [`CorsFastLayer`], [`JsonErrorsLayer`]) whose answers are the same, and
/// tower-http's `TraceLayer` and its span per request by [`RequestScopeLayer`] (see
/// `logging.rs`).
pub fn app(
    state: Arc<AppState>,
) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static {
    let body_limit = state.config.server.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs.max(1));
    let prefix = u32::try_from(state.now_ms().rem_euclid(1 << 31)).unwrap_or(0);
    // One stack around the whole router (first layer outermost), not `Router::layer`, which
    // wraps every route separately and so clones and re-boxes the whole stack per request.
    // `json_errors` sits between the framework layers that answer in plain text (body limit,
    // timeout, panic) and the ones that must see every answer.
    tower::ServiceBuilder::new()
        .layer(RequestIdLayer::new(prefix))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
        ]))
        .layer(RequestScopeLayer)
        .layer(CorsFastLayer::new(cors()))
        .layer(JsonErrorsLayer)
        .layer(MapResponseBodyLayer::new(Body::new))
        .layer(CatchPanicLayer::new())
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(DeadlineLayer(timeout))
        .service(oxident_api::server::router(Arc::new(Api(state))))
}

/// Any origin; the methods and headers Matrix clients use.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::ORIGIN,
            HeaderName::from_static("x-requested-with"),
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::AUTHORIZATION,
        ])
}

// ---------------------------------------------------------------------------------------------
// Request ids
// ---------------------------------------------------------------------------------------------

/// Gives every request an `x-request-id` (the client's own if it sent one; else a
/// per-process prefix and a counter: cheap, unique, not secret) and copies it onto the
/// response unless the response has one. What tower-http's `SetRequestId` +
/// `PropagateRequestId` do, without their two extension-map allocations (nothing reads the
/// id from extensions) and without `format!`.
#[derive(Clone)]
struct RequestIdLayer {
    prefix: u32,
    next: Arc<AtomicU64>,
}

impl RequestIdLayer {
    fn new(prefix: u32) -> Self {
        Self {
            prefix,
            next: Arc::new(AtomicU64::new(1)),
        }
    }

    /// `{prefix:08x}-{n}`.
    fn make(&self) -> Option<HeaderValue> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 8 + 1 + 20];
        for (i, b) in buf[..8].iter_mut().enumerate() {
            *b = HEX[((self.prefix >> (28 - 4 * i)) & 0xf) as usize];
        }
        buf[8] = b'-';
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = n;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let len = 9 + digits.len() - start;
        buf[9..len].copy_from_slice(&digits[start..]);
        HeaderValue::from_bytes(&buf[..len]).ok()
    }
}

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestIds<S>;
    fn layer(&self, inner: S) -> RequestIds<S> {
        RequestIds {
            inner,
            ids: self.clone(),
        }
    }
}

#[derive(Clone)]
struct RequestIds<S> {
    inner: S,
    ids: RequestIdLayer,
}

impl<S, B, R> Service<Request<B>> for RequestIds<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Unpin,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = RequestIdFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let id = match req.headers().get(&REQUEST_ID) {
            Some(id) => Some(id.clone()),
            None => {
                let id = self.ids.make();
                if let Some(id) = &id {
                    req.headers_mut().insert(REQUEST_ID.clone(), id.clone());
                }
                id
            }
        };
        RequestIdFuture {
            inner: self.inner.call(req),
            id,
        }
    }
}

struct RequestIdFuture<F> {
    inner: F,
    id: Option<HeaderValue>,
}

impl<F, R, E> Future for RequestIdFuture<F>
where
    F: Future<Output = Result<Response<R>, E>> + Unpin,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut response = match Pin::new(&mut self.inner).poll(cx) {
            Poll::Ready(Ok(response)) => response,
            other => return other,
        };
        if let Some(id) = self.id.take() {
            response.headers_mut().entry(&REQUEST_ID).or_insert(id);
        }
        Poll::Ready(Ok(response))
    }
}

// ---------------------------------------------------------------------------------------------
// The request in logs
// ---------------------------------------------------------------------------------------------

/// Makes the request (id, method, path) known to every log line written while it is handled
/// ([`crate::logging::in_request`]); logs `5xx` answers at `error` and, when `debug` is on,
/// every answer with its latency — what tower-http's `TraceLayer` logged, without creating a
/// span per request.
#[derive(Clone, Copy)]
struct RequestScopeLayer;

impl<S> Layer<S> for RequestScopeLayer {
    type Service = RequestScope<S>;
    fn layer(&self, inner: S) -> RequestScope<S> {
        RequestScope(inner)
    }
}

#[derive(Clone)]
struct RequestScope<S>(S);

impl<S, B, R> Service<Request<B>> for RequestScope<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Unpin,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = InRequest<Outcome<S::Future>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let info = RequestInfo {
            id: req.headers().get(&REQUEST_ID).cloned(),
            method: req.method().clone(),
            uri: req.uri().clone(),
        };
        let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
        crate::logging::in_request(
            info,
            Outcome {
                inner: self.0.call(req),
                started,
            },
        )
    }
}

/// Logs how a request ended (inside its [`InRequest`], so the line names it).
struct Outcome<F> {
    inner: F,
    started: Option<Instant>,
}

impl<F, R, E> Future for Outcome<F>
where
    F: Future<Output = Result<Response<R>, E>> + Unpin,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let out = std::task::ready!(Pin::new(&mut self.inner).poll(cx));
        if let Ok(response) = &out {
            let status = response.status().as_u16();
            let latency_us = self.started.map(|t| t.elapsed().as_micros());
            if response.status().is_server_error() {
                tracing::error!(status, latency_us, "request failed");
            } else {
                tracing::debug!(status, latency_us, "request finished");
            }
        }
        Poll::Ready(out)
    }
}

// ---------------------------------------------------------------------------------------------
// Timeout
// ---------------------------------------------------------------------------------------------

/// Answers `408` (empty body; `json_errors` makes it JSON) when the inner service has not
/// answered `timeout` after the request arrived, like tower-http's `TimeoutLayer`, but arms
/// the timer only if the answer is not ready at the first poll: registering a tokio timer
/// costs a wake-up of the I/O driver (a syscall) per request.
#[derive(Clone, Copy)]
struct DeadlineLayer(Duration);

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;
    fn layer(&self, inner: S) -> Deadline<S> {
        Deadline {
            inner,
            timeout: self.0,
        }
    }
}

#[derive(Clone)]
struct Deadline<S> {
    inner: S,
    timeout: Duration,
}

impl<S, B, R> Service<Request<B>> for Deadline<S>
where
    S: Service<Request<B>, Response = Response<R>>,
    S::Future: Unpin,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        DeadlineFuture {
            deadline: tokio::time::Instant::now() + self.timeout,
            inner: self.inner.call(req),
            sleep: None,
        }
    }
}

struct DeadlineFuture<F> {
    inner: F,
    deadline: tokio::time::Instant,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl<F, R, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<Response<R>, E>> + Unpin,
    R: Default,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(out) = Pin::new(&mut this.inner).poll(cx) {
            return Poll::Ready(out);
        }
        let deadline = this.deadline;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if sleep.as_mut().poll(cx).is_ready() {
            let mut response = Response::new(R::default());
            *response.status_mut() = StatusCode::REQUEST_TIMEOUT;
            return Poll::Ready(Ok(response));
        }
        Poll::Pending
    }
}

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

/// The spec's recommended CORS headers "on all requests" (IS §Web browser clients), which is
/// what [`cors()`] answers to preflights too.
static ALLOW_ORIGIN: HeaderValue = HeaderValue::from_static("*");
static ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET,POST,PUT,DELETE,OPTIONS");
static ALLOW_HEADERS: HeaderValue =
    HeaderValue::from_static("origin,x-requested-with,content-type,accept,authorization");

/// [`cors()`] with a fast path: preflight (`OPTIONS`) requests go to tower-http's `Cors`; every
/// other response gets the three headers the spec recommends on all responses, as static
/// values. (tower-http's `Cors` would add only `access-control-allow-origin` and a `vary`
/// there — which a `*` origin does not need — building a header map, a `vary` value and a
/// vector per request.) Tests check both paths.
#[derive(Clone)]
struct CorsFastLayer(Arc<CorsLayer>);

impl CorsFastLayer {
    fn new(cors: CorsLayer) -> Self {
        Self(Arc::new(cors))
    }
}

impl<S: Clone> Layer<S> for CorsFastLayer {
    type Service = CorsFast<S>;
    fn layer(&self, inner: S) -> CorsFast<S> {
        CorsFast {
            cors: Arc::clone(&self.0),
            inner,
        }
    }
}

#[derive(Clone)]
struct CorsFast<S> {
    inner: S,
    cors: Arc<CorsLayer>,
}

impl<S, B, R> Service<Request<B>> for CorsFast<S>
where
    S: Service<Request<B>, Response = Response<R>> + Clone,
    S::Future: Unpin,
    R: Default,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = CorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        // `Cors` answers preflights itself and never calls its copy of the service, so
        // readiness is the inner service's.
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if req.method() == Method::OPTIONS {
            CorsFuture::Preflight(self.cors.layer(self.inner.clone()).call(req))
        } else {
            CorsFuture::Simple(self.inner.call(req))
        }
    }
}

enum CorsFuture<F> {
    Preflight(tower_http::cors::ResponseFuture<F>),
    Simple(F),
}

impl<F, R, E> Future for CorsFuture<F>
where
    F: Future<Output = Result<Response<R>, E>> + Unpin,
    R: Default,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut *self {
            CorsFuture::Preflight(f) => Pin::new(f).poll(cx),
            CorsFuture::Simple(f) => {
                let mut response = match Pin::new(f).poll(cx) {
                    Poll::Ready(Ok(response)) => response,
                    other => return other,
                };
                let headers = response.headers_mut();
                headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW_ORIGIN.clone());
                headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS.clone());
                headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS.clone());
                Poll::Ready(Ok(response))
            }
        }
    }
}

/// Applies [`json_errors`] to every response. The same as
/// `axum::middleware::map_response(json_errors)`, which also clones the inner service and
/// boxes a future per request.
#[derive(Clone, Copy)]
struct JsonErrorsLayer;

impl<S> Layer<S> for JsonErrorsLayer {
    type Service = JsonErrors<S>;
    fn layer(&self, inner: S) -> JsonErrors<S> {
        JsonErrors(inner)
    }
}

#[derive(Clone)]
struct JsonErrors<S>(S);

impl<S, B> Service<Request<B>> for JsonErrors<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Unpin,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = JsonErrorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        JsonErrorsFuture(self.0.call(req))
    }
}

struct JsonErrorsFuture<F>(F);

impl<F, E> Future for JsonErrorsFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>> + Unpin,
{
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|result| result.map(json_errors))
    }
}

/// Turns any error response that is not already JSON or a page of ours (framework 413, 408,
/// panics, ...) into a Matrix error body with the same status.
fn json_errors(response: Response<Body>) -> Response<Body> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.starts_with("application/json") || content_type.starts_with("text/html") {
        return response;
    }
    let (errcode, text) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => (ErrCode::TooLarge, "Request body too large"),
        StatusCode::REQUEST_TIMEOUT => (ErrCode::Unknown, "Request timed out"),
        StatusCode::NOT_FOUND => (ErrCode::Unrecognized, "Unrecognized request"),
        StatusCode::METHOD_NOT_ALLOWED => (ErrCode::Unrecognized, "Method not allowed"),
        s if s.is_server_error() => (ErrCode::Unknown, "Internal server error"),
        _ => (ErrCode::Unknown, "Request failed"),
    };
    let error = MatrixError::new(status.as_u16(), errcode, text);
    oxident_api::rt::server::error_response(&error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::ServiceExt as _;

    type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    /// An inner service answering `status` at once, echoing any `x-request-id` it saw in
    /// `seen-id`.
    fn answer(
        status: StatusCode,
    ) -> impl Service<
        Request<Body>,
        Response = Response<Body>,
        Error = Infallible,
        Future = std::future::Ready<Result<Response<Body>, Infallible>>,
    > + Clone {
        tower::service_fn(move |req: Request<Body>| {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = status;
            if let Some(id) = req.headers().get(&REQUEST_ID) {
                response.headers_mut().insert("seen-id", id.clone());
            }
            std::future::ready(Ok(response))
        })
    }

    fn request(method: Method, headers: &[(&'static str, &'static str)]) -> Request<Body> {
        let mut req = Request::builder()
            .method(method)
            .uri("/_matrix/identity/v2");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.body(Body::empty()).expect("request")
    }

    fn header_list(response: &Response<Body>) -> Vec<(String, String)> {
        response
            .headers()
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn cors_headers_on_every_response_and_preflights_as_tower_http() {
        // Not a preflight: the spec's three headers, whatever the status.
        for (method, status) in [
            (Method::GET, StatusCode::OK),
            (Method::POST, StatusCode::UNAUTHORIZED),
            (Method::DELETE, StatusCode::NOT_FOUND),
        ] {
            let ours = CorsFastLayer::new(cors())
                .layer(answer(status))
                .oneshot(request(
                    method.clone(),
                    &[("origin", "https://app.example")],
                ))
                .await
                .expect("ours");
            assert_eq!(ours.status(), status);
            assert_eq!(
                header_list(&ours),
                vec![
                    ("access-control-allow-origin".into(), "*".into()),
                    (
                        "access-control-allow-methods".into(),
                        "GET,POST,PUT,DELETE,OPTIONS".into()
                    ),
                    (
                        "access-control-allow-headers".into(),
                        "origin,x-requested-with,content-type,accept,authorization".into()
                    ),
                ],
                "{method}"
            );
        }
        // A preflight: exactly what tower-http's `Cors` answers, with the same lists.
        let headers = [
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ];
        let ours = CorsFastLayer::new(cors())
            .layer(answer(StatusCode::OK))
            .oneshot(request(Method::OPTIONS, &headers))
            .await
            .expect("ours");
        let theirs = cors()
            .layer(answer(StatusCode::OK))
            .oneshot(request(Method::OPTIONS, &headers))
            .await
            .expect("theirs");
        assert_eq!(ours.status(), theirs.status());
        assert_eq!(header_list(&ours), header_list(&theirs));
        let preflight: Vec<(String, String)> = header_list(&ours)
            .into_iter()
            .filter(|(name, _)| name != "vary")
            .collect();
        assert_eq!(preflight.len(), 3, "{preflight:?}");
        for (name, value) in preflight {
            let value = value.replace(' ', "").to_ascii_lowercase();
            let expected = match name.as_str() {
                "access-control-allow-origin" => "*",
                "access-control-allow-methods" => "get,post,put,delete,options",
                "access-control-allow-headers" => {
                    "origin,x-requested-with,content-type,accept,authorization"
                }
                other => panic!("unexpected header {other}"),
            };
            assert_eq!(value, expected, "{name}");
        }
    }

    #[tokio::test]
    async fn request_ids_are_made_kept_and_propagated() {
        let layer = RequestIdLayer::new(0x0abc_def1);
        let response = layer
            .layer(answer(StatusCode::OK))
            .oneshot(request(Method::GET, &[]))
            .await
            .expect("call");
        assert_eq!(response.headers()["x-request-id"], "0abcdef1-1");
        assert_eq!(
            response.headers()["seen-id"],
            "0abcdef1-1",
            "handlers see it"
        );
        let response = layer
            .layer(answer(StatusCode::OK))
            .oneshot(request(Method::GET, &[]))
            .await
            .expect("call");
        assert_eq!(response.headers()["x-request-id"], "0abcdef1-2");
        // The client's own id is kept, and the counter is not used.
        let response = layer
            .layer(answer(StatusCode::OK))
            .oneshot(request(Method::GET, &[("x-request-id", "client-7")]))
            .await
            .expect("call");
        assert_eq!(response.headers()["x-request-id"], "client-7");
        assert_eq!(response.headers()["seen-id"], "client-7");
        // A response that sets its own id keeps it.
        let own = tower::service_fn(|_req: Request<Body>| {
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert("x-request-id", HeaderValue::from_static("from-handler"));
            std::future::ready(Ok::<_, Infallible>(response))
        });
        let response = layer
            .layer(own)
            .oneshot(request(Method::GET, &[]))
            .await
            .expect("call");
        assert_eq!(response.headers()["x-request-id"], "from-handler");
        assert_eq!(response.headers().get_all("x-request-id").iter().count(), 1);
        let big = RequestIdLayer {
            prefix: 0xffff_ffff,
            next: Arc::new(AtomicU64::new(u64::MAX)),
        };
        assert_eq!(
            big.make().expect("id"),
            format!("ffffffff-{}", u64::MAX).as_str()
        );
    }

    #[tokio::test]
    async fn deadline_answers_408_only_when_the_answer_is_late() {
        let slow = |delay: Duration| {
            tower::service_fn(move |_req: Request<Body>| -> BoxFuture {
                Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    Ok(Response::new(Body::empty()))
                })
            })
        };
        let layer = DeadlineLayer(Duration::from_millis(50));
        let late = layer
            .layer(slow(Duration::from_secs(5)))
            .oneshot(request(Method::GET, &[]))
            .await
            .expect("call");
        assert_eq!(late.status(), StatusCode::REQUEST_TIMEOUT);
        let pending_but_in_time = layer
            .layer(slow(Duration::from_millis(1)))
            .oneshot(request(Method::GET, &[]))
            .await
            .expect("call");
        assert_eq!(pending_but_in_time.status(), StatusCode::OK);
        let at_once = layer
            .layer(answer(StatusCode::NOT_FOUND))
            .oneshot(request(Method::GET, &[]))
            .await
            .expect("call");
        assert_eq!(at_once.status(), StatusCode::NOT_FOUND);
    }
}
