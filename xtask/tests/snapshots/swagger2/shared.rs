#![cfg_attr(rustfmt, rustfmt::skip)]
//! Validators for schemas that occur in several places; operations' validators
//! (and these, for nested and recursive shapes) call them.
#![allow(clippy::collapsible_if, clippy::collapsible_match)]
use crate::rt::validate as rt;

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_any_object(v: &rt::Value) -> Result<(), rt::Errors> {
    rt::run(v, any_object_n0, any_object_n0)
}

pub(crate) fn any_object_n0<S: rt::Sink>(
    v: &rt::Value,
    p: &rt::Path,
    s: &mut S,
) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        for (key1, v1) in object {
            ok &= s.is_type(&p.at(key1), v1, "string", v1.is_string());
            if S::STOP && !ok {
                return false;
            }
        }
    }
    ok
}

/// Validates a JSON value against the `Error` schema, reporting every error.
pub fn validate_error(v: &rt::Value) -> Result<(), rt::Errors> {
    rt::run(v, error_n0, error_n0)
}

pub(crate) fn error_n0<S: rt::Sink>(v: &rt::Value, p: &rt::Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        let mut seen: u64 = 0;
        for (key1, v1) in object {
            match key1.as_str() {
                "errcode" => {
                    seen |= 1;
                    ok &= s.is_type(&p.at(key1), v1, "string", v1.is_string());
                }
                "error" => {
                    ok &= s.is_type(&p.at(key1), v1, "string", v1.is_string());
                }
                _ => {}
            }
            if S::STOP && !ok {
                return false;
            }
        }
        ok &= s.has(p, "errcode", seen & 1 != 0);
    }
    ok
}

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_versions(v: &rt::Value) -> Result<(), rt::Errors> {
    rt::run(v, versions_n0, versions_n0)
}

pub(crate) fn versions_n0<S: rt::Sink>(v: &rt::Value, p: &rt::Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        if let Some(v1) = object.get("versions") {
            let p1 = &rt::Path::Key(p, "versions");
            if let Some(array1) = s.array(p1, v1, &mut ok, "array") {
                ok
                    &= rt::each(
                        array1,
                        p1,
                        s,
                        |v2, p2, s| {
                            let mut ok = true;
                            ok &= s.is_type(p2, v2, "string", v2.is_string());
                            ok
                        },
                    );
            }
        } else {
            ok &= s.has(p, "versions", false);
        }
    }
    ok
}
