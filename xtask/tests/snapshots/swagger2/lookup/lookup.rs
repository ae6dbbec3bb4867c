#![cfg_attr(rustfmt, rustfmt::skip)]
//! `POST /_fixture/api/v2/lookup` (`lookup`)
//!
//! Look addresses up.
#![allow(clippy::collapsible_if, clippy::collapsible_match)]
use crate::rt::validate::{self as rt, Path, Sink, Value};

pub use crate::types::{
    LookupRequestBody, LookupRequestBodyAlgorithm, LookupRequestBodyLoginType,
    LookupResponse, Threepid, ThreepidMedium, LookupRequestBody as RequestBody,
    LookupResponse as Response,
};

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "lookup";
    const METHOD: &'static str = "POST";
    const PATH: &'static str = "/_fixture/api/v2/lookup";
    const RESPONSES: crate::rt::Responses = &[("200", Some(validate_response_200))];
    type Params = ();
    type Body = self::RequestBody;
    const BODY: crate::rt::BodyMode = crate::rt::BodyMode::Validated;
    const VALIDATE_BODY: crate::rt::Validator = validate_body;
}

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_body(v: &Value) -> Result<(), rt::Errors> {
    rt::run(v, body_n0, body_n0)
}

fn body_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        if let Some([v1_0, v1_1]) = rt::exact_keys(object, ["addresses", "algorithm"]) {
            let p1 = &p.at("addresses");
            if let Some(array1) = s.array(p1, v1_0, &mut ok, "array") {
                ok
                    &= rt::each(
                        array1,
                        p1,
                        s,
                        |v2, p2, s| {
                            let mut ok = true;
                            ok &= s.is_string(p2, v2);
                            ok
                        },
                    );
            }
            let p1 = &p.at("algorithm");
            ok &= s.is_string(p1, v1_1);
            ok &= s.str_enum(p1, v1_1, &["sha256", "none"]);
        } else {
            let mut seen: u64 = 0;
            for (key1, v1) in object {
                match key1.as_str() {
                    "addresses" => {
                        seen |= 2;
                        let p1 = &p.at(key1);
                        if let Some(array1) = s.array(p1, v1, &mut ok, "array") {
                            ok
                                &= rt::each(
                                    array1,
                                    p1,
                                    s,
                                    |v2, p2, s| {
                                        let mut ok = true;
                                        ok &= s.is_string(p2, v2);
                                        ok
                                    },
                                );
                        }
                    }
                    "algorithm" => {
                        seen |= 1;
                        let p1 = &p.at(key1);
                        ok &= s.is_string(p1, v1);
                        ok &= s.str_enum(p1, v1, &["sha256", "none"]);
                    }
                    "login_type" => {
                        let p1 = &p.at(key1);
                        ok &= s.is_string(p1, v1);
                        ok
                            &= s
                                .str_enum(
                                    p1,
                                    v1,
                                    &["m.login.password", "m.login.token", "m.login.sso"],
                                );
                    }
                    "threepid" => ok &= body_n1(v1, &p.at(key1), &mut *s),
                    _ => {}
                }
                rt::stop_if_failed!(ok);
            }
            if seen != 3 {
                ok &= s.has(p, "algorithm", seen & 1 != 0);
                ok &= s.has(p, "addresses", seen & 2 != 0);
            }
        }
    }
    ok
}

fn body_n1<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        if let Some([v1_0, v1_1]) = rt::exact_keys(object, ["address", "medium"]) {
            ok &= s.is_string(&p.at("address"), v1_0);
            let p1 = &p.at("medium");
            ok &= s.is_string(p1, v1_1);
            ok &= s.str_enum(p1, v1_1, &["email", "msisdn"]);
        } else {
            let mut seen: u64 = 0;
            for (key1, v1) in object {
                match key1.as_str() {
                    "address" => {
                        seen |= 2;
                        ok &= s.is_string(&p.at(key1), v1);
                    }
                    "medium" => {
                        seen |= 1;
                        let p1 = &p.at(key1);
                        ok &= s.is_string(p1, v1);
                        ok &= s.str_enum(p1, v1, &["email", "msisdn"]);
                    }
                    _ => {}
                }
                rt::stop_if_failed!(ok);
            }
            if seen != 3 {
                ok &= s.has(p, "medium", seen & 1 != 0);
                ok &= s.has(p, "address", seen & 2 != 0);
            }
        }
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
        if let Some(v1) = object.get("mappings") {
            let p1 = &rt::Path::Key(p, "mappings");
            ok &= crate::shared::any_object_n0(v1, p1, &mut *s);
        } else {
            ok &= s.has(p, "mappings", false);
        }
    }
    ok
}
