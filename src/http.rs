//! The axum application: the generated router inside one edge layer ([`Edge`]) that does
//! every cross-cutting job — request ids, redaction of `Authorization`, the request's scope
//! in logs, CORS, body limits, timeouts, panic safety — and the rule that every error leaves
//! as Matrix JSON.
//!
//! Why one layer and not a tower-http stack: a request's service stack is cloned per
//! request, and every layer adds a future around the inner one that is moved and polled
//! through, and a response that is moved out through it. With nine layers that was a third of
//! the user-space CPU of a status request (docs/benchmarks.md); the work itself is a few
//! header operations. Each job below says what it replaced; unit tests pin the answers.

use crate::api::Api;
use crate::logging::RequestInfo;
use crate::state::AppState;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Method, Request, Response, StatusCode, header};
use oxident_api::rt::{ErrCode, MatrixError};
use std::convert::Infallible;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tower::{Layer, Service};
use tower_http::cors::{Any, CorsLayer};

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The spec's recommended CORS headers "on all requests" (IS §Web browser clients), which is
/// what [`cors()`] answers to preflights too.
static ALLOW_ORIGIN: HeaderValue = HeaderValue::from_static("*");
static ALLOW_METHODS: HeaderValue = HeaderValue::from_static("GET,POST,PUT,DELETE,OPTIONS");
static ALLOW_HEADERS: HeaderValue =
    HeaderValue::from_static("origin,x-requested-with,content-type,accept,authorization");

/// The whole application, as the accept loop (`serve.rs`) and tests run it.
pub fn app(
    state: Arc<AppState>,
) -> impl Service<Request<Body>, Response = Response<Body>, Error = Infallible, Future: Send + 'static>
+ Clone
+ Send
+ Sync
+ 'static {
    let prefix = u32::try_from(state.now_ms().rem_euclid(1 << 31)).unwrap_or(0);
    let edge = EdgeLayer::new(
        prefix,
        state.config.server.body_limit_bytes,
        Duration::from_secs(state.config.server.request_timeout_secs.max(1)),
    );
    edge.layer(oxident_api::server::router(Arc::new(Api(state))))
}

/// Preflight answers: any origin, and the same methods and headers as [`ALLOW_METHODS`] and
/// [`ALLOW_HEADERS`] (read from them, so the two answers cannot drift apart).
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

/// What [`Edge`] needs, shared by every clone.
struct EdgeConfig {
    /// Request ids: `{prefix:08x}-{n}`.
    prefix: u32,
    next: AtomicU64,
    /// Preflights are answered by tower-http's `Cors` with this configuration.
    cors: CorsLayer,
    body_limit: usize,
    timeout: Duration,
}

impl EdgeConfig {
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

#[derive(Clone)]
pub struct EdgeLayer(Arc<EdgeConfig>);

impl EdgeLayer {
    pub fn new(id_prefix: u32, body_limit: usize, timeout: Duration) -> Self {
        Self(Arc::new(EdgeConfig {
            prefix: id_prefix,
            next: AtomicU64::new(1),
            cors: cors(),
            body_limit,
            timeout,
        }))
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;
    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            config: Arc::clone(&self.0),
        }
    }
}

/// The edge of the application; see the module documentation. Per request:
/// * **request id** (was tower-http `SetRequestId` + `PropagateRequestId`): the client's
///   `x-request-id`, else a per-process prefix and a counter (cheap, unique, not secret), set
///   on the request and copied onto the response unless it has one — without extension-map
///   allocations or `format!`;
/// * **redaction** (was `SetSensitiveRequestHeaders`): `Authorization` values are marked
///   sensitive, so no `Debug` of the request shows them;
/// * **logs** (was `TraceLayer`): the request is in scope for log lines while its future is
///   polled ([`crate::logging`]); 5xx answers are logged at `error`, all at `debug`;
/// * **body limit** (was `RequestBodyLimit`): a `Content-Length` above the limit is answered
///   413 at once; a body that may come (a length, or chunked) is read through
///   `http_body_util::Limited`, which the handler's read turns into 413;
/// * **CORS** (was tower-http `Cors` on every request): preflights go to `Cors`; every other
///   response gets the spec's three headers as static values;
/// * **timeout** (was `Timeout`): 408 when the answer is not ready `timeout` after the
///   request's first poll; the timer is armed only if that poll is not ready (registering one
///   costs a wake-up of tokio's driver);
/// * **panics** (was `CatchPanic`): a panic while calling or polling becomes a 500;
/// * **JSON errors**: any error response that is not JSON (or an HTML page of ours) gets a
///   Matrix error body with the same status.
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    config: Arc<EdgeConfig>,
}

impl<S> Service<Request<Body>> for Edge<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone,
    S::Future: Unpin,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let config = &self.config;
        let id = match req.headers().get(&REQUEST_ID) {
            Some(id) => Some(id.clone()),
            None => {
                let id = config.make();
                if let Some(id) = &id {
                    req.headers_mut().insert(REQUEST_ID.clone(), id.clone());
                }
                id
            }
        };
        if let header::Entry::Occupied(mut auth) = req.headers_mut().entry(header::AUTHORIZATION) {
            for value in auth.iter_mut() {
                value.set_sensitive(true);
            }
        }
        let info = RequestInfo {
            id: id.clone(),
            method: req.method().clone(),
            uri: req.uri().clone(),
        };
        let started = tracing::enabled!(tracing::Level::DEBUG).then(Instant::now);
        let mut future = EdgeFuture {
            state: State::Done,
            info: Some(info),
            id,
            started,
            timeout: config.timeout,
            sleep: None,
            preflight: false,
        };
        match body_length(&req) {
            BodyLength::Over(limit) if limit > config.body_limit => {
                future.state = State::Ready(too_large());
                return future;
            }
            BodyLength::None => {}
            BodyLength::Over(_) | BodyLength::Unknown => {
                let limit = config.body_limit;
                req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
            }
        }
        let preflight = req.method() == Method::OPTIONS;
        let called = std::panic::catch_unwind(AssertUnwindSafe(|| {
            if preflight {
                State::Preflight(config.cors.layer(self.inner.clone()).call(req))
            } else {
                State::Inner(self.inner.call(req))
            }
        }));
        future.preflight = preflight;
        future.state = called.unwrap_or_else(|panic| State::Ready(panicked(&*panic)));
        future
    }
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

enum State<F> {
    Inner(F),
    Preflight(tower_http::cors::ResponseFuture<F>),
    Ready(Response<Body>),
    Done,
}

pub struct EdgeFuture<F> {
    state: State<F>,
    /// The request as log lines name it; in the logging thread-local while polling.
    info: Option<RequestInfo>,
    id: Option<HeaderValue>,
    started: Option<Instant>,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    preflight: bool,
}

impl<F> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response<Body>, Infallible>> + Unpin,
{
    type Output = Result<Response<Body>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let mut info = this.info.take();
        let polled = crate::logging::with_request(&mut info, || {
            let response = match this.poll_inner(cx) {
                Poll::Ready(response) => response,
                Poll::Pending => return Poll::Pending,
            };
            Poll::Ready(Ok(this.finish(response)))
        });
        this.info = info;
        polled
    }
}

impl<F> EdgeFuture<F>
where
    F: Future<Output = Result<Response<Body>, Infallible>> + Unpin,
{
    fn poll_inner(&mut self, cx: &mut Context<'_>) -> Poll<Response<Body>> {
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| match &mut self.state {
            State::Inner(f) => Pin::new(f)
                .poll(cx)
                .map(|r| r.unwrap_or_else(|e| match e {})),
            State::Preflight(f) => Pin::new(f)
                .poll(cx)
                .map(|r| r.unwrap_or_else(|e| match e {})),
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
        if let Some(id) = self.id.take() {
            headers.entry(&REQUEST_ID).or_insert(id);
        }
        let latency_us = self.started.map(|t| t.elapsed().as_micros());
        if status.is_server_error() {
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
    use tower::ServiceExt as _;

    type BoxFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    /// [`Edge`] as `app` builds it, with a 1 KiB body limit and a 50 ms timeout.
    fn edge<S>(inner: S) -> Edge<S> {
        EdgeLayer::new(0x0abc_def1, 1024, Duration::from_millis(50)).layer(inner)
    }

    /// An inner service answering `status` at once, echoing any `x-request-id` it saw in
    /// `seen-id` and whether `Authorization` was marked sensitive in `seen-sensitive`.
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
            if let Some(auth) = req.headers().get(header::AUTHORIZATION) {
                let sensitive = if auth.is_sensitive() { "yes" } else { "no" };
                response
                    .headers_mut()
                    .insert("seen-sensitive", HeaderValue::from_static(sensitive));
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
            .layer(answer(StatusCode::OK))
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
        assert_eq!(
            response.headers()["seen-id"],
            "0abcdef1-1",
            "handlers see it"
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
        let own = tower::service_fn(|_req: Request<Body>| {
            let mut response = Response::new(Body::empty());
            response
                .headers_mut()
                .insert("x-request-id", HeaderValue::from_static("from-handler"));
            std::future::ready(Ok::<_, Infallible>(response))
        });
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
            tower::service_fn(move |_req: Request<Body>| -> BoxFuture {
                Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    Ok(Response::new(Body::empty()))
                })
            })
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
        let in_call = tower::service_fn(|_req: Request<Body>| -> BoxFuture {
            panic!("boom in call");
        });
        let in_poll = tower::service_fn(|_req: Request<Body>| -> BoxFuture {
            Box::pin(async {
                tokio::task::yield_now().await;
                panic!("boom in poll");
            })
        });
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
        let never = tower::service_fn(|_req: Request<Body>| -> BoxFuture {
            panic!("the handler must not be called");
        });
        let req = Request::post("/x")
            .header("content-length", "5000")
            .body(Body::from(vec![b'x'; 5000]))
            .expect("request");
        let response = edge(never).oneshot(req).await.expect("call");
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(errcode(response).await, "M_TOO_LARGE");
        // A streamed body: the handler's read stops at the limit.
        let reads = tower::service_fn(|req: Request<Body>| -> BoxFuture {
            Box::pin(async move {
                let status = match axum::body::to_bytes(req.into_body(), usize::MAX).await {
                    Ok(_) => StatusCode::OK,
                    Err(_) => StatusCode::PAYLOAD_TOO_LARGE,
                };
                Ok(empty(status))
            })
        });
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
