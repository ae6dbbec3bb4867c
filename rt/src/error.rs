//! What the runtime refuses on its own, before (or instead of) calling the implementation: a
//! body it cannot read, a parameter or field its validator refuses, a path or method no route
//! answers, a body over the limit, an answer it cannot write. A [`Rejection`] says which, in
//! the runtime's neutral terms; the API's implementation decides how it is written on the wire
//! (its error type is built `From<Rejection>`), so a generated crate for any specification
//! speaks that specification's error shape, not the one of the API this runtime was first
//! written for.
//!
//! A [`Rejection`] carries a neutral `RejectionKind`, a status, a message and, for a 405, the
//! `Allow` list. It is itself the neutral shape, `{"error": kind, "message": …}`, for
//! implementations without an error type of their own.

/// Why the runtime refused a request. The implementation maps each kind to its own error
/// codes with one exhaustive `match`, so a new kind is a compile error there, not a silent
/// default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectionKind {
    /// The body cannot be read as the operation's media type (not JSON, not form data, a
    /// broken multipart body), or its root is not the JSON type the schema wants.
    BadBody,
    /// A required parameter or body field is missing.
    Missing,
    /// A parameter or body field has the wrong type, format or value.
    Invalid,
    /// Every finding is a malformed `format: email` string (APIs that tell these apart from
    /// other invalid values, as the Identity Service does, need not parse the message).
    InvalidEmail,
    /// No route has this path (404).
    NotFound,
    /// The path has routes, none for this method (405; [`Rejection::allow`] lists them).
    MethodNotAllowed,
    /// The body is larger than the runtime reads (413).
    TooLarge,
    /// The runtime could not produce the answer (500); the message is for logs.
    Internal,
}

impl RejectionKind {
    /// The HTTP status the runtime gives this kind.
    pub const fn status(self) -> u16 {
        match self {
            RejectionKind::BadBody
            | RejectionKind::Missing
            | RejectionKind::Invalid
            | RejectionKind::InvalidEmail => 400,
            RejectionKind::NotFound => 404,
            RejectionKind::MethodNotAllowed => 405,
            RejectionKind::TooLarge => 413,
            RejectionKind::Internal => 500,
        }
    }

    /// A stable snake_case name: the `error` of the neutral JSON shape.
    pub const fn as_str(self) -> &'static str {
        match self {
            RejectionKind::BadBody => "bad_body",
            RejectionKind::Missing => "missing_parameter",
            RejectionKind::Invalid => "invalid_parameter",
            RejectionKind::InvalidEmail => "invalid_email",
            RejectionKind::NotFound => "not_found",
            RejectionKind::MethodNotAllowed => "method_not_allowed",
            RejectionKind::TooLarge => "too_large",
            RejectionKind::Internal => "internal",
        }
    }
}

/// A request the runtime refused: the kind, the status it implies, a message for the client
/// (validator findings name their JSON pointers) and, for a 405, the `Allow` header's value.
///
/// It is also the neutral error shape (with feature `server` it is an axum `IntoResponse`:
/// `{"error": kind, "message": message}`), so an implementation without an error type of its
/// own can fail with `Rejection`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub kind: RejectionKind,
    pub status: u16,
    pub message: String,
    /// The `Allow` header of a 405 (RFC 9110 §15.5.6 requires it): the methods the path
    /// answers, as the dispatcher knows them.
    pub allow: Option<Box<str>>,
}

impl Rejection {
    /// A rejection of `kind` with the kind's status.
    pub fn new(kind: RejectionKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: kind.status(),
            message: message.into(),
            allow: None,
        }
    }

    pub fn not_found() -> Self {
        Self::new(RejectionKind::NotFound, "Unrecognized request")
    }

    /// A known path asked with a method it does not answer; `allow` lists those it does.
    pub fn method_not_allowed(allow: &str) -> Self {
        let mut r = Self::new(
            RejectionKind::MethodNotAllowed,
            "Method not allowed for this endpoint",
        );
        r.allow = Some(allow.into());
        r
    }

    pub fn too_large() -> Self {
        Self::new(RejectionKind::TooLarge, "Request body too large")
    }

    /// Validator findings as one rejection: a missing field wins, then "all malformed email
    /// addresses", then a root of the wrong type (a body that is not an object), else an
    /// invalid value. The message lists every finding as `pointer: message`.
    pub fn from_validation(errors: &super::validate::Errors) -> Self {
        use super::validate::ErrorKind;
        let list = &errors.0;
        let kind = if list.iter().any(|e| e.kind == ErrorKind::Required) {
            RejectionKind::Missing
        } else if list.iter().all(|e| e.is_invalid_email()) {
            RejectionKind::InvalidEmail
        } else if list
            .iter()
            .any(|e| e.pointer.is_empty() && e.kind == ErrorKind::Type)
        {
            RejectionKind::BadBody
        } else {
            RejectionKind::Invalid
        };
        let text = list
            .iter()
            .map(|e| {
                let at = if e.pointer.is_empty() {
                    "/"
                } else {
                    e.pointer.as_str()
                };
                format!("{at}: {}", e.message)
            })
            .collect::<Vec<_>>()
            .join("; ");
        Self::new(kind, text)
    }

    /// The neutral JSON body: `{"error": "<kind>", "message": "<message>"}`.
    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": self.kind.as_str(), "message": self.message })
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::{ErrorKind, Path, Sink, collect};

    #[test]
    fn validator_findings_pick_the_kind_and_list_every_pointer() {
        let errors = collect(|s| {
            s.fail(&Path::Key(&Path::Root, "a"), ErrorKind::Type, || {
                "not a string".to_owned()
            });
            s.fail(&Path::Key(&Path::Root, "b"), ErrorKind::Required, || {
                "missing".to_owned()
            })
        });
        let Err(errors) = errors else {
            panic!("two findings were made");
        };
        let r = Rejection::from_validation(&errors);
        assert_eq!((r.kind, r.status), (RejectionKind::Missing, 400));
        assert_eq!(r.message, "/a: not a string; /b: missing");
        assert_eq!(
            r.body(),
            serde_json::json!({"error": "missing_parameter", "message": r.message})
        );
        let m = Rejection::method_not_allowed("GET, OPTIONS");
        assert_eq!((m.status, m.allow.as_deref()), (405, Some("GET, OPTIONS")));
    }
}
