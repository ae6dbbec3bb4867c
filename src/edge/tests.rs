//! The edge against its contract; tower-http is the oracle for CORS answers.

use super::errors::empty;
use super::hooks::{ALLOW_HEADERS, ALLOW_METHODS};
use super::*;
use http::{HeaderName, HeaderValue, Method, StatusCode};
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

/// A concern added as a hook (the way metrics will come): it sees every answer — the
/// handler's, a panic's 500, a timeout's 408 and an intercepted one — in the request's log
/// scope, with its duration, and may answer first.
#[tokio::test]
async fn a_hook_sees_every_answer_and_may_intercept() {
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, u16, bool)>>);

    impl Hook for Arc<Recorder> {
        fn intercept(&self, request: &Request<Body>) -> Option<Response<Body>> {
            (request.uri().path() == "/teapot").then(|| empty(StatusCode::IM_A_TEAPOT))
        }
        fn wants_timing(&self) -> bool {
            true
        }
        fn on_response(&self, r: &RequestInfo, res: &mut Response<Body>, e: Option<Duration>) {
            let in_scope = crate::logging::current_request(|i| i.is_some());
            if let Ok(mut seen) = self.0.lock() {
                seen.push((
                    r.uri.path().to_owned(),
                    res.status().as_u16(),
                    e.is_some() && in_scope,
                ));
            }
            res.headers_mut()
                .insert("x-hooked", HeaderValue::from_static("1"));
        }
    }

    let recorder = Arc::new(Recorder::default());
    let app = App::with_hooks(
        1,
        1024,
        Duration::from_millis(50),
        vec![Box::new(recorder.clone()), Box::new(Cors)],
        |req: Request<Body>, _| -> ResponseFuture {
            match req.uri().path() {
                "/panic" => panic!("boom"),
                "/slow" => Box::pin(async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    Response::new(Body::empty())
                }),
                _ => answer(StatusCode::OK)(req),
            }
        },
    );
    for path in ["/ok", "/panic", "/slow", "/teapot"] {
        let request = Request::get(path).body(Body::empty()).expect("request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert_eq!(response.headers()["x-hooked"], "1", "{path}");
        assert_eq!(response.headers()["access-control-allow-origin"], "*");
    }
    let seen = recorder.0.lock().expect("lock").clone();
    assert_eq!(
        seen,
        vec![
            ("/ok".to_owned(), 200, true),
            ("/panic".to_owned(), 500, true),
            ("/slow".to_owned(), 408, true),
            ("/teapot".to_owned(), 418, true),
        ]
    );
}
