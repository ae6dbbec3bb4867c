//! Answers made before the app as Matrix JSON.
//!
//! When a request head cannot be parsed (a bad request line, a URI over hyper's limit, header
//! fields too large, a duplicate or invalid `Content-Length`, bytes a URI may not hold) hyper
//! answers by itself — 400, 414 or 431 with an empty body — and closes the connection. It
//! offers no hook for that answer, so the connection's writer recognises it: a response head
//! with an error status and `content-length: 0`, which the app never sends (every answer of
//! the edge carries a JSON body), and writes it again with a Matrix error body. hyper builds
//! that head in `Server::on_error` (`proto/h1/role.rs`), private, with no callback before
//! it is serialised: reading the bytes back (with `httparse`, the parser hyper itself uses)
//! is the one place left to change it.
//!
//! Cost on the hot path: one prefix comparison per write.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::ErrCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection stream whose parse-error answers are rewritten as Matrix JSON.
#[derive(Debug)]
pub struct JsonEarlyErrors<S> {
    inner: S,
    /// A rewritten answer not yet handed to `inner` (the caller was told it was written).
    pending: Vec<u8>,
    sent: usize,
}

impl<S> JsonEarlyErrors<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            pending: Vec::new(),
            sent: 0,
        }
    }
}

/// The most header fields hyper's own answer carries (it writes `content-length`, `date` and
/// sometimes `connection`); a head with more is not one of them.
const MAX_FIELDS: usize = 8;

/// The Matrix answer for a response head hyper wrote on its own, if `head` is one: a whole
/// HTTP/1.x head (read by `httparse`, hyper's own parser) with an error status, an empty
/// `content-length` and no `content-type`.
pub fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_FIELDS];
    let mut response = httparse::Response::new(&mut fields);
    match response.parse(head) {
        Ok(httparse::Status::Complete(len)) if len == head.len() => {}
        _ => return None,
    }
    let status = response.code?;
    if !(400..600).contains(&status) {
        return None;
    }
    let mut has_empty_length = false;
    let mut kept = Vec::with_capacity(head.len() + 160);
    kept.extend_from_slice(
        format!(
            "HTTP/1.{} {status} {}\r\n",
            response.version?,
            response.reason.unwrap_or("")
        )
        .as_bytes(),
    );
    for field in response.headers.iter() {
        if field.name.eq_ignore_ascii_case("content-length") {
            if field.value.trim_ascii() != b"0" {
                return None;
            }
            has_empty_length = true;
            continue;
        }
        if field.name.eq_ignore_ascii_case("content-type") {
            return None;
        }
        kept.extend_from_slice(field.name.as_bytes());
        kept.extend_from_slice(b": ");
        kept.extend_from_slice(field.value);
        kept.extend_from_slice(b"\r\n");
    }
    if !has_empty_length {
        return None;
    }
    let (errcode, error) = match status {
        414 => (ErrCode::TooLarge, "Request URI too long"),
        431 => (ErrCode::TooLarge, "Request header fields too large"),
        400..=499 => (
            ErrCode::Unrecognized,
            "Malformed HTTP request (request line, header or Content-Length)",
        ),
        _ => (ErrCode::Unknown, "Internal server error"),
    };
    let body = serde_json::json!({"errcode": errcode.as_str(), "error": error}).to_string();
    kept.extend_from_slice(b"content-type: application/json\r\n");
    kept.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
    kept.extend_from_slice(body.as_bytes());
    Some(kept)
}

impl<S: AsyncWrite + Unpin> JsonEarlyErrors<S> {
    /// Hands the rewritten answer to the stream; `Ready(Ok)` once all of it is written.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = match Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]) {
                Poll::Ready(Ok(n)) => n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            };
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for JsonEarlyErrors<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for JsonEarlyErrors<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match this.drain(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        }
        // hyper writes its own answer as one head-only buffer; the app's answers never match.
        if buf.len() < 1024
            && (buf.starts_with(b"HTTP/1.1 4")
                || buf.starts_with(b"HTTP/1.1 5")
                || buf.starts_with(b"HTTP/1.0 4")
                || buf.starts_with(b"HTTP/1.0 5"))
            && let Some(rewritten) = rewrite(buf)
        {
            this.pending = rewritten;
            this.sent = 0;
            // Best effort now; the rest goes out on the next write, flush or shutdown.
            if let Poll::Ready(Err(e)) = this.drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_flush(cx),
            other => other,
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        match this.drain(cx) {
            Poll::Ready(Ok(())) => Pin::new(&mut this.inner).poll_shutdown(cx),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn hyper_answers_become_matrix_json() {
        let head = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 11:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(head).expect("rewritten")).expect("utf-8");
        let (head, body) = out.split_once("\r\n\r\n").expect("head");
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(
            head.contains("connection: close\r\n")
                && head.contains("content-type: application/json")
        );
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let json: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(json["errcode"], "M_TOO_LARGE");
        assert!(json["error"].is_string());
    }

    #[test]
    fn app_answers_are_left_alone() {
        for head in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n",
        ] {
            assert_eq!(rewrite(head), None, "{}", String::from_utf8_lossy(head));
        }
    }
}
