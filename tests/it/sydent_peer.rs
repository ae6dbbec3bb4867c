//! The real sydent (PyPI `matrix-sydent`, run from the venv `scripts/peer-venv.sh` makes) as a
//! peer of the tests: a process on a loopback port with its own folder, killed when the
//! guard is dropped (a panicking test too). And the real `oxident` binary, likewise.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The command that makes the venv (also in `.ci/run`).
pub const VENV_COMMAND: &str = "PEER_SYDENT_VENV=$(scripts/peer-venv.sh sydent 'matrix-sydent==2.6.1' 'prometheus-client==0.26.0')";

/// The venv holding sydent 2.6.1, from `PEER_SYDENT_VENV`. Without one the test is
/// skipped with a line saying how to enable it — except in CI, where it fails.
pub fn venv(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PEER_SYDENT_VENV")
        .map(PathBuf::from)
        .filter(|v| v.join("bin/python").is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: PEER_SYDENT_VENV must name a venv with sydent in CI ({VENV_COMMAND})"
        );
        eprintln!("SKIPPED {test}: no sydent venv; to run it: export {VENV_COMMAND}");
    }
    found
}

/// A free loopback port (bound, then released for the peer to take).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// Kills the child on drop.
pub struct Peer {
    child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// Stops the process now (sydent must have closed its database before it is read).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits (at most 60 s) until `path` answers 200.
    async fn wait_ready(&mut self, path: &str) {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{}{path}", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "peer exited ({status}) before answering; log:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "peer did not answer within 60 s; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// sydent's signing key in its own format, fixed so answers can be compared.
pub const SYDENT_KEY: &str = "ed25519 0 CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk";
pub const SYDENT_SERVER_NAME: &str = "sydent.test";

/// Templates for sydent that make tokens easy to read from the mails.
pub fn write_sydent_templates(root: &Path) {
    let brand = root.join("matrix-org");
    std::fs::create_dir_all(&brand).expect("template folder");
    // Every variable both servers document, one `name=value` line each.
    std::fs::write(
        brand.join("verification_template.eml.j2"),
        "From: {{ from|safe }}\nTo: {{ to|safe }}\nSubject: {{ subject_header_value|safe }}\n\
         Message-ID: {{ messageid|safe }}\n\ntoken={{ token }}\nlink={{ link|safe }}\n\
         ipaddress={{ ipaddress }}\nto={{ to }}\n",
    )
    .expect("template");
    std::fs::write(
        brand.join("invite_template.eml.j2"),
        "From: {{ from|safe }}\nTo: {{ to|safe }}\nSubject: {{ subject_header_value|safe }}\n\
         Message-ID: {{ messageid|safe }}\n\ntoken={{ token }}\n\
         private_key={{ ephemeral_private_key }}\nroom={{ room_name }}\n\
         bracketed_room_name={{ bracketed_room_name }}\nroom_id={{ room_id }}\n\
         sender={{ sender }}\nsender_display_name={{ sender_display_name }}\n\
         bracketed_verified_sender={{ bracketed_verified_sender }}\n\
         web_client_location={{ web_client_location }}\nroom_type={{ room_type }}\n\
         room_avatar_url={{ room_avatar_url }}\nsender_avatar_url={{ sender_avatar_url }}\n\
         guest_user_id={{ guest_user_id }}\nextra={{ extra_param }}\n",
    )
    .expect("template");
    std::fs::write(
        brand.join("verify_response_template.html"),
        "<html><body><p>%(message)s</p></body></html>\n",
    )
    .expect("template");
    // sydent's older `%` templates (`.eml`, no `.j2`), with the `_forhtml`/`_forurl` twins.
    let legacy = root.join("legacy");
    std::fs::create_dir_all(&legacy).expect("template folder");
    std::fs::write(
        legacy.join("verification_template.eml"),
        "From: %(from)s\nTo: %(to)s\nSubject: Legacy check\nMessage-ID: %(messageid)s\n\n\
         token=%(token)s\nlink=%(link)s\nlink_forhtml=%(link_forhtml)s\n\
         link_forurl=%(link_forurl)s\nipaddress=%(ipaddress)s\npercent=100%%\n",
    )
    .expect("template");
    std::fs::write(
        legacy.join("invite_template.eml"),
        "From: %(from)s\nTo: %(to)s\nSubject: %(subject_header_value)s\n\
         Message-ID: %(messageid)s\n\ntoken=%(token)s\nprivate_key=%(ephemeral_private_key)s\n\
         room=%(room_name)s\nroom_forhtml=%(room_name_forhtml)s\n\
         web_client_forurl=%(web_client_location_forurl)s\nsender=%(sender)s\n",
    )
    .expect("template");
    std::fs::write(
        legacy.join("verify_response_template.html"),
        "<p>%(message)s</p>\n",
    )
    .expect("template");
}

pub struct SydentOptions<'a> {
    pub smtp_port: u16,
    /// Extra `key = value` lines per section (`general`, `http`, `email`, …).
    pub extra: &'a [(&'a str, &'a str)],
}

/// Starts sydent in `dir` (its database is `dir/sydent.db`) and waits until it answers.
pub async fn start_sydent(venv: &Path, dir: &Path, options: &SydentOptions<'_>) -> Peer {
    let port = free_port();
    let templates = dir.join("res");
    write_sydent_templates(&templates);
    let section = |name: &str| -> String {
        options
            .extra
            .iter()
            .filter(|(s, _)| *s == name)
            .map(|(_, line)| format!("{line}\n"))
            .collect()
    };
    let conf = format!(
        "[general]\nserver.name = {SYDENT_SERVER_NAME}\ntemplates.path = {templates}\n\
         ip.whitelist = 127.0.0.0/8\n{general}\
         [db]\ndb.file = {db}\n\
         [http]\nclientapi.http.bind_address = 127.0.0.1\nclientapi.http.port = {port}\n\
         federation.verifycerts = false\nclient_http_base = http://127.0.0.1:{port}\n{http}\
         [email]\nemail.smtphost = 127.0.0.1\nemail.smtpport = {smtp}\n\
         email.from = Sydent <noreply@sydent.test>\nemail.hostname = sydent.test\n{email}\
         [crypto]\ned25519.signingkey = {SYDENT_KEY}\n",
        templates = templates.display(),
        db = dir.join("sydent.db").display(),
        smtp = options.smtp_port,
        general = section("general"),
        http = section("http"),
        email = section("email"),
    );
    std::fs::write(dir.join("sydent.conf"), conf).expect("sydent.conf");
    let log = dir.join("sydent.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(venv.join("bin/python"))
        .args(["-m", "sydent.sydent"])
        .current_dir(dir)
        .env("SYDENT_CONF", dir.join("sydent.conf"))
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start sydent");
    let mut peer = Peer {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    peer.wait_ready("/_matrix/identity/api/v1").await;
    peer
}

/// Runs the `oxident` binary with `args` and the configuration file `config`.
pub fn oxident(config: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oxident"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run oxident");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs the `oxident` binary with `args` only, and `env` set.
pub fn oxident_with_env(args: &[&str], env: &[(&str, &Path)]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_oxident"));
    command.args(args);
    for (name, value) in env {
        command.env(name, value);
    }
    let out = command.output().expect("run oxident");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Starts `oxident` serving with `config` on `port` and waits until it answers.
pub async fn start_oxident(config: &Path, port: u16, dir: &Path) -> Peer {
    let log = dir.join("oxident.log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_oxident"))
        .arg("--config")
        .arg(config)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start oxident");
    let mut peer = Peer {
        child,
        base: format!("http://127.0.0.1:{port}"),
        log,
    };
    peer.wait_ready("/_matrix/identity/api/v1").await;
    peer
}
