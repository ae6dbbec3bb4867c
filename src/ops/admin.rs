//! `[admin]`: the admin listener's settings and the one check it makes before any admin
//! operation runs (the bearer secret). The listener itself is built in `app.rs`
//! ([`crate::app::admin_app`]) and started by `serve_on`; the operations are `api/admin.rs`
//! over `service/admin.rs`.
//!
//! Why a listener of its own and not a token on the client port: the internal API binds
//! without validation, erases and exports personal data; keeping it off the port the Internet
//! reaches means a mistake in a proxy or a leaked secret alone does not expose it. Without a
//! secret it may only listen on loopback (the reference server's internal API had no
//! authentication at all and listened on `::1` by default).

use serde::Deserialize;
use std::fmt;
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

/// `[admin]`. Off unless `bind` is set; sydent.conf's `internalapi.http.port` and
/// `internalapi.http.bind_address` map onto `bind`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// `127.0.0.1:8091`, say. Loopback unless the operator's tools run elsewhere, and then
    /// only with a `secret`.
    pub bind: Option<SocketAddr>,
    /// Required as `Authorization: Bearer <secret>` on every admin request when set; required
    /// to be set when `bind` is not a loopback address.
    pub secret: Option<AdminSecret>,
}

/// The admin bearer secret: never printed (`Debug` is redacted), compared in constant time.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct AdminSecret(String);

impl AdminSecret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// Whether an `Authorization` header value is `Bearer <this secret>`, in time that does
    /// not depend on how much of the secret matched.
    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        let Some(given) = authorization.and_then(|h| h.strip_prefix(b"Bearer ")) else {
            return false;
        };
        bool::from(given.ct_eq(self.0.as_bytes()))
    }

    /// The secret itself, for the one place it leaves: the CLI's request to the listener.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AdminSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminSecret(<redacted>)")
    }
}

/// Who may call the admin listener.
#[derive(Debug, Clone)]
pub enum AdminGate {
    /// No secret: the listener is on loopback, where only local processes reach it.
    Loopback,
    Secret(AdminSecret),
}

impl AdminGate {
    pub fn of(config: &AdminConfig) -> Self {
        match &config.secret {
            Some(secret) => AdminGate::Secret(secret.clone()),
            None => AdminGate::Loopback,
        }
    }

    pub fn admits(&self, authorization: Option<&[u8]>) -> bool {
        match self {
            AdminGate::Loopback => true,
            AdminGate::Secret(secret) => secret.admits(authorization),
        }
    }
}

impl AdminConfig {
    /// The section's problems, worded `admin.key: problem`.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut p = Vec::new();
        if let Some(secret) = &self.secret
            && secret.0.len() < 16
        {
            p.push((
                "admin.secret",
                "must be at least 16 characters (generate one: `openssl rand -hex 32`)".into(),
            ));
        }
        if let Some(addr) = self.bind
            && !addr.ip().is_loopback()
            && self.secret.is_none()
        {
            p.push((
                "admin.bind",
                format!(
                    "{addr} is not a loopback address: set admin.secret, or listen on \
                     127.0.0.1 or [::1]"
                ),
            ));
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_checked_exactly_and_never_printed() {
        let secret = AdminSecret::new("0123456789abcdef");
        assert!(secret.admits(Some(b"Bearer 0123456789abcdef")));
        for wrong in [
            &b"Bearer 0123456789abcdeF"[..],
            b"Bearer 0123456789abcde",
            b"Bearer 0123456789abcdef0",
            b"bearer 0123456789abcdef",
            b"0123456789abcdef",
            b"",
        ] {
            assert!(!secret.admits(Some(wrong)), "{wrong:?}");
        }
        assert!(!secret.admits(None));
        assert!(!format!("{secret:?}").contains("0123"));
        assert!(AdminGate::Loopback.admits(None));
    }

    #[test]
    fn a_listener_off_loopback_needs_a_secret() {
        let open = AdminConfig {
            bind: Some("0.0.0.0:8091".parse().expect("addr")),
            secret: None,
        };
        assert_eq!(open.problems().len(), 1);
        let local = AdminConfig {
            bind: Some("[::1]:8091".parse().expect("addr")),
            secret: None,
        };
        assert!(local.problems().is_empty());
        let guarded = AdminConfig {
            secret: Some(AdminSecret::new("a long enough secret")),
            ..open
        };
        assert!(guarded.problems().is_empty());
        let short = AdminConfig {
            secret: Some(AdminSecret::new("short")),
            ..local
        };
        assert_eq!(short.problems()[0].0, "admin.secret");
    }
}
