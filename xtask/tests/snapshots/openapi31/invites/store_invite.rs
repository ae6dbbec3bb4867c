#![cfg_attr(rustfmt, rustfmt::skip)]
//! `POST /_fixture/invites/v3/invite` (`storeInvite`)
//!
//! Store an invite.

pub type RequestBody = crate::types::InviteRequest;
pub type Response = crate::types::StoredInvite;
pub use crate::types::InviteRequest;
pub use crate::types::InviteRequestMedium;
pub use crate::types::PublicKey;
pub use crate::types::ResultObject;
pub use crate::types::StoredInvite;

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "storeInvite";
    const METHOD: &'static str = "POST";
    const PATH: &'static str = "/_fixture/invites/v3/invite";
    const AUTHENTICATED: bool = true;
    const RESPONSES: &'static [(&'static str, Option<crate::rt::Validator>)] = &[
        ("200", Some(validate_response_200)),
        ("400", Some(validate_response_400)),
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
    use crate::rt::formats;
    use serde_json::Value;
    let mut ok = true;
    if let Value::Object(object) = v {
        if object.len() == 3
            && let (Some((k1_0, v1_0)), Some((k1_1, v1_1)), Some((k1_2, v1_2))) = {
                let mut entries1 = object.iter();
                (entries1.next(), entries1.next(), entries1.next())
            } && k1_0 == "address" && k1_1 == "medium" && k1_2 == "room_id"
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
                if v1.as_str() != Some("email") {
                    ok = false;
                    s.fail(p1, rt::ErrorKind::Enum, || rt::enum_error(v1, "\"email\""));
                    if S::STOP {
                        return false;
                    }
                }
            }
            {
                let v1 = v1_2;
                let key1 = k1_2;
                let p1 = &rt::Path::Key(p, key1);
                if let Value::String(string1) = v1 {
                    if !formats::is_mx_room_id(string1) {
                        ok = false;
                        s.fail(
                            p1,
                            rt::ErrorKind::Format,
                            || rt::format_error(string1, "Matrix room ID"),
                        );
                        if S::STOP {
                            return false;
                        }
                    }
                } else {
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
                    "address" => {
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
                    "medium" => {
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
                        if v1.as_str() != Some("email") {
                            ok = false;
                            s.fail(
                                p1,
                                rt::ErrorKind::Enum,
                                || rt::enum_error(v1, "\"email\""),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "room_id" => {
                        seen |= 4;
                        let p1 = &rt::Path::Key(p, key1);
                        if let Value::String(string1) = v1 {
                            if !formats::is_mx_room_id(string1) {
                                ok = false;
                                s.fail(
                                    p1,
                                    rt::ErrorKind::Format,
                                    || rt::format_error(string1, "Matrix room ID"),
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
                                || rt::type_error("string", v1),
                            );
                            if S::STOP {
                                return false;
                            }
                        }
                    }
                    "sender_display_name" => {
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
            if seen != 7 {
                if seen & 1 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "medium"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"medium\""),
                    );
                    if S::STOP {
                        return false;
                    }
                }
                if seen & 2 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "address"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"address\""),
                    );
                    if S::STOP {
                        return false;
                    }
                }
                if seen & 4 == 0 {
                    ok = false;
                    s.fail(
                        &rt::Path::Key(p, "room_id"),
                        rt::ErrorKind::Required,
                        || String::from("missing required property \"room_id\""),
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

pub use crate::shared::validate_stored_invite as validate_response_200;
pub use crate::shared::validate_error as validate_response_400;
