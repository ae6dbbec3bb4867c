#![cfg_attr(rustfmt, rustfmt::skip)]
//! `GET /_fixture/api/v1/account/{userId}` (`getAccount`)
//!
//! Get an account.

pub type Params = crate::types::GetAccountParams;
pub type Response = crate::types::GetAccountResponse;
pub use crate::types::GetAccountParams;
pub use crate::types::GetAccountResponse;
pub use crate::types::GetAccountResponseStatus;

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "getAccount";
    const METHOD: &'static str = "GET";
    const PATH: &'static str = "/_fixture/api/v1/account/{userId}";
    const AUTHENTICATED: bool = true;
    const RESPONSES: &'static [(&'static str, Option<crate::rt::Validator>)] = &[
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

    fn validate_params(v: &serde_json::Value) -> crate::rt::Verdict {
        self::validate_params(v)
    }
    const HEADERS: &'static [&'static str] = &["X-Trace"];
    type Body = ();
}

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_params(
    v: &serde_json::Value,
) -> Result<(), crate::rt::validate::Errors> {
    if validate_params_node0(
        v,
        &crate::rt::validate::Path::Root,
        &mut crate::rt::validate::Check,
    ) {
        return Ok(());
    }
    crate::rt::validate::collect(|s| {
        validate_params_node0(v, &crate::rt::validate::Path::Root, s);
    })
}

#[allow(
    clippy::collapsible_if,
    clippy::collapsible_match,
    reason = "generated: one `if` per schema keyword reads better than merged conditions"
)]
fn validate_params_node0<S: crate::rt::validate::Sink>(
    v: &serde_json::Value,
    p: &crate::rt::validate::Path<'_>,
    s: &mut S,
) -> bool {
    use crate::rt::validate as rt;
    use crate::rt::formats;
    use serde_json::Value;
    let mut ok = true;
    if let Value::Object(object) = v {
        if object.len() == 1 && let Some((k1_0, v1_0)) = object.iter().next()
            && k1_0 == "userId"
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
        } else {
            let mut seen: u64 = 0;
            for (key1, v1) in object {
                match key1.as_str() {
                    "X-Trace" => {
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
                    "limit" => {
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
                            if rt::cmp_i64(number1, 1).is_lt() {
                                ok = false;
                                s.fail(
                                    p1,
                                    rt::ErrorKind::Range,
                                    || format!("must be >= 1, found {number1}"),
                                );
                                if S::STOP {
                                    return false;
                                }
                            }
                            if !formats::is_int32(number1) {
                                ok = false;
                                s.fail(
                                    p1,
                                    rt::ErrorKind::Format,
                                    || format!("{number1} is not a valid 32-bit integer"),
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
                    "sid" => {
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
                    "userId" => {
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
            if seen & 1 == 0 {
                ok = false;
                s.fail(
                    &rt::Path::Key(p, "userId"),
                    rt::ErrorKind::Required,
                    || String::from("missing required property \"userId\""),
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
    use crate::rt::formats;
    use serde_json::Value;
    let mut ok = true;
    if let Value::Object(object) = v {
        if object.len() == 3
            && let (Some((k1_0, v1_0)), Some((k1_1, v1_1)), Some((k1_2, v1_2))) = {
                let mut entries1 = object.iter();
                (entries1.next(), entries1.next(), entries1.next())
            } && k1_0 == "status" && k1_1 == "threepids" && k1_2 == "user_id"
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
                if !matches!(v1.as_str(), Some("active" | "deactivated" | "3pid-only")) {
                    ok = false;
                    s.fail(
                        p1,
                        rt::ErrorKind::Enum,
                        || rt::enum_error(
                            v1,
                            "\"active\", \"deactivated\", \"3pid-only\"",
                        ),
                    );
                    if S::STOP {
                        return false;
                    }
                }
            }
            {
                let v1 = v1_1;
                let key1 = k1_1;
                let p1 = &rt::Path::Key(p, key1);
                if let Value::Array(array1) = v1 {
                    for (index2, v2) in array1.iter().enumerate() {
                        let p2 = &rt::Path::Index(p1, index2);
                        if let Value::Array(array2) = v2 {
                            if array2.len() < 2 {
                                ok = false;
                                s.fail(
                                    p2,
                                    rt::ErrorKind::Length,
                                    || {
                                        format!(
                                            "must have at least 2 items, found {}", array2.len()
                                        )
                                    },
                                );
                                if S::STOP {
                                    return false;
                                }
                            }
                            if array2.len() > 2 {
                                ok = false;
                                s.fail(
                                    p2,
                                    rt::ErrorKind::Length,
                                    || {
                                        format!("must have at most 2 items, found {}", array2.len())
                                    },
                                );
                                if S::STOP {
                                    return false;
                                }
                            }
                            if let Some(v3) = array2.first() {
                                let p3 = &rt::Path::Index(p2, 0);
                                if !v3.is_string() {
                                    ok = false;
                                    s.fail(
                                        p3,
                                        rt::ErrorKind::Type,
                                        || rt::type_error("string", v3),
                                    );
                                    if S::STOP {
                                        return false;
                                    }
                                }
                            }
                            if let Some(v3) = array2.get(1) {
                                let p3 = &rt::Path::Index(p2, 1);
                                if !v3.is_string() {
                                    ok = false;
                                    s.fail(
                                        p3,
                                        rt::ErrorKind::Type,
                                        || rt::type_error("string", v3),
                                    );
                                    if S::STOP {
                                        return false;
                                    }
                                }
                            }
                        } else {
                            ok = false;
                            s.fail(
                                p2,
                                rt::ErrorKind::Type,
                                || rt::type_error("array", v2),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                } else {
                    ok = false;
                    s.fail(p1, rt::ErrorKind::Type, || rt::type_error("array", v1));
                    if S::STOP {
                        return false;
                    }
                }
            }
            {
                let v1 = v1_2;
                let key1 = k1_2;
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
                    "deactivated_ts" => {
                        let p1 = &rt::Path::Key(p, key1);
                        match v1 {
                            Value::Number(number1) => {
                                if !rt::is_integer(number1) {
                                    ok = false;
                                    s.fail(
                                        p1,
                                        rt::ErrorKind::Type,
                                        || rt::type_error("integer or null", v1),
                                    );
                                    if S::STOP {
                                        return false;
                                    }
                                }
                                if !formats::is_int64(number1) {
                                    ok = false;
                                    s.fail(
                                        p1,
                                        rt::ErrorKind::Format,
                                        || format!("{number1} is not a valid 64-bit integer"),
                                    );
                                    if S::STOP {
                                        return false;
                                    }
                                }
                            }
                            Value::Null => {}
                            _ => {
                                ok = false;
                                s.fail(
                                    p1,
                                    rt::ErrorKind::Type,
                                    || rt::type_error("integer or null", v1),
                                );
                                if S::STOP {
                                    return false;
                                }
                            }
                        }
                    }
                    "devices" => {
                        let p1 = &rt::Path::Key(p, key1);
                        if !crate::shared::validate_any_object_node0(v1, p1, &mut *s) {
                            ok = false;
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "status" => {
                        seen |= 4;
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
                        if !matches!(
                            v1.as_str(), Some("active" | "deactivated" | "3pid-only")
                        ) {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Enum,
                                || rt::enum_error(
                                    v1,
                                    "\"active\", \"deactivated\", \"3pid-only\"",
                                ),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "threepids" => {
                        seen |= 2;
                        let p1 = &rt::Path::Key(p, key1);
                        if let Value::Array(array1) = v1 {
                            for (index2, v2) in array1.iter().enumerate() {
                                let p2 = &rt::Path::Index(p1, index2);
                                if let Value::Array(array2) = v2 {
                                    if array2.len() < 2 {
                                        ok = false;
                                        s.fail(
                                            p2,
                                            rt::ErrorKind::Length,
                                            || {
                                                format!(
                                                    "must have at least 2 items, found {}", array2.len()
                                                )
                                            },
                                        );
                                        if S::STOP {
                                            return false;
                                        }
                                    }
                                    if array2.len() > 2 {
                                        ok = false;
                                        s.fail(
                                            p2,
                                            rt::ErrorKind::Length,
                                            || {
                                                format!("must have at most 2 items, found {}", array2.len())
                                            },
                                        );
                                        if S::STOP {
                                            return false;
                                        }
                                    }
                                    if let Some(v3) = array2.first() {
                                        let p3 = &rt::Path::Index(p2, 0);
                                        if !v3.is_string() {
                                            ok = false;
                                            s.fail(
                                                p3,
                                                rt::ErrorKind::Type,
                                                || rt::type_error("string", v3),
                                            );
                                            if S::STOP {
                                                return false;
                                            }
                                        }
                                    }
                                    if let Some(v3) = array2.get(1) {
                                        let p3 = &rt::Path::Index(p2, 1);
                                        if !v3.is_string() {
                                            ok = false;
                                            s.fail(
                                                p3,
                                                rt::ErrorKind::Type,
                                                || rt::type_error("string", v3),
                                            );
                                            if S::STOP {
                                                return false;
                                            }
                                        }
                                    }
                                } else {
                                    ok = false;
                                    s.fail(
                                        p2,
                                        rt::ErrorKind::Type,
                                        || rt::type_error("array", v2),
                                    );
                                    if S::STOP {
                                        return false;
                                    }
                                }
                            }
                        } else {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("array", v1),
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
            if seen != 7 {
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
                        &rt::Path::Key(p, "threepids"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"threepids\""),
                    );
                    if S::STOP {
                        return false;
                    }
                }
                if seen & 4 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "status"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"status\""),
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

pub use crate::shared::validate_error as validate_response_4xx;
