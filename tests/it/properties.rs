//! Property tests: request decoding and canonical JSON hold for any input — no panic, no 5xx,
//! every refusal a Matrix error, and what is encoded decodes back to the same value.

use crate::common::TestApp;
use axum::body::Body;
use axum::http::{Method, Request};
use oxident::crypto::canonical_json;
use proptest::prelude::*;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Arbitrary JSON within canonical JSON's domain (integers in ±(2^53−1), no floats).
fn json_value() -> impl Strategy<Value = Value> {
    let max = oxident::crypto::canonical_json::MAX_SAFE_INTEGER;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-max..=max).prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

proptest! {
    #[test]
    fn canonical_json_round_trips(value in json_value()) {
        let text = canonical_json(&value).expect("in the canonical domain");
        let back: Value = serde_json::from_str(&text).expect("canonical JSON is JSON");
        prop_assert_eq!(&back, &value);
        // Canonical form is a fixed point, and has no whitespace outside strings.
        prop_assert_eq!(canonical_json(&back).expect("again"), text.clone());
        let compact = serde_json::to_string(&value).expect("serialise");
        prop_assert_eq!(text.len(), compact.len());
    }

    #[test]
    fn canonical_json_refuses_what_it_cannot_encode(n in any::<i64>(), f in any::<f64>()) {
        let max = oxident::crypto::canonical_json::MAX_SAFE_INTEGER;
        prop_assert_eq!(canonical_json(&Value::from(n)).is_ok(), (-max..=max).contains(&n));
        if let Some(number) = serde_json::Number::from_f64(f) {
            let integral = f.fract() == 0.0 && f.abs() <= max as f64;
            prop_assert_eq!(canonical_json(&Value::Number(number)).is_ok(), integral);
        }
    }

    /// Query strings decode to the pairs that were encoded (percent-encoding round trip).
    #[test]
    fn query_parameters_round_trip(pairs in prop::collection::btree_map(".{0,12}", ".{0,24}", 0..6)) {
        let query = serde_urlencoded::to_string(&pairs).expect("encode");
        let request = Request::get(format!("/x?{query}")).body(()).expect("request");
        let (parts, ()) = request.into_parts();
        let decoded = oxident_api::rt::server::read_params(&parts, Vec::new(), &[]).expect("decodes");
        let expected: Map<String, Value> =
            pairs.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        prop_assert_eq!(decoded, Value::Object(expected));
    }

    /// Path parameters decode to the segment that was percent-encoded into the path.
    #[test]
    fn path_parameters_round_trip(segment in ".{1,24}") {
        let path = format!("/_matrix/identity/v2/pubkey/{}", percent_encode(&segment));
        let found = oxident_api::rt::server::match_template(&path, "/_matrix/identity/v2/pubkey/{keyId}");
        let params = found.expect("fits the template").expect("valid UTF-8");
        prop_assert_eq!(params, vec![("keyId".to_owned(), segment)]);
    }
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// One server for every case: a runtime that outlives the cases and the app on it.
fn server() -> &'static (tokio::runtime::Runtime, TestApp) {
    static SERVER: OnceLock<(tokio::runtime::Runtime, TestApp)> = OnceLock::new();
    SERVER.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let app = runtime.block_on(TestApp::start());
        (runtime, app)
    })
}

/// Every route of the API, with its method (the routes the spec has, GET or POST).
fn routes() -> Vec<(Method, String)> {
    let spec: Value =
        serde_json::from_str(include_str!("../../generated/openapi.json")).expect("openapi.json");
    let mut out = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) {
                // Templated segments get a fixed value; the properties vary the rest.
                let path = path.replace("{keyId}", "ed25519:0");
                out.push((m, path));
            }
        }
    }
    out
}

fn any_body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        json_value().prop_map(|v| serde_json::to_vec(&v).expect("json")),
        prop::collection::btree_map("[a-z_]{1,12}", json_value(), 0..5)
            .prop_map(|m| serde_json::to_vec(&m).expect("json")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever a client sends to any route — any query, any body, form or JSON — the answer
    /// is not a server error, and every refusal is Matrix JSON.
    #[test]
    fn any_request_gets_a_well_formed_answer(
        route in any::<prop::sample::Index>(),
        query in prop::collection::btree_map("[a-z_]{1,14}", ".{0,20}", 0..4),
        raw_query in prop::option::of("[ -~]{0,40}"),
        body in any_body(),
        form in any::<bool>(),
    ) {
        let (runtime, app) = server();
        let routes = routes();
        let (method, path) = route.get(&routes).clone();
        let query = match raw_query {
            Some(raw) => raw.replace([' ', '#'], "+"),
            None => serde_urlencoded::to_string(&query).expect("encode"),
        };
        let uri = format!("{path}?{query}");
        let Ok(uri) = uri.parse::<axum::http::Uri>() else {
            return Ok(()); // not a request a client could send
        };
        let mut request = Request::builder().method(method.clone()).uri(uri);
        if form {
            request = request.header("content-type", "application/x-www-form-urlencoded");
        }
        let request = request.body(Body::from(body)).expect("request");
        let edge = oxident::app(app.shared_state());
        let peer = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 40000)));
        let response = runtime
            .block_on(edge.handle(request, peer))
            .unwrap_or_else(|never| match never {});
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = runtime
            .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
            .expect("body");
        prop_assert!(status < 500 || status == 502 || status == 503, "{method} {path}: {status}");
        if status >= 400 && !content_type.starts_with("text/html") {
            let json: Value = serde_json::from_slice(&bytes).expect("an error is JSON");
            prop_assert!(json["errcode"].as_str().is_some_and(|c| c.starts_with("M_")), "{json}");
            prop_assert!(json["error"].is_string(), "{json}");
        }
    }
}

/// The routes list is what the property above draws from: make sure it is the whole API.
#[test]
fn every_operation_is_drawn_from() {
    let routes = routes();
    let distinct: BTreeSet<_> = routes
        .iter()
        .map(|(m, p)| (m.to_string(), p.clone()))
        .collect();
    assert_eq!(distinct.len(), routes.len());
    assert!(routes.len() >= 30, "{}", routes.len());
}

fn quote(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

proptest! {
    /// Any header value parses or is refused; it never panics.
    #[test]
    fn x_matrix_parser_takes_any_input(header in ".{0,80}", tail in "[ -~]{0,80}") {
        let _ = oxident::federation::xmatrix::parse(&header);
        let _ = oxident::federation::xmatrix::parse(&format!("X-Matrix {tail}"));
    }

    /// A header written from parameters (quoted values with escapes, any name case, any
    /// order, spaces around commas) parses back to the same parameters.
    #[test]
    fn x_matrix_header_round_trips(
        origin in "[!-~]{1,20}",
        key in "[ -~]{1,20}",
        sig in "[ -~]{1,40}",
        destination in prop::option::of("[ -~]{1,20}"),
        upper in any::<[bool; 4]>(),
        order in Just([0usize, 1, 2, 3]).prop_shuffle(),
        spaces in "[ \t]{0,2}",
    ) {
        let name = |n: &str, up: bool| if up { n.to_ascii_uppercase() } else { n.to_owned() };
        let params = [
            Some(format!("{}={}", name("origin", upper[0]), quote(&origin))),
            Some(format!("{}={}", name("key", upper[1]), quote(&key))),
            Some(format!("{}={}", name("sig", upper[2]), quote(&sig))),
            destination.as_ref().map(|d| format!("{}={}", name("destination", upper[3]), quote(d))),
        ];
        let list: Vec<String> = order.iter().filter_map(|&i| params[i].clone()).collect();
        let header = format!("X-Matrix {}", list.join(&format!("{spaces},{spaces}")));
        let parsed = oxident::federation::xmatrix::parse(&header).expect("parses");
        prop_assert_eq!(
            parsed,
            oxident::federation::xmatrix::XMatrix { origin, key, sig, destination }
        );
    }
}
