//! The variables each template sees, as typed structs serialised for the template (minijinja
//! renders them; `%` templates get them as a map, [`template_values`]). Every value is made
//! single-line ([`single_line`]) where it is set, so no value can add a header, a MIME part or
//! a body to the message, whatever a template does with it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::TemplatesConfig;
use super::links::{invite_link, sign_url};
use super::percent::percent_format;
use super::vars::{InviteVars, UNKNOWN_IP, VerificationVars};
use super::web_client::web_client_location;
use crate::clock::Clock;
use crate::crypto::RandomSource;
use crate::mail::MailError;
use crate::mail::text::{
    encode_header_value, is_bare_address, random_token, rfc2822_date, single_line, truncate_chars,
};

/// What every mail has: `to`, `from`, `date`, `messageid`, `multipart_boundary`.
#[derive(Debug, Clone, Serialize)]
pub(super) struct StandardVars {
    /// A bare address ([`is_bare_address`]), so it needs no other cleaning.
    pub(super) to: String,
    from: String,
    /// As Python's `email.utils.formatdate` writes it, from the server's clock.
    date: String,
    /// `<{millis}{16 letters}@{hostname}>`, sydent's shape.
    messageid: String,
    multipart_boundary: String,
}

impl StandardVars {
    /// Refuses a recipient that is not a bare address (`MailError::InvalidAddress`).
    pub(super) fn new(
        config: &TemplatesConfig,
        clock: &dyn Clock,
        random: &dyn RandomSource,
        to: &str,
    ) -> Result<Self, MailError> {
        if !is_bare_address(to) {
            return Err(MailError::InvalidAddress);
        }
        let from = single_line(&config.from);
        let hostname = if config.hostname.is_empty() {
            domain_of(&from).unwrap_or("localhost").to_owned()
        } else {
            single_line(&config.hostname)
        };
        let millis = clock.now_ms();
        Ok(Self {
            to: to.to_owned(),
            date: rfc2822_date(millis),
            messageid: format!("<{millis}{}@{hostname}>", random_token(random, 16, true)?),
            multipart_boundary: random_token(random, 32, false)?,
            from,
        })
    }
}

/// The domain of a mailbox (`Name <local@domain>` or a bare address), for Message-IDs.
fn domain_of(mailbox: &str) -> Option<&str> {
    let address = match (mailbox.rfind('<'), mailbox.rfind('>')) {
        (Some(open), Some(close)) if open < close => &mailbox[open + 1..close],
        _ => mailbox,
    };
    address
        .rsplit_once('@')
        .map(|(_, domain)| domain.trim())
        .filter(|d| !d.is_empty())
}

/// The variables of `verification_template.eml.j2`.
#[derive(Debug, Clone, Serialize)]
pub(super) struct VerificationContext {
    #[serde(flatten)]
    standard: StandardVars,
    subject_header_value: String,
    token: String,
    link: String,
    ipaddress: String,
}

impl VerificationContext {
    pub(super) fn new(
        config: &TemplatesConfig,
        standard: StandardVars,
        vars: &VerificationVars,
    ) -> Self {
        let ipaddress = vars.ipaddress.as_deref().filter(|ip| !ip.is_empty());
        Self {
            standard,
            subject_header_value: encode_header_value(&single_line(&config.verification_subject)),
            token: single_line(&vars.token),
            link: single_line(&vars.link),
            ipaddress: single_line(ipaddress.unwrap_or(UNKNOWN_IP)),
        }
    }
}

/// The variables of `invite_template.eml.j2` (sydent's, plus Oxident's `identity_server_url`,
/// `sign_url`, `invite_link` and `is_space`), and the request's other parameters under their
/// own names, which never override one of these.
#[derive(Debug, Clone, Serialize)]
pub(super) struct InviteContext {
    /// The request's parameters with a usable name; [`template_values`] lays the fields over
    /// them.
    #[serde(skip)]
    params: BTreeMap<String, String>,
    #[serde(flatten)]
    pub(super) standard: StandardVars,
    /// Absent while the subject itself is being formatted (a parameter of that name is then
    /// what `%(subject_header_value)s` finds, as in sydent).
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_header_value: Option<String>,
    medium: String,
    address: String,
    token: String,
    ephemeral_private_key: String,
    pub(super) room_id: String,
    sender: String,
    /// Over 20 characters: the first 19 and `…` (sydent's cut).
    pub(super) sender_display_name: String,
    sender_avatar_url: String,
    /// Over 30 characters: the first 25 and `…` (sydent's cut).
    pub(super) room_name: String,
    /// `({room_name}) `, or empty.
    bracketed_room_name: String,
    /// `({verified sender}) `, or empty.
    bracketed_verified_sender: String,
    pub(super) room_avatar_url: String,
    room_alias: String,
    room_join_rules: String,
    pub(super) room_type: String,
    pub(super) guest_user_id: String,
    pub(super) guest_access_token: String,
    /// Without a trailing `/`.
    pub(super) web_client_location: String,
    /// Without a trailing `/`.
    identity_server_url: String,
    /// `"true"` for a space, else empty: a string, as the templates test its truth.
    is_space: String,
    pub(super) sign_url: String,
    invite_link: String,
}

impl InviteContext {
    pub(super) fn new(
        config: &TemplatesConfig,
        standard: StandardVars,
        vars: &InviteVars,
    ) -> Result<Self, MailError> {
        let params = vars
            .extra
            .iter()
            .filter(|(name, _)| is_valid_param_name(name))
            .map(|(name, value)| (name.clone(), single_line(value)))
            .collect();
        // A field left `None` (or empty, for the required ones) is taken from `extra`.
        let from_extra = |name: &str| vars.extra.get(name).map(String::as_str);
        let field = |v: &Option<String>, name: &str| {
            single_line(v.as_deref().or_else(|| from_extra(name)).unwrap_or(""))
        };
        let required = |v: &str, name: &str| {
            single_line(if v.is_empty() {
                from_extra(name).unwrap_or("")
            } else {
                v
            })
        };
        let sender_display_name = truncate_chars(
            &field(&vars.sender_display_name, "sender_display_name"),
            20,
            19,
        );
        let room_name = truncate_chars(&field(&vars.room_name, "room_name"), 30, 25);
        let room_type = field(&vars.room_type, "room_type");
        let requested_client = vars
            .web_client_location
            .as_deref()
            .or_else(|| from_extra("org.matrix.web_client_location"));
        let identity_server_url = single_line(&config.identity_server_url)
            .trim_end_matches('/')
            .to_owned();
        let token = single_line(&vars.token);
        let ephemeral_private_key = single_line(&vars.ephemeral_private_key);
        let mut ctx = Self {
            params,
            address: single_line(&standard.to),
            standard,
            subject_header_value: None,
            medium: "email".to_owned(),
            sign_url: single_line(&sign_url(
                &identity_server_url,
                &token,
                &ephemeral_private_key,
            )),
            token,
            ephemeral_private_key,
            room_id: required(&vars.room_id, "room_id"),
            sender: required(&vars.sender, "sender"),
            bracketed_room_name: if room_name.is_empty() {
                String::new()
            } else {
                single_line(&format!("({room_name}) "))
            },
            bracketed_verified_sender: match vars.verified_sender.as_deref() {
                Some(sender) if !sender.is_empty() => {
                    single_line(&format!("({}) ", single_line(sender)))
                }
                _ => String::new(),
            },
            sender_display_name,
            sender_avatar_url: field(&vars.sender_avatar_url, "sender_avatar_url"),
            room_name,
            room_avatar_url: field(&vars.room_avatar_url, "room_avatar_url"),
            room_alias: field(&vars.room_alias, "room_alias"),
            room_join_rules: field(&vars.room_join_rules, "room_join_rules"),
            is_space: if room_type == "m.space" { "true" } else { "" }.to_owned(),
            room_type,
            guest_user_id: field(&vars.guest_user_id, "guest_user_id"),
            guest_access_token: field(&vars.guest_access_token, "guest_access_token"),
            web_client_location: single_line(&web_client_location(config, requested_client)),
            identity_server_url,
            invite_link: String::new(),
        };
        ctx.invite_link = single_line(&invite_link(&ctx));
        ctx.subject_header_value = Some(ctx.subject(config)?);
        Ok(ctx)
    }

    /// `invite_subject` (`invite_subject_space` for a space) with `%(name)s` replaced by any
    /// variable; a subject saying " has invited you" helps nobody, so an empty display name
    /// is replaced by `sender` there.
    fn subject(&self, config: &TemplatesConfig) -> Result<String, MailError> {
        let template = if self.room_type == "m.space" {
            &config.invite_subject_space
        } else {
            &config.invite_subject
        };
        let mut values = self.values()?;
        if self.sender_display_name.is_empty() {
            values.insert("sender_display_name".to_owned(), self.sender.clone());
        }
        let subject = single_line(&percent_format(template, &values));
        Ok(encode_header_value(subject.trim()))
    }

    /// The request's parameters with the context's own variables laid over them.
    pub(super) fn values(&self) -> Result<BTreeMap<String, String>, MailError> {
        let mut all = self.params.clone();
        all.extend(template_values(self)?);
        Ok(all)
    }
}

/// A context as the name → value map `%` templates (and the invite subject) read.
pub(super) fn template_values<T: Serialize>(
    ctx: &T,
) -> Result<BTreeMap<String, String>, MailError> {
    serde_json::to_value(ctx)
        .and_then(serde_json::from_value)
        .map_err(|e| MailError::Template(format!("template variables: {e}")))
}

/// A request parameter a template may see under its own name.
fn is_valid_param_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}
