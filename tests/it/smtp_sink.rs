//! A tiny real SMTP server for tests, on 127.0.0.1 with a free port.
//!
//! Speaks enough ESMTP for lettre and most clients: EHLO/HELO (advertising 8BITMIME,
//! SMTPUTF8 and, when credentials are set, AUTH PLAIN LOGIN), AUTH PLAIN/LOGIN, MAIL FROM,
//! RCPT TO, DATA (with dot-unstuffing), RSET, NOOP, QUIT. Stores every accepted message with
//! its envelope. [`SmtpSink::fail`] makes it answer a chosen step with an error code, to test
//! the send-failure paths (`M_EMAIL_SEND_ERROR`). No TLS.
//!
//! ```ignore
//! let sink = SmtpSink::start().await;
//! // … point the server's SMTP config at sink.port() …
//! let mail = sink.wait_for(1).await.remove(0);
//! assert_eq!(mail.rcpt_to, ["alice@example.org"]);
//! ```

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use tokio::io::{AsyncBufReadExt, AsyncReadExt as _, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

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

#[derive(Default)]
struct State {
    received: Vec<Received>,
    failure: Failure,
    credentials: Option<(String, String)>,
    connections: usize,
    failed_logins: usize,
}

struct Shared {
    state: Mutex<State>,
    notify: Notify,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The running server; stopped when dropped.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts a sink that accepts everything without authentication.
    pub async fn start() -> Self {
        Self::start_with(None).await
    }

    /// Starts a sink that requires AUTH with these credentials before MAIL FROM.
    pub async fn with_auth(user: &str, password: &str) -> Self {
        Self::start_with(Some((user.to_owned(), password.to_owned()))).await
    }

    async fn start_with(credentials: Option<(String, String)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the SMTP sink");
        let addr = listener.local_addr().expect("sink address");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                credentials,
                ..State::default()
            }),
            notify: Notify::new(),
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
        Self { addr, shared, task }
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

const MAX_LINE: usize = 64 * 1024;

struct Conn {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Conn {
    async fn reply(&mut self, text: &str) -> std::io::Result<()> {
        self.writer.write_all(text.as_bytes()).await?;
        self.writer.write_all(b"\r\n").await?;
        self.writer.flush().await
    }

    /// One line including its line ending; `None` at end of stream.
    async fn line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let n = (&mut self.reader)
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
}

async fn session(stream: TcpStream, shared: Arc<Shared>) -> std::io::Result<()> {
    let (read, writer) = stream.into_split();
    let mut conn = Conn {
        reader: BufReader::new(read),
        writer,
    };
    conn.reply("220 sink.test ESMTP test sink").await?;

    let mut authenticated_as: Option<String> = None;
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
        match verb.as_str() {
            "EHLO" => {
                mail_from = None;
                rcpt_to.clear();
                let mut lines = vec![
                    "250-sink.test greets you".to_owned(),
                    "250-8BITMIME".to_owned(),
                    "250-SMTPUTF8".to_owned(),
                ];
                if needs_auth {
                    lines.push("250-AUTH PLAIN LOGIN".to_owned());
                }
                lines.push("250 SIZE 10485760".to_owned());
                conn.reply(&lines.join("\r\n")).await?;
            }
            "HELO" => {
                mail_from = None;
                rcpt_to.clear();
                conn.reply("250 sink.test").await?;
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
                if needs_auth && authenticated_as.is_none() {
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
                            authenticated_as: authenticated_as.clone(),
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

/// Runs an AUTH exchange; the user name when the credentials match.
async fn auth(conn: &mut Conn, arg: &str, shared: &Shared) -> std::io::Result<Option<String>> {
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
        Some((u, p)) if u == user && p == password => Some(user),
        _ => None,
    })
}
