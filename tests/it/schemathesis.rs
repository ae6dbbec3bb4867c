//! schemathesis (PyPI) against the running server: every operation of the bundled
//! `generated/openapi.json`, all checks, authenticated with a token obtained through a fake
//! homeserver (OpenID → `/v2/account/register`), and it must find nothing. The contract says
//! what the server does, and the server does what the contract says.
//!
//! The venv comes from `scripts/peer-venv.sh` (`.ci/run` exports its path as
//! `PEER_SCHEMATHESIS_VENV` — not `OXIDENT_…`: the configuration reads every `OXIDENT_*` variable
//! and refuses unknown ones). Without it the test is skipped with one line saying how to
//! enable it — unless `CI` is set, where a missing venv fails.
//!
//! Logout runs last, on its own. `tests/schemathesis.toml` says where the Matrix API differs from
//! schemathesis' defaults (a schema-valid request that breaks an API rule is a 400 with an errcode;
//! register's unreachable homeserver is the documented 502).

use crate::common::TestApp;
use crate::fake_homeserver::FakeHomeserver;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const VENV_ENV: &str = "PEER_SCHEMATHESIS_VENV";
const SETUP: &str =
    "export PEER_SCHEMATHESIS_VENV=$(scripts/peer-venv.sh schemathesis 'schemathesis==4.32.5')";
/// The whole run is bounded: schemathesis gets this long, then it is killed and the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(900);

/// The venv's `schemathesis` executable, or `None` (skipped) when not installed outside CI.
fn schemathesis_bin() -> Option<PathBuf> {
    let venv = std::env::var_os(VENV_ENV).map(PathBuf::from);
    let bin = venv
        .map(|v| v.join("bin/schemathesis"))
        .filter(|b| b.is_file());
    if bin.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {VENV_ENV} names no schemathesis venv; run: {SETUP}"
        );
        eprintln!("SKIPPED schemathesis run: {VENV_ENV} is not set; to enable: {SETUP}");
    }
    bin
}

/// Kills the child when the test ends, even by a panic.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs schemathesis with `args` against `base`; returns whether it passed and its output.
async fn run(bin: &Path, base: &str, token: &str, report: &Path, args: &[&str]) -> (bool, String) {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("generated/openapi.json");
    let log = report.with_extension("log");
    let out = std::fs::File::create(&log).expect("log file");
    let err = out.try_clone().expect("log file");
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    let child = Command::new(bin)
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&spec)
        .args([
            "--url",
            base,
            "--checks",
            "all",
            "--workers",
            "1",
            "--seed",
            "1",
        ])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--request-timeout",
            "10",
            "--max-examples",
            "25",
            "--no-color",
        ])
        .args(["--max-failures", "50", "--suppress-health-check", "all"])
        .args(args)
        // Its cache (`.schemathesis/`) goes to the temporary folder, not into the clone.
        .current_dir(report.parent().unwrap_or(Path::new(".")))
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start schemathesis");
    let mut guard = KillOnDrop(child);
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let output = std::fs::read_to_string(&log).unwrap_or_default();
    // The summary, for the record (shown with `--nocapture`).
    let summary = output.find("=== SUMMARY").map_or("", |i| &output[i..]);
    eprintln!("{summary}");
    (status.is_some_and(|s| s.success()), output)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing_on_any_operation() {
    let Some(bin) = schemathesis_bin() else {
        return;
    };
    let hs = FakeHomeserver::start().await;
    let user = format!("@fuzz:{}", hs.server_name());
    hs.issue("openid-fuzz", &user);
    const ADMIN_SECRET: &str = "schemathesis-admin-secret";
    // The admin operations (spec/admin.yaml) are served on their own listener only: tested
    // there, with the admin secret; the client port is tested without them.
    let app = TestApp::start_with(|c| {
        c.admin.bind = Some("127.0.0.1:0".parse().expect("address"));
        c.admin.secret = Some(oxident::ops::admin::AdminSecret::new(ADMIN_SECRET));
    })
    .await;
    let body = json!({"access_token": "openid-fuzz", "matrix_server_name": hs.server_name()});
    let r = app
        .post(
            "registerAccount",
            "/_matrix/identity/v2/account/register",
            body,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let token = r.json["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();

    let reports = tempfile::tempdir().expect("tmp");
    // Logging out ends the token every other operation is tested with: it runs on its own,
    // after the others.
    let (passed, output) = run(
        &bin,
        &app.base,
        &token,
        &reports.path().join("all"),
        &[
            "--exclude-path-regex",
            "(/account/logout$|^/_matrix/identity/internal/)",
        ],
    )
    .await;
    assert!(passed, "schemathesis found problems:\n{output}");
    let (passed, output) = run(
        &bin,
        app.admin_base.as_deref().expect("admin listener"),
        ADMIN_SECRET,
        &reports.path().join("admin"),
        &["--include-path-regex", "^/_matrix/identity/internal/"],
    )
    .await;
    assert!(
        passed,
        "schemathesis found problems on the admin listener:\n{output}"
    );
    let (passed, output) = run(
        &bin,
        &app.base,
        &token,
        &reports.path().join("logout"),
        &["--include-path-regex", "/account/logout$"],
    )
    .await;
    assert!(passed, "schemathesis found problems with logout:\n{output}");
}
