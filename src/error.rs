//! `ApiError`: the one error type handlers and services return. Each variant names a rule
//! that was broken; the errcode, the HTTP status and the client-facing text are decided in one
//! place below, so no errcode is spelled at a raise site.

use oxident_api::rt::{ErrCode, MatrixError};

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
