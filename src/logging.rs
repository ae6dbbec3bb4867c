//! Logs: the subscriber (filter and format from `[logging]`), and the request a log line
//! belongs to.
//!
//! Every line logged while a request is handled carries that request's id, method and path
//! (never its query string: it can hold client secrets and access tokens). They come from the
//! [`RequestInfo`] that `http.rs` puts in place while it polls the request's future
//! ([`with_request`], a task-local in effect), and are added when a line is written.
//!
//! A tracing span per request would do the same, but the fmt subscriber formats a span's
//! fields when the span is *created* — for every request, although most requests log nothing:
//! measured at about 8 % of the CPU time of a status request (docs/benchmarks.md). Here a
//! request that logs nothing pays for two swaps of a thread-local per poll.
//!
//! A text line ends with `request{id=… method=… path=…}`; a JSON line carries a `"request"` object.
//! 5xx answers are logged at `error`, every answer with its latency at `debug`; a 502 (a homeserver
//! the client named failed) and a client's bad `matrix_server_name` at `debug` only, since
//! unauthenticated clients choose them. This replaced tower-http's `TraceLayer`. The `RequestInfo`
//! is boxed, so each poll moves a pointer, and the thread-local is restored on unwind too. The
//! request id is made once and moved onto the response after the request's last log line; it is not
//! copied into the request. Filters made of `target=level` directives use `Targets` (no regex
//! engine at start-up or per event); anything richer falls back to `EnvFilter`.

use std::cell::RefCell;
use std::str::FromStr as _;

use http::{HeaderValue, Method, Uri};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::{LogFormat, LoggingConfig};

/// The request being handled, as log lines show it.
#[derive(Debug, Clone)]
pub struct RequestInfo {
    pub id: Option<HeaderValue>,
    pub method: Method,
    /// The request target; only its path is ever written.
    pub uri: Uri,
}

thread_local! {
    /// The request whose future this thread is polling, if any. Boxed, so that putting it in
    /// place and taking it back at every poll moves a pointer, not the request's head.
    static CURRENT: RefCell<Option<Box<RequestInfo>>> = const { RefCell::new(None) };
}

/// Runs `f` (a poll of a request's future) with `info`'s request in scope for log lines,
/// then takes it back into `info` — also when `f` unwinds. A task-local in effect, without
/// wrapping the future (`tokio::task_local!`'s wrapper is not `Unpin`).
pub fn with_request<R>(info: &mut Option<Box<RequestInfo>>, f: impl FnOnce() -> R) -> R {
    let previous = CURRENT.with(|c| c.replace(info.take()));
    let _restore = Restore { info, previous };
    f()
}

/// Runs `f` with the request in scope (inside [`with_request`]), if any.
pub fn current_request<R>(f: impl FnOnce(Option<&RequestInfo>) -> R) -> R {
    CURRENT.with(|c| f(c.borrow().as_deref()))
}

/// Puts the previous value back when the poll ends, also by unwinding.
struct Restore<'a> {
    info: &'a mut Option<Box<RequestInfo>>,
    previous: Option<Box<RequestInfo>>,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let previous = self.previous.take();
        *self.info = CURRENT.with(|c| c.replace(previous));
    }
}

/// Installs the global subscriber. `RUST_LOG`, when set, replaces `config.filter`.
pub fn init(config: &LoggingConfig) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty())
        .unwrap_or_else(|| config.filter.clone());
    // Colour codes only for a terminal: they cost time per line and garble log files.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let (targets, env_filter) = parse_filter(&filter);
    let registry = tracing_subscriber::registry()
        .with(targets)
        .with(env_filter);
    match config.format {
        LogFormat::Json => registry.with(json_layer(std::io::stdout)).init(),
        LogFormat::Text => registry.with(text_layer(std::io::stdout, ansi)).init(),
    }
}

/// A filter of `target=level` directives as [`Targets`], which matches without regular
/// expressions; anything richer (span and field filters) as an [`EnvFilter`]. Exactly one of
/// the two is `Some`.
pub fn parse_filter(text: &str) -> (Option<Targets>, Option<EnvFilter>) {
    match Targets::from_str(text) {
        Ok(targets) => (Some(targets), None),
        Err(_) => (None, Some(EnvFilter::new(text))),
    }
}

/// The human-readable format, with the request appended to lines logged during one.
pub fn text_layer<S, W>(writer: W, ansi: bool) -> impl tracing_subscriber::Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .with_ansi(ansi)
        .with_writer(writer)
        .event_format(WithRequest {
            inner: format::Format::default().with_ansi(ansi),
            json: false,
        })
        .boxed()
}

/// One JSON object per line, with a `request` object on lines logged during one.
pub fn json_layer<S, W>(writer: W) -> impl tracing_subscriber::Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .event_format(WithRequest {
            inner: format::Format::default().json(),
            json: true,
        })
        .boxed()
}

/// Formats with `inner`, then adds the current request (if any) to the line: ` request{id=…
/// method=… path=…}` at the end of a text line, a `"request"` member in a JSON object.
struct WithRequest<F> {
    inner: F,
    json: bool,
}

impl<S, N, F> FormatEvent<S, N> for WithRequest<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let suffix = CURRENT
            .try_with(|c| {
                c.try_borrow()
                    .ok()
                    .and_then(|r| r.as_ref().and_then(|r| request_suffix(r, self.json)))
            })
            .ok()
            .flatten();
        let Some(suffix) = suffix else {
            return self.inner.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.inner
            .format_event(ctx, Writer::new(&mut line), event)?;
        let newline = line.ends_with('\n');
        let body = line.trim_end_matches('\n');
        if self.json {
            match body.strip_suffix('}') {
                Some(open) => {
                    let comma = if open.trim_end().ends_with('{') {
                        ""
                    } else {
                        ","
                    };
                    write!(writer, "{open}{comma}\"request\":{suffix}}}")?;
                }
                None => writer.write_str(body)?,
            }
        } else {
            write!(writer, "{body} {suffix}")?;
        }
        if newline {
            writer.write_char('\n')?;
        }
        Ok(())
    }
}

/// The request as text (`request{id=… method=… path=…}`) or as a JSON object.
fn request_suffix(request: &RequestInfo, json: bool) -> Option<String> {
    let id = request
        .id
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let path = request.uri.path();
    if json {
        serde_json::to_string(&serde_json::json!({
            "id": id,
            "method": request.method.as_str(),
            "path": path,
        }))
        .ok()
    } else {
        Some(format!(
            "request{{id={id:?} method={} path={path:?}}}",
            request.method
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Capture {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf-8")
        }
    }

    fn info() -> RequestInfo {
        RequestInfo {
            id: Some(HeaderValue::from_static("abc-1")),
            method: Method::POST,
            uri: Uri::from_static("/_matrix/identity/v2/lookup?access_token=SECRET"),
        }
    }

    fn log_inside_and_outside(json: bool) -> String {
        let capture = Capture::default();
        let writer = capture.clone();
        let make = move || writer.clone();
        let subscriber = tracing_subscriber::registry().with(if json {
            json_layer(make).boxed()
        } else {
            text_layer(make, false).boxed()
        });
        let _guard = tracing::subscriber::set_default(subscriber);
        tracing::info!(n = 1, "outside");
        let mut request = Some(Box::new(info()));
        with_request(&mut request, || tracing::warn!(n = 2, "inside"));
        assert!(
            request.is_some(),
            "the request is handed back after the poll"
        );
        tracing::info!(n = 3, "after");
        capture.text()
    }

    #[test]
    fn text_lines_name_their_request_without_the_query() {
        let text = log_inside_and_outside(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].ends_with("outside n=1"), "{text}");
        assert!(lines[2].ends_with("after n=3"), "{text}");
        assert!(
            lines[1].ends_with(
                "inside n=2 request{id=\"abc-1\" method=POST path=\"/_matrix/identity/v2/lookup\"}"
            ),
            "{text}"
        );
        assert!(!text.contains("SECRET"));
    }

    #[test]
    fn json_lines_carry_a_request_object() {
        let text = log_inside_and_outside(true);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert_eq!(lines[0].get("request"), None);
        assert_eq!(lines[2].get("request"), None);
        assert_eq!(lines[0]["fields"]["message"], "outside");
        assert_eq!(
            lines[1]["request"],
            serde_json::json!({"id": "abc-1", "method": "POST", "path": "/_matrix/identity/v2/lookup"})
        );
        assert_eq!(lines[1]["fields"]["n"], 2);
        assert!(!text.contains("SECRET"));
    }

    #[test]
    fn simple_filters_need_no_env_filter() {
        for simple in [
            "info",
            "oxident=debug,sqlx=warn",
            "warn,oxident::store=trace",
        ] {
            let (targets, env) = parse_filter(simple);
            assert!(targets.is_some() && env.is_none(), "{simple}");
        }
        let (targets, env) = parse_filter("info,[request{path=/x}]=debug");
        assert!(targets.is_none() && env.is_some());
    }
}
