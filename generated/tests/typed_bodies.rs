//! The typed body path (`rt::server::read_typed_body`, used where the code generator found
//! serde's derive exact for the body schema) against the validating path (`read_body`, then
//! `decode_owned`): for every body below, both give the same value or the same error.

#![cfg(feature = "server")]

use std::fmt::Debug;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::http::Request;
use axum::http::request::Parts;
use oxident_api::rt::Operation;
use oxident_api::rt::Rejection;
use oxident_api::rt::ScalarKind;
use oxident_api::rt::server::{decode_owned, read_body, read_typed_body};
use oxident_api::rt::validate::Errors;
use oxident_api::{associations, v2_auth, v2_lookup, v2_terms};
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The body futures read an in-memory body: they finish on the first poll.
fn now<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("an in-memory body is read at once"),
    }
}

fn request(body: &str, content_type: Option<&str>) -> (Parts, Body) {
    let mut builder = Request::builder().method("POST").uri("/x");
    if let Some(ct) = content_type {
        builder = builder.header("content-type", ct);
    }
    match builder.body(Body::from(body.to_owned())) {
        Ok(r) => r.into_parts(),
        Err(e) => panic!("request: {e}"),
    }
}

/// Both paths on `body`; returns whether it was accepted.
fn agree<T: DeserializeOwned + PartialEq + Debug>(
    body: &str,
    form_kinds: Option<&[(&str, ScalarKind)]>,
    validate: fn(&Value) -> Result<(), Errors>,
) -> bool {
    for content_type in [
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (parts, raw) = request(body, content_type);
        let typed: Result<T, Rejection> =
            now(read_typed_body::<T>(&parts, raw, form_kinds, validate));
        let (parts, raw) = request(body, content_type);
        let checked =
            now(read_body(&parts, raw, form_kinds)).and_then(|v| decode_owned::<T>(v, validate));
        assert_eq!(typed, checked, "{body} ({content_type:?})");
    }
    let (parts, raw) = request(body, None);
    now(read_typed_body::<T>(&parts, raw, form_kinds, validate)).is_ok()
}

const LOOKUP_BODIES: &[(&str, bool)] = &[
    (
        r#"{"addresses":["a","b"],"algorithm":"sha256","pepper":"p"}"#,
        true,
    ),
    (
        r#"  {"pepper":"p","algorithm":"none","addresses":[]}  "#,
        true,
    ),
    (
        r#"{"addresses":["a"],"algorithm":"sha256","pepper":"p","extra":{"x":[1,2]}}"#,
        true,
    ),
    (
        r#"{"addresses":["\u00e9\n"],"algorithm":"sha256","pepper":"p"}"#,
        true,
    ),
    // Duplicate keys: serde's derive refuses them, the validating path takes the last.
    (
        r#"{"addresses":["a"],"algorithm":"x","algorithm":"sha256","pepper":"p"}"#,
        true,
    ),
    (r#"{"addresses":["a"],"algorithm":"sha256"}"#, false),
    (
        r#"{"addresses":"a","algorithm":"sha256","pepper":"p"}"#,
        false,
    ),
    (
        r#"{"addresses":["a",1],"algorithm":"sha256","pepper":"p"}"#,
        false,
    ),
    (
        r#"{"addresses":null,"algorithm":"sha256","pepper":"p"}"#,
        false,
    ),
    (
        r#"{"addresses":["a"],"algorithm":null,"pepper":"p"}"#,
        false,
    ),
    (
        r#"{"addresses":["a"],"algorithm":"sha256","pepper":7}"#,
        false,
    ),
    // serde's derive would take this array as the struct; the spec wants an object.
    (r#"[["a"],"sha256","p"]"#, false),
    (
        r#"{"addresses":["a"],"algorithm":"sha256","pepper":"p"} trailing"#,
        false,
    ),
    (
        r#"{"addresses":["a"],"algorithm":"sha256","pepper":"p""#,
        false,
    ),
    ("", false),
    ("   ", false),
    ("null", false),
    ("addresses=a&algorithm=sha256&pepper=p", false),
];

#[test]
fn lookup_bodies_agree() {
    use v2_lookup::lookup_users_v2 as op;
    for (body, accepted) in LOOKUP_BODIES {
        assert_eq!(
            agree::<op::RequestBody>(body, <op::Op as Operation>::FORM_KINDS, op::validate_body),
            *accepted,
            "{body}"
        );
    }
}

#[test]
fn bodies_of_other_shapes_agree() {
    use associations::bind as bind_op;
    use v2_auth::register_account as register;
    use v2_terms::agree_to_terms as terms;
    for (body, accepted) in [
        (r#"{"user_accepts":["https://a.example/t"]}"#, true),
        (r#"{"user_accepts":[]}"#, true),
        (r#"{"user_accepts":"https://a.example/t"}"#, false),
        (r#"{}"#, false),
    ] {
        assert_eq!(
            agree::<terms::RequestBody>(
                body,
                <terms::Op as Operation>::FORM_KINDS,
                terms::validate_body
            ),
            accepted,
            "{body}"
        );
    }
    let openid = |expires: &str| {
        format!(
            r#"{{"access_token":"t","token_type":"Bearer","matrix_server_name":"hs.example","expires_in":{expires}}}"#
        )
    };
    for (expires, accepted) in [
        ("3600", true),
        ("-1", true),
        // An integer by JSON Schema, but no `i64` for serde: refused either way.
        ("3600.0", false),
        ("3600.5", false),
        ("\"3600\"", false),
        ("99999999999999999999", false),
    ] {
        assert_eq!(
            agree::<register::RequestBody>(
                &openid(expires),
                <register::Op as Operation>::FORM_KINDS,
                register::validate_body
            ),
            accepted,
            "{expires}"
        );
    }
    // A form-accepting operation: form bodies take the form path in both.
    for (body, is_form) in [
        (r#"{"sid":"1","client_secret":"s","mxid":"@a:b"}"#, false),
        ("sid=1&client_secret=s&mxid=%40a%3Ab", true),
        ("sid=1&client_secret=s", true),
    ] {
        let accepted = agree::<bind_op::RequestBody>(
            body,
            <bind_op::Op as Operation>::FORM_KINDS,
            bind_op::validate_body,
        );
        assert_eq!(accepted, !is_form, "{body}");
    }
}
