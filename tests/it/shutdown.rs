//! SIGTERM under load, against the real binary: every request is answered or refused
//! cleanly, the process exits 0 once drained, and every acknowledged session is still there
//! after a restart. On SQLite, and on PostgreSQL in the suite's PostgreSQL run.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

struct Server {
    child: Child,
    base: String,
    ops: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The server's configuration: SQLite in `dir`, or with `TEST_BACKEND=postgres` a fresh
/// PostgreSQL database (the suite's backend switch, as `TestApp` has it).
async fn write_config(dir: &std::path::Path) -> (std::path::PathBuf, SocketAddr, SocketAddr) {
    let database = match crate::common::postgres_backend().await {
        Some(url) => format!("[database]\nurl = \"{url}\"\n"),
        None => String::new(),
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let ops = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let d = dir.display();
    let config = format!(
        r#"
[server]
bind = "{addr}"
server_name = "{addr}"
public_base_url = "http://{addr}"
shutdown_grace = "10s"
[storage]
sqlite_path = "{d}/oxident.sqlite"
[keys]
signing_key_path = "{d}/signing.key"
[email]
outbox_dir = "{d}/outbox"
[ratelimit]
request_token_per_ip_per_minute = 1000000
request_token_per_address_per_hour = 1000000
[metrics]
bind = "{ops}"
{database}"#
    );
    let path = dir.join("oxident.toml");
    std::fs::write(&path, config).expect("write config");
    (path, addr, ops)
}

async fn start(config: &std::path::Path, addr: SocketAddr, ops: SocketAddr) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_oxident"))
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn oxident");
    let server = Server {
        child,
        base: format!("http://{addr}"),
        ops: format!("http://{ops}"),
    };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ready = client.get(format!("{}/ready", server.ops)).send().await;
        if ready.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        assert!(Instant::now() < deadline, "the server never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One acknowledged `requestToken`.
#[derive(Debug, Clone)]
struct Acknowledged {
    sid: String,
    client_secret: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, addr, ops) = write_config(dir.path()).await;
    let mut server = start(&config, addr, ops).await;
    let url = format!(
        "{}/_matrix/identity/api/v1/validate/email/requestToken",
        server.base
    );
    let acknowledged = Arc::new(Mutex::new(Vec::<Acknowledged>::new()));
    let refused = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut clients = Vec::new();
    for c in 0..8 {
        let url = url.clone();
        let acknowledged = acknowledged.clone();
        let refused = refused.clone();
        clients.push(tokio::spawn(async move {
            // A new connection per request: then a closed connection can only mean a request
            // cut off, never the keep-alive race of a request sent as an idle connection closes.
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .expect("client");
            for n in 0.. {
                let secret = format!("secret{c}x{n}");
                let sent = client
                    .post(&url)
                    .json(&serde_json::json!({
                        "client_secret": secret,
                        "email": format!("user{c}x{n}@example.org"),
                        "send_attempt": 1,
                    }))
                    .send()
                    .await;
                let response = match sent {
                    Ok(response) => response,
                    Err(e) => {
                        // Refused: the server read no request.
                        assert!(e.is_connect(), "a request was cut off: {e:?}");
                        refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if refused.load(std::sync::atomic::Ordering::Relaxed) > 50 {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        continue;
                    }
                };
                let status = response.status().as_u16();
                let body: serde_json::Value = response.json().await.expect("every answer is JSON");
                if status == 200 {
                    let sid = body["sid"].as_str().expect("a sid").to_owned();
                    acknowledged.lock().expect("lock").push(Acknowledged {
                        sid,
                        client_secret: secret,
                    });
                } else {
                    // A refusal must be a Matrix error, never a half-answer.
                    assert!(body["errcode"].is_string(), "{status}: {body}");
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = acknowledged.lock().expect("lock").len();
    assert!(before > 0, "no request was answered before SIGTERM");
    let pid = server.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM");
    for client in clients {
        client.await.expect("client task");
    }
    let acknowledged = acknowledged.lock().expect("lock").clone();
    drop(server);

    // Every session the server acknowledged is there after a restart.
    let server = start(&config, addr, ops).await;
    let client = reqwest::Client::new();
    for a in &acknowledged {
        let r = client
            .get(format!(
                "{}/_matrix/identity/api/v1/3pid/getValidated3pid?sid={}&client_secret={}",
                server.base, a.sid, a.client_secret
            ))
            .send()
            .await
            .expect("answer");
        let body: serde_json::Value = r.json().await.expect("JSON");
        assert_eq!(
            body["errcode"], "M_SESSION_NOT_VALIDATED",
            "session {} after restart: {body}",
            a.sid
        );
    }
    assert!(acknowledged.len() >= before);
    eprintln!(
        "acknowledged {} ({before} before SIGTERM), refused {}",
        acknowledged.len(),
        refused.load(std::sync::atomic::Ordering::Relaxed)
    );
}
