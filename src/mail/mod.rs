//! Outgoing email: transports ([`Mailer`]) and the operator-editable templates that produce
//! the complete RFC 822 messages they send ([`Templates`]).
//!
//! The split mirrors the reference server (sydent): a template renders the *whole* message,
//! headers included, and the transport sends those bytes unchanged with an envelope of
//! (`from` from configuration, the recipient address). Nothing here logs or returns message
//! contents, which carry validation tokens and invite keys.
//!
//! * [`smtp::SmtpMailer`]: real delivery through an SMTP relay (lettre).
//! * [`directory::DirectoryMailer`]: development transport that writes `.eml` files.
//! * [`memory::MemoryMailer`]: in-process recorder for tests of the callers.
//!
//! Every template is auto-escaped with markupsafe's rules (`&<>"'`, not `/`) through a custom
//! minijinja formatter, so sydent's own templates, which rely on `|safe`, render byte-identically
//! to Jinja2. Every value has control characters and Unicode line separators replaced before
//! rendering, so no value can add a header or a MIME part, and is cut to 8 KiB (`next_link` itself
//! is refused over 2 048 bytes). A part with a line over RFC 5322's 998 octets is re-encoded
//! (`transfer_encoding.rs`). Brands are sub-folders (`matrix-org` is built in and compiled into the
//! binary); an unknown or malformed brand name selects the default. Without SMTP the
//! `DirectoryMailer` writes `.eml` files and warns. The invite mail's web client link follows a
//! homeserver's `org.matrix.web_client_location` only to hosts in
//! `email.templates.web_client_hosts` (default: the default web client's host).
//!
//! A validation mail is sent before the HTTP answer, so a failure is reported
//! (`M_EMAIL_SEND_ERROR`) and the session stays usable; an invite mail is sent before the invite is
//! stored, so a failed mail leaves no invite behind.

pub mod directory;
pub mod memory;
pub mod smtp;
pub mod templates;
mod text;
pub mod transfer_encoding;

use std::future::Future;
use std::pin::Pin;

pub use directory::DirectoryMailer;
pub use memory::MemoryMailer;
pub use smtp::{SmtpConfig, SmtpMailer, SmtpPassword, SmtpTls};
pub use templates::{
    InviteVars, ResponseVars, Templates, TemplatesConfig, VerificationVars, verification_link,
};

/// The future returned by [`Mailer::send`].
pub type MailFuture<'a> = Pin<Box<dyn Future<Output = Result<(), MailError>> + Send + 'a>>;

/// Delivers complete, already rendered messages.
///
/// Object safe: hold it as `Arc<dyn Mailer>`.
pub trait Mailer: Send + Sync {
    /// Sends `message` (a complete RFC 822 message: headers, blank line, body; CRLF line
    /// endings) to the single recipient `to` (a bare address, no display name). The envelope
    /// sender is the transport's configured address; the message's own headers are not read.
    fn send<'a>(&'a self, to: &'a str, message: &'a [u8]) -> MailFuture<'a>;

    /// The transport's name in the operator's metrics (`smtp`, `directory`, `memory`).
    fn transport(&self) -> &'static str;
}

/// Why a message could not be rendered or delivered.
///
/// The texts name the failing step and, for SMTP, the server's reply; they never contain the
/// message, tokens or credentials, so they are safe to log. Map [`MailError::InvalidAddress`]
/// to `M_INVALID_EMAIL` and everything else to `M_EMAIL_SEND_ERROR`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The recipient (or configured sender) is not a usable bare email address.
    #[error("invalid email address")]
    InvalidAddress,
    /// The mail server could not be reached, the TLS handshake failed or the connection broke.
    #[error("could not talk to the mail server: {0}")]
    Connection(String),
    /// The mail server refused the credentials.
    #[error("the mail server refused authentication: {0}")]
    Auth(String),
    /// The mail server answered with a temporary (4xx) failure.
    #[error("the mail server temporarily refused the message: {0}")]
    Transient(String),
    /// The mail server answered with a permanent (5xx) failure.
    #[error("the mail server refused the message: {0}")]
    Permanent(String),
    /// Writing the message (directory transport) failed.
    #[error("could not store the message: {0}")]
    Io(String),
    /// A template could not be rendered (a broken operator template).
    #[error("could not render the email template: {0}")]
    Template(String),
    /// The mail configuration is unusable.
    #[error("invalid mail configuration: {0}")]
    Config(String),
}

impl MailError {
    /// True when the request itself was at fault (bad recipient address), not the server.
    pub fn is_invalid_address(&self) -> bool {
        matches!(self, MailError::InvalidAddress)
    }
}
