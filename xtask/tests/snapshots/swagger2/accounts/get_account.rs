#![cfg_attr(rustfmt, rustfmt::skip)]
//! `GET /_fixture/api/v1/account/{userId}` (`getAccount`)
//!
//! Get an account.
#![allow(clippy::collapsible_if, clippy::collapsible_match)]
use crate::rt::validate::{self as rt, Path, Sink, Value};

pub use crate::types::{
    GetAccountParams, GetAccountResponse, GetAccountResponseStatus,
    GetAccountParams as Params, GetAccountResponse as Response,
};

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "getAccount";
    const METHOD: &'static str = "GET";
    const PATH: &'static str = "/_fixture/api/v1/account/{userId}";
    const AUTHENTICATED: bool = true;
    const RESPONSES: crate::rt::Responses = &[
        ("200", Some(validate_response_200)),
        ("4XX", Some(validate_response_4xx)),
    ];
    type Params = self::Params;
    const PARAM_KINDS: Option<crate::rt::Kinds> = Some(
        &[
            ("X-Trace", crate::rt::ScalarKind::String),
            ("limit", crate::rt::ScalarKind::Integer),
            ("sid", crate::rt::ScalarKind::String),
            ("userId", crate::rt::ScalarKind::String),
        ],
    );
    const VALIDATE_PARAMS: crate::rt::Validator = validate_params;
    const HEADERS: &'static [&'static str] = &["X-Trace"];
    type Body = ();
}

pub use crate::shared::validate_error as validate_response_4xx;

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_params(v: &Value) -> Result<(), rt::Errors> {
    rt::run(v, params_n0, params_n0)
}

fn params_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        for (key1, v1) in object {
            match key1.as_str() {
                "X-Trace" => ok &= s.is_string(&p.at(key1), v1),
                "limit" => {
                    let p1 = &p.at(key1);
                    if let Some(number1) = s.number(p1, v1, &mut ok, "integer") {
                        ok &= s.whole(p1, v1, number1, "integer");
                        ok &= s.in_range(p1, number1, rt::Cmp::Ge, 1i64);
                        ok
                            &= s
                                .number_format(
                                    p1,
                                    number1,
                                    rt::formats::is_int32,
                                    "32-bit integer",
                                );
                    }
                }
                "sid" => ok &= s.is_string(&p.at(key1), v1),
                "userId" => ok &= s.is_string(&p.at(key1), v1),
                _ => {}
            }
            rt::stop_if_failed!(ok);
        }
        ok &= s.has(p, "userId", object.contains_key("userId"));
    }
    ok
}

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_response_200(v: &Value) -> Result<(), rt::Errors> {
    rt::run(v, response_200_n0, response_200_n0)
}

fn response_200_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        for (key1, v1) in object {
            match key1.as_str() {
                "deactivated_ts" => {
                    let p1 = &p.at(key1);
                    match v1 {
                        Value::Number(number1) => {
                            ok &= s.whole(p1, v1, number1, "integer or null");
                            ok
                                &= s
                                    .number_format(
                                        p1,
                                        number1,
                                        rt::formats::is_int64,
                                        "64-bit integer",
                                    );
                        }
                        Value::Null => {}
                        _ => {
                            ok = s.wrong_type(p1, v1, "integer or null");
                        }
                    }
                }
                "devices" => ok &= crate::shared::any_object_n0(v1, &p.at(key1), &mut *s),
                "status" => {
                    let p1 = &p.at(key1);
                    ok &= s.is_string(p1, v1);
                    ok &= s.str_enum(p1, v1, &["active", "deactivated", "3pid-only"]);
                }
                "threepids" => {
                    let p1 = &p.at(key1);
                    if let Some(array1) = s.array(p1, v1, &mut ok, "array") {
                        ok
                            &= rt::each(
                                array1,
                                p1,
                                s,
                                |v2, p2, s| {
                                    let mut ok = true;
                                    if let Some(array2) = s.array(p2, v2, &mut ok, "array") {
                                        ok &= s.min_len(p2, array2.len(), 2, "item");
                                        ok &= s.max_len(p2, array2.len(), 2, "item");
                                        if let Some(v3) = array2.first() {
                                            let p3 = &rt::Path::Index(p2, 0);
                                            ok &= s.is_string(p3, v3);
                                        }
                                        if let Some(v3) = array2.get(1) {
                                            let p3 = &rt::Path::Index(p2, 1);
                                            ok &= s.is_string(p3, v3);
                                        }
                                    }
                                    ok
                                },
                            );
                    }
                }
                "user_id" => ok &= s.is_string(&p.at(key1), v1),
                _ => {}
            }
            rt::stop_if_failed!(ok);
        }
        ok &= s.has(p, "user_id", object.contains_key("user_id"));
        ok &= s.has(p, "threepids", object.contains_key("threepids"));
        ok &= s.has(p, "status", object.contains_key("status"));
    }
    ok
}
