#![cfg_attr(rustfmt, rustfmt::skip)]
//! Validators for schemas that occur in several places; operations' validators
//! (and these, for nested and recursive shapes) call them.
#![allow(clippy::collapsible_if, clippy::collapsible_match)]
use crate::rt::validate::{self as rt, Path, Sink, Value};

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_any_object(v: &Value) -> Result<(), rt::Errors> {
    rt::run(v, any_object_n0, any_object_n0)
}

pub(crate) fn any_object_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        for (key1, v1) in object {
            ok &= s.is_string(&p.at(key1), v1);
            rt::stop_if_failed!(ok);
        }
    }
    ok
}

/// Validates a JSON value against the `Error` schema, reporting every error.
pub fn validate_error(v: &Value) -> Result<(), rt::Errors> {
    rt::run(v, error_n0, error_n0)
}

pub(crate) fn error_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        for (key1, v1) in object {
            match key1.as_str() {
                "errcode" => ok &= s.is_string(&p.at(key1), v1),
                "error" => ok &= s.is_string(&p.at(key1), v1),
                _ => {}
            }
            rt::stop_if_failed!(ok);
        }
        ok &= s.has(p, "errcode", object.contains_key("errcode"));
    }
    ok
}

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_versions(v: &Value) -> Result<(), rt::Errors> {
    rt::run(v, versions_n0, versions_n0)
}

pub(crate) fn versions_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
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
                            ok &= s.is_string(p2, v2);
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
