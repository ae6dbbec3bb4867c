//! The rule for `next_link` that the spec does not express (its scheme): checked when a
//! session is requested and again before the submitToken page redirects. Addresses,
//! identifiers and media are typed in `crate::domain`.

use crate::error::{ApiError, ApiResult};

/// Longest `next_link` accepted, in bytes: browsers and proxies handle URLs this long, and it
/// bounds what a client can put into a mail (the link is repeated, percent-encoded, in the
/// validation mail).
pub const MAX_NEXT_LINK_LEN: usize = 2048;

/// `next_link` must be an absolute http(s) URL of at most [`MAX_NEXT_LINK_LEN`] bytes:
/// anything else (`javascript:`, `file:`, relative paths) would make the submitToken page an
/// open redirect to other schemes.
pub fn check_next_link(link: &str) -> ApiResult<()> {
    if link.len() > MAX_NEXT_LINK_LEN {
        return Err(ApiError::InvalidParam(format!(
            "next_link must be at most {MAX_NEXT_LINK_LEN} bytes long"
        )));
    }
    let lower = link.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !link.chars().any(char::is_control) => {
            Ok(())
        }
        _ => Err(ApiError::InvalidParam(
            "next_link must be an absolute http or https URL".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        assert!(check_next_link("https://example.org/done?x=1").is_ok());
        let longest = format!("https://e.org/{}", "a".repeat(MAX_NEXT_LINK_LEN - 14));
        assert!(check_next_link(&longest).is_ok());
        assert!(check_next_link(&format!("{longest}a")).is_err());
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "//evil.org",
            "/relative",
            "https:///x",
            "ftp://x",
        ] {
            assert!(check_next_link(bad).is_err(), "{bad} accepted");
        }
    }
}
