#![cfg_attr(rustfmt, rustfmt::skip)]
//! Validators for schemas that occur in several places; operations' validators
//! (and these, for nested and recursive shapes) call them.

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_any_object(
    v: &serde_json::Value,
) -> Result<(), crate::rt::validate::Errors> {
    if validate_any_object_node0(
        v,
        &crate::rt::validate::Path::Root,
        &mut crate::rt::validate::Check,
    ) {
        return Ok(());
    }
    crate::rt::validate::collect(|s| {
        validate_any_object_node0(v, &crate::rt::validate::Path::Root, s);
    })
}

#[allow(
    clippy::collapsible_if,
    clippy::collapsible_match,
    reason = "generated: one `if` per schema keyword reads better than merged conditions"
)]
pub(crate) fn validate_any_object_node0<S: crate::rt::validate::Sink>(
    v: &serde_json::Value,
    p: &crate::rt::validate::Path<'_>,
    s: &mut S,
) -> bool {
    use crate::rt::validate as rt;
    use serde_json::Value;
    let mut ok = true;
    if let Value::Object(object) = v {
        for (key1, v1) in object {
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
        ok = false;
        s.fail(p, rt::ErrorKind::Type, || rt::type_error("object", v));
        if S::STOP {
            return false;
        }
    }
    ok
}

/// Validates a JSON value against the `Error` schema, reporting every error.
pub fn validate_error(v: &serde_json::Value) -> Result<(), crate::rt::validate::Errors> {
    if validate_error_node0(
        v,
        &crate::rt::validate::Path::Root,
        &mut crate::rt::validate::Check,
    ) {
        return Ok(());
    }
    crate::rt::validate::collect(|s| {
        validate_error_node0(v, &crate::rt::validate::Path::Root, s);
    })
}

#[allow(
    clippy::collapsible_if,
    clippy::collapsible_match,
    reason = "generated: one `if` per schema keyword reads better than merged conditions"
)]
pub(crate) fn validate_error_node0<S: crate::rt::validate::Sink>(
    v: &serde_json::Value,
    p: &crate::rt::validate::Path<'_>,
    s: &mut S,
) -> bool {
    use crate::rt::validate as rt;
    use serde_json::Value;
    let mut ok = true;
    if let Value::Object(object) = v {
        if object.len() == 1 && let Some((k1_0, v1_0)) = object.iter().next()
            && k1_0 == "errcode"
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
                    "errcode" => {
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
                    "error" => {
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
                    &rt::Path::Key(p, "errcode"),
                    rt::ErrorKind::Required,
                    || String::from("missing required property \"errcode\""),
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
pub fn validate_versions(
    v: &serde_json::Value,
) -> Result<(), crate::rt::validate::Errors> {
    if validate_versions_node0(
        v,
        &crate::rt::validate::Path::Root,
        &mut crate::rt::validate::Check,
    ) {
        return Ok(());
    }
    crate::rt::validate::collect(|s| {
        validate_versions_node0(v, &crate::rt::validate::Path::Root, s);
    })
}

#[allow(
    clippy::collapsible_if,
    clippy::collapsible_match,
    reason = "generated: one `if` per schema keyword reads better than merged conditions"
)]
pub(crate) fn validate_versions_node0<S: crate::rt::validate::Sink>(
    v: &serde_json::Value,
    p: &crate::rt::validate::Path<'_>,
    s: &mut S,
) -> bool {
    use crate::rt::validate as rt;
    use serde_json::Value;
    let mut ok = true;
    if let Value::Object(object) = v {
        if let Some(v1) = object.get("versions") {
            let p1 = &rt::Path::Key(p, "versions");
            if let Value::Array(array1) = v1 {
                for (index2, v2) in array1.iter().enumerate() {
                    let p2 = &rt::Path::Index(p1, index2);
                    if !v2.is_string() {
                        ok = false;
                        s.fail(p2, rt::ErrorKind::Type, || rt::type_error("string", v2));
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
        } else {
            ok = false;
            s.fail(
                &rt::Path::Key(p, "versions"),
                rt::ErrorKind::Required,
                || String::from("missing required property \"versions\""),
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
