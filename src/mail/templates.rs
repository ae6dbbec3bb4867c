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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::crypto::{OsRandom, RandomSource};

use minijinja::{AutoEscape, Environment, Output, State, UndefinedBehavior, Value};
use serde::Deserialize;

use super::MailError;
use super::text::{
    encode_header_value, is_bare_address, markupsafe, normalize_newlines, python_quote,
    random_token, rfc2822_date, single_line, to_crlf, truncate_chars, write_markupsafe,
};
use super::transfer_encoding::fit_lines;

/// The built-in brand, also the default brand (the reference server's default name).
pub const BUILTIN_BRAND: &str = "matrix-org";
/// File name of the validation email template.
pub const VERIFICATION_TEMPLATE: &str = "verification_template.eml.j2";
/// File name of the invitation email template.
pub const INVITE_TEMPLATE: &str = "invite_template.eml.j2";
/// File name of the page shown by `GET …/validate/email/submitToken`.
pub const VERIFY_RESPONSE_TEMPLATE: &str = "verify_response_template.html";

const TEMPLATE_FILES: [&str; 3] = [
    VERIFICATION_TEMPLATE,
    INVITE_TEMPLATE,
    VERIFY_RESPONSE_TEMPLATE,
];

const BUILTIN: [(&str, &str); 3] = [
    (
        VERIFICATION_TEMPLATE,
        include_str!("../../templates/matrix-org/verification_template.eml.j2"),
    ),
    (
        INVITE_TEMPLATE,
        include_str!("../../templates/matrix-org/invite_template.eml.j2"),
    ),
    (
        VERIFY_RESPONSE_TEMPLATE,
        include_str!("../../templates/matrix-org/verify_response_template.html"),
    ),
];

/// The name of the custom auto-escape mode (markupsafe-compatible HTML escaping).
const MARKUPSAFE: &str = "markupsafe";

/// What the IP address variable holds when the requester's address is not known.
pub const UNKNOWN_IP: &str = "an unknown location";

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

/// Values for `verification_template.eml.j2`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerificationVars {
    /// Recipient, a bare (case-folded) address.
    pub to: String,
    /// The validation token.
    pub token: String,
    /// The link to `submitToken` (see [`verification_link`]).
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

/// The link placed in validation emails, in the reference server's shape:
/// `{base}/_matrix/identity/v2/validate/email/submitToken?token=…&client_secret=…&sid=…`
/// plus, when a `next_link` was given, `&nextLink=` with `sid=<sid>` appended to it.
pub fn verification_link(
    base_url: &str,
    sid: &str,
    token: &str,
    client_secret: &str,
    next_link: Option<&str>,
) -> String {
    let mut link = format!(
        "{}/_matrix/identity/v2/validate/email/submitToken?token={}&client_secret={}&sid={}",
        base_url.trim_end_matches('/'),
        python_quote(token),
        python_quote(client_secret),
        python_quote(sid),
    );
    if let Some(next) = next_link.filter(|n| !n.is_empty()) {
        let separator = if next.contains('?') { '&' } else { '?' };
        let next = format!("{next}{separator}sid={}", python_quote(sid));
        link.push_str("&nextLink=");
        link.push_str(&python_quote(&next));
    }
    link
}

/// Loaded, compiled templates of every brand. Cheap to share (`Arc`), `Send + Sync`.
pub struct Templates {
    env: Environment<'static>,
    brands: BTreeSet<String>,
    /// Templates written for Python `%` formatting: sydent's `%(message)s` response pages and
    /// its older `.eml` mails (`%(token)s`, `%(link_forhtml)s`, …). The file decides.
    percent_templates: BTreeMap<String, String>,
    config: TemplatesConfig,
    /// `Date:` and the `Message-ID` time; the server's clock (a test's, in tests).
    clock: Arc<dyn Clock>,
    /// Message-IDs and MIME boundaries.
    random: Arc<dyn RandomSource>,
}

impl std::fmt::Debug for Templates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Templates")
            .field("brands", &self.brands)
            .field("default_brand", &self.config.default_brand)
            .finish_non_exhaustive()
    }
}

impl Templates {
    /// Compiles the built-in brand and every brand of the operator folder. Fails on a
    /// template syntax error, an unreadable folder or an unknown default brand.
    pub fn load(config: TemplatesConfig) -> Result<Self, MailError> {
        let mut env = new_environment();
        let mut brands = BTreeSet::new();
        let mut percent_templates = BTreeMap::new();
        for (file, source) in BUILTIN {
            add_template(
                &mut env,
                &mut percent_templates,
                BUILTIN_BRAND,
                file,
                source,
                false,
            )?;
        }
        brands.insert(BUILTIN_BRAND.to_owned());
        if let Some(folder) = &config.folder {
            load_folder(folder, &mut env, &mut brands, &mut percent_templates)?;
        }
        if !brands.contains(&config.default_brand) {
            return Err(MailError::Config(format!(
                "the default brand {:?} does not exist (brands: {})",
                config.default_brand,
                brands.iter().cloned().collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(Self {
            env,
            brands,
            percent_templates,
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
        self.brands.iter().map(String::as_str)
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
        let mut ctx = self.standard_vars(&vars.to)?;
        put(&mut ctx, "token", &vars.token);
        put(&mut ctx, "link", &vars.link);
        put(
            &mut ctx,
            "ipaddress",
            vars.ipaddress
                .as_deref()
                .filter(|ip| !ip.is_empty())
                .unwrap_or(UNKNOWN_IP),
        );
        let subject = encode_header_value(&single_line(&self.config.verification_subject));
        ctx.insert("subject_header_value".to_owned(), subject);
        let text = self.render(brand, VERIFICATION_TEMPLATE, &ctx)?;
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
        let ctx = self.invite_context(vars)?;
        let text = self.render(brand, INVITE_TEMPLATE, &ctx)?;
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
        if let Some(source) = self.percent_templates.get(&name) {
            let mut values = BTreeMap::new();
            values.insert("message".to_owned(), markupsafe(&message));
            return Ok(percent_format(source, &values));
        }
        let template = self
            .env
            .get_template(&name)
            .map_err(|e| MailError::Template(e.to_string()))?;
        let mut page = template
            .render(minijinja::context! {
                message => message,
                success => vars.success,
                phone => vars.phone,
            })
            .map_err(|e| MailError::Template(e.to_string()))?;
        // The page is served as the file is written (sydent sends its template's bytes), so
        // the final newline Jinja drops from a template's source is put back.
        if template.source().ends_with('\n') {
            page.push('\n');
        }
        Ok(page)
    }

    fn invite_context(&self, vars: &InviteVars) -> Result<BTreeMap<String, String>, MailError> {
        let mut ctx: BTreeMap<String, String> = BTreeMap::new();
        // Request parameters first: everything set below wins over them.
        for (name, value) in &vars.extra {
            if is_valid_param_name(name) {
                ctx.insert(name.clone(), single_line(value));
            }
        }
        ctx.extend(self.standard_vars(&vars.to)?);
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
        let display_name = truncate_chars(
            &field(&vars.sender_display_name, "sender_display_name"),
            20,
            19,
        );
        let room_name = truncate_chars(&field(&vars.room_name, "room_name"), 30, 25);
        let room_type = field(&vars.room_type, "room_type");
        let sender = required(&vars.sender, "sender");
        let web_client = vars
            .web_client_location
            .as_deref()
            .or_else(|| from_extra("org.matrix.web_client_location"))
            .map(single_line)
            .filter(|url| is_http_url(url) && self.is_allowed_web_client(url))
            .unwrap_or_else(|| single_line(&self.config.default_web_client_location));
        let web_client = web_client.trim_end_matches('/').to_owned();
        let base = single_line(&self.config.identity_server_url)
            .trim_end_matches('/')
            .to_owned();
        let token = single_line(&vars.token);
        let private_key = single_line(&vars.ephemeral_private_key);
        let sign_url = format!(
            "{base}/_matrix/identity/v2/sign-ed25519?token={}&private_key={}",
            python_quote(&token),
            python_quote(&private_key)
        );

        put(&mut ctx, "medium", "email");
        put(&mut ctx, "address", &vars.to);
        put(&mut ctx, "token", &token);
        put(&mut ctx, "ephemeral_private_key", &private_key);
        put(&mut ctx, "room_id", &required(&vars.room_id, "room_id"));
        put(&mut ctx, "sender", &sender);
        put(&mut ctx, "sender_display_name", &display_name);
        put(
            &mut ctx,
            "sender_avatar_url",
            &field(&vars.sender_avatar_url, "sender_avatar_url"),
        );
        put(&mut ctx, "room_name", &room_name);
        put(
            &mut ctx,
            "bracketed_room_name",
            &if room_name.is_empty() {
                String::new()
            } else {
                format!("({room_name}) ")
            },
        );
        put(
            &mut ctx,
            "bracketed_verified_sender",
            &match vars.verified_sender.as_deref().filter(|s| !s.is_empty()) {
                Some(sender) => format!("({}) ", single_line(sender)),
                None => String::new(),
            },
        );
        put(
            &mut ctx,
            "room_avatar_url",
            &field(&vars.room_avatar_url, "room_avatar_url"),
        );
        put(
            &mut ctx,
            "room_alias",
            &field(&vars.room_alias, "room_alias"),
        );
        put(
            &mut ctx,
            "room_join_rules",
            &field(&vars.room_join_rules, "room_join_rules"),
        );
        put(&mut ctx, "room_type", &room_type);
        put(
            &mut ctx,
            "guest_user_id",
            &field(&vars.guest_user_id, "guest_user_id"),
        );
        put(
            &mut ctx,
            "guest_access_token",
            &field(&vars.guest_access_token, "guest_access_token"),
        );
        put(&mut ctx, "web_client_location", &web_client);
        put(&mut ctx, "identity_server_url", &base);
        put(
            &mut ctx,
            "is_space",
            if room_type == "m.space" { "true" } else { "" },
        );

        let q = |name: &str| python_quote(ctx.get(name).map(String::as_str).unwrap_or(""));
        let invite_link = format!(
            "{web_client}/#/room/{}?email={}&signurl={}&room_name={}&room_avatar_url={}\
             &inviter_name={}&guest_access_token={}&guest_user_id={}&room_type={}",
            q("room_id"),
            q("to"),
            python_quote(&sign_url),
            q("room_name"),
            q("room_avatar_url"),
            q("sender_display_name"),
            q("guest_access_token"),
            q("guest_user_id"),
            q("room_type"),
        );
        put(&mut ctx, "sign_url", &sign_url);
        put(&mut ctx, "invite_link", &invite_link);

        let subject_template = if room_type == "m.space" {
            &self.config.invite_subject_space
        } else {
            &self.config.invite_subject
        };
        // A subject saying " has invited you" helps nobody: name the sender instead.
        let subject = if display_name.is_empty() {
            let mut with_sender = ctx.clone();
            with_sender.insert("sender_display_name".to_owned(), sender.clone());
            percent_format(subject_template, &with_sender)
        } else {
            percent_format(subject_template, &ctx)
        };
        let subject = single_line(&subject).trim().to_owned();
        ctx.insert(
            "subject_header_value".to_owned(),
            encode_header_value(&subject),
        );
        Ok(ctx)
    }

    /// `to`, `from`, `date`, `messageid`, `multipart_boundary`.
    fn standard_vars(&self, to: &str) -> Result<BTreeMap<String, String>, MailError> {
        if !is_bare_address(to) {
            return Err(MailError::InvalidAddress);
        }
        let from = single_line(&self.config.from);
        let hostname = if self.config.hostname.is_empty() {
            domain_of(&from).unwrap_or("localhost").to_owned()
        } else {
            single_line(&self.config.hostname)
        };
        let millis = self.clock.now_ms();
        let random = self.random.as_ref();
        let mut ctx = BTreeMap::new();
        ctx.insert("to".to_owned(), to.to_owned());
        ctx.insert("from".to_owned(), from);
        ctx.insert("date".to_owned(), rfc2822_date(millis));
        ctx.insert(
            "messageid".to_owned(),
            format!("<{millis}{}@{hostname}>", random_token(random, 16, true)?),
        );
        ctx.insert(
            "multipart_boundary".to_owned(),
            random_token(random, 32, false)?,
        );
        Ok(ctx)
    }

    /// The registered name of `file` for a brand hint, falling back to the default brand's
    /// and then the built-in file.
    fn template_name(&self, brand: Option<&str>, file: &str) -> String {
        let brand = self.resolve_brand(brand);
        [brand, self.config.default_brand.as_str(), BUILTIN_BRAND]
            .iter()
            .map(|b| format!("{b}/{file}"))
            .find(|name| {
                self.percent_templates.contains_key(name) || self.env.get_template(name).is_ok()
            })
            .unwrap_or_else(|| format!("{BUILTIN_BRAND}/{file}"))
    }

    fn render(
        &self,
        brand: Option<&str>,
        file: &str,
        ctx: &BTreeMap<String, String>,
    ) -> Result<String, MailError> {
        let name = self.template_name(brand, file);
        if let Some(source) = self.percent_templates.get(&name) {
            return Ok(percent_format(source, &with_percent_variants(ctx)));
        }
        let template = self
            .env
            .get_template(&name)
            .map_err(|e| MailError::Template(e.to_string()))?;
        template
            .render(ctx)
            .map_err(|e| MailError::Template(e.to_string()))
    }
}

/// sydent's variables for `%` mail templates: each value as it is, `<name>_forhtml`
/// (Python's `html.escape`) and `<name>_forurl` (`urllib.parse.quote`).
fn with_percent_variants(ctx: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut all = BTreeMap::new();
    for (name, value) in ctx {
        all.insert(format!("{name}_forhtml"), python_html_escape(value));
        all.insert(format!("{name}_forurl"), python_quote(value));
        all.insert(name.clone(), value.clone());
    }
    all
}

/// Python's `html.escape(value, quote=True)`.
fn python_html_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            other => out.push(other),
        }
    }
    out
}

fn put(ctx: &mut BTreeMap<String, String>, name: &str, value: &str) {
    ctx.insert(name.to_owned(), single_line(value));
}

/// A brand is a plain folder name: 1–64 of `[A-Za-z0-9._-]`, starting with a letter or digit
/// (so never `.`, `..`, hidden folders, separators or absolute paths).
pub fn is_valid_brand_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.contains("..")
}

fn is_valid_param_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The host of an http(s) URL, lower-cased and without port; `None` when the authority has
/// user information (`https://app.element.io@evil.example` goes to `evil.example`).
fn url_host(url: &str) -> Option<String> {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains(['@', '\\']) {
        return None;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    (!host.is_empty()).then(|| host.trim_end_matches('.').to_owned())
}

impl Templates {
    /// Whether invite links may open `url`: its host is one of `web_client_hosts` (default:
    /// the default web client's host).
    fn is_allowed_web_client(&self, url: &str) -> bool {
        let Some(host) = url_host(url) else {
            return false;
        };
        if self.config.web_client_hosts.is_empty() {
            url_host(&self.config.default_web_client_location).is_some_and(|d| d == host)
        } else {
            self.config
                .web_client_hosts
                .iter()
                .any(|h| h.trim().trim_end_matches('.').eq_ignore_ascii_case(&host))
        }
    }
}

fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    matches!(rest, Some(host) if !host.is_empty() && !host.starts_with('/'))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || "<>\"'`".contains(c))
}

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

/// Python `%`-style substitution of `%(name)s` (unknown names → empty) and `%%` → `%`;
/// any other `%` is kept. Used for sydent-style subjects and `%(message)s` response pages.
fn percent_format(template: &str, values: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(pos) = rest.find('%') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else if let Some(named) = after.strip_prefix('(')
            && let Some(close) = named.find(")s")
            && !named[..close].contains(['(', '%'])
        {
            if let Some(value) = values.get(&named[..close]) {
                out.push_str(value);
            }
            rest = &named[close + 2..];
        } else {
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn new_environment() -> Environment<'static> {
    let mut env = Environment::new();
    // As Jinja2 (sydent's Environment(autoescape=True)): escape in every template.
    env.set_auto_escape_callback(|_| AutoEscape::Custom(MARKUPSAFE));
    env.set_formatter(markupsafe_formatter);
    env.set_undefined_behavior(UndefinedBehavior::Lenient);
    env.set_keep_trailing_newline(false);
    // Debug info in errors could quote variable values (tokens); errors are logged.
    env.set_debug(false);
    env.add_filter("urlencode", jinja_urlencode);
    env
}

/// Writes values escaped exactly as Jinja2/markupsafe would, unless marked safe.
fn markupsafe_formatter(
    out: &mut Output,
    state: &State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    match state.auto_escape() {
        // Our mode (and explicit "html" blocks): markupsafe escaping unless marked safe.
        AutoEscape::Custom(_) | AutoEscape::Html => write_value(out, value, !value.is_safe()),
        // `{% autoescape false %}` blocks.
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn write_value(out: &mut Output, value: &Value, escape: bool) -> Result<(), minijinja::Error> {
    if value.is_undefined() {
        return Ok(());
    }
    let text = if value.is_none() {
        "None".to_owned()
    } else if let Some(s) = value.as_str() {
        s.to_owned()
    } else {
        value.to_string()
    };
    let result = if escape {
        write_markupsafe(out, &text)
    } else {
        out.write_str(&text)
    };
    result.map_err(|_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write failed"))
}

/// Jinja2's `urlencode`: strings as `urllib.parse.quote(safe="/")`; mappings as a query
/// string of `quote(safe="")` pairs with `+` for spaces.
fn jinja_urlencode(value: &Value) -> Result<String, minijinja::Error> {
    if value.is_undefined() || value.is_none() {
        return Ok(String::new());
    }
    if let Some(s) = value.as_str() {
        return Ok(python_quote(s));
    }
    if value.kind() == minijinja::value::ValueKind::Map {
        let mut pairs = Vec::new();
        for key in value.try_iter()? {
            let item = value.get_item(&key)?;
            pairs.push(format!(
                "{}={}",
                quote_for_query(&key.to_string()),
                quote_for_query(&item.to_string())
            ));
        }
        return Ok(pairs.join("&"));
    }
    Ok(python_quote(&value.to_string()))
}

fn quote_for_query(value: &str) -> String {
    python_quote(value).replace('/', "%2F").replace("%20", "+")
}

fn add_template(
    env: &mut Environment<'static>,
    percent_templates: &mut BTreeMap<String, String>,
    brand: &str,
    file: &str,
    source: &str,
    older_eml: bool,
) -> Result<(), MailError> {
    let name = format!("{brand}/{file}");
    let source = normalize_newlines(source);
    let percent = if file == VERIFY_RESPONSE_TEMPLATE || older_eml {
        // sydent's response pages and `.eml` mails are Python `%` templates, not Jinja: a
        // file without Jinja markup is one, placeholders or not (a static page is sent as
        // it is, final newline included).
        !is_jinja_source(&source)
    } else {
        // A mail written for `%` (sydent's older `.eml` files) says so with a placeholder.
        !is_jinja_source(&source) && source.contains("%(")
    };
    if percent {
        percent_templates.insert(name, source);
        return Ok(());
    }
    percent_templates.remove(&name);
    env.add_template_owned(name.clone(), source)
        .map_err(|e| MailError::Template(format!("{name}: {e}")))
}

/// Whether a page is written for Jinja: any Jinja delimiter decides it; sydent's `%`
/// pages never contain one.
fn is_jinja_source(source: &str) -> bool {
    source.contains("{{") || source.contains("{%") || source.contains("{#")
}

fn load_folder(
    folder: &Path,
    env: &mut Environment<'static>,
    brands: &mut BTreeSet<String>,
    percent_templates: &mut BTreeMap<String, String>,
) -> Result<(), MailError> {
    let entries = std::fs::read_dir(folder)
        .map_err(|e| MailError::Config(format!("template folder {}: {e}", folder.display())))?;
    for entry in entries {
        let entry = entry
            .map_err(|e| MailError::Config(format!("template folder {}: {e}", folder.display())))?;
        let path = entry.path();
        // Follows symbolic links, like the reference server's os.path.isdir.
        if !path.is_dir() {
            continue;
        }
        let Some(brand) = entry.file_name().to_str().map(str::to_owned) else {
            tracing::warn!(path = %path.display(), "ignoring template folder: name is not UTF-8");
            continue;
        };
        if !is_valid_brand_name(&brand) {
            if !brand.starts_with('.') {
                tracing::warn!(brand, "ignoring template folder: not a valid brand name");
            }
            continue;
        }
        let mut found = 0;
        for file in TEMPLATE_FILES {
            // As sydent: the Jinja file (`.eml.j2`) when there is one, else the older `.eml`.
            let mut file_path = path.join(file);
            let mut older_eml = false;
            if !file_path.is_file()
                && let Some(older) = file.strip_suffix(".j2").map(|f| path.join(f))
                && older.is_file()
            {
                file_path = older;
                older_eml = true;
            }
            if !file_path.is_file() {
                tracing::warn!(brand, file, "template missing; using the default brand's");
                continue;
            }
            let source = std::fs::read_to_string(&file_path)
                .map_err(|e| MailError::Config(format!("template {}: {e}", file_path.display())))?;
            add_template(env, percent_templates, &brand, file, &source, older_eml)?;
            found += 1;
        }
        if found > 0 {
            brands.insert(brand);
        } else {
            tracing::warn!(
                brand,
                "ignoring template folder: it holds none of the templates"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn render_str(source: &str, pairs: &[(&str, &str)]) -> String {
        let mut env = new_environment();
        env.add_template_owned("t.eml.j2", source.to_owned())
            .expect("template compiles");
        env.get_template("t.eml.j2")
            .expect("template exists")
            .render(ctx(pairs))
            .expect("template renders")
    }

    #[test]
    fn escaping_is_markupsafe_compatible() {
        let v = r#"https://x/y?a=1&b=<i>"q"'s"#;
        assert_eq!(
            render_str(
                "{{ v }}|{{ v|safe }}|{{ v|e }}|{{ v|urlencode }}",
                &[("v", v)]
            ),
            "https://x/y?a=1&amp;b=&lt;i&gt;&#34;q&#34;&#39;s|https://x/y?a=1&b=<i>\"q\"'s|\
             https://x/y?a=1&amp;b=&lt;i&gt;&#34;q&#34;&#39;s|https%3A//x/y%3Fa%3D1%26b%3D%3Ci%3E%22q%22%27s"
        );
    }

    #[test]
    fn undefined_renders_empty_like_jinja2() {
        assert_eq!(
            render_str(
                "[{{ nope }}][{{ nope|safe }}][{{ nope|urlencode }}][{% if nope == \"m.space\" %}x{% endif %}]",
                &[]
            ),
            "[][][][]"
        );
    }

    #[test]
    fn trailing_newline_is_dropped_like_jinja2() {
        assert_eq!(render_str("a\n", &[]), "a");
        assert_eq!(render_str("a\n\n", &[]), "a\n");
    }

    #[test]
    fn percent_format_is_python_like() {
        let values = ctx(&[("sender_display_name", "Alice")]);
        assert_eq!(
            percent_format(
                "%(sender_display_name)s has invited you (100%%) %(nope)s %d",
                &values
            ),
            "Alice has invited you (100%)  %d"
        );
    }

    #[test]
    fn brand_names() {
        for ok in ["matrix-org", "vector-im", "brand_2", "a.b"] {
            assert!(is_valid_brand_name(ok), "{ok}");
        }
        for bad in [
            "", ".", "..", "../etc", "a/b", "a\\b", ".hidden", "a..b", "/abs", "é", "a b",
        ] {
            assert!(!is_valid_brand_name(bad), "{bad}");
        }
    }

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

    #[test]
    fn builtin_templates_compile() {
        let templates = Templates::load(TemplatesConfig::default()).expect("built-ins load");
        assert_eq!(templates.brands().collect::<Vec<_>>(), vec![BUILTIN_BRAND]);
    }

    #[test]
    fn verification_link_shape() {
        assert_eq!(
            verification_link(
                "https://is.example/",
                "42",
                "tok",
                "s3cr=t",
                Some("https://app.example/x?y=1")
            ),
            "https://is.example/_matrix/identity/v2/validate/email/submitToken?token=tok&client_secret=s3cr%3Dt&sid=42\
             &nextLink=https%3A//app.example/x%3Fy%3D1%26sid%3D42"
        );
    }
}
