//! Hand-written runtime that the generated code builds on (the one part of this crate that is
//! not produced by `cargo xtask codegen`; codegen copies it verbatim into crates it generates
//! elsewhere with `--out`).

pub mod error;
pub mod formats;
#[cfg(feature = "server")]
pub mod server;
pub mod validate;

pub use error::{ErrCode, MatrixError};

/// How a query parameter or form field is turned from text into JSON before validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    String,
    Integer,
    Number,
    Boolean,
}

/// Facts about one operation, for tools that work by operationId (the validate CLI, tests).
#[derive(Debug, Clone, Copy)]
pub struct OperationInfo {
    pub operation_id: &'static str,
    /// The crate-wide snake_case name (trait method and module name).
    pub name: &'static str,
    /// The spec file the operation comes from, e.g. `v2_associations.yaml`.
    pub file: &'static str,
    pub method: &'static str,
    pub path: &'static str,
    pub deprecated: bool,
    /// Whether any security requirement applies.
    pub authenticated: bool,
    pub has_params: bool,
    pub has_body: bool,
    /// Documented response keys (`200`, `404`, `3XX`, `default`).
    pub responses: &'static [&'static str],
    pub request_params: Option<Validator>,
    pub request_body: Option<Validator>,
    pub response_validators: &'static [(&'static str, Validator)],
}

/// A compiled-in validator: no schema is parsed at run time.
pub type Validator = fn(&serde_json::Value) -> Result<(), validate::Errors>;

/// Why a lookup-and-validate call could not give a verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// No operation has this operationId (or crate-wide name).
    UnknownOperation(String),
    /// The operation documents no schema for this part (e.g. no body, or a status it never returns).
    NoSchema { operation_id: String, part: String },
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::UnknownOperation(op) => write!(f, "unknown operation `{op}`"),
            LookupError::NoSchema { operation_id, part } => {
                write!(
                    f,
                    "operation `{operation_id}` documents no schema for {part}"
                )
            }
        }
    }
}

impl std::error::Error for LookupError {}

impl OperationInfo {
    /// The validator for a response status: the exact key, else its range (`4XX`), else `default`.
    pub fn response_validator(&self, status: u16) -> Option<Validator> {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        [exact.as_str(), range.as_str(), "DEFAULT"]
            .iter()
            .find_map(|key| {
                self.response_validators
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| *v)
            })
    }

    /// Whether the status is documented at all (with or without a schema).
    pub fn documents_status(&self, status: u16) -> bool {
        let exact = status.to_string();
        let range = format!("{}XX", status / 100);
        self.responses.iter().any(|k| {
            k.eq_ignore_ascii_case(&exact)
                || k.eq_ignore_ascii_case(&range)
                || k.eq_ignore_ascii_case("default")
        })
    }
}

/// A response that is not a JSON body: the human-facing pages (`text/html`) and redirects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: String,
}

impl RawResponse {
    pub fn html(status: u16, body: String) -> Self {
        Self {
            status,
            content_type: Some("text/html; charset=utf-8".to_string()),
            location: None,
            body,
        }
    }

    pub fn redirect(location: String) -> Self {
        Self {
            status: 302,
            content_type: None,
            location: Some(location),
            body: String::new(),
        }
    }
}
