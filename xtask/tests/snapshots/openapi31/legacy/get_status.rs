#![cfg_attr(rustfmt, rustfmt::skip)]
//! `GET /_fixture/legacy/status` (`getStatus`)
//!
//! Legacy status.
//!
//! **Deprecated** in the specification.

pub type Response = crate::types::GetStatusResponse;
pub use crate::types::GetStatusResponse;
pub use crate::types::GetStatusResponseMode;

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "getStatus";
    const METHOD: &'static str = "GET";
    const PATH: &'static str = "/_fixture/legacy/status";
    const DEPRECATED: bool = true;
    const RESPONSES: &'static [(&'static str, Option<crate::rt::Validator>)] = &[
        ("200", Some(validate_response_200)),
    ];
    type Params = ();
    type Body = ();
}

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_response_200(
    v: &serde_json::Value,
) -> Result<(), crate::rt::validate::Errors> {
    if validate_response_200_node0(
        v,
        &crate::rt::validate::Path::Root,
        &mut crate::rt::validate::Check,
    ) {
        return Ok(());
    }
    crate::rt::validate::collect(|s| {
        validate_response_200_node0(v, &crate::rt::validate::Path::Root, s);
    })
}

#[allow(
    clippy::collapsible_if,
    clippy::collapsible_match,
    reason = "generated: one `if` per schema keyword reads better than merged conditions"
)]
fn validate_response_200_node0<S: crate::rt::validate::Sink>(
    v: &serde_json::Value,
    p: &crate::rt::validate::Path<'_>,
    s: &mut S,
) -> bool {
    use crate::rt::validate as rt;
    use serde_json::Value;
    let mut ok = true;
    if let Value::Object(object) = v {
        if object.len() == 1 && let Some((k1_0, v1_0)) = object.iter().next()
            && k1_0 == "note"
        {
            {
                let v1 = v1_0;
                let key1 = k1_0;
                let p1 = &rt::Path::Key(p, key1);
                if !(v1.is_null() || v1.is_string()) {
                    ok = false;
                    s.fail(
                        p1,
                        rt::ErrorKind::Type,
                        || rt::type_error("string or null", v1),
                    );
                    if S::STOP {
                        return false;
                    }
                }
            }
        } else {
            let mut seen: u64 = 0;
            for (key1, v1) in object {
                match key1.as_str() {
                    "mode" => {
                        let p1 = &rt::Path::Key(p, key1);
                        if !(v1.is_null() || v1.is_string()) {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("string or null", v1),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                        if !matches!(v1.as_str(), Some("on" | "off")) && !v1.is_null() {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Enum,
                                || rt::enum_error(v1, "\"on\", \"off\", null"),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "note" => {
                        seen |= 1;
                        let p1 = &rt::Path::Key(p, key1);
                        if !(v1.is_null() || v1.is_string()) {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("string or null", v1),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    _ => {}
                }
            }
            if seen & 1 == 0 {
                ok = false;
                s.fail(
                    &rt::Path::Key(p, "note"),
                    rt::ErrorKind::Required,
                    || String::from("missing required property \"note\""),
                );
                if S::STOP {
                    return false;
                }
            }
        }
    } else {
        ok = false;
        s.fail(p, rt::ErrorKind::Type, || rt::type_error("object", v));
        if S::STOP {
            return false;
        }
    }
    ok
}
