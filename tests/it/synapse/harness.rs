//! A real Synapse (PyPI `matrix-synapse`, from the venv `.ci/run` builds with
//! `scripts/peer-venv.sh synapse …`) on loopback, for the tests in `synapse.rs`.
//!
//! One TLS listener serves client, federation and key APIs with a fresh self-signed
//! certificate; the database is SQLite in a temp folder; Synapse's outbound HTTP may reach
//! loopback only (`ip_range_blacklist` everything, `ip_range_whitelist` loopback) and it
//! trusts no key server. The process is killed on drop, and, for the instance shared by the
//! whole test binary (which statics never drop), when the test binary exits: a watcher thread
//! in the Python process ends it once its stdin — a pipe from this process — closes.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The version `.ci/run` installs (the newest 1.163.x on PyPI when this was written).
pub const SYNAPSE_PACKAGE: &str = "matrix-synapse==1.163.2";

/// How long Synapse may take to answer `/_matrix/client/versions` after it was started.
const READY_WITHIN: Duration = Duration::from_secs(90);

/// The Synapse venv: `PEER_SYNAPSE_VENV`, else the peer-venv script's default place.
/// `None` (the test is skipped, with one line saying how to enable it) when there is none,
/// unless `CI` is set: CI must never skip these tests.
pub fn venv_or_skip(test: &str) -> Option<PathBuf> {
    let venv = match std::env::var_os("PEER_SYNAPSE_VENV") {
        Some(v) if !v.is_empty() => Some(PathBuf::from(v)),
        _ => {
            let root = std::env::var_os("PEER_VENV_DIR")
                .map(PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/oxident/peers"))
                });
            root.map(|r| r.join("synapse"))
        }
    };
    if let Some(v) = venv.filter(|v| v.join("bin/python").is_file()) {
        return Some(v);
    }
    let how =
        format!("scripts/peer-venv.sh synapse '{SYNAPSE_PACKAGE}' (or set PEER_SYNAPSE_VENV)");
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!("{test}: no Synapse venv, and CI must not skip the Synapse tests; run {how}");
    }
    // Straight to stderr: libtest captures `eprintln!` of passing tests, and this line is
    // for whoever runs `cargo test` without the venv.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED {test}: no Synapse venv; to run it: {how}"
    );
    None
}

pub struct Synapse {
    pub port: u16,
    /// `localhost:<port>`: user IDs end in it, and Oxident reaches the homeserver by it.
    pub server_name: String,
    dir: tempfile::TempDir,
    venv: PathBuf,
    child: Mutex<Option<Child>>,
}

/// A user registered on the homeserver.
#[derive(Debug, Clone)]
pub struct HsUser {
    pub user_id: String,
    pub token: String,
}

/// A client that accepts Synapse's self-signed certificate; one per test, since a client's
/// pooled connections belong to the runtime that opened them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .tls_danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// The shared instance, or why it did not start (remembered, so the other tests fail at
/// once instead of each waiting for a start-up of its own).
static SHARED: tokio::sync::OnceCell<Result<Synapse, String>> = tokio::sync::OnceCell::const_new();

/// The Synapse shared by every test of this binary, started on first use.
pub async fn shared(test: &str) -> Option<&'static Synapse> {
    let venv = venv_or_skip(test)?;
    match SHARED.get_or_init(|| Synapse::try_start(venv)).await {
        Ok(hs) => Some(hs),
        Err(why) => panic!("the shared Synapse did not start: {why}"),
    }
}

/// Python run instead of `python -m synapse.app.homeserver`: the same module as `__main__`,
/// plus a thread that ends the process when stdin closes (the test binary is gone).
const WRAPPER: &str = r#"
import os, runpy, sys, threading
def watch():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=watch, daemon=True).start()
sys.argv = ["synapse.app.homeserver", "-c", sys.argv[1]]
runpy.run_module("synapse.app.homeserver", run_name="__main__", alter_sys=True)
"#;

impl Synapse {
    /// Writes the config, certificate and signing key, starts Synapse and waits until it
    /// answers.
    pub async fn start(venv: PathBuf) -> Self {
        Self::try_start(venv)
            .await
            .unwrap_or_else(|why| panic!("{why}"))
    }

    async fn try_start(venv: PathBuf) -> Result<Self, String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let server_name = format!("localhost:{port}");
        write_config(dir.path(), port, &server_name);
        let hs = Synapse {
            port,
            server_name,
            dir,
            venv,
            child: Mutex::new(None),
        };
        let status = Command::new(hs.python())
            .args(["-m", "synapse.app.homeserver", "--generate-keys", "-c"])
            .arg(hs.config_path())
            .current_dir(hs.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run synapse --generate-keys");
        if !status.status.success() {
            return Err(format!(
                "synapse --generate-keys failed:\n{}\n{}",
                String::from_utf8_lossy(&status.stdout),
                String::from_utf8_lossy(&status.stderr)
            ));
        }
        hs.try_start_again().await?;
        Ok(hs)
    }

    fn python(&self) -> PathBuf {
        self.venv.join("bin/python")
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("homeserver.yaml")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("homeserver.log")
    }

    pub fn base(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the process on the same config and database; waits until it answers.
    pub async fn start_again(&self) {
        self.try_start_again()
            .await
            .unwrap_or_else(|why| panic!("{why}"));
    }

    async fn try_start_again(&self) -> Result<(), String> {
        let stdout = std::fs::File::create(self.dir.path().join("stdout.log")).expect("stdout");
        let stderr = stdout.try_clone().expect("stderr");
        let child = Command::new(self.python())
            .arg("-c")
            .arg(WRAPPER)
            .arg(self.config_path())
            .current_dir(self.dir.path())
            .env_remove("http_proxy")
            .env_remove("https_proxy")
            .env_remove("HTTP_PROXY")
            .env_remove("HTTPS_PROXY")
            .stdin(Stdio::piped())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("start synapse");
        *self.lock() = Some(child);
        self.wait_ready().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn wait_ready(&self) -> Result<(), String> {
        let client = client();
        let url = format!("{}/_matrix/client/versions", self.base());
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            let exited = self
                .lock()
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(format!(
                    "synapse exited during start-up ({status}):\n{}\n{}",
                    self.tail(&self.dir.path().join("stdout.log"), 0),
                    self.tail(&self.log_path(), 0)
                ));
            }
            if let Ok(r) = client.get(&url).send().await
                && r.status().is_success()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err(format!(
                    "synapse did not answer {url} within {READY_WITHIN:?}:\n{}",
                    self.tail(&self.log_path(), 0)
                ));
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops the process (SIGKILL: the outage tests want it gone, not drained).
    pub fn stop(&self) {
        if let Some(mut child) = self.lock().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// The log from byte `from` on (the last 60 000 bytes of it at most).
    fn tail(&self, path: &Path, from: u64) -> String {
        let Ok(mut f) = std::fs::File::open(path) else {
            return format!("({} missing)", path.display());
        };
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        let start = from.max(len.saturating_sub(60_000));
        let _ = f.seek(std::io::SeekFrom::Start(start));
        let mut s = String::new();
        let _ = f.read_to_string(&mut s);
        s
    }

    /// A guard that prints what Synapse logged during the test if the test fails.
    pub fn log_on_failure(&self) -> LogOnFailure<'_> {
        let from = std::fs::metadata(self.log_path())
            .map(|m| m.len())
            .unwrap_or(0);
        LogOnFailure { hs: self, from }
    }

    /// Registers a fresh user (`<prefix><n>`, unique within this Synapse) with a password.
    pub async fn register(&self, prefix: &str) -> HsUser {
        static N: AtomicU64 = AtomicU64::new(0);
        let localpart = format!("{prefix}{}", N.fetch_add(1, Ordering::Relaxed));
        let client = client();
        let url = format!("{}/_matrix/client/v3/register", self.base());
        let mut body = json!({"username": localpart, "password": "correct horse battery"});
        let first = client
            .post(&url)
            .json(&body)
            .send()
            .await
            .expect("register");
        let first_status = first.status().as_u16();
        let first: Value = first.json().await.expect("register answer");
        let answer = if first_status == 401 {
            body["auth"] = json!({"type": "m.login.dummy", "session": first["session"]});
            let r = client
                .post(&url)
                .json(&body)
                .send()
                .await
                .expect("register");
            assert_eq!(r.status(), 200, "register {localpart}");
            r.json::<Value>().await.expect("register answer")
        } else {
            assert_eq!(first_status, 200, "register {localpart}: {first}");
            first
        };
        HsUser {
            user_id: answer["user_id"].as_str().expect("user_id").to_owned(),
            token: answer["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
        }
    }

    /// A client-API request as `user`; the status and the JSON answer.
    pub async fn call(
        &self,
        user: &HsUser,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = client()
            .request(method, format!("{}{path}", self.base()))
            .bearer_auth(&user.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.expect("synapse request");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Rows of a query on Synapse's own database (read through the venv's Python), each a
    /// JSON array.
    pub fn sql(&self, query: &str) -> Vec<Value> {
        let out = Command::new(self.python())
            .args([
                "-c",
                "import json, sqlite3, sys\n\
                 db = sqlite3.connect('file:' + sys.argv[1] + '?mode=ro', uri=True)\n\
                 print(json.dumps(db.execute(sys.argv[2]).fetchall()))",
            ])
            .arg(self.dir.path().join("homeserver.db"))
            .arg(query)
            .stdin(Stdio::null())
            .output()
            .expect("run python");
        assert!(
            out.status.success(),
            "query failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let rows: Value = serde_json::from_slice(&out.stdout).expect("json rows");
        rows.as_array().cloned().unwrap_or_default()
    }
}

impl Drop for Synapse {
    fn drop(&mut self) {
        self.stop();
    }
}

pub struct LogOnFailure<'a> {
    hs: &'a Synapse,
    from: u64,
}

impl Drop for LogOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // Without the access log and the tests' own polling: what is left is what
            // Synapse did and said about it.
            let log = self.hs.tail(&self.hs.log_path(), self.from);
            let lines: Vec<&str> = log
                .lines()
                .filter(|l| !l.contains(" - synapse.access.") && !l.contains("Event not found"))
                .collect();
            eprintln!(
                "---- synapse log ({}) during this test ----\n{}\n---- end of synapse log ----",
                self.hs.log_path().display(),
                lines.join("\n")
            );
        }
    }
}

/// Everything Synapse needs in `dir`: `homeserver.yaml`, a logging config, a certificate.
fn write_config(dir: &Path, port: u16, server_name: &str) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("generate a self-signed certificate");
    let d = dir.display();
    std::fs::write(
        dir.join("tls.crt"),
        crate::common::pem("CERTIFICATE", cert.der()),
    )
    .expect("write cert");
    std::fs::write(
        dir.join("tls.key"),
        crate::common::pem("PRIVATE KEY", &signing_key.serialize_der()),
    )
    .expect("write key");
    std::fs::write(
        dir.join("log.yaml"),
        format!(
            r#"version: 1
formatters:
  precise:
    format: '%(asctime)s - %(name)s - %(lineno)d - %(levelname)s - %(message)s'
handlers:
  file:
    class: logging.FileHandler
    formatter: precise
    filename: {d}/homeserver.log
    encoding: utf8
loggers:
  synapse.storage.SQL:
    level: WARNING
  synapse.handlers.identity:
    level: DEBUG
  synapse.handlers.federation:
    level: DEBUG
root:
  level: INFO
  handlers: [file]
disable_existing_loggers: false
"#
        ),
    )
    .expect("write log config");
    // Relaxed rate limits: every test shares this homeserver and registers several users.
    let relaxed = "{per_second: 1000, burst_count: 1000}";
    std::fs::write(
        dir.join("homeserver.yaml"),
        format!(
            r#"server_name: "{server_name}"
public_baseurl: "https://localhost:{port}/"
pid_file: "{d}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: true
    x_forwarded: false
    resources:
      - names: [client, federation, keys]
        compress: false
tls_certificate_path: "{d}/tls.crt"
tls_private_key_path: "{d}/tls.key"
database:
  name: sqlite3
  args:
    database: "{d}/homeserver.db"
log_config: "{d}/log.yaml"
media_store_path: "{d}/media_store"
signing_key_path: "{d}/signing.key"
report_stats: false
macaroon_secret_key: "oxident-test-macaroon-secret"
form_secret: "oxident-test-form-secret"
registration_shared_secret: "oxident-test-registration-secret"
enable_registration: true
enable_registration_without_verification: true
enable_metrics: false
presence:
  enabled: false
url_preview_enabled: false
trusted_key_servers: []
suppress_key_server_warning: true
federation_verify_certificates: false
use_insecure_ssl_client_just_for_testing_do_not_use: true
federation_domain_whitelist: ["{server_name}"]
ip_range_blacklist: ["0.0.0.0/0", "::/0"]
ip_range_whitelist: ["127.0.0.0/8", "::1/128"]
rc_message: {relaxed}
rc_registration: {relaxed}
rc_login:
  address: {relaxed}
  account: {relaxed}
  failed_attempts: {relaxed}
rc_joins:
  local: {relaxed}
  remote: {relaxed}
rc_joins_per_room: {relaxed}
rc_invites:
  per_room: {relaxed}
  per_user: {relaxed}
  per_issuer: {relaxed}
rc_third_party_invite: {relaxed}
rc_3pid_validation: {relaxed}
"#
        ),
    )
    .expect("write homeserver.yaml");
}
