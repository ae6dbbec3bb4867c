//! What a request says about its sender, read the one way every handler reads it: the access
//! token (header, or the deprecated query parameter when the operator allows it), the client
//! address behind trusted proxies, and the template brand.

use crate::config::Config;
use oxident_api::rt::server::RequestContext;
use std::borrow::Cow;
use std::net::IpAddr;

/// The operator's settings for reading requests.
#[derive(Debug, Clone, Default)]
pub struct HttpRules {
    /// Accept `?access_token=` (deprecated since spec v1.11, gone in v1.20).
    pub accept_query_access_token: bool,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpAddr>,
}

impl HttpRules {
    pub fn from_config(config: &Config) -> Self {
        Self {
            accept_query_access_token: config.auth.accept_query_access_token,
            trusted_proxies: config.server.trusted_proxies.clone(),
        }
    }

    /// The token the request presents (borrowed from the header, or decoded from the query).
    /// Never logged.
    pub fn presented_token<'a>(&self, ctx: &'a RequestContext) -> Option<Cow<'a, str>> {
        if let Some(t) = ctx.bearer_token() {
            return Some(Cow::Borrowed(t));
        }
        if self.accept_query_access_token {
            return ctx
                .query_access_token()
                .filter(|t| !t.is_empty())
                .map(Cow::Owned);
        }
        None
    }

    /// The requester's address: the peer, or — when the peer is a trusted proxy — the last
    /// `X-Forwarded-For` entry that is not itself a trusted proxy. Per-client rate limits
    /// count under it.
    pub fn client_ip(&self, ctx: &RequestContext) -> Option<IpAddr> {
        let peer = ctx.remote_addr.map(|a| a.ip())?;
        let trusted = &self.trusted_proxies;
        if !trusted.contains(&peer) {
            return Some(peer);
        }
        ctx.headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|part| part.trim().parse::<IpAddr>().ok())
            .rev()
            .find(|ip| !trusted.contains(ip))
            .or(Some(peer))
    }
}

/// The `brand` query parameter: which template set renders a mail or page. The query is split
/// as a form (`form_urlencoded`, as every other parameter is read); a brand is a folder name,
/// which never needs an escape, so a value that had to be decoded (or is empty) selects the
/// default brand, as any other unusual name does.
pub fn brand(ctx: &RequestContext) -> Option<&str> {
    let (_, value) =
        form_urlencoded::parse(ctx.uri.query()?.as_bytes()).find(|(name, _)| name == "brand")?;
    match value {
        Cow::Borrowed(value) if !value.is_empty() => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brand_of(path_and_query: &str) -> Option<String> {
        let ctx = RequestContext {
            method: http::Method::GET,
            uri: path_and_query.parse().expect("a URI"),
            headers: http::HeaderMap::new(),
            remote_addr: None,
            body: None,
        };
        brand(&ctx).map(str::to_owned)
    }

    #[test]
    fn brand_is_a_plain_form_value() {
        assert_eq!(
            brand_of("/x?a=1&brand=vector-im").as_deref(),
            Some("vector-im")
        );
        assert_eq!(
            brand_of("/x?brand=acme&brand=other").as_deref(),
            Some("acme")
        );
        // Escapes mean no folder name: the default brand.
        for none in [
            "/x",
            "/x?a=1",
            "/x?brand=",
            "/x?brand=a%2Fb",
            "/x?brand=a+b",
            "/x?brandx=a",
        ] {
            assert_eq!(brand_of(none), None, "{none}");
        }
    }
}
