//! The Matrix standard error response: `{"errcode": "M_...", "error": "..."}` plus an HTTP
//! status. Every error this crate or a server built on it sends is one of these.

use serde_json::{Map, Value};

macro_rules! errcodes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal,)*) => {
        /// Every errcode the identity service uses. One enum, so no code is spelled twice.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrCode { $($(#[$doc])* $variant,)* }

        impl ErrCode {
            pub const ALL: &'static [ErrCode] = &[$(ErrCode::$variant,)*];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrCode::$variant => $code,)* }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($code => Some(ErrCode::$variant),)* _ => None }
            }
        }
    };
}

errcodes! {
    /// The body is not valid JSON, or not a JSON object.
    BadJson = "M_BAD_JSON",
    NotJson = "M_NOT_JSON",
    /// A required parameter or field is missing.
    MissingParams = "M_MISSING_PARAMS",
    /// A parameter or field has the wrong type or format.
    InvalidParam = "M_INVALID_PARAM",
    /// Unknown endpoint (404) or wrong method (405), or an unsupported request.
    Unrecognized = "M_UNRECOGNIZED",
    Unauthorized = "M_UNAUTHORIZED",
    UnknownToken = "M_UNKNOWN_TOKEN",
    TermsNotSigned = "M_TERMS_NOT_SIGNED",
    Forbidden = "M_FORBIDDEN",
    NotFound = "M_NOT_FOUND",
    SessionNotValidated = "M_SESSION_NOT_VALIDATED",
    NoValidSession = "M_NO_VALID_SESSION",
    SessionExpired = "M_SESSION_EXPIRED",
    TokenIncorrect = "M_TOKEN_INCORRECT",
    InvalidEmail = "M_INVALID_EMAIL",
    EmailSendError = "M_EMAIL_SEND_ERROR",
    InvalidAddress = "M_INVALID_ADDRESS",
    SendError = "M_SEND_ERROR",
    DestinationRejected = "M_DESTINATION_REJECTED",
    ThreepidInUse = "M_THREEPID_IN_USE",
    InvalidPepper = "M_INVALID_PEPPER",
    LimitExceeded = "M_LIMIT_EXCEEDED",
    TooLarge = "M_TOO_LARGE",
    Unknown = "M_UNKNOWN",
}

impl std::fmt::Display for ErrCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A Matrix error response ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixError {
    pub status: u16,
    pub errcode: ErrCode,
    pub error: String,
    /// Extra top-level fields some errors carry (e.g. `mxid` with `M_THREEPID_IN_USE`).
    pub extra: Map<String, Value>,
    /// The `Allow` header of a 405 (RFC 9110 §15.5.6 requires it): the methods the path
    /// answers, as the dispatcher knows them.
    pub allow: Option<Box<str>>,
}

impl MatrixError {
    pub fn new(status: u16, errcode: ErrCode, error: impl Into<String>) -> Self {
        Self {
            status,
            errcode,
            error: error.into(),
            extra: Map::new(),
            allow: None,
        }
    }

    pub fn with_field(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_string(), value.into());
        self
    }

    /// The operation exists in the spec but this server does not implement it.
    pub fn not_implemented() -> Self {
        Self::new(
            501,
            ErrCode::Unrecognized,
            "This operation is not implemented",
        )
    }

    pub fn not_found() -> Self {
        Self::new(404, ErrCode::Unrecognized, "Unrecognized request")
    }

    /// A known path asked with a method it does not answer; `allow` lists those it does
    /// (the `Allow` header's value).
    pub fn method_not_allowed(allow: &str) -> Self {
        let mut e = Self::new(
            405,
            ErrCode::Unrecognized,
            "Method not allowed for this endpoint",
        );
        e.allow = Some(allow.into());
        e
    }

    /// Maps validator findings to the spec's errcodes: a missing field is `M_MISSING_PARAMS`,
    /// a malformed email address `M_INVALID_EMAIL`, a body that is not an object `M_BAD_JSON`,
    /// anything else `M_INVALID_PARAM`.
    pub fn from_validation(errors: &super::validate::Errors) -> Self {
        use super::validate::ErrorKind;
        let list = &errors.0;
        let errcode = if list.iter().any(|e| e.kind == ErrorKind::Required) {
            ErrCode::MissingParams
        } else if list.iter().all(|e| e.is_invalid_email()) {
            ErrCode::InvalidEmail
        } else if list
            .iter()
            .any(|e| e.pointer.is_empty() && e.kind == ErrorKind::Type)
        {
            ErrCode::BadJson
        } else {
            ErrCode::InvalidParam
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
        Self::new(400, errcode, text)
    }

    /// The JSON body as sent on the wire.
    pub fn body(&self) -> Value {
        let mut map = self.extra.clone();
        map.insert(
            "errcode".into(),
            Value::String(self.errcode.as_str().into()),
        );
        map.insert("error".into(), Value::String(self.error.clone()));
        Value::Object(map)
    }
}

impl std::fmt::Display for MatrixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.errcode, self.error)
    }
}

impl std::error::Error for MatrixError {}
