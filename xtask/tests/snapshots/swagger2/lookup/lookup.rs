#![cfg_attr(rustfmt, rustfmt::skip)]
//! `POST /_fixture/api/v2/lookup` (`lookup`)
//!
//! Look addresses up.

pub type RequestBody = crate::types::LookupRequestBody;
pub type Response = crate::types::LookupResponse;
pub use crate::types::LookupRequestBody;
pub use crate::types::LookupRequestBodyAlgorithm;
pub use crate::types::LookupRequestBodyLoginType;
pub use crate::types::LookupRequestBodyThreepid;
pub use crate::types::LookupRequestBodyThreepidMedium;
pub use crate::types::LookupResponse;

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "lookup";
    const METHOD: &'static str = "POST";
    const PATH: &'static str = "/_fixture/api/v2/lookup";
    const RESPONSES: &'static [(&'static str, Option<crate::rt::Validator>)] = &[
        ("200", Some(validate_response_200)),
    ];
    type Params = ();
    type Body = self::RequestBody;
    const BODY: crate::rt::BodyMode = crate::rt::BodyMode::Validated;

    fn validate_body(v: &serde_json::Value) -> crate::rt::Verdict {
        self::validate_body(v)
    }
}

/// Validates a JSON value against its schema, reporting every error.
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
            } && k1_0 == "addresses" && k1_1 == "algorithm"
        {
            {
                let v1 = v1_0;
                let key1 = k1_0;
                let p1 = &rt::Path::Key(p, key1);
                if let Value::Array(array1) = v1 {
                    for (index2, v2) in array1.iter().enumerate() {
                        let p2 = &rt::Path::Index(p1, index2);
                        if !v2.is_string() {
                            ok = false;
                            s.fail(
                                p2,
                                rt::ErrorKind::Type,
                                || rt::type_error("string", v2),
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
                if !matches!(v1.as_str(), Some("sha256" | "none")) {
                    ok = false;
                    s.fail(
                        p1,
                        rt::ErrorKind::Enum,
                        || rt::enum_error(v1, "\"sha256\", \"none\""),
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
                    "addresses" => {
                        seen |= 2;
                        let p1 = &rt::Path::Key(p, key1);
                        if let Value::Array(array1) = v1 {
                            for (index2, v2) in array1.iter().enumerate() {
                                let p2 = &rt::Path::Index(p1, index2);
                                if !v2.is_string() {
                                    ok = false;
                                    s.fail(
                                        p2,
                                        rt::ErrorKind::Type,
                                        || rt::type_error("string", v2),
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
                    "algorithm" => {
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
                        if !matches!(v1.as_str(), Some("sha256" | "none")) {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Enum,
                                || rt::enum_error(v1, "\"sha256\", \"none\""),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "login_type" => {
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
                            v1.as_str(), Some("m.login.password" | "m.login.token" |
                            "m.login.sso")
                        ) {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Enum,
                                || rt::enum_error(
                                    v1,
                                    "\"m.login.password\", \"m.login.token\", \"m.login.sso\"",
                                ),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "threepid" => {
                        let p1 = &rt::Path::Key(p, key1);
                        if let Value::Object(object1) = v1 {
                            if object1.len() == 2
                                && let (Some((k2_0, v2_0)), Some((k2_1, v2_1))) = {
                                    let mut entries2 = object1.iter();
                                    (entries2.next(), entries2.next())
                                } && k2_0 == "address" && k2_1 == "medium"
                            {
                                {
                                    let v2 = v2_0;
                                    let key2 = k2_0;
                                    let p2 = &rt::Path::Key(p1, key2);
                                    if !v2.is_string() {
                                        ok = false;
                                        s.fail(
                                            p2,
                                            rt::ErrorKind::Type,
                                            || rt::type_error("string", v2),
                                        );
                                        if S::STOP {
                                            return false;
                                        }
                                    }
                                }
                                {
                                    let v2 = v2_1;
                                    let key2 = k2_1;
                                    let p2 = &rt::Path::Key(p1, key2);
                                    if !v2.is_string() {
                                        ok = false;
                                        s.fail(
                                            p2,
                                            rt::ErrorKind::Type,
                                            || rt::type_error("string", v2),
                                        );
                                        if S::STOP {
                                            return false;
                                        }
                                    }
                                    if !matches!(v2.as_str(), Some("email" | "msisdn")) {
                                        ok = false;
                                        s.fail(
                                            p2,
                                            rt::ErrorKind::Enum,
                                            || rt::enum_error(v2, "\"email\", \"msisdn\""),
                                        );
                                        if S::STOP {
                                            return false;
                                        }
                                    }
                                }
                            } else {
                                let mut seen1: u64 = 0;
                                for (key2, v2) in object1 {
                                    match key2.as_str() {
                                        "address" => {
                                            seen1 |= 2;
                                            let p2 = &rt::Path::Key(p1, key2);
                                            if !v2.is_string() {
                                                ok = false;
                                                s.fail(
                                                    p2,
                                                    rt::ErrorKind::Type,
                                                    || rt::type_error("string", v2),
                                                );
                                                if S::STOP {
                                                    return false;
                                                }
                                            }
                                        }
                                        "medium" => {
                                            seen1 |= 1;
                                            let p2 = &rt::Path::Key(p1, key2);
                                            if !v2.is_string() {
                                                ok = false;
                                                s.fail(
                                                    p2,
                                                    rt::ErrorKind::Type,
                                                    || rt::type_error("string", v2),
                                                );
                                                if S::STOP {
                                                    return false;
                                                }
                                            }
                                            if !matches!(v2.as_str(), Some("email" | "msisdn")) {
                                                ok = false;
                                                s.fail(
                                                    p2,
                                                    rt::ErrorKind::Enum,
                                                    || rt::enum_error(v2, "\"email\", \"msisdn\""),
                                                );
                                                if S::STOP {
                                                    return false;
                                                }
                                            }
                                        }
                                        _ => {}
                                    }
                                }
                                if seen1 != 3 {
                                    if seen1 & 1 == 0 {
                                        ok = false;
                                        s.fail(
                                            &rt::Path::Key(p1, "medium"),
                                            rt::ErrorKind::Required,
                                            || String::from("missing required property \"medium\""),
                                        );
                                        if S::STOP {
                                            return false;
                                        }
                                    }
                                    if seen1 & 2 == 0 {
                                        ok = false;
                                        s.fail(
                                            &rt::Path::Key(p1, "address"),
                                            rt::ErrorKind::Required,
                                            || String::from("missing required property \"address\""),
                                        );
                                        if S::STOP {
                                            return false;
                                        }
                                    }
                                }
                            }
                        } else {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Type,
                                || rt::type_error("object", v1),
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
                        &rt::Path::Key(p, "algorithm"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"algorithm\""),
                    );
                    if S::STOP {
                        return false;
                    }
                }
                if seen & 2 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "addresses"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"addresses\""),
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
        if let Some(v1) = object.get("mappings") {
            let p1 = &rt::Path::Key(p, "mappings");
            if !crate::shared::validate_any_object_node0(v1, p1, &mut *s) {
                ok = false;
                if S::STOP {
                    return false;
                }
            }
        } else {
            ok = false;
            s.fail(
                &rt::Path::Key(p, "mappings"),
                rt::ErrorKind::Required,
                || String::from("missing required property \"mappings\""),
            );
            if S::STOP {
                return false;
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
