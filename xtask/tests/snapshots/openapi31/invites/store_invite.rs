#![cfg_attr(rustfmt, rustfmt::skip)]
//! `POST /_fixture/invites/v3/invite` (`storeInvite`)
//!
//! Store an invite.
#![allow(clippy::collapsible_if, clippy::collapsible_match)]
use crate::rt::validate::{self as rt, Path, Sink, Value};

pub use crate::types::{
    InviteRequest, InviteRequestMedium, PublicKey, ResultObject, StoredInvite,
    InviteRequest as RequestBody, StoredInvite as Response,
};

/// This operation for code generic over operations (the dispatcher, the registry).
pub struct Op;

impl crate::rt::Operation for Op {
    type Response = self::Response;
    const OPERATION_ID: &'static str = "storeInvite";
    const METHOD: &'static str = "POST";
    const PATH: &'static str = "/_fixture/invites/v3/invite";
    const AUTHENTICATED: bool = true;
    const RESPONSES: crate::rt::Responses = &[
        ("200", Some(validate_response_200)),
        ("400", Some(validate_response_400)),
    ];
    type Params = ();
    type Body = self::RequestBody;
    const BODY: crate::rt::BodyMode = crate::rt::BodyMode::Validated;
    const VALIDATE_BODY: crate::rt::Validator = validate_body;
}

pub use crate::shared::validate_stored_invite as validate_response_200;
pub use crate::shared::validate_error as validate_response_400;

/// Validates a JSON value against its schema, reporting every error.
pub fn validate_body(v: &Value) -> Result<(), rt::Errors> {
    rt::run(v, body_n0, body_n0)
}

fn body_n0<S: Sink>(v: &Value, p: &Path, s: &mut S) -> bool {
    let mut ok = true;
    if let Some(object) = s.object(p, v, &mut ok, "object") {
        if let Some([v1_0, v1_1, v1_2]) = rt::exact_keys(
            object,
            ["address", "medium", "room_id"],
        ) {
            ok &= s.is_string(&p.at("address"), v1_0);
            let p1 = &p.at("medium");
            ok &= s.is_string(p1, v1_1);
            ok &= s.str_enum(p1, v1_1, &["email"]);
            let p1 = &p.at("room_id");
            if let Some(string1) = s.string(p1, v1_2, &mut ok, "string") {
                ok
                    &= s
                        .format(
                            p1,
                            string1,
                            rt::formats::is_mx_room_id,
                            "Matrix room ID",
                        );
            }
        } else {
            let mut seen: u64 = 0;
            for (key1, v1) in object {
                match key1.as_str() {
                    "address" => {
                        seen |= 2;
                        ok &= s.is_string(&p.at(key1), v1);
                    }
                    "medium" => {
                        seen |= 1;
                        let p1 = &p.at(key1);
                        ok &= s.is_string(p1, v1);
                        ok &= s.str_enum(p1, v1, &["email"]);
                    }
                    "room_id" => {
                        seen |= 4;
                        let p1 = &p.at(key1);
                        if let Some(string1) = s.string(p1, v1, &mut ok, "string") {
                            ok
                                &= s
                                    .format(
                                        p1,
                                        string1,
                                        rt::formats::is_mx_room_id,
                                        "Matrix room ID",
                                    );
                        }
                    }
                    "sender_display_name" => {
                        ok &= s.of_types(&p.at(key1), v1, rt::NULL | rt::STRING);
                    }
                    _ => {}
                }
                rt::stop_if_failed!(ok);
            }
            if seen != 7 {
                ok &= s.has(p, "medium", seen & 1 != 0);
                ok &= s.has(p, "address", seen & 2 != 0);
                ok &= s.has(p, "room_id", seen & 4 != 0);
            }
        }
    }
    ok
}
