//! Email and page templates, per brand, compatible with the reference server's (sydent's)
//! template folders.
//!
//! Layout: a root folder with one sub-folder per brand, each holding
//! `verification_template.eml.j2`, `invite_template.eml.j2` and
//! `verify_response_template.html`. The brand named by a request's `brand` parameter is used
//! when it exists; anything else (unknown, or not a plain folder name) silently selects the
//! configured default brand. The built-in brand `matrix-org` (sydent's default brand name) is
//! compiled into the binary from `templates/matrix-org/`; an operator folder adds brands and
//! may replace built-in files. A brand folder missing a file falls back to the default
//! brand's file, then to the built-in one.
//!
//! Rendering is Jinja2-compatible (minijinja) with autoescaping ON for every template, as in
//! sydent (`Environment(autoescape=True)`), using markupsafe's escaping (`&<>"'`, not `/`), and
//! `urlencode` behaving like Jinja2's (`urllib.parse.quote(safe="/")`). So sydent's own
//! `.eml.j2` templates render identically (line endings aside: the result is CRLF).
//!
//! Safety: every value is made single-line before rendering (control characters and Unicode
//! line separators become spaces), so no value can add a header, a MIME part or a body to the
//! message, whatever a template does with it; the recipient must be a bare address; values
//! are HTML-escaped unless a template marks them `|safe`.
//!
//! One concern per module: `brands.rs` (loading brand folders), `jinja.rs` (the environment
//! and its markupsafe formatter), `percent.rs` (Python `%` templates), `vars.rs` (what callers
//! pass), `context.rs` (the typed variables templates see), `links.rs` (the links mails
//! carry), `web_client.rs` (the allow list of web clients invite links open).

mod brands;
mod context;
mod jinja;
mod links;
mod percent;
mod vars;
mod web_client;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::clock::{Clock, SystemClock};
use crate::crypto::{OsRandom, RandomSource};

use super::MailError;
use super::text::{markupsafe, single_line, to_crlf};
use super::transfer_encoding::fit_lines;
use brands::Brands;
use context::{InviteContext, StandardVars, VerificationContext, template_values};
use percent::{percent_format, with_percent_variants};

pub use brands::is_valid_brand_name;
pub use links::verification_link;
pub use vars::{InviteVars, ResponseVars, UNKNOWN_IP, VerificationVars};

/// The built-in brand, also the default brand (the reference server's default name).
pub const BUILTIN_BRAND: &str = "matrix-org";
/// File name of the validation email template.
pub const VERIFICATION_TEMPLATE: &str = "verification_template.eml.j2";
/// File name of the invitation email template.
pub const INVITE_TEMPLATE: &str = "invite_template.eml.j2";
/// File name of the page shown by `GET …/validate/email/submitToken`.
pub const VERIFY_RESPONSE_TEMPLATE: &str = "verify_response_template.html";

/// Where templates come from and the values the message builder puts in every message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TemplatesConfig {
    /// Operator folder: one sub-folder per brand (sydent's `templates.path`). Optional.
    pub folder: Option<PathBuf>,
    /// Brand used when a request names none or an unknown one (sydent's `brand.default`).
    pub default_brand: String,
    /// `From` header value, e.g. `Matrix Identity <noreply@example.org>` (sydent `email.from`).
    pub from: String,
    /// Right-hand side of generated Message-IDs; empty: the domain of `from`.
    pub hostname: String,
    /// Subject of validation emails (`subject_header_value` of the verification template).
    pub verification_subject: String,
    /// Subject of room invitations; `%(name)s` takes any invite variable (sydent syntax).
    pub invite_subject: String,
    /// Subject of space invitations (`room_type` = `m.space`).
    pub invite_subject_space: String,
    /// Web client that invitation links open, unless the homeserver names one.
    pub default_web_client_location: String,
    /// Hosts a homeserver's `org.matrix.web_client_location` may name (invite links open
    /// there); empty: only the host of `default_web_client_location`. Anything else falls
    /// back to the default, so a homeserver cannot point invite mails at any site it likes.
    pub web_client_hosts: Vec<String>,
    /// Public base URL of this identity server (for `sign_url` in invitations).
    pub identity_server_url: String,
}

impl Default for TemplatesConfig {
    fn default() -> Self {
        Self {
            folder: None,
            default_brand: BUILTIN_BRAND.to_owned(),
            from: "Matrix Identity Server <noreply@localhost>".to_owned(),
            hostname: String::new(),
            verification_subject: "Confirm your email address".to_owned(),
            invite_subject: "%(sender_display_name)s has invited you to chat".to_owned(),
            invite_subject_space: "%(sender_display_name)s has invited you to a space".to_owned(),
            default_web_client_location: "https://app.element.io".to_owned(),
            web_client_hosts: Vec::new(),
            identity_server_url: "http://localhost:8090".to_owned(),
        }
    }
}

/// Loaded, compiled templates of every brand. Cheap to share (`Arc`), `Send + Sync`.
pub struct Templates {
    brands: Brands,
    config: TemplatesConfig,
    /// `Date:` and the `Message-ID` time; the server's clock (a test's, in tests).
    clock: Arc<dyn Clock>,
    /// Message-IDs and MIME boundaries.
    random: Arc<dyn RandomSource>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("brands", &self.brands.names)
            .field("default_brand", &self.config.default_brand)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// Compiles the built-in brand and every brand of the operator folder. Fails on a
    /// template syntax error, an unreadable folder or an unknown default brand.
    pub fn load(config: TemplatesConfig) -> Result<Self, MailError> {
        let brands = Brands::load(config.folder.as_deref())?;
        if !brands.names.contains(&config.default_brand) {
            return Err(MailError::Config(format!(
                "the default brand {:?} does not exist (brands: {})",
                config.default_brand,
                brands.names.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Self {
            brands,
            config,
            clock: Arc::new(SystemClock),
            random: Arc::new(OsRandom),
        })
    }

    /// Renders with these sources of time and randomness (the server's own, so a test's
    /// clock and seeded generator make mails byte-for-byte repeatable).
    pub fn with_sources(mut self, clock: Arc<dyn Clock>, random: Arc<dyn RandomSource>) -> Self {
        self.clock = clock;
        self.random = random;
        self
    }

    /// Every available brand.
    pub fn brands(&self) -> impl Iterator<Item = &str> {
        self.brands.names.iter().map(String::as_str)
    }

    pub fn default_brand(&self) -> &str {
        &self.config.default_brand
    }

    pub fn config(&self) -> &TemplatesConfig {
        &self.config
    }

    /// The brand used for a request's `brand` hint: the hint when it names an existing
    /// brand (and is a plain folder name), else the default brand.
    pub fn resolve_brand(&self, requested: Option<&str>) -> &str {
        match requested {
            Some(name) if is_valid_brand_name(name) => self
                .brands
                .names
                .get(name)
                .map(String::as_str)
                .unwrap_or(&self.config.default_brand),
            _ => &self.config.default_brand,
        }
    }

    /// Renders the complete validation email (CRLF line endings, ends with CRLF).
    ///
    /// Variables: `to`, `from`, `date`, `messageid`, `multipart_boundary`,
    /// `subject_header_value`, `token`, `link`, `ipaddress`.
    pub fn render_verification(
        &self,
        brand: Option<&str>,
        vars: &VerificationVars,
    ) -> Result<Vec<u8>, MailError> {
        let ctx = VerificationContext::new(&self.config, self.standard_vars(&vars.to)?, vars);
        let text = self.render(brand, VERIFICATION_TEMPLATE, &template_values(&ctx)?)?;
        Ok(fit_lines(to_crlf(&text)))
    }

    /// Renders the complete invitation email (CRLF line endings, ends with CRLF).
    ///
    /// Variables: `to`, `from`, `date`, `messageid`, `multipart_boundary`,
    /// `subject_header_value`, `token`, `ephemeral_private_key`, `medium`, `address`,
    /// `room_id`, `sender`, `sender_display_name` (over 20 characters: first 19 + `…`),
    /// `sender_avatar_url`, `room_name` (over 30 characters: first 25 + `…`),
    /// `bracketed_room_name`, `bracketed_verified_sender`, `room_avatar_url`, `room_alias`,
    /// `room_join_rules`, `room_type`, `guest_user_id`, `guest_access_token`,
    /// `web_client_location`, every `extra` parameter, and Oxident's additions
    /// `identity_server_url`, `sign_url`, `invite_link`, `is_space`. The subject is
    /// `invite_subject` (`invite_subject_space` for `m.space`) with `%(name)s` replaced; an
    /// empty display name is replaced by `sender` there.
    pub fn render_invite(
        &self,
        brand: Option<&str>,
        vars: &InviteVars,
    ) -> Result<Vec<u8>, MailError> {
        let ctx = InviteContext::new(&self.config, self.standard_vars(&vars.to)?, vars)?;
        let text = self.render(brand, INVITE_TEMPLATE, &ctx.values()?)?;
        Ok(fit_lines(to_crlf(&text)))
    }

    /// Renders the page shown after a browser followed the validation link.
    /// Variables: `message` and `success`.
    pub fn render_verify_response(
        &self,
        brand: Option<&str>,
        vars: &ResponseVars,
    ) -> Result<String, MailError> {
        let name = self.template_name(brand, VERIFY_RESPONSE_TEMPLATE);
        let message = single_line(&vars.message);
        if let Some(source) = self.brands.percent.get(&name) {
            let mut values = BTreeMap::new();
            values.insert("message".to_owned(), markupsafe(&message));
            return Ok(percent_format(source, &values));
        }
        let template = self
            .brands
            .env
            .get_template(&name)
            .map_err(|e| MailError::Template(e.to_string()))?;
        let mut page = template
            .render(PageContext {
                message: &message,
                success: vars.success,
                phone: vars.phone,
            })
            .map_err(|e| MailError::Template(e.to_string()))?;
        // The page is served as the file is written (sydent sends its template's bytes), so
        // the final newline Jinja drops from a template's source is put back.
        if template.source().ends_with('\n') {
            page.push('\n');
        }
        Ok(page)
    }

    /// `to`, `from`, `date`, `messageid`, `multipart_boundary`, from the server's clock and
    /// generator.
    fn standard_vars(&self, to: &str) -> Result<StandardVars, MailError> {
        StandardVars::new(&self.config, self.clock.as_ref(), self.random.as_ref(), to)
    }

    /// The registered name of `file` for a brand hint, falling back to the default brand's
    /// and then the built-in file.
    fn template_name(&self, brand: Option<&str>, file: &str) -> String {
        let brand = self.resolve_brand(brand);
        [brand, self.config.default_brand.as_str(), BUILTIN_BRAND]
            .iter()
            .map(|b| format!("{b}/{file}"))
            .find(|name| self.brands.has(name))
            .unwrap_or_else(|| format!("{BUILTIN_BRAND}/{file}"))
    }

    fn render(
        &self,
        brand: Option<&str>,
        file: &str,
        values: &BTreeMap<String, String>,
    ) -> Result<String, MailError> {
        let name = self.template_name(brand, file);
        if let Some(source) = self.brands.percent.get(&name) {
            return Ok(percent_format(source, &with_percent_variants(values)));
        }
        let template = self
            .brands
            .env
            .get_template(&name)
            .map_err(|e| MailError::Template(e.to_string()))?;
        template
            .render(values)
            .map_err(|e| MailError::Template(e.to_string()))
    }
}

/// The variables of `verify_response_template.html`.
#[derive(Serialize)]
struct PageContext<'a> {
    message: &'a str,
    success: bool,
    phone: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mails_are_exact_under_an_injected_clock_and_generator() {
        use crate::clock::ManualClock;
        use crate::crypto::tokens::DeterministicRandom;
        let render = || {
            let templates = Templates::load(TemplatesConfig::default())
                .expect("built-ins load")
                .with_sources(
                    Arc::new(ManualClock::new(1_005_268_127_000)),
                    Arc::new(DeterministicRandom::new(7)),
                );
            let vars = VerificationVars {
                to: "alice@example.org".into(),
                token: "tok".into(),
                link: "https://is.example/x".into(),
                ipaddress: None,
            };
            templates.render_verification(None, &vars).expect("renders")
        };
        let first = render();
        assert_eq!(first, render(), "same clock and seed, same bytes");
        let text = String::from_utf8_lossy(&first);
        assert!(
            text.contains("Date: Fri, 09 Nov 2001 01:08:47 -0000\r\n"),
            "the Date header comes from the injected clock:\n{text}"
        );
        assert!(
            text.contains("<1005268127000"),
            "Message-ID time from the clock"
        );
    }
}
