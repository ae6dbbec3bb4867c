//! A PostgreSQL outage (issue 21): while the database cannot be reached, requests that need it
//! are answered `503 M_UNKNOWN` with `Retry-After` at once (not after a stalled wait, not
//! `500`), the store says it is unavailable (for readiness), and service resumes within a
//! second of the database's return.
//!
//! The outage is a TCP relay between the server and the test cluster that is cut (every
//! connection dropped, new ones closed at once) and restored, so the shared cluster keeps
//! serving the other tests. Needs `TEST_POSTGRES_URL`; without it the test prints one SKIPPED
//! line, and fails when `CI` is set.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::common::{Reply, TestApp, fresh_postgres_database};

const V1_REQUEST: &str = "/_matrix/identity/api/v1/validate/email/requestToken";

/// A loopback TCP relay to `target` that can be cut and restored.
struct Relay {
    port: u16,
    up: Arc<AtomicBool>,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

impl Relay {
    async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let up = Arc::new(AtomicBool::new(true));
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn({
            let (up, links) = (up.clone(), links.clone());
            async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if !up.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let target = target.clone();
                    let link = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(&target).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    links.lock().expect("links").push(link);
                }
            }
        });
        Self {
            port,
            up,
            links,
            accept,
        }
    }

    /// Drops every relayed connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().expect("links").drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn request_token(app: &TestApp, n: u32) -> (Reply, Duration) {
    let started = Instant::now();
    let r = app
        .post(
            "emailRequestToken",
            V1_REQUEST,
            json!({"client_secret": format!("outage{n}"), "email": "o@example.org", "send_attempt": 1}),
            None,
        )
        .await;
    (r, started.elapsed())
}

#[tokio::test]
async fn a_database_outage_is_answered_503_at_once_and_ends_within_a_second() {
    let Ok(admin) = std::env::var("TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("CI").is_none_or(|v| v.is_empty()),
            "CI is set but TEST_POSTGRES_URL is not"
        );
        eprintln!("SKIPPED db_outage: no PostgreSQL; to run it: scripts/test-postgres.sh");
        return;
    };
    let database = fresh_postgres_database(&admin, "outage").await;
    let mut url = reqwest::Url::parse(&database).expect("database URL");
    let target = format!(
        "{}:{}",
        url.host_str().expect("host"),
        url.port().unwrap_or(5432)
    );
    let relay = Relay::start(target).await;
    url.set_port(Some(relay.port)).expect("port");
    let app = TestApp::start_with(|c| {
        c.database.url = Some(url.to_string());
        c.metrics.bind = Some("127.0.0.1:0".parse().expect("address"));
    })
    .await;
    let ready = || async {
        let base = app.ops_base.as_deref().expect("operator listener");
        let r = app
            .client
            .get(format!("{base}/ready"))
            .send()
            .await
            .expect("operator listener answers");
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.expect("JSON");
        (status, body)
    };
    let mut n = 0;
    let mut next = || {
        n += 1;
        n
    };

    let (r, _) = request_token(&app, next()).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(app.store().available());
    assert_eq!(ready().await.0, 200);

    relay.cut();
    // The first requests may still meet a dead pooled connection: an error, but never a 500,
    // and never a long stall.
    let deadline = Instant::now() + Duration::from_secs(5);
    let refused = loop {
        let (r, took) = request_token(&app, next()).await;
        assert!(took < Duration::from_millis(3_500), "stalled {took:?}");
        if r.status == 503 {
            break r;
        }
        assert_ne!(r.status, 500, "{}", r.text);
        assert!(
            Instant::now() < deadline,
            "no 503 during the outage: {}",
            r.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(refused.errcode(), "M_UNKNOWN", "{}", refused.text);
    assert!(
        refused.json["retry_after_ms"]
            .as_u64()
            .is_some_and(|ms| ms > 0)
    );
    let retry_after: u64 = refused.headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(retry_after >= 1);

    // Once the health check has noticed (4 times a second), refusals are immediate.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(!app.store().available(), "readiness can see the outage");
    let (status, report) = ready().await;
    assert_eq!(status, 503, "{report}");
    assert_eq!(report["checks"]["store"], "unreachable");
    for _ in 0..3 {
        let (r, took) = request_token(&app, next()).await;
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(took < Duration::from_millis(250), "a refusal took {took:?}");
    }

    relay.restore();
    let back = Instant::now();
    loop {
        let (r, _) = request_token(&app, next()).await;
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 503, "{}", r.text);
        assert!(
            back.elapsed() < Duration::from_secs(1),
            "still refused {:?} after the database came back",
            back.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        back.elapsed() < Duration::from_secs(1),
        "{:?}",
        back.elapsed()
    );
    assert!(app.store().available());
    assert_eq!(
        ready().await.0,
        200,
        "ready again once the database is back"
    );
}
