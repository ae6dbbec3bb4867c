#![cfg_attr(rustfmt, rustfmt::skip)]
//! `POST /_fixture/api/v1/account/register` (`register`)
//!
//! Register an account.
#![allow(clippy::collapsible_if, clippy::collapsible_match)]
use crate::rt::validate::{self as rt, Path, Sink, Value};

pub use crate::types::{
    RegisterResponse, RegistrationRequest, RegistrationRequest as RequestBody,
    RegisterResponse as Response,
};

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "register";
    const METHOD: &'static str = "POST";
    const PATH: &'static str = "/_fixture/api/v1/account/register";
    const RESPONSES: crate::rt::Responses = &[
        ("200", Some(validate_response_200)),
        ("3XX", None),
        ("400", Some(validate_response_400)),
    ];
    type Params = ();
    type Body = self::RequestBody;
    const BODY: crate::rt::BodyMode = crate::rt::BodyMode::KeepRaw;
    const VALIDATE_BODY: crate::rt::Validator = validate_body;
    const FORM_KINDS: Option<crate::rt::Kinds> = Some(
        &[
            ("display-name", crate::rt::ScalarKind::String),
            ("legacy_token", crate::rt::ScalarKind::String),
            ("send_attempt", crate::rt::ScalarKind::Integer),
            ("user_id", crate::rt::ScalarKind::String),
        ],
    );
}

pub use crate::shared::validate_error as validate_response_400;

/// Validates a JSON value against the `RegistrationRequest` schema, reporting every error.
pub fn validate_body(v: &Value) -> Result<(), rt::Errors> {
    rt::run(v, body_n0, body_n0)
}

fn body_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        if let Some([v1_0, v1_1]) = rt::exact_keys(object, ["send_attempt", "user_id"]) {
            let p1 = &p.at("send_attempt");
            if let Some(number1) = s.number(p1, v1_0, &mut ok, "integer") {
                ok &= s.whole(p1, v1_0, number1, "integer");
            }
            ok &= s.is_string(&p.at("user_id"), v1_1);
        } else {
            let mut seen: u64 = 0;
            for (key1, v1) in object {
                match key1.as_str() {
                    "display-name" => {
                        ok &= s.of_types(&p.at(key1), v1, rt::NULL | rt::STRING);
                    }
                    "legacy_token" => ok &= s.is_string(&p.at(key1), v1),
                    "send_attempt" => {
                        seen |= 2;
                        let p1 = &p.at(key1);
                        if let Some(number1) = s.number(p1, v1, &mut ok, "integer") {
                            ok &= s.whole(p1, v1, number1, "integer");
                        }
                    }
                    "user_id" => {
                        seen |= 1;
                        ok &= s.is_string(&p.at(key1), v1);
                    }
                    _ => {}
                }
                rt::stop_if_failed!(ok);
            }
            if seen != 3 {
                ok &= s.has(p, "user_id", seen & 1 != 0);
                ok &= s.has(p, "send_attempt", seen & 2 != 0);
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
        for (key1, v1) in object {
            match key1.as_str() {
                "token" => ok &= s.is_string(&p.at(key1), v1),
                "user_id" => ok &= s.is_string(&p.at(key1), v1),
                _ => {}
            }
            rt::stop_if_failed!(ok);
        }
        ok &= s.has(p, "user_id", object.contains_key("user_id"));
        ok &= s.has(p, "token", object.contains_key("token"));
    }
    ok
}
