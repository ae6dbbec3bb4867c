//! What callers hand the renderer: the values of one mail or page, as the services know
//! them. The contexts templates see are built from these (`context.rs`).

use std::collections::BTreeMap;

/// What the IP address variable holds when the requester's address is not known.
pub const UNKNOWN_IP: &str = "an unknown location";

/// Values for `verification_template.eml.j2`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerificationVars {
    /// Recipient, a bare (case-folded) address.
    pub to: String,
    /// The validation token.
    pub token: String,
    /// The link to `submitToken` (see [`verification_link`](super::verification_link)).
    pub link: String,
    /// The requester's IP address; `None` renders as "an unknown location".
    pub ipaddress: Option<String>,
}

/// Values for `invite_template.eml.j2`. Optional fields render as empty strings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InviteVars {
    /// Recipient, a bare (case-folded) address.
    pub to: String,
    /// The invitation token.
    pub token: String,
    /// Unpadded URL-safe base64 of the ephemeral private key.
    pub ephemeral_private_key: String,
    pub room_id: String,
    /// Matrix user ID of the inviter.
    pub sender: String,
    /// The inviter as authenticated (v2 with an access token): shown as `(sender) `.
    pub verified_sender: Option<String>,
    pub sender_display_name: Option<String>,
    pub sender_avatar_url: Option<String>,
    pub room_name: Option<String>,
    pub room_avatar_url: Option<String>,
    pub room_alias: Option<String>,
    pub room_join_rules: Option<String>,
    pub room_type: Option<String>,
    pub guest_user_id: Option<String>,
    pub guest_access_token: Option<String>,
    /// `org.matrix.web_client_location` from the homeserver; used only if it is an
    /// `http(s)://` URL, else the configured default.
    pub web_client_location: Option<String>,
    /// The request's other string parameters (or all of them), available to templates under
    /// their own names, as sydent does. Names must match `[A-Za-z0-9_.-]{1,64}`. They never
    /// override a computed variable or a field set above; a field above left `None` (or an
    /// empty `room_id`/`sender`) is taken from here under the same name, and
    /// `org.matrix.web_client_location` stands in for `web_client_location`.
    pub extra: BTreeMap<String, String>,
}

/// Values for `verify_response_template.html`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseVars {
    /// Outcome, as plain text (escaped when rendered).
    pub message: String,
    pub success: bool,
    /// The session validated a phone number, not an email address (the built-in page's
    /// heading says which; sydent's pages show `message` only).
    pub phone: bool,
}

impl ResponseVars {
    /// sydent's words, so an operator's sydent page renders byte for byte as it did there.
    pub fn success() -> Self {
        Self {
            message: "Verification successful! Please return to your Matrix client to continue."
                .to_owned(),
            success: true,
            phone: false,
        }
    }

    pub fn failure() -> Self {
        Self {
            message: "Verification failed: you may need to request another verification email"
                .to_owned(),
            success: false,
            phone: false,
        }
    }

    /// A failure for a phone number: the heading names it, and it asks for another text.
    pub fn phone_failure() -> Self {
        Self {
            message: "Verification failed: you may need to request another verification text"
                .to_owned(),
            success: false,
            phone: true,
        }
    }
}
