//! A fake SMS gateway on loopback (plain HTTP) that records every request it receives —
//! path, `Authorization` header, JSON body — and answers `202` with a `Location` (as
//! OpenMarket does), or the status set by [`FakeSmsGateway::fail_with`], after the delay set
//! by [`FakeSmsGateway::delay_ms`].

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub authorization: Option<String>,
    /// Every header (lower-case name → value).
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
    /// The status the fake answered.
    pub answered: u16,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    /// 0: accept; otherwise the status to answer.
    fail_status: AtomicU16,
    /// Milliseconds to wait before answering.
    delay_ms: std::sync::atomic::AtomicU64,
}

pub struct FakeSmsGateway {
    pub port: u16,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeSmsGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeSmsGateway {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake gateway");
        let port = listener.local_addr().expect("addr").port();
        let shared = Arc::new(Shared::default());
        let state = shared.clone();
        let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
            let state = state.clone();
            async move {
                let delay = state.delay_ms.load(Ordering::SeqCst);
                if delay > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                }
                let fail = state.fail_status.load(Ordering::SeqCst);
                let answered = if fail == 0 { 202 } else { fail };
                let received = Received {
                    path: uri.path().to_owned(),
                    authorization: headers
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                    headers: headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
                        .collect(),
                    body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
                    answered,
                };
                if let Ok(mut r) = state.received.lock() {
                    r.push(received);
                }
                let status = StatusCode::from_u16(answered).unwrap_or(StatusCode::BAD_GATEWAY);
                (
                    status,
                    [("location", "https://gateway.test/sms/v4/mt/req-1")],
                    "{}",
                )
            }
        });
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { port, shared, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every request received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.shared
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Answer every following request with `status` (0: accept again).
    pub fn fail_with(&self, status: u16) {
        self.shared.fail_status.store(status, Ordering::SeqCst);
    }

    /// Answer every following request only after `ms` milliseconds.
    pub fn delay_ms(&self, ms: u64) {
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// The text of the last request: OpenMarket's `mobileTerminate.message.content`, else a
    /// webhook body's `text`.
    pub fn last_text(&self) -> String {
        let last = self
            .received()
            .pop()
            .expect("the gateway received a request");
        last.body["mobileTerminate"]["message"]["content"]
            .as_str()
            .or_else(|| last.body["text"].as_str())
            .expect("a text in the request")
            .to_owned()
    }

    /// The code in the last text: its last run of digits.
    pub fn last_code(&self) -> String {
        let text = self.last_text();
        let digits: Vec<&str> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|s| !s.is_empty())
            .collect();
        digits.last().expect("a code in the text").to_string()
    }
}
