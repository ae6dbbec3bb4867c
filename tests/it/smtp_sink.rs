//! A tiny real SMTP server for tests, on 127.0.0.1 with a free port.
//!
//! Speaks enough ESMTP for lettre and most clients: EHLO/HELO (advertising 8BITMIME,
//! SMTPUTF8, STARTTLS when offered and, when credentials are set, AUTH), STARTTLS, AUTH
//! PLAIN/LOGIN, MAIL FROM, RCPT TO, DATA (with dot-unstuffing), RSET, NOOP, QUIT. Stores every
//! accepted message with its envelope. [`SmtpSink::fail`] makes it answer a chosen step with
//! an error code, to test the send-failure paths (`M_EMAIL_SEND_ERROR`).
//!
//! TLS ([`SinkTls`]): plain only (the default), STARTTLS offered, STARTTLS required before
//! AUTH and MAIL, or implicit TLS from the first byte. The certificate is self-signed,
//! generated per sink for `localhost` and `127.0.0.1`, so clients must accept invalid
//! certificates.
//!
//! ```ignore
//! let sink = SmtpSink::start().await;
//! // … point the server's SMTP config at sink.port() …
//! let mail = sink.wait_for(1).await.remove(0);
//! assert_eq!(mail.rcpt_to, ["alice@example.org"]);
//!
//! let tls_sink = SmtpSink::builder()
//!     .tls(SinkTls::RequireStartTls)
//!     .auth("user", "password")
//!     .start()
//!     .await;
//! ```

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{
    AsyncBufReadExt, AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// One message accepted by the sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The `MAIL FROM` address (without angle brackets).
    pub mail_from: String,
    /// Parameters after the `MAIL FROM` address, e.g. `BODY=8BITMIME`.
    pub mail_params: Vec<String>,
    /// Every accepted `RCPT TO` address.
    pub rcpt_to: Vec<String>,
    /// The message as received: dot-unstuffed, up to and including the CRLF before the
    /// terminating `.` line.
    pub data: Vec<u8>,
    /// The user name the session authenticated as, if it did.
    pub authenticated_as: Option<String>,
    /// The SASL mechanism of that authentication (`PLAIN` or `LOGIN`).
    pub auth_mechanism: Option<String>,
    /// Whether the message came over TLS (implicit, or after STARTTLS).
    pub tls: bool,
}

impl Received {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }
}

/// Which step the sink refuses, and with which reply code (e.g. 550 or 451).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Failure {
    #[default]
    None,
    Mail(u16),
    Rcpt(u16),
    /// Refuse after the message content was received.
    Data(u16),
}

/// How the sink uses TLS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SinkTls {
    /// Plain SMTP; STARTTLS is neither advertised nor accepted.
    #[default]
    None,
    /// STARTTLS is advertised and accepted; plain sessions may still send.
    StartTls,
    /// STARTTLS is advertised and must be used: AUTH and MAIL get `530` until the session
    /// upgraded, and AUTH is only advertised after the upgrade.
    RequireStartTls,
    /// TLS from the first byte ("SMTPS"); STARTTLS is not offered.
    Implicit,
}

impl SinkTls {
    fn offers_starttls(self) -> bool {
        matches!(self, Self::StartTls | Self::RequireStartTls)
    }
}

#[derive(Default)]
struct State {
    received: Vec<Received>,
    failure: Failure,
    credentials: Option<(String, String)>,
    connections: usize,
    failed_logins: usize,
    tls_handshakes: usize,
    tls_failures: usize,
    starttls_upgrades: usize,
}

struct Shared {
    state: Mutex<State>,
    notify: Notify,
    tls: SinkTls,
    /// Advertised (and accepted) SASL mechanisms.
    mechanisms: Vec<String>,
    acceptor: Option<TlsAcceptor>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Settings of a sink; see [`SmtpSink::builder`].
#[derive(Debug, Clone)]
pub struct SinkBuilder {
    tls: SinkTls,
    credentials: Option<(String, String)>,
    mechanisms: Vec<String>,
}

impl Default for SinkBuilder {
    fn default() -> Self {
        Self {
            tls: SinkTls::None,
            credentials: None,
            mechanisms: vec!["PLAIN".to_owned(), "LOGIN".to_owned()],
        }
    }
}

impl SinkBuilder {
    pub fn tls(mut self, tls: SinkTls) -> Self {
        self.tls = tls;
        self
    }

    /// Requires AUTH with these credentials before MAIL FROM.
    pub fn auth(mut self, user: &str, password: &str) -> Self {
        self.credentials = Some((user.to_owned(), password.to_owned()));
        self
    }

    /// The SASL mechanisms advertised and accepted (default `PLAIN LOGIN`).
    pub fn mechanisms(mut self, mechanisms: &[&str]) -> Self {
        self.mechanisms = mechanisms.iter().map(|m| m.to_ascii_uppercase()).collect();
        self
    }

    pub async fn start(self) -> SmtpSink {
        SmtpSink::start_with(self).await
    }
}

/// The running server; stopped when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
    certificate: Option<CertificateDer<'static>>,
}

impl SmtpSink {
    /// Starts a plain sink that accepts everything without authentication.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// Starts a plain sink that requires AUTH with these credentials before MAIL FROM.
    pub async fn with_auth(user: &str, password: &str) -> Self {
        Self::builder().auth(user, password).start().await
    }

    pub fn builder() -> SinkBuilder {
        SinkBuilder::default()
    }

    async fn start_with(options: SinkBuilder) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("sink address");
        let (acceptor, certificate) = match options.tls {
            SinkTls::None => (None, None),
            _ => {
                let (acceptor, certificate) = tls_acceptor();
                (Some(acceptor), Some(certificate))
            }
        };
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                credentials: options.credentials,
                ..State::default()
            }),
            notify: Notify::new(),
            tls: options.tls,
            mechanisms: options.mechanisms,
            acceptor,
        });
        let accept_shared = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accept_shared.lock().connections += 1;
                let session_shared = Arc::clone(&accept_shared);
                tokio::spawn(async move {
                    // A client hanging up mid-session is not an error for the sink.
                    let _ = session(stream, session_shared).await;
                });
            }
        });
        Self {
            addr,
            shared,
            task,
            certificate,
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Makes the following sessions refuse a step (`Failure::None`: accept again).
    pub fn fail(&self, failure: Failure) {
        self.shared.lock().failure = failure;
    }

    /// Every message accepted so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared.lock().received.clone()
    }

    /// How many TCP connections were accepted.
    pub fn connections(&self) -> usize {
        self.shared.lock().connections
    }

    /// How many AUTH attempts were refused.
    pub fn failed_logins(&self) -> usize {
        self.shared.lock().failed_logins
    }

    /// How many TLS handshakes completed (implicit or after STARTTLS).
    pub fn tls_handshakes(&self) -> usize {
        self.shared.lock().tls_handshakes
    }

    /// How many TLS handshakes failed (e.g. the client refused the certificate).
    pub fn tls_failures(&self) -> usize {
        self.shared.lock().tls_failures
    }

    /// How many sessions were upgraded with STARTTLS.
    pub fn starttls_upgrades(&self) -> usize {
        self.shared.lock().starttls_upgrades
    }

    /// The self-signed certificate (DER) of a TLS sink.
    pub fn certificate(&self) -> Option<&CertificateDer<'static>> {
        self.certificate.as_ref()
    }

    /// Waits (up to 10 s) until `check` holds for the sink, e.g. for a counter that the
    /// server side updates after the client already returned.
    pub async fn wait_until(&self, what: &str, check: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !check(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the SMTP sink never reached: {what}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits (up to 10 s) until at least `count` messages arrived and returns all of them.
    pub async fn wait_for(&self, count: usize) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let notified = self.shared.notify.notified();
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "the SMTP sink received {} message(s), expected {count}",
                    self.received().len()
                );
            }
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A self-signed certificate for `localhost` and `127.0.0.1`, served with aws-lc-rs.
fn tls_acceptor() -> (TlsAcceptor, CertificateDer<'static>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("generate a self-signed certificate");
    let certificate = cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(signing_key.serialize_der()));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certificate.clone()], key)
        .expect("sink certificate");
    (TlsAcceptor::from(Arc::new(config)), certificate)
}

const MAX_LINE: usize = 64 * 1024;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Conn {
    io: BufReader<Box<dyn Io>>,
    tls: bool,
}

impl Conn {
    fn new(io: Box<dyn Io>, tls: bool) -> Self {
        Self {
            io: BufReader::new(io),
            tls,
        }
    }

    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.io.write_all(text.as_bytes()).await?;
        self.io.write_all(b"\r\n").await?;
        self.io.flush().await
    }

    /// One line including its line ending; `None` at end of stream.
    async fn line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let n = (&mut self.io)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await?;
        Ok((n > 0).then_some(line))
    }

    async fn text_line(&mut self) -> std::io::Result<Option<String>> {
        Ok(self.line().await?.map(|l| {
            String::from_utf8_lossy(&l)
                .trim_end_matches(['\r', '\n'])
                .to_owned()
        }))
    }

    /// Runs the server side of a TLS handshake on the connection. Whatever the client
    /// pipelined in plain text after STARTTLS is dropped with the buffer (RFC 3207 §4.2).
    async fn upgrade(self, shared: &Shared) -> std::io::Result<Self> {
        let acceptor = shared
            .acceptor
            .clone()
            .ok_or_else(|| std::io::Error::other("no TLS acceptor"))?;
        match acceptor.accept(self.io.into_inner()).await {
            Ok(stream) => {
                shared.lock().tls_handshakes += 1;
                Ok(Self::new(Box::new(stream), true))
            }
            Err(error) => {
                shared.lock().tls_failures += 1;
                Err(error)
            }
        }
    }
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let mut conn = Conn::new(Box::new(stream), false);
    if shared.tls == SinkTls::Implicit {
        conn = conn.upgrade(&shared).await?;
    }
    conn.reply("220 sink.test ESMTP test sink").await?;

    let mut greeted = false;
    let mut authenticated_as: Option<(String, String)> = None;
    let mut mail_from: Option<(String, Vec<String>)> = None;
    let mut rcpt_to: Vec<String> = Vec::new();

    while let Some(line) = conn.text_line().await? {
        let (verb, arg) = match line.split_once(' ') {
            Some((v, a)) => (v.to_ascii_uppercase(), a.trim().to_owned()),
            None => (line.to_ascii_uppercase(), String::new()),
        };
        let (failure, needs_auth) = {
            let state = shared.lock();
            (state.failure, state.credentials.is_some())
        };
        let needs_starttls = shared.tls == SinkTls::RequireStartTls && !conn.tls;
        match verb.as_str() {
            "EHLO" => {
                greeted = true;
                mail_from = None;
                rcpt_to.clear();
                let mut lines = vec![
                    "250-sink.test greets you".to_owned(),
                    "250-8BITMIME".to_owned(),
                    "250-SMTPUTF8".to_owned(),
                ];
                if shared.tls.offers_starttls() && !conn.tls {
                    lines.push("250-STARTTLS".to_owned());
                }
                if needs_auth && !needs_starttls {
                    lines.push(format!("250-AUTH {}", shared.mechanisms.join(" ")));
                }
                lines.push("250 SIZE 10485760".to_owned());
                conn.reply(&lines.join("\r\n")).await?;
            }
            "HELO" => {
                greeted = true;
                mail_from = None;
                rcpt_to.clear();
                conn.reply("250 sink.test").await?;
            }
            "STARTTLS" => {
                if !shared.tls.offers_starttls() {
                    conn.reply("502 5.5.1 STARTTLS not offered").await?;
                } else if conn.tls {
                    conn.reply("503 5.5.1 TLS already active").await?;
                } else if !arg.is_empty() {
                    conn.reply("501 5.5.4 Syntax: STARTTLS").await?;
                } else {
                    conn.reply("220 2.0.0 Ready to start TLS").await?;
                    conn = conn.upgrade(&shared).await?;
                    shared.lock().starttls_upgrades += 1;
                    // RFC 3207 §4.2: forget everything learnt before the upgrade; the
                    // client must greet again.
                    greeted = false;
                    authenticated_as = None;
                    mail_from = None;
                    rcpt_to.clear();
                }
            }
            "AUTH" if !greeted => conn.reply("503 5.5.1 EHLO first").await?,
            "AUTH" if needs_starttls => {
                conn.reply("530 5.7.0 Must issue a STARTTLS command first")
                    .await?;
            }
            "AUTH" if authenticated_as.is_some() => {
                conn.reply("503 5.5.1 Already authenticated").await?;
            }
            "AUTH" => {
                let user = auth(&mut conn, &arg, &shared).await?;
                match user {
                    Some(user) => {
                        authenticated_as = Some(user);
                        conn.reply("235 2.7.0 Authentication successful").await?;
                    }
                    None => {
                        shared.lock().failed_logins += 1;
                        conn.reply("535 5.7.8 Authentication credentials invalid")
                            .await?;
                    }
                }
            }
            "MAIL" => {
                if !greeted {
                    conn.reply("503 5.5.1 EHLO first").await?;
                } else if needs_starttls {
                    conn.reply("530 5.7.0 Must issue a STARTTLS command first")
                        .await?;
                } else if needs_auth && authenticated_as.is_none() {
                    conn.reply("530 5.7.0 Authentication required").await?;
                } else if let Failure::Mail(code) = failure {
                    conn.reply(&format!("{code} sender refused by the test sink"))
                        .await?;
                } else {
                    match parse_path(&arg, "FROM:") {
                        Some(parsed) => {
                            mail_from = Some(parsed);
                            rcpt_to.clear();
                            conn.reply("250 2.1.0 OK").await?;
                        }
                        None => conn.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await?,
                    }
                }
            }
            "RCPT" => {
                if mail_from.is_none() {
                    conn.reply("503 5.5.1 MAIL first").await?;
                } else if let Failure::Rcpt(code) = failure {
                    conn.reply(&format!("{code} recipient refused by the test sink"))
                        .await?;
                } else {
                    match parse_path(&arg, "TO:") {
                        Some((address, _)) => {
                            rcpt_to.push(address);
                            conn.reply("250 2.1.5 OK").await?;
                        }
                        None => conn.reply("501 5.5.4 Syntax: RCPT TO:<address>").await?,
                    }
                }
            }
            "DATA" => {
                if mail_from.is_none() || rcpt_to.is_empty() {
                    conn.reply("503 5.5.1 need MAIL and RCPT first").await?;
                    continue;
                }
                conn.reply("354 End data with <CR><LF>.<CR><LF>").await?;
                let mut data = Vec::new();
                loop {
                    let Some(line) = conn.line().await? else {
                        return Ok(());
                    };
                    if line == b".\r\n" || line == b".\n" {
                        break;
                    }
                    // Transparency (RFC 5321 4.5.2): the client doubled every leading dot.
                    let content: &[u8] = line.strip_prefix(b".").unwrap_or(&line);
                    data.extend_from_slice(content);
                }
                if let Failure::Data(code) = failure {
                    conn.reply(&format!("{code} message refused by the test sink"))
                        .await?;
                } else {
                    let (from, params) = mail_from.take().unwrap_or_default();
                    {
                        let mut state = shared.lock();
                        state.received.push(Received {
                            mail_from: from,
                            mail_params: params,
                            rcpt_to: std::mem::take(&mut rcpt_to),
                            data,
                            authenticated_as: authenticated_as.as_ref().map(|a| a.0.clone()),
                            auth_mechanism: authenticated_as.as_ref().map(|a| a.1.clone()),
                            tls: conn.tls,
                        });
                    }
                    shared.notify.notify_waiters();
                    conn.reply("250 2.0.0 OK queued").await?;
                }
                mail_from = None;
                rcpt_to.clear();
            }
            "RSET" => {
                mail_from = None;
                rcpt_to.clear();
                conn.reply("250 2.0.0 OK").await?;
            }
            "NOOP" => conn.reply("250 2.0.0 OK").await?,
            "QUIT" => {
                conn.reply("221 2.0.0 Bye").await?;
                return Ok(());
            }
            _ => conn.reply("502 5.5.2 Command not implemented").await?,
        }
    }
    Ok(())
}

/// `FROM:<a@b> BODY=8BITMIME` → (`a@b`, [`BODY=8BITMIME`]).
fn parse_path(arg: &str, prefix: &str) -> Option<(String, Vec<String>)> {
    let rest = arg
        .get(..prefix.len())?
        .eq_ignore_ascii_case(prefix)
        .then(|| &arg[prefix.len()..])?;
    let rest = rest.trim_start();
    let rest = rest.strip_prefix('<')?;
    let close = rest.find('>')?;
    let address = rest[..close].to_owned();
    let params = rest[close + 1..]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Some((address, params))
}

/// Runs an AUTH exchange; (user name, mechanism) when the credentials match.
async fn auth(
    conn: &mut Conn,
    arg: &str,
    shared: &Shared,
) -> std::io::Result<Option<(String, String)>> {
    let decode = |s: &str| {
        base64::engine::general_purpose::STANDARD
            .decode(s.trim())
            .ok()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let (mechanism, initial) = match arg.split_once(' ') {
        Some((m, i)) => (m.to_ascii_uppercase(), Some(i.to_owned())),
        None => (arg.to_ascii_uppercase(), None),
    };
    if !shared.mechanisms.contains(&mechanism) {
        return Ok(None);
    }
    let (user, password) = match mechanism.as_str() {
        "PLAIN" => {
            let response = match initial {
                Some(i) => i,
                None => {
                    conn.reply("334 ").await?;
                    conn.text_line().await?.unwrap_or_default()
                }
            };
            let Some(decoded) = decode(&response) else {
                return Ok(None);
            };
            let mut parts = decoded.split('\0');
            let _authzid = parts.next();
            match (parts.next(), parts.next()) {
                (Some(u), Some(p)) => (u.to_owned(), p.to_owned()),
                _ => return Ok(None),
            }
        }
        "LOGIN" => {
            let user = match initial {
                Some(i) => i,
                None => {
                    conn.reply("334 VXNlcm5hbWU6").await?;
                    conn.text_line().await?.unwrap_or_default()
                }
            };
            conn.reply("334 UGFzc3dvcmQ6").await?;
            let password = conn.text_line().await?.unwrap_or_default();
            match (decode(&user), decode(&password)) {
                (Some(u), Some(p)) => (u, p),
                _ => return Ok(None),
            }
        }
        _ => return Ok(None),
    };
    let expected = shared.lock().credentials.clone();
    Ok(match expected {
        Some((u, p)) if u == user && p == password => Some((user, mechanism)),
        _ => None,
    })
}
