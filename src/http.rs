//! The application as the accept loop runs it: the generated dispatcher
//! (`oxident_api::server::dispatch`) inside one edge ([`App`]) that does every
//! cross-cutting job — request ids, redaction of `Authorization`, the request's scope in
//! logs, CORS, body limits, timeouts, panic safety — and the rule that every error leaves as
//! Matrix JSON.
//!
//! Why not a tower stack around axum's router: each layer's future wrapped the next one's and
//! was moved through at every level, the stack was cloned per request, and the router added a
//! boxed route and a boxed handler future of its own; copying those futures and the request
//! around was the largest user-space cost of a status request (docs/benchmarks.md). Here a
//! request is one call: the edge's work, then one boxed handler future from the dispatcher.
//! Each job below says what it replaced; unit tests pin the answers.

use crate::api::Api;
use crate::logging::RequestInfo;
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use oxident_api::rt::server::ResponseFuture;
use oxident_api::rt::{ErrCode, MatrixError};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The spec's recommended CORS headers "on all requests" (IS §Web browser clients), which is
/// what preflights are answered with too.
static ALLOW_ORIGIN: HeaderValue = HeaderValue::from_static("*");
static ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET,POST,PUT,DELETE,OPTIONS");
static ALLOW_HEADERS: HeaderValue =
    HeaderValue::from_static("origin,x-requested-with,content-type,accept,authorization");
/// What a preflight answer varies with (the request headers a cache must key on).
static PREFLIGHT_VARY: HeaderValue = HeaderValue::from_static(
    "origin, access-control-request-method, access-control-request-headers",
);

/// The whole application, as the accept loop (`serve.rs`) and tests run it.
pub fn app(state: Arc<AppState>) -> App {
    let prefix = u32::try_from(state.clock.now_ms().rem_euclid(1 << 31)).unwrap_or(0);
    let body_limit = state.config.server.body_limit_bytes;
    let timeout = Duration::from_secs(state.config.server.request_timeout_secs.max(1));
    let v1 = V1Access::of(&state.config.api);
    let api = Arc::new(Api::new(
        state.services.clone(),
        crate::api::request::HttpRules::from_config(&state.config),
    ));
    App::new(prefix, body_limit, timeout, move |request, peer| {
        if v1.refuses(request.uri().path()) {
            // An empty 404: the edge answers it as Matrix JSON, `M_UNRECOGNIZED`.
            return Box::pin(std::future::ready(empty(StatusCode::NOT_FOUND)));
        }
        oxident_api::server::dispatch(&api, request, peer)
    })
}

/// Which v1 paths the operator switched off (`[api]`); all served by default, so the hot
/// path pays one comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V1Access {
    All,
    NoBind,
    None,
}

impl V1Access {
    fn of(api: &crate::config::ApiConfig) -> Self {
        match (api.enable_v1_access, api.enable_v1_associations) {
            (false, _) => V1Access::None,
            (true, false) => V1Access::NoBind,
            (true, true) => V1Access::All,
        }
    }

    fn refuses(self, path: &str) -> bool {
        const V1: &str = "/_matrix/identity/api/v1";
        match self {
            V1Access::All => false,
            V1Access::None => path.starts_with(V1),
            V1Access::NoBind => path
                .strip_prefix(V1)
                .is_some_and(|rest| rest.trim_end_matches('/') == "/3pid/bind"),
        }
    }
}

/// What answers a request inside the edge: the generated dispatcher in production, stubs in
/// the unit tests.
type Inner = dyn Fn(Request<Body>, Option<SocketAddr>) -> ResponseFuture + Send + Sync;

/// What every clone of [`App`] shares.
struct Edge {
    /// Request ids: `{prefix:08x}-{n}`.
    prefix: u32,
    next: AtomicU64,
    body_limit: usize,
    timeout: Duration,
    inner: Box<Inner>,
}

impl Edge {
    /// `{prefix:08x}-{n}`.
    fn make_id(&self) -> Option<HeaderValue> {
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

/// The application: the edge around the dispatcher; see the module documentation. Cloning
/// is one reference count. Per request:
/// * **request id** (was tower-http `SetRequestId` + `PropagateRequestId`): the client's
///   `x-request-id`, else a per-process prefix and a counter (cheap, unique, not secret),
///   named by every log line of the request and set on the response unless it has one —
///   without extension-map allocations or `format!`. Handlers do not see it in the request:
///   they log through `tracing`, which adds it;
/// * **redaction** (was `SetSensitiveRequestHeaders`): `Authorization` values are marked
///   sensitive, so no `Debug` of the request shows them;
/// * **logs** (was `TraceLayer`): the request is in scope for log lines while its future is
///   polled ([`crate::logging`]); 5xx answers are logged at `error`, all at `debug`;
/// * **body limit** (was `RequestBodyLimit`): a `Content-Length` above the limit is answered
///   413 at once; a body that may come (a length, or chunked) is read through
///   `http_body_util::Limited`, which the handler's read turns into 413;
/// * **CORS** (was tower-http `Cors`): every `OPTIONS` request is a preflight, answered here
///   as tower-http answers it (a unit test compares the two); every other response gets the
///   spec's three headers as static values;
/// * **timeout** (was `Timeout`): 408 when the answer is not ready `timeout` after the
///   request's first poll; the timer is armed only if that poll is not ready (registering one
///   costs a wake-up of tokio's driver);
/// * **panics** (was `CatchPanic`): a panic while calling or polling becomes a 500;
/// * **JSON errors**: any error response that is not JSON (or an HTML page of ours) gets a
///   Matrix error body with the same status.
#[derive(Clone)]
pub struct App(Arc<Edge>);

impl App {
    /// The edge around `inner`, which answers each request given its peer address.
    pub fn new(
        id_prefix: u32,
        body_limit: usize,
        timeout: Duration,
        inner: impl Fn(Request<Body>, Option<SocketAddr>) -> ResponseFuture + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(Edge {
            prefix: id_prefix,
            next: AtomicU64::new(1),
            body_limit,
            timeout,
            inner: Box::new(inner),
        }))
    }

    /// Answers one request from `peer` (the accept loop knows it per connection, so no
    /// request carries it in an extension map).
    pub fn handle(&self, mut req: Request<Body>, peer: Option<SocketAddr>) -> EdgeFuture {
        let edge = &*self.0;
        // Made once and moved onto the response at the end: a clone of a header value made
        // here would promote its bytes to a shared allocation.
        let id = match req.headers().get(&REQUEST_ID) {
            Some(id) => Some(id.clone()),
            None => edge.make_id(),
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
        let preflight = req.method() == Method::OPTIONS;
        let mut future = EdgeFuture {
            state: State::Done,
            info: Some(Box::new(info)),
            started: tracing::enabled!(tracing::Level::DEBUG).then(crate::clock::monotonic_now),
            timeout: edge.timeout,
            sleep: None,
            preflight,
        };
        if preflight {
            future.state = State::Ready(preflight_answer());
            return future;
        }
        match body_length(&req) {
            BodyLength::Over(limit) if limit > edge.body_limit => {
                future.state = State::Ready(too_large());
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
            Err(panic) => State::Ready(panicked(&*panic)),
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

/// A preflight's answer: what tower-http's `Cors` answers with any origin and the lists of
/// [`ALLOW_METHODS`] and [`ALLOW_HEADERS`], in its header order.
fn preflight_answer() -> Response<Body> {
    let mut response = Response::new(Body::empty());
    let headers = response.headers_mut();
    headers.insert(header::VARY, PREFLIGHT_VARY.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS.clone());
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW_ORIGIN.clone());
    response
}

enum BodyLength {
    /// No body can follow (no length, not chunked, or a length of 0).
    None,
    /// `Content-Length`.
    Over(usize),
    /// Chunked, or a length that does not parse (hyper refuses those before us).
    Unknown,
}

fn body_length<B>(req: &Request<B>) -> BodyLength {
    let headers = req.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return BodyLength::Unknown;
    }
    match headers.get(header::CONTENT_LENGTH) {
        None => BodyLength::None,
        Some(value) => match value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(0) => BodyLength::None,
            Some(n) => BodyLength::Over(usize::try_from(n).unwrap_or(usize::MAX)),
            None => BodyLength::Unknown,
        },
    }
}

fn too_large() -> Response<Body> {
    oxident_api::rt::server::error_response(&MatrixError::new(
        413,
        ErrCode::TooLarge,
        "Request body too large",
    ))
}

fn panicked(payload: &(dyn std::any::Any + Send)) -> Response<Body> {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    tracing::error!(panic = message, "request handler panicked");
    oxident_api::rt::server::error_response(&MatrixError::new(
        500,
        ErrCode::Unknown,
        "Internal server error",
    ))
}

enum State {
    Inner(ResponseFuture),
    Ready(Response<Body>),
    Done,
}

/// The future of one request: small whatever the operation (the handler's own future is
/// boxed by the dispatcher).
pub struct EdgeFuture {
    state: State,
    /// The request as log lines name it (and its id, for the response); in the logging
    /// thread-local while polling.
    info: Option<Box<RequestInfo>>,
    started: Option<Duration>,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    preflight: bool,
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
                let timeout = self.timeout;
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

    fn finish(&mut self, response: Response<Body>) -> Response<Body> {
        let mut response = json_errors(response);
        let status = response.status();
        let headers = response.headers_mut();
        if !self.preflight {
            headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW_ORIGIN.clone());
            headers.insert(header::ACCESS_CONTROL_ALLOW_METHODS, ALLOW_METHODS.clone());
            headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS.clone());
        }
        let latency_us = self
            .started
            .map(|t| crate::clock::monotonic_now().saturating_sub(t).as_micros());
        // 502 is a peer the request itself named failing (a client's `matrix_server_name`):
        // no fault of this server, and logging it at `error` would let anyone fill the log.
        if status.is_server_error() && status != StatusCode::BAD_GATEWAY {
            tracing::error!(status = status.as_u16(), latency_us, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), latency_us, "request finished");
        }
        response
    }
}

fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
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
    use tower::{Layer as _, Service, ServiceExt as _};
    use tower_http::cors::{Any, CorsLayer};

    /// [`App`] as `app` builds it, with a 1 KiB body limit and a 50 ms timeout, around
    /// `inner`.
    fn edge(inner: impl Fn(Request<Body>) -> ResponseFuture + Send + Sync + 'static) -> App {
        App::new(
            0x0abc_def1,
            1024,
            Duration::from_millis(50),
            move |req, _peer| inner(req),
        )
    }

    /// tower-http's `Cors` configured with our lists: the oracle for preflight answers.
    fn cors() -> CorsLayer {
        let list = |value: &HeaderValue| -> Vec<String> {
            value
                .to_str()
                .unwrap_or_default()
                .split(',')
                .map(str::to_owned)
                .collect()
        };
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods(
                list(&ALLOW_METHODS)
                    .iter()
                    .filter_map(|m| Method::from_bytes(m.as_bytes()).ok())
                    .collect::<Vec<_>>(),
            )
            .allow_headers(
                list(&ALLOW_HEADERS)
                    .iter()
                    .filter_map(|h| HeaderName::from_bytes(h.as_bytes()).ok())
                    .collect::<Vec<_>>(),
            )
    }

    /// An inner answer of `status` at once, echoing any `x-request-id` it saw in `seen-id`
    /// and whether `Authorization` was marked sensitive in `seen-sensitive`.
    fn answer(status: StatusCode) -> impl Fn(Request<Body>) -> ResponseFuture + Clone {
        move |req: Request<Body>| {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = status;
            if let Some(id) = req.headers().get(&REQUEST_ID) {
                response.headers_mut().insert("seen-id", id.clone());
            }
            if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
                let sensitive = if auth.is_sensitive() { "yes" } else { "no" };
                response
                    .headers_mut()
                    .insert("seen-sensitive", HeaderValue::from_static(sensitive));
            }
            oxident_api::rt::server::ready(response)
        }
    }

    /// `answer` as a tower service, for tower-http's `Cors` to wrap.
    fn answer_service(
        status: StatusCode,
    ) -> impl Service<
        Request<Body>,
        Response = Response<Body>,
        Error = Infallible,
        Future = std::future::Ready<Result<Response<Body>, Infallible>>,
    > + Clone {
        tower::service_fn(move |_req: Request<Body>| {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = status;
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

    /// `GET /_matrix/identity/v2` through `service`.
    async fn get<S>(service: S) -> Response<Body>
    where
        S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
    {
        service
            .oneshot(request(Method::GET, &[]))
            .await
            .expect("call")
    }

    async fn errcode(response: Response<Body>) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .expect("body");
        let json: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON body");
        json["errcode"].as_str().unwrap_or("").to_owned()
    }

    const SPEC_CORS: [(&str, &str); 3] = [
        ("access-control-allow-origin", "*"),
        (
            "access-control-allow-methods",
            "GET,POST,PUT,DELETE,OPTIONS",
        ),
        (
            "access-control-allow-headers",
            "origin,x-requested-with,content-type,accept,authorization",
        ),
    ];

    #[tokio::test]
    async fn cors_headers_on_every_response_and_preflights_as_tower_http() {
        // Not a preflight: the spec's three headers, whatever the status.
        for (method, status) in [
            (Method::GET, StatusCode::OK),
            (Method::POST, StatusCode::UNAUTHORIZED),
            (Method::DELETE, StatusCode::NOT_FOUND),
        ] {
            let ours = edge(answer(status))
                .oneshot(request(
                    method.clone(),
                    &[("origin", "https://app.example"), ("x-request-id", "r")],
                ))
                .await
                .expect("ours");
            assert_eq!(ours.status(), status);
            let cors: Vec<(String, String)> = header_list(&ours)
                .into_iter()
                .filter(|(name, _)| name.starts_with("access-control-"))
                .collect();
            let expected: Vec<(String, String)> = SPEC_CORS
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect();
            assert_eq!(cors, expected, "{method}");
        }
        // A preflight: exactly what tower-http's `Cors` answers, with the same lists.
        let headers = [
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
            ("x-request-id", "r"),
        ];
        let ours = edge(answer(StatusCode::OK))
            .oneshot(request(Method::OPTIONS, &headers))
            .await
            .expect("ours");
        let theirs = cors()
            .layer(answer_service(StatusCode::OK))
            .oneshot(request(Method::OPTIONS, &headers))
            .await
            .expect("theirs");
        assert_eq!(ours.status(), theirs.status());
        let mut expected = header_list(&theirs);
        expected.push(("x-request-id".into(), "r".into()));
        assert_eq!(header_list(&ours), expected);
        for (name, value) in SPEC_CORS {
            let sent = ours.headers()[name]
                .to_str()
                .unwrap_or("")
                .replace(' ', "")
                .to_ascii_lowercase();
            assert_eq!(sent, value.to_ascii_lowercase(), "{name}");
        }
    }

    #[tokio::test]
    async fn request_ids_are_made_kept_and_propagated() {
        let service = edge(answer(StatusCode::OK));
        let response = get(service.clone()).await;
        assert_eq!(response.headers()["x-request-id"], "0abcdef1-1");
        assert!(
            response.headers().get("seen-id").is_none(),
            "a made id names log lines and the response; the request is left as sent"
        );
        let response = get(service.clone()).await;
        assert_eq!(response.headers()["x-request-id"], "0abcdef1-2");
        // The client's own id is kept, and the counter is not used.
        let response = service
            .clone()
            .oneshot(request(Method::GET, &[("x-request-id", "client-7")]))
            .await
            .expect("call");
        assert_eq!(response.headers()["x-request-id"], "client-7");
        assert_eq!(response.headers()["seen-id"], "client-7");
        // A response that sets its own id keeps it.
        let own = |_req: Request<Body>| {
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert("x-request-id", HeaderValue::from_static("from-handler"));
            oxident_api::rt::server::ready(response)
        };
        let response = get(edge(own)).await;
        assert_eq!(response.headers()["x-request-id"], "from-handler");
        let response = get(service).await;
        assert_eq!(response.headers()["x-request-id"], "0abcdef1-3");
    }

    #[tokio::test]
    async fn authorization_is_marked_sensitive() {
        let response = edge(answer(StatusCode::OK))
            .oneshot(request(Method::GET, &[("authorization", "Bearer secret")]))
            .await
            .expect("call");
        assert_eq!(response.headers()["seen-sensitive"], "yes");
    }

    #[tokio::test]
    async fn deadline_answers_408_only_when_the_answer_is_late() {
        let slow = |delay: Duration| {
            move |_req: Request<Body>| -> ResponseFuture {
                Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    Response::new(Body::empty())
                })
            }
        };
        let late = get(edge(slow(Duration::from_secs(5)))).await;
        assert_eq!(late.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(errcode(late).await, "M_UNKNOWN");
        let pending_but_in_time = get(edge(slow(Duration::from_millis(1)))).await;
        assert_eq!(pending_but_in_time.status(), StatusCode::OK);
        let at_once = get(edge(answer(StatusCode::NOT_FOUND))).await;
        assert_eq!(at_once.status(), StatusCode::NOT_FOUND);
        assert_eq!(errcode(at_once).await, "M_UNRECOGNIZED");
    }

    #[tokio::test]
    async fn panics_become_json_500s() {
        let in_call = |_req: Request<Body>| -> ResponseFuture {
            panic!("boom in call");
        };
        let in_poll = |_req: Request<Body>| -> ResponseFuture {
            Box::pin(async {
                tokio::task::yield_now().await;
                panic!("boom in poll");
            })
        };
        let response = get(edge(in_call)).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
        assert_eq!(errcode(response).await, "M_UNKNOWN");
        let response = get(edge(in_poll)).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(errcode(response).await, "M_UNKNOWN");
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_refused() {
        // A declared length over the limit: 413 without calling the handler.
        let never = |_req: Request<Body>| -> ResponseFuture {
            panic!("the handler must not be called");
        };
        let req = Request::post("/x")
            .header("content-length", "5000")
            .body(Body::from(vec![b'x'; 5000]))
            .expect("request");
        let response = edge(never).oneshot(req).await.expect("call");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(errcode(response).await, "M_TOO_LARGE");
        // A streamed body: the handler's read stops at the limit.
        let reads = |req: Request<Body>| -> ResponseFuture {
            Box::pin(async move {
                let status = match axum::body::to_bytes(req.into_body(), usize::MAX).await {
                    Ok(_) => StatusCode::OK,
                    Err(_) => StatusCode::PAYLOAD_TOO_LARGE,
                };
                empty(status)
            })
        };
        let chunked = |size: usize| {
            Request::post("/x")
                .header("transfer-encoding", "chunked")
                .body(Body::from(vec![b'x'; size]))
                .expect("request")
        };
        let response = edge(reads).oneshot(chunked(5000)).await.expect("call");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let response = edge(reads).oneshot(chunked(1000)).await.expect("call");
        assert_eq!(response.status(), StatusCode::OK);
    }
}
