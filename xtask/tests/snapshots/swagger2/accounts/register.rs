#![cfg_attr(rustfmt, rustfmt::skip)]
//! `POST /_fixture/api/v1/account/register` (`register`)
//!
//! Register an account.

pub type RequestBody = crate::types::RegistrationRequest;
pub type Response = crate::types::RegisterResponse;
pub use crate::types::RegisterResponse;
pub use crate::types::RegistrationRequest;

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "register";
    const METHOD: &'static str = "POST";
    const PATH: &'static str = "/_fixture/api/v1/account/register";
    const RESPONSES: &'static [(&'static str, Option<crate::rt::Validator>)] = &[
        ("200", Some(validate_response_200)),
        ("3XX", None),
        ("400", Some(validate_response_400)),
    ];
    type Params = ();
    type Body = self::RequestBody;
    const BODY: crate::rt::BodyMode = crate::rt::BodyMode::KeepRaw;

    fn validate_body(v: &serde_json::Value) -> crate::rt::Verdict {
        self::validate_body(v)
    }
    const FORM_KINDS: Option<crate::rt::Kinds> = Some(
        &[
            ("display-name", crate::rt::ScalarKind::String),
            ("legacy_token", crate::rt::ScalarKind::String),
            ("send_attempt", crate::rt::ScalarKind::Integer),
            ("user_id", crate::rt::ScalarKind::String),
        ],
    );
}

/// Validates a JSON value against the `RegistrationRequest` schema, reporting every error.
pub fn validate_body(v: &serde_json::Value) -> Result<(), crate::rt::validate::Errors> {
    if validate_body_node0(
        v,
        &crate::rt::validate::Path::Root,
        &mut crate::rt::validate::Check,
    ) {
        return Ok(());
    }
    crate::rt::validate::collect(|s| {
        validate_body_node0(v, &crate::rt::validate::Path::Root, s);
    })
}

#[allow(
    clippy::collapsible_if,
    clippy::collapsible_match,
    reason = "generated: one `if` per schema keyword reads better than merged conditions"
)]
fn validate_body_node0<S: crate::rt::validate::Sink>(
    v: &serde_json::Value,
    p: &crate::rt::validate::Path<'_>,
    s: &mut S,
) -> bool {
    use crate::rt::validate as rt;
    use serde_json::Value;
    let mut ok = true;
    if let Value::Object(object) = v {
        if object.len() == 2
            && let (Some((k1_0, v1_0)), Some((k1_1, v1_1))) = {
                let mut entries1 = object.iter();
                (entries1.next(), entries1.next())
            } && k1_0 == "send_attempt" && k1_1 == "user_id"
        {
            {
                let v1 = v1_0;
                let key1 = k1_0;
                let p1 = &rt::Path::Key(p, key1);
                if let Value::Number(number1) = v1 {
                    if !rt::is_integer(number1) {
                        ok = false;
                        s.fail(
                            p1,
                            rt::ErrorKind::Type,
                            || rt::type_error("integer", v1),
                        );
                        if S::STOP {
                            return false;
                        }
                    }
                } else {
                    ok = false;
                    s.fail(p1, rt::ErrorKind::Type, || rt::type_error("integer", v1));
                    if S::STOP {
                        return false;
                    }
                }
            }
            {
                let v1 = v1_1;
                let key1 = k1_1;
                let p1 = &rt::Path::Key(p, key1);
                if !v1.is_string() {
                    ok = false;
                    s.fail(p1, rt::ErrorKind::Type, || rt::type_error("string", v1));
                    if S::STOP {
                        return false;
                    }
                }
            }
        } else {
            let mut seen: u64 = 0;
            for (key1, v1) in object {
                match key1.as_str() {
                    "display-name" => {
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
                    "legacy_token" => {
                        let p1 = &rt::Path::Key(p, key1);
                        if !v1.is_string() {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("string", v1),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "send_attempt" => {
                        seen |= 2;
                        let p1 = &rt::Path::Key(p, key1);
                        if let Value::Number(number1) = v1 {
                            if !rt::is_integer(number1) {
                                ok = false;
                                s.fail(
                                    p1,
                                    rt::ErrorKind::Type,
                                    || rt::type_error("integer", v1),
                                );
                                if S::STOP {
                                    return false;
                                }
                            }
                        } else {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("integer", v1),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "user_id" => {
                        seen |= 1;
                        let p1 = &rt::Path::Key(p, key1);
                        if !v1.is_string() {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("string", v1),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    _ => {}
                }
            }
            if seen != 3 {
                if seen & 1 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "user_id"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"user_id\""),
                    );
                    if S::STOP {
                        return false;
                    }
                }
                if seen & 2 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "send_attempt"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"send_attempt\""),
                    );
                    if S::STOP {
                        return false;
                    }
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
        if object.len() == 2
            && let (Some((k1_0, v1_0)), Some((k1_1, v1_1))) = {
                let mut entries1 = object.iter();
                (entries1.next(), entries1.next())
            } && k1_0 == "token" && k1_1 == "user_id"
        {
            {
                let v1 = v1_0;
                let key1 = k1_0;
                let p1 = &rt::Path::Key(p, key1);
                if !v1.is_string() {
                    ok = false;
                    s.fail(p1, rt::ErrorKind::Type, || rt::type_error("string", v1));
                    if S::STOP {
                        return false;
                    }
                }
            }
            {
                let v1 = v1_1;
                let key1 = k1_1;
                let p1 = &rt::Path::Key(p, key1);
                if !v1.is_string() {
                    ok = false;
                    s.fail(p1, rt::ErrorKind::Type, || rt::type_error("string", v1));
                    if S::STOP {
                        return false;
                    }
                }
            }
        } else {
            let mut seen: u64 = 0;
            for (key1, v1) in object {
                match key1.as_str() {
                    "token" => {
                        seen |= 2;
                        let p1 = &rt::Path::Key(p, key1);
                        if !v1.is_string() {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("string", v1),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "user_id" => {
                        seen |= 1;
                        let p1 = &rt::Path::Key(p, key1);
                        if !v1.is_string() {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("string", v1),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    _ => {}
                }
            }
            if seen != 3 {
                if seen & 1 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "user_id"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"user_id\""),
                    );
                    if S::STOP {
                        return false;
                    }
                }
                if seen & 2 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "token"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"token\""),
                    );
                    if S::STOP {
                        return false;
                    }
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

pub use crate::shared::validate_error as validate_response_400;
