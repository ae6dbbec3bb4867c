//! `TestApp`: the real server on a loopback port, with a temp data folder, a fixed signing
//! key, a manual clock, a seeded random source and a real SMTP sink — and a client that checks
//! every response against the spec's schema for its operation and status.

#![allow(dead_code)]

use crate::smtp_sink::SmtpSink;
use oxident::clock::ManualClock;
use oxident::config::Config;
use oxident::crypto::SigningKey;
use oxident::crypto::tokens::DeterministicRandom;
use oxident::mail::{SmtpConfig, SmtpMailer, SmtpTls};
use oxident::state::{AppState, Parts};
use oxident::store::Store;
use oxident::store::postgres::PostgresStore;
use oxident::store::sqlite::SqliteStore;
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// 2026-01-01T00:00:00Z: a fixed start so timestamps in tests are exact.
pub const START_MS: i64 = 1_767_225_600_000;
pub const SERVER_NAME: &str = "is.test";

pub fn test_key() -> SigningKey {
    SigningKey::from_seed("0", &[7u8; 32]).expect("fixed test key")
}

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub smtp: SmtpSink,
    pub dir: tempfile::TempDir,
    pub clock: Arc<ManualClock>,
    state: Option<Arc<AppState>>,
    pub config: Config,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// The TLS listener's certificate handle when started with [`TestApp::start_tls`].
    pub tls: Option<Arc<oxident::tls::Tls>>,
    /// Invite delivery and housekeeping, as `oxident::serve` runs them.
    background: Option<oxident::Background>,
    /// `http://…` of the operator listener (`/health`, `/ready`, `/metrics`), served when the
    /// configuration has `[metrics] bind` (any address: the test binds a free loopback port).
    pub ops_base: Option<String>,
    ops_task: Option<AbortOnDrop>,
    /// `http://…` of the admin listener, served when the configuration has `[admin] bind`
    /// (any address: the test binds a free loopback port; the secret is the configured one).
    pub admin_base: Option<String>,
    admin_task: Option<AbortOnDrop>,
}

/// A task that ends when this is dropped.
struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A response, already checked against the spec.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn errcode(&self) -> &str {
        self.json["errcode"].as_str().unwrap_or("")
    }

    /// A rate limit's refusal: 429 `M_LIMIT_EXCEEDED`.
    #[track_caller]
    pub fn assert_limited(&self) {
        assert_eq!(
            (self.status, self.errcode()),
            (429, "M_LIMIT_EXCEEDED"),
            "{}",
            self.text
        );
    }
}

pub fn base_config(dir: &std::path::Path, smtp_port: u16) -> Config {
    let mut c = Config::default();
    c.server.server_name = SERVER_NAME.into();
    c.storage.sqlite_path = dir.join("oxident.sqlite");
    c.keys.signing_key_path = dir.join("signing.key");
    c.email.outbox_dir = dir.join("outbox");
    c.email.smtp = Some(SmtpConfig {
        host: "127.0.0.1".into(),
        port: Some(smtp_port),
        tls: SmtpTls::None,
        from: "Oxident Test <noreply@is.test>".into(),
        ..SmtpConfig::default()
    });
    c.email.templates.from = "Oxident Test <noreply@is.test>".into();
    c.federation.allow_private_addresses = true;
    c.federation.accept_invalid_certs = true;
    c.ratelimit.request_token_per_ip_per_minute = 1000;
    c.ratelimit.request_token_per_address_per_hour = 1000;
    c.ratelimit.invite_per_ip_per_minute = 1000;
    c.ratelimit.invite_per_address_per_hour = 1000;
    c.ratelimit.lookup_per_ip_per_second = 100_000;
    c
}

/// Which backend the suite runs on: SQLite (a file in the test's folder) by default;
/// PostgreSQL with `TEST_BACKEND=postgres`, a fresh database per `TestApp` on the cluster
/// named by `TEST_POSTGRES_URL` (`scripts/test-postgres.sh` sets both).
pub fn backend_is_postgres() -> bool {
    std::env::var("TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// With the PostgreSQL backend selected: the URL of a new, empty database.
pub async fn postgres_backend() -> Option<String> {
    if !backend_is_postgres() {
        return None;
    }
    let admin = std::env::var("TEST_POSTGRES_URL")
        .expect("TEST_BACKEND=postgres needs TEST_POSTGRES_URL (scripts/pg-cluster.sh start DIR)");
    Some(fresh_postgres_database(&admin, "it").await)
}

/// Creates a database with a name unique to this process and call on the cluster `admin`
/// points to; returns its URL.
pub async fn fresh_postgres_database(admin: &str, prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{prefix}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let pool = sqlx_admin(admin).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&pool)
        .await
        .expect("create database");
    pool.close().await;
    let (base, _) = admin.rsplit_once('/').expect("URL with a database name");
    format!("{base}/{name}")
}

async fn sqlx_admin(admin: &str) -> sqlx::PgPool {
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(admin)
        .await
        .expect("connect to TEST_POSTGRES_URL")
}

impl TestApp {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_inner(false, adjust).await
    }

    /// Like [`start`](Self::start), serving HTTPS (`[server.tls]`) with a fresh self-signed
    /// certificate for `localhost` and `127.0.0.1` (`tls_cert.pem` / `tls_key.pem` in the
    /// data folder); `client` trusts exactly that certificate, `base` is `https://…`.
    pub async fn start_tls() -> Self {
        Self::start_tls_with(|_| {}).await
    }

    pub async fn start_tls_with(adjust: impl FnOnce(&mut Config)) -> Self {
        Self::start_inner(true, adjust).await
    }

    async fn start_inner(tls: bool, adjust: impl FnOnce(&mut Config)) -> Self {
        let smtp = SmtpSink::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = base_config(dir.path(), smtp.port());
        let mut client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
        if tls {
            let (tls_config, cert_der) = write_self_signed(dir.path(), "tls");
            config.server.tls = Some(tls_config);
            client =
                client.tls_certs_only([reqwest::Certificate::from_der(&cert_der).expect("cert")]);
        }
        if let Some(url) = postgres_backend().await {
            config.database.url = Some(url);
        }
        adjust(&mut config);
        let clock = Arc::new(ManualClock::new(START_MS));
        let mut app = TestApp {
            base: String::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            client: client.build().expect("client"),
            smtp,
            dir,
            clock,
            state: None,
            config,
            shutdown: None,
            task: None,
            tls: None,
            background: None,
            ops_base: None,
            ops_task: None,
            admin_base: None,
            admin_task: None,
        };
        app.boot().await;
        app
    }

    async fn boot(&mut self) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        self.boot_on(listener).await;
    }

    async fn boot_on(&mut self, listener: tokio::net::TcpListener) {
        self.addr = listener.local_addr().expect("addr");
        self.tls =
            self.config.server.tls.as_ref().map(|c| {
                Arc::new(oxident::tls::Tls::load(c).expect("TLS certificate and key load"))
            });
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        self.base = format!("{scheme}://{}", self.addr);
        self.config.server.public_base_url = self.base.clone();
        let store: Arc<dyn Store> = match &self.config.database.url {
            Some(url) => Arc::new(PostgresStore::open(url).await.expect("open store")),
            None => Arc::new(
                SqliteStore::open(&self.config.storage.sqlite_path)
                    .await
                    .expect("open store"),
            ),
        };
        // With `email.smtp` removed the server writes mails into the outbox folder, as it does
        // for a newcomer running it with no configuration.
        let mailer: Arc<dyn oxident::mail::Mailer> = match &self.config.email.smtp {
            Some(smtp) => Arc::new(SmtpMailer::new(smtp).expect("smtp mailer")),
            None => Arc::new(oxident::mail::DirectoryMailer::new(
                self.config.email.outbox_dir.clone(),
            )),
        };
        let state = AppState::assemble(Parts {
            config: self.config.clone(),
            store,
            mailer,
            keys: vec![test_key()],
            clock: self.clock.clone(),
            random: Arc::new(DeterministicRandom::new(42)),
            ops: Default::default(),
        })
        .expect("assemble state");
        let state = Arc::new(state);
        self.state = Some(state.clone());
        if self.config.metrics.bind.is_some() {
            let ops = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the operator listener");
            self.ops_base = Some(format!("http://{}", ops.local_addr().expect("addr")));
            let serving =
                oxident::ops::listener::serve(ops, state.ops.clone(), std::future::pending::<()>());
            self.ops_task = Some(AbortOnDrop(tokio::spawn(serving)));
        }
        if self.config.admin.bind.is_some() {
            let admin = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind the admin listener");
            self.admin_base = Some(format!("http://{}", admin.local_addr().expect("addr")));
            let serving = oxident::serve::serve_with_tls(
                admin,
                oxident::admin_app(state.clone()),
                oxident::stall_period(&state.config),
                None,
                std::future::pending::<()>(),
            );
            self.admin_task = Some(AbortOnDrop(tokio::spawn(async move {
                let _ = serving.await;
            })));
        }
        let (tx, rx) = oneshot::channel::<()>();
        self.background = Some(oxident::spawn_background(state.clone()));
        let stall = oxident::stall_period(&state.config);
        let app = oxident::app(state);
        let tls = self.tls.clone();
        // With the operator listener on, the caps of `[server]` and their counter, as
        // `serve_on` wires them (the metrics read it); else none, as most tests need.
        let limits = if self.config.metrics.bind.is_some() {
            oxident::connection_caps(&self.config, None)
        } else {
            oxident::connection_limits::ConnectionLimits::unlimited()
        };
        let counter = oxident::connection_limits::ConnectionCounter::new(limits);
        if let Some(state) = &self.state {
            state.ops.metrics.watch_connections(counter.clone());
        }
        self.task = Some(tokio::spawn(async move {
            let _ = oxident::serve::serve_counted(listener, app, stall, tls, counter, async {
                let _ = rx.await;
            })
            .await;
        }));
        self.shutdown = Some(tx);
    }

    /// Stops the server and starts a new one on the same data folder (a restart).
    pub async fn restart(&mut self) {
        self.background = None;
        self.ops_task = None;
        self.admin_task = None;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.state = None;
        self.boot().await;
    }

    /// A restart on the same address, as a real deployment restarts: what the server
    /// handed out before (a homeserver's `key_validity_url`s, its `id_server`) stays valid.
    pub async fn restart_in_place(&mut self) {
        self.background = None;
        self.ops_task = None;
        self.admin_task = None;
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.state = None;
        // The old listener is closed once the serve task has ended; the port is free again
        // at once (the listener sets SO_REUSEADDR), but allow a moment all the same.
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                Err(e) => panic!("cannot listen on {} again: {e}", self.addr),
            }
        };
        self.boot_on(listener).await;
    }

    pub fn state(&self) -> &AppState {
        self.state.as_deref().expect("server is running")
    }

    /// The running state, shared (to build an `App` and call it without a socket).
    pub fn shared_state(&self) -> Arc<AppState> {
        self.state.clone().expect("server is running")
    }

    pub fn store(&self) -> &dyn Store {
        self.state().store.as_ref()
    }

    /// Registers `user_id` directly in storage and returns a token for it.
    pub async fn token_for(&self, user_id: &str) -> String {
        let token = format!("tok_{}", user_id.trim_start_matches('@').replace(':', "_"));
        self.store()
            .create_access_token(&token, &user(user_id), at(START_MS))
            .await
            .expect("create token");
        token
    }

    /// Sends a request for operation `op` and checks the answer against the spec.
    pub async fn call(
        &self,
        op: &str,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
        token: Option<&str>,
    ) -> Reply {
        self.call_at(&self.base, op, method, path_and_query, body, token)
            .await
    }

    /// [`call`](Self::call) to the listener at `base`.
    async fn call_at(
        &self,
        base: &str,
        op: &str,
        method: &str,
        path_and_query: &str,
        body: Option<Value>,
        bearer: Option<&str>,
    ) -> Reply {
        let url = format!("{base}{path_and_query}");
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, &url);
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let reply = read_reply(resp).await;
        check_against_spec(op, &reply);
        reply
    }

    /// As [`post`](Self::post), from the loopback source address `from` (any 127/8 address
    /// reaches the server), so the server sees another client.
    pub async fn post_from(
        &self,
        from: std::net::IpAddr,
        op: &str,
        path: &str,
        body: Value,
    ) -> Reply {
        let client = reqwest::Client::builder()
            .local_address(from)
            .build()
            .expect("client");
        let resp = client
            .post(format!("{}{}", self.base, path))
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let reply = read_reply(resp).await;
        check_against_spec(op, &reply);
        reply
    }

    /// Sends a request for admin operation `op` to the admin listener (with `secret` as the
    /// bearer, if given) and checks the answer against the spec. `path` is below
    /// `/_matrix/identity/internal`.
    pub async fn admin(
        &self,
        op: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        secret: Option<&str>,
    ) -> Reply {
        let base = self
            .admin_base
            .as_deref()
            .expect("[admin] bind is configured");
        let path = format!("/_matrix/identity/internal{path}");
        self.call_at(base, op, method, &path, body, secret).await
    }

    pub async fn get(&self, op: &str, path_and_query: &str, token: Option<&str>) -> Reply {
        self.call(op, "GET", path_and_query, None, token).await
    }

    pub async fn post(&self, op: &str, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.call(op, "POST", path, Some(body), token).await
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Writes a fresh self-signed certificate for `localhost` and `127.0.0.1` and its key as
/// `<stem>_cert.pem` / `<stem>_key.pem` in `dir`; returns the `[server.tls]` section naming
/// them and the certificate's DER bytes.
pub fn write_self_signed(dir: &std::path::Path, stem: &str) -> (oxident::tls::TlsConfig, Vec<u8>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("generate a self-signed certificate");
    let cert_path = dir.join(format!("{stem}_cert.pem"));
    let key_path = dir.join(format!("{stem}_key.pem"));
    std::fs::write(&cert_path, pem("CERTIFICATE", cert.der())).expect("write cert");
    std::fs::write(&key_path, pem("PRIVATE KEY", &signing_key.serialize_der())).expect("write key");
    (
        oxident::tls::TlsConfig {
            cert_path,
            key_path,
        },
        cert.der().to_vec(),
    )
}

/// PEM armour (RFC 7468) around DER bytes; rcgen's own needs a feature we do not build.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

pub async fn read_reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// Every JSON answer must match the schema documented for its operation and status; an
/// undocumented error status must still be a Matrix error object.
pub fn check_against_spec(op: &str, reply: &Reply) {
    let info = oxident_api::validate::operation(op)
        .unwrap_or_else(|| panic!("test names unknown operation {op}"));
    let is_html = reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if is_html || reply.status == 302 {
        assert!(
            info.documents_status(reply.status),
            "{op}: status {} is not documented",
            reply.status
        );
        return;
    }
    let ct = reply
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    assert!(
        ct.starts_with("application/json"),
        "{op}: status {} answered with content-type {ct:?}: {}",
        reply.status,
        reply.text
    );
    match info.response_validator(reply.status) {
        Some(validate) => {
            if let Err(errors) = validate(&reply.json) {
                panic!(
                    "{op}: {} response does not match the spec:\n{errors}\nbody: {}",
                    reply.status, reply.text
                );
            }
        }
        None => {
            assert!(
                reply.status >= 400,
                "{op}: success status {} is not documented",
                reply.status
            );
            assert!(
                reply.json["errcode"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("M_"))
                    && reply.json["error"].is_string(),
                "{op}: undocumented status {} without a Matrix error body: {}",
                reply.status,
                reply.text
            );
        }
    }
    if reply.status >= 400 {
        assert!(
            reply.json["error"].is_string(),
            "{op}: error without an `error` text: {}",
            reply.text
        );
    }
}

/// The `.eml` files in the outbox folder, oldest first.
pub fn outbox(app: &TestApp) -> Vec<String> {
    let mut files: Vec<_> = std::fs::read_dir(&app.config.email.outbox_dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    files
        .iter()
        .map(|p| std::fs::read_to_string(p).expect("read mail"))
        .collect()
}

/// Extracts the first `token=` value from a validation mail.
pub fn token_from_mail(text: &str) -> String {
    let i = text.find("token=").expect("mail contains a token link") + "token=".len();
    text[i..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The instant `ms` milliseconds after the epoch, as the store takes times.
pub fn at(ms: i64) -> oxident::domain::Timestamp {
    oxident::domain::Timestamp::from_millis(ms)
}

/// `id` as the store takes a Matrix user ID.
pub fn user(id: &str) -> oxident::domain::UserId {
    oxident::domain::UserId::parse(id).expect("a user ID")
}

/// `s` as the store takes a session id.
pub fn sid(s: &str) -> oxident::domain::Sid {
    oxident::domain::Sid::parse(s).expect("a sid")
}
