#![cfg_attr(rustfmt, rustfmt::skip)]
//! The API's named types: one per schema component and per titled shape, whichever
//! operations use it. Operation modules alias and re-export them.

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Op2faStatusResponse {
    pub enabled: bool,
}

/// An invite to store (allOf refines the base).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct InviteRequest {
    pub address: String,
    pub medium: crate::types::InviteRequestMedium,
    pub room_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_display_name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum InviteRequestMedium {
    #[serde(rename = "email")]
    Email,
}

impl InviteRequestMedium {
    /// The value as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredInvite {
    /// Shown in the invite, if known.
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u32>,
    /// A title that would shadow `Result` in the module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<crate::types::ResultObject>,
    pub public_keys: Vec<crate::types::PublicKey>,
    pub token: String,
}

/// A title that would shadow `Result` in the module.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResultObject {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PublicKey {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_validity_url: Option<String>,
    /// Unpadded base64.
    pub public_key: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GetInviteParams {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_keys: Option<bool>,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GetStatusResponse {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<crate::types::GetStatusResponseMode>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum GetStatusResponseMode {
    #[serde(rename = "on")]
    On,
    #[serde(rename = "off")]
    Off,
}

impl GetStatusResponseMode {
    /// The value as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::On => "on",
            Self::Off => "off",
        }
    }
}
