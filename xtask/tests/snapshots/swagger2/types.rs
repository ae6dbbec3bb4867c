#![cfg_attr(rustfmt, rustfmt::skip)]
//! The API's named types: one per schema component and per titled shape, whichever
//! operations use it. Operation modules alias and re-export them.

/// The registration request (a sibling of `$ref`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegistrationRequest {
    /// Shown to other users. Either:
    /// - a plain name, or
    ///   the user ID when absent.
    #[serde(rename = "display-name", default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Do not use; kept for old clients.
    ///
    /// **Deprecated** in the specification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_token: Option<String>,
    /// Incremented by the client on each retry.
    pub send_attempt: i64,
    /// The user to register.
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RegisterResponse {
    pub token: String,
    /// A user ID in the fixture's own custom format.
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GetAccountParams {
    #[serde(rename = "X-Trace", default, skip_serializing_if = "Option::is_none")]
    pub x_trace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i32>,
    /// A session ID (upstream gives these integer examples).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "userId")]
    pub user_id: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GetAccountResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deactivated_ts: Option<i64>,
    /// A map of device ID to display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices: Option<std::collections::BTreeMap<String, String>>,
    pub status: crate::types::GetAccountResponseStatus,
    /// Tuple-form items, draft-4 style.
    pub threepids: Vec<(String, String)>,
    /// A user ID in the fixture's own custom format.
    pub user_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum GetAccountResponseStatus {
    #[serde(rename = "active")]
    Active,
    #[serde(rename = "deactivated")]
    Deactivated,
    #[serde(rename = "3pid-only")]
    V3pidOnly,
}

impl GetAccountResponseStatus {
    /// The value as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deactivated => "deactivated",
            Self::V3pidOnly => "3pid-only",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AccountsGetVersionsResponse {
    pub versions: Vec<String>,
}

/// Extra fields are allowed and kept.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LookupRequestBody {
    pub addresses: Vec<String>,
    pub algorithm: crate::types::LookupRequestBodyAlgorithm,
    /// Variants sharing a prefix (clippy's enum_variant_names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_type: Option<crate::types::LookupRequestBodyLoginType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threepid: Option<crate::types::Threepid>,
    /// Properties beyond the named ones, kept as sent.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum LookupRequestBodyAlgorithm {
    #[serde(rename = "sha256")]
    Sha256,
    #[serde(rename = "none")]
    None,
}

impl LookupRequestBodyAlgorithm {
    /// The value as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sha256 => "sha256",
            Self::None => "none",
        }
    }
}

/// Variants sharing a prefix (clippy's enum_variant_names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[allow(clippy::enum_variant_names, reason = "variant names follow the wire values")]
pub enum LookupRequestBodyLoginType {
    #[serde(rename = "m.login.password")]
    MLoginPassword,
    #[serde(rename = "m.login.token")]
    MLoginToken,
    #[serde(rename = "m.login.sso")]
    MLoginSso,
}

impl LookupRequestBodyLoginType {
    /// The value as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MLoginPassword => "m.login.password",
            Self::MLoginToken => "m.login.token",
            Self::MLoginSso => "m.login.sso",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Threepid {
    pub address: String,
    /// The medium.
    pub medium: crate::types::ThreepidMedium,
}

/// The medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ThreepidMedium {
    #[serde(rename = "email")]
    Email,
    #[serde(rename = "msisdn")]
    Msisdn,
}

impl ThreepidMedium {
    /// The value as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Msisdn => "msisdn",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LookupResponse {
    pub mappings: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SubmitFormRequestBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<i64>,
    pub token: String,
}
