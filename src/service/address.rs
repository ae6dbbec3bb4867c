//! Canonical 3PID forms and identifier formats: the rules every area applies before it
//! stores, compares or hashes anything.

use crate::error::{ApiError, ApiResult};

pub const MEDIUM_EMAIL: &str = "email";
pub const MEDIUM_MSISDN: &str = "msisdn";

/// Full Unicode case folding of the whole address (spec appendix "3PID Types → E-Mail"):
/// `Strauß@Example.com` → `strauss@example.com`. `to_lowercase` would keep the `ß`.
pub fn fold_email(address: &str) -> String {
    caseless::default_case_fold_str(address)
}

/// A bare `local@domain` address: exactly one `@`, no display name, brackets, spaces or
/// control characters, a plausible domain. Returns the folded canonical form.
pub fn canonical_email(address: &str) -> ApiResult<String> {
    let folded = fold_email(address.trim());
    if folded.len() > 254 || folded.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ApiError::InvalidEmail);
    }
    let Some((local, domain)) = folded.split_once('@') else {
        return Err(ApiError::InvalidEmail);
    };
    let domain_ok = !domain.is_empty()
        && domain.len() <= 253
        && !domain.contains('@')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && domain
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.contains(['<', '>', '(', ')', ',', ';', '"', '\\', '[', ']']);
    if domain_ok && local_ok {
        Ok(folded)
    } else {
        Err(ApiError::InvalidEmail)
    }
}

/// Canonical form for any medium the server stores (lookups use it before hashing).
pub fn canonical_address(medium: &str, address: &str) -> String {
    match medium {
        MEDIUM_EMAIL => fold_email(address),
        _ => address.to_string(),
    }
}

/// `client_secret` and `sid`: `[0-9a-zA-Z.=_-]`, 1–255 characters.
pub fn is_valid_opaque_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 255
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'=' | b'_' | b'-'))
}

pub fn check_client_secret(s: &str) -> ApiResult<()> {
    if is_valid_opaque_id(s) {
        Ok(())
    } else {
        Err(ApiError::InvalidParam(
            "client_secret must be 1-255 characters of [0-9a-zA-Z.=_-]".into(),
        ))
    }
}

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

/// The server name of a user ID `@localpart:server.name[:port]`, if it is one.
pub fn user_server_name(user_id: &str) -> Option<&str> {
    let rest = user_id.strip_prefix('@')?;
    let (local, server) = rest.split_once(':')?;
    (!local.is_empty() && !server.is_empty()).then_some(server)
}

pub fn check_user_id(user_id: &str) -> ApiResult<()> {
    if user_server_name(user_id).is_some() && user_id.len() <= 255 {
        Ok(())
    } else {
        Err(ApiError::InvalidParam(format!(
            "`{user_id}` is not a Matrix user ID"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_fully() {
        assert_eq!(
            canonical_email("Strauß@Example.COM").ok().as_deref(),
            Some("strauss@example.com")
        );
        assert_eq!(fold_email("ΣΑΣ@x"), "σασ@x");
    }

    #[test]
    fn rejects_bad_addresses() {
        for bad in [
            "a@b@c",
            "ab",
            "@b.c",
            "a@",
            "a b@c.d",
            "<a@b.c>",
            "A <a@b.c>",
            "a@.b",
            "a@b..c",
            "a\n@b.c",
        ] {
            assert!(canonical_email(bad).is_err(), "{bad:?} accepted");
        }
        assert!(canonical_email("first.last+tag@sub.example.org").is_ok());
    }

    #[test]
    fn opaque_ids_and_links() {
        assert!(is_valid_opaque_id("abc.DEF=_-9"));
        assert!(!is_valid_opaque_id(""));
        assert!(!is_valid_opaque_id("a/b"));
        assert!(!is_valid_opaque_id(&"a".repeat(256)));
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
        assert_eq!(user_server_name("@a:b.c:8448"), Some("b.c:8448"));
        assert_eq!(user_server_name("a:b"), None);
    }
}
