//! Matrix user IDs as this server accepts them.

use super::string_newtype;
use crate::error::{ApiError, ApiResult};

/// `@localpart:server.name[:port]`, at most 255 bytes, both parts non-empty. The server part
/// is kept as sent ([`UserId::server_name`]); where it must be a valid server name
/// (federation) it is parsed there as a [`super::ServerName`].
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(String);

/// The server part of `@localpart:server`, if `s` has that shape.
fn server_part(s: &str) -> Option<&str> {
    let (local, server) = s.strip_prefix('@')?.split_once(':')?;
    (!local.is_empty() && !server.is_empty()).then_some(server)
}

impl UserId {
    pub fn parse(s: impl AsRef<str> + Into<String>) -> ApiResult<UserId> {
        let text = s.as_ref();
        if server_part(text).is_some() && text.len() <= 255 {
            Ok(UserId(s.into()))
        } else {
            Err(ApiError::InvalidParam(format!(
                "`{text}` is not a Matrix user ID"
            )))
        }
    }

    /// The server part (`server.name[:port]`).
    pub fn server_name(&self) -> &str {
        server_part(&self.0).unwrap_or_default()
    }
}

string_newtype!(UserId);

impl PartialEq<str> for UserId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<String> for UserId {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_and_their_servers() {
        let id = UserId::parse("@a:b.c:8448").expect("valid");
        assert_eq!(id.server_name(), "b.c:8448");
        for bad in ["a:b", "@:b", "@a:", "@a"] {
            match UserId::parse(bad) {
                Err(ApiError::InvalidParam(t)) => {
                    assert_eq!(t, format!("`{bad}` is not a Matrix user ID"));
                }
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(UserId::parse(format!("@a:{}", "b".repeat(252))).is_ok());
        assert!(UserId::parse(format!("@a:{}", "b".repeat(253))).is_err());
    }
}
