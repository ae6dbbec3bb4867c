#![cfg_attr(rustfmt, rustfmt::skip)]
//! `GET /_fixture/legacy/status` (`getStatus`)
//!
//! Legacy status.
//!
//! **Deprecated** in the specification.
#![allow(clippy::collapsible_if, clippy::collapsible_match)]
use crate::rt::validate::{self as rt, Path, Sink, Value};

pub use crate::types::{
    GetStatusResponse, GetStatusResponseMode, GetStatusResponse as Response,
};

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "getStatus";
    const METHOD: &'static str = "GET";
    const PATH: &'static str = "/_fixture/legacy/status";
    const DEPRECATED: bool = true;
    const RESPONSES: crate::rt::Responses = &[("200", Some(validate_response_200))];
    type Params = ();
    type Body = ();
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
                "mode" => {
                    let p1 = &p.at(key1);
                    ok &= s.of_types(p1, v1, rt::NULL | rt::STRING);
                    ok
                        &= s
                            .is_enum(
                                p1,
                                v1,
                                matches!(v1.as_str(), Some("on" | "off")) || v1.is_null(),
                                "\"on\", \"off\", null",
                            );
                }
                "note" => ok &= s.of_types(&p.at(key1), v1, rt::NULL | rt::STRING),
                _ => {}
            }
            rt::stop_if_failed!(ok);
        }
        ok &= s.has(p, "note", object.contains_key("note"));
    }
    ok
}
