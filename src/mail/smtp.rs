//! Delivery through an SMTP relay with lettre.
//!
//! The rendered template is the whole message, so it is sent with `send_raw`: envelope sender
//! = the configured `from` address, envelope recipient = the `to` argument. One connection
//! per message (lettre's pool feature is off); an identity server sends little mail.

use std::fmt;
use std::time::Duration;

use lettre::address::{Address, Envelope};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::Deserialize;

use super::text::is_bare_address;
use super::{MailError, MailFuture, Mailer};

/// How the connection to the relay is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// Plain SMTP (only sensible for a relay on the same host or network).
    #[default]
    None,
    /// Plain connection upgraded with STARTTLS; fails if the server does not offer it.
    #[serde(alias = "starttls")]
    StartTls,
    /// TLS from the first byte ("SMTPS", usually port 465).
    #[serde(alias = "tls", alias = "ssl")]
    Implicit,
}

/// The SMTP password. `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SmtpPassword(String);

impl SmtpPassword {
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SmtpPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for SmtpPassword {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// Settings of [`SmtpMailer`]. Deserialises from e.g.
/// `{ host = "smtp.example.org", tls = "start_tls", username = "is", password = "…",
/// from = "Identity <noreply@example.org>", timeout = 30 }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    /// Defaults to 25 (`none`), 587 (`start_tls`) or 465 (`implicit`).
    pub port: Option<u16>,
    pub tls: SmtpTls,
    /// Authenticate (PLAIN or LOGIN, as offered) when set and not empty.
    pub username: Option<String>,
    pub password: SmtpPassword,
    /// Envelope sender (`MAIL FROM`). A bare address or `Name <address>`; only the address
    /// is used. Normally the same value as the templates' `From` header.
    pub from: String,
    /// Name sent with EHLO; defaults to this machine's host name.
    pub hello_name: Option<String>,
    /// Limit for connecting and for each SMTP command, in seconds when deserialised.
    #[serde(with = "seconds")]
    pub timeout: Duration,
    /// Accept any certificate (tests against a self-signed relay only).
    pub accept_invalid_certs: bool,
    /// Authenticate even with `tls = "none"`, which sends the password in the clear. Only
    /// for a relay reached over a trusted path (same host, private network); refused
    /// otherwise.
    pub allow_plaintext_auth: bool,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: None,
            tls: SmtpTls::None,
            username: None,
            password: SmtpPassword::default(),
            from: String::new(),
            hello_name: None,
            timeout: Duration::from_secs(30),
            accept_invalid_certs: false,
            allow_plaintext_auth: false,
        }
    }
}

impl SmtpConfig {
    /// Whether credentials are configured (a non-empty user name).
    pub fn authenticates(&self) -> bool {
        self.username.as_ref().is_some_and(|u| !u.is_empty())
    }

    /// Why these settings must not be used, if they must not: credentials over a plain
    /// connection, unless the operator said the path to the relay is trusted.
    pub fn plaintext_auth_problem(&self) -> Option<&'static str> {
        (self.authenticates() && self.tls == SmtpTls::None && !self.allow_plaintext_auth).then_some(
            "a username with tls = \"none\" would send the password in the clear: \
             use tls = \"start_tls\" or \"implicit\", or set allow_plaintext_auth = true \
             for a relay on a trusted network",
        )
    }

    /// The port actually used.
    pub fn effective_port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::None => 25,
            SmtpTls::StartTls => 587,
            SmtpTls::Implicit => 465,
        })
    }
}

mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

/// Sends through an SMTP relay.
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // lettre's transport Debug would print the credentials.
        f.debug_struct("SmtpMailer")
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

impl SmtpMailer {
    /// Builds the transport; nothing is connected until the first message.
    pub fn new(config: &SmtpConfig) -> Result<Self, MailError> {
        let from = parse_sender(&config.from)?;
        if config.host.is_empty() {
            return Err(MailError::Config("the SMTP host is empty".to_owned()));
        }
        if let Some(problem) = config.plaintext_auth_problem() {
            return Err(MailError::Config(problem.to_owned()));
        }
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::StartTls => Tls::Required(tls_parameters(config)?),
            SmtpTls::Implicit => Tls::Wrapper(tls_parameters(config)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.effective_port())
            .tls(tls)
            .timeout(Some(config.timeout));
        if let Some(name) = config.hello_name.as_ref().filter(|n| !n.is_empty()) {
            builder = builder.hello_name(ClientId::Domain(name.clone()));
        }
        if let Some(user) = config.username.as_ref().filter(|u| !u.is_empty()) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                config.password.expose().to_owned(),
            ));
        }
        Ok(Self {
            transport: builder.build(),
            from,
        })
    }

    async fn deliver(&self, to: &str, message: &[u8]) -> Result<(), MailError> {
        if !is_bare_address(to) {
            return Err(MailError::InvalidAddress);
        }
        let recipient: Address = to.parse().map_err(|_| MailError::InvalidAddress)?;
        let envelope = Envelope::new(Some(self.from.clone()), vec![recipient])
            .map_err(|_| MailError::InvalidAddress)?;
        // lettre ends the DATA section with CRLF "." CRLF itself: drop the message's final
        // CRLF so that the relay receives exactly the rendered bytes.
        let body = message.strip_suffix(b"\r\n").unwrap_or(message);
        self.transport
            .send_raw(&envelope, body)
            .await
            .map(|_| ())
            .map_err(classify)
    }
}

impl Mailer for SmtpMailer {
    fn transport(&self) -> &'static str {
        "smtp"
    }

    fn send<'a>(&'a self, to: &'a str, message: &'a [u8]) -> MailFuture<'a> {
        Box::pin(self.deliver(to, message))
    }
}

fn parse_sender(from: &str) -> Result<Address, MailError> {
    let from = from.trim();
    if from.is_empty() {
        return Err(MailError::Config(
            "the sender address (from) is empty".to_owned(),
        ));
    }
    from.parse::<Mailbox>()
        .map(|mailbox| mailbox.email)
        .or_else(|_| from.parse::<Address>())
        .map_err(|_| MailError::Config(format!("the sender address {from:?} is not valid")))
}

fn tls_parameters(config: &SmtpConfig) -> Result<TlsParameters, MailError> {
    TlsParameters::builder(config.host.clone())
        .dangerous_accept_invalid_certs(config.accept_invalid_certs)
        .build_rustls()
        .map_err(|e| MailError::Config(format!("TLS setup: {e}")))
}

/// Sorts lettre's error into our categories. lettre's texts hold the step and the server's
/// reply, never the credentials or the message.
fn classify(error: lettre::transport::smtp::Error) -> MailError {
    let text = error.to_string();
    let code = error.status().map(|c| c.to_string());
    match code.as_deref() {
        // Authentication required / too weak / credentials invalid / encryption required.
        Some("530" | "534" | "535" | "538") => MailError::Auth(text),
        Some(_) if error.is_transient() => MailError::Transient(text),
        Some(_) if error.is_permanent() => MailError::Permanent(text),
        _ if error.is_timeout() => MailError::Connection(format!("timed out: {text}")),
        _ if error.is_client() && text.contains("authentication") => MailError::Auth(text),
        _ => MailError::Connection(text),
    }
}
