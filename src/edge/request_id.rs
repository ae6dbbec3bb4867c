//! Request ids (was tower-http `SetRequestId` + `PropagateRequestId`): the client's
//! `x-request-id`, else a per-process prefix and a counter — cheap, unique, not secret —
//! without extension-map allocations or `format!`.

use http::{HeaderName, HeaderValue};
use std::sync::atomic::{AtomicU64, Ordering};

pub(super) static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

#[derive(Debug)]
pub(super) struct RequestIds {
    prefix: u32,
    next: AtomicU64,
}

impl RequestIds {
    pub(super) fn new(prefix: u32) -> Self {
        Self {
            prefix,
            next: AtomicU64::new(1),
        }
    }

    /// `{prefix:08x}-{n}`.
    pub(super) fn make(&self) -> Option<HeaderValue> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let mut buf = [0u8; 8 + 1 + 20];
        for (i, b) in buf[..8].iter_mut().enumerate() {
            *b = HEX[((self.prefix >> (28 - 4 * i)) & 0xf) as usize];
        }
        buf[8] = b'-';
        let mut digits = [0u8; 20];
        let mut start = digits.len();
        let mut rest = n;
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let len = 9 + digits.len() - start;
        buf[9..len].copy_from_slice(&digits[start..]);
        HeaderValue::from_bytes(&buf[..len]).ok()
    }
}
