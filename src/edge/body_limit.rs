//! The body limit (was `RequestBodyLimit`): a `Content-Length` above the limit is answered 413
//! at once; a body that may come (a length, or chunked) is read through
//! `http_body_util::Limited`, which the handler's read turns into 413.

use http::{Request, header};

pub(super) enum BodyLength {
    /// No body can follow (no length, not chunked, or a length of 0).
    None,
    /// `Content-Length`.
    Over(usize),
    /// Chunked, or a length that does not parse (hyper refuses those before us).
    Unknown,
}

pub(super) fn body_length<B>(req: &Request<B>) -> BodyLength {
    let headers = req.headers();
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return BodyLength::Unknown;
    }
    match headers.get(header::CONTENT_LENGTH) {
        None => BodyLength::None,
        Some(value) => match value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
        {
            Some(0) => BodyLength::None,
            Some(n) => BodyLength::Over(usize::try_from(n).unwrap_or(usize::MAX)),
            None => BodyLength::Unknown,
        },
    }
}
