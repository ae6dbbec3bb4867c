//! `ApiError`: the one error type handlers and services return. Each variant names a rule
//! that was broken; the errcode, the HTTP status and the client-facing text are decided in one
//! place below, so no errcode is spelled at a raise site. Also the Matrix wire shape itself
//! (`ErrCode`, `MatrixError`): the generated runtime is neutral, and the dispatcher's own
//! refusals reach us as `Rejection`s (`ApiError::Rejected`), mapped to errcodes here.
//!
//! Every answer is JSON, errors included, except the human pages of GET submitToken. A database
//! that cannot be reached is `503 M_UNKNOWN` with `Retry-After` (`ApiError::StoreUnavailable`),
//! never a 500. The runtime's refusals: an unparseable body is 400 `M_BAD_JSON`, a missing field
//! `M_MISSING_PARAMS`, a wrong type or format `M_INVALID_PARAM` (a malformed `format: email`:
//! `M_INVALID_EMAIL`), an unknown path or method `M_UNRECOGNIZED`. Framework answers (404, 405,
//! 413, 408, panics) come from the dispatcher's `route` or the edge, which also converts any other
//! non-JSON error response (`edge/errors.rs`); answers hyper makes before the app are rewritten on
//! the connection (`edge/early_errors.rs`).

use oxident_api::rt::{Rejection, RejectionKind};
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

/// A Matrix error response ready to send (written by `edge::errors::matrix_response`).
#[derive(Debug, Clone, PartialEq)]
pub struct MatrixError {
    pub status: u16,
    pub errcode: ErrCode,
    pub error: String,
    /// Extra top-level fields some errors carry (e.g. `mxid` with `M_THREEPID_IN_USE`).
    pub extra: Map<String, Value>,
    /// The `Allow` header of a 405: the methods the path answers, as the dispatcher knows them.
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

/// The errcode of each of the runtime's refusals: the one place Matrix's codes meet the
/// runtime's neutral kinds (exhaustive, so a new kind cannot go unmapped).
fn rejection_errcode(kind: RejectionKind) -> ErrCode {
    match kind {
        RejectionKind::BadBody => ErrCode::BadJson,
        RejectionKind::Missing => ErrCode::MissingParams,
        RejectionKind::Invalid => ErrCode::InvalidParam,
        RejectionKind::InvalidEmail => ErrCode::InvalidEmail,
        RejectionKind::NotFound | RejectionKind::MethodNotAllowed => ErrCode::Unrecognized,
        RejectionKind::TooLarge => ErrCode::TooLarge,
        RejectionKind::Internal => ErrCode::Unknown,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    InvalidParam(String),
    #[error("{0}")]
    MissingParams(String),
    #[error("invalid email address")]
    InvalidEmail,
    #[error("could not send the email")]
    EmailSendError,
    #[error("invalid phone number")]
    InvalidAddress,
    #[error("could not send the message")]
    SendError,
    #[error("{0}")]
    DestinationRejected(String),
    #[error("no valid session was found")]
    NoValidSession,
    /// `M_NO_VALID_SESSION` with status 400, for operations whose spec documents only 400 for
    /// failures (submitToken): unknown sid, wrong client secret, or a session locked after
    /// too many wrong tokens.
    #[error("{0}")]
    SessionUnusable(String),
    #[error("the session has not been validated")]
    SessionNotValidated,
    #[error("the session has expired")]
    SessionExpired,
    #[error("the token is incorrect")]
    TokenIncorrect,
    #[error("no or invalid access token")]
    Unauthorized,
    #[error("unknown access token")]
    UnknownToken,
    #[error("the terms of service have not been accepted")]
    TermsNotSigned,
    #[error("{0}")]
    Forbidden(String),
    /// 403 `M_UNAUTHORIZED`: the request names a Matrix ID other than the token's owner
    /// (v2 bind; the reference server's answer).
    #[error("{0}")]
    NotTokenOwner(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unrecognized(String),
    /// No invitation is stored under the token (`sign-ed25519`).
    #[error("unknown invitation token")]
    UnknownInvite,
    /// More items than the server accepts in one request.
    #[error("{0}")]
    TooLarge(String),
    #[error("this address is already bound to a Matrix ID")]
    ThreepidInUse { mxid: String },
    #[error("unknown or old pepper")]
    InvalidPepper { algorithm: String, pepper: String },
    #[error("too many requests")]
    LimitExceeded { retry_after_ms: u64 },
    #[error("the homeserver could not be reached or verified")]
    HomeserverUnavailable(String),
    /// The database cannot be reached (an outage): 503 with `Retry-After`, at once.
    #[error("the database is unavailable: {0}")]
    StoreUnavailable(String),
    #[error("this operation is not implemented by this server")]
    NotImplemented,
    /// Anything the client cannot act on; the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
    /// The dispatcher refused the request before a handler ran (unreadable body, a field the
    /// validator refused, unknown path or method, body too large); its message is the
    /// client's, as the runtime wrote it.
    #[error("{0}")]
    Rejected(Rejection),
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        ApiError::Rejected(rejection)
    }
}

impl ApiError {
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }

    pub fn errcode(&self) -> ErrCode {
        match self {
            ApiError::InvalidParam(_) => ErrCode::InvalidParam,
            ApiError::MissingParams(_) => ErrCode::MissingParams,
            ApiError::InvalidEmail => ErrCode::InvalidEmail,
            ApiError::EmailSendError => ErrCode::EmailSendError,
            ApiError::InvalidAddress => ErrCode::InvalidAddress,
            ApiError::SendError => ErrCode::SendError,
            ApiError::DestinationRejected(_) => ErrCode::DestinationRejected,
            ApiError::NoValidSession | ApiError::SessionUnusable(_) => ErrCode::NoValidSession,
            ApiError::SessionNotValidated => ErrCode::SessionNotValidated,
            ApiError::SessionExpired => ErrCode::SessionExpired,
            ApiError::TokenIncorrect => ErrCode::TokenIncorrect,
            ApiError::Unauthorized | ApiError::NotTokenOwner(_) => ErrCode::Unauthorized,
            ApiError::UnknownToken => ErrCode::UnknownToken,
            ApiError::TermsNotSigned => ErrCode::TermsNotSigned,
            ApiError::Forbidden(_) => ErrCode::Forbidden,
            ApiError::NotFound(_) => ErrCode::NotFound,
            ApiError::Unrecognized(_) | ApiError::UnknownInvite => ErrCode::Unrecognized,
            ApiError::TooLarge(_) => ErrCode::TooLarge,
            ApiError::ThreepidInUse { .. } => ErrCode::ThreepidInUse,
            ApiError::InvalidPepper { .. } => ErrCode::InvalidPepper,
            ApiError::LimitExceeded { .. } => ErrCode::LimitExceeded,
            ApiError::NotImplemented => ErrCode::Unrecognized,
            ApiError::HomeserverUnavailable(_) => ErrCode::Unknown,
            ApiError::StoreUnavailable(_) => ErrCode::Unknown,
            ApiError::Internal(_) => ErrCode::Unknown,
            ApiError::Rejected(r) => rejection_errcode(r.kind),
        }
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::InvalidParam(_)
            | ApiError::MissingParams(_)
            | ApiError::InvalidEmail
            | ApiError::EmailSendError
            | ApiError::InvalidAddress
            | ApiError::SendError
            | ApiError::DestinationRejected(_)
            | ApiError::SessionUnusable(_)
            | ApiError::SessionNotValidated
            | ApiError::SessionExpired
            | ApiError::TokenIncorrect
            | ApiError::ThreepidInUse { .. }
            | ApiError::InvalidPepper { .. }
            | ApiError::Unrecognized(_)
            | ApiError::TooLarge(_) => 400,
            ApiError::Unauthorized | ApiError::UnknownToken => 401,
            ApiError::TermsNotSigned | ApiError::Forbidden(_) | ApiError::NotTokenOwner(_) => 403,
            ApiError::NoValidSession | ApiError::NotFound(_) | ApiError::UnknownInvite => 404,
            ApiError::LimitExceeded { .. } => 429,
            ApiError::HomeserverUnavailable(_) => 502,
            ApiError::StoreUnavailable(_) => 503,
            ApiError::Internal(_) => 500,
            ApiError::NotImplemented => 501,
            ApiError::Rejected(r) => r.status,
        }
    }
}

impl From<ApiError> for MatrixError {
    fn from(e: ApiError) -> Self {
        let status = e.status();
        let errcode = e.errcode();
        match e {
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                MatrixError::new(status, errcode, "Internal server error")
            }
            ApiError::StoreUnavailable(cause) => {
                // Every request during an outage gets here: a line a minute at most.
                static OUTAGE: crate::log_throttle::Throttle =
                    crate::log_throttle::Throttle::new(std::time::Duration::from_secs(60));
                crate::warn_throttled!(OUTAGE, %cause, "request refused: database unavailable");
                MatrixError::new(
                    status,
                    errcode,
                    "The database is unavailable; try again shortly",
                )
                .with_field("retry_after_ms", STORE_RETRY_AFTER_MS)
            }
            ApiError::HomeserverUnavailable(cause) => {
                // The client named the homeserver: its failure is no fault of ours (`debug`).
                tracing::debug!(%cause, "homeserver call failed");
                MatrixError::new(status, errcode, "Could not verify with the homeserver")
            }
            ApiError::ThreepidInUse { ref mxid } => {
                let mxid = mxid.clone();
                MatrixError::new(status, errcode, e.to_string()).with_field("mxid", mxid)
            }
            ApiError::InvalidPepper {
                ref algorithm,
                ref pepper,
            } => {
                let (algorithm, pepper) = (algorithm.clone(), pepper.clone());
                MatrixError::new(status, errcode, e.to_string())
                    .with_field("algorithm", algorithm)
                    .with_field("lookup_pepper", pepper)
            }
            ApiError::LimitExceeded { retry_after_ms } => {
                MatrixError::new(status, errcode, e.to_string())
                    .with_field("retry_after_ms", retry_after_ms)
            }
            ApiError::Rejected(r) => {
                if r.kind == RejectionKind::Internal {
                    tracing::error!(cause = %r.message, "the dispatcher could not answer");
                }
                let mut m = MatrixError::new(status, errcode, r.message);
                m.allow = r.allow;
                m
            }
            other => MatrixError::new(status, errcode, other.to_string()),
        }
    }
}

/// What a 503 for a database outage asks the client to wait: the health check's period
/// is a quarter of it, so by then the answer has changed if the database is back.
const STORE_RETRY_AFTER_MS: u64 = 1000;

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(cause) => {
                ApiError::StoreUnavailable(cause.to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::crypto::CryptoError> for ApiError {
    fn from(e: crate::crypto::CryptoError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_causes_are_not_sent() {
        let m: MatrixError = ApiError::internal("disk on fire at /secret/path").into();
        assert_eq!((m.status, m.errcode), (500, ErrCode::Unknown));
        assert!(!m.error.contains("secret"));
    }

    /// The runtime's refusals keep the wire they had when the runtime spoke Matrix itself:
    /// the errcode per kind, the status, the message as written, `Allow` on a 405.
    #[test]
    fn rejections_become_the_matrix_errors_they_always_were() {
        use oxident_api::rt::{Rejection, RejectionKind as K};
        for (kind, status, errcode) in [
            (K::BadBody, 400, "M_BAD_JSON"),
            (K::Missing, 400, "M_MISSING_PARAMS"),
            (K::Invalid, 400, "M_INVALID_PARAM"),
            (K::InvalidEmail, 400, "M_INVALID_EMAIL"),
            (K::NotFound, 404, "M_UNRECOGNIZED"),
            (K::MethodNotAllowed, 405, "M_UNRECOGNIZED"),
            (K::TooLarge, 413, "M_TOO_LARGE"),
            (K::Internal, 500, "M_UNKNOWN"),
        ] {
            let m = MatrixError::from(ApiError::from(Rejection::new(kind, "why")));
            assert_eq!(
                (m.status, m.body()),
                (
                    status,
                    serde_json::json!({"errcode": errcode, "error": "why"})
                ),
                "{kind:?}"
            );
        }
        let m = MatrixError::from(ApiError::from(Rejection::method_not_allowed(
            "GET, OPTIONS",
        )));
        assert_eq!(m.allow.as_deref(), Some("GET, OPTIONS"));
    }

    #[test]
    fn extra_fields_are_attached() {
        let m: MatrixError = ApiError::ThreepidInUse {
            mxid: "@a:b".into(),
        }
        .into();
        assert_eq!(m.body()["mxid"], "@a:b");
        let m: MatrixError = ApiError::InvalidPepper {
            algorithm: "sha256".into(),
            pepper: "p".into(),
        }
        .into();
        assert_eq!(m.body()["lookup_pepper"], "p");
        assert_eq!(m.status, 400);
    }
}
