//! The web client invite links open: the homeserver's `org.matrix.web_client_location` when
//! its host is on the operator's allow list, else the configured default. Without the list a
//! homeserver could point invite mails at any site it likes.

use super::TemplatesConfig;
use crate::mail::text::single_line;

/// The web client for an invite: `requested` (already [`single_line`]) when it is an
/// allowed http(s) URL, else the default; without a trailing `/`.
pub(super) fn web_client_location(config: &TemplatesConfig, requested: Option<&str>) -> String {
    let chosen = requested
        .map(single_line)
        .filter(|url| is_http_url(url) && is_allowed(config, url))
        .unwrap_or_else(|| single_line(&config.default_web_client_location));
    chosen.trim_end_matches('/').to_owned()
}

/// Whether invite links may open `url`: its host is one of `web_client_hosts` (default:
/// the default web client's host).
fn is_allowed(config: &TemplatesConfig, url: &str) -> bool {
    let Some(host) = url_host(url) else {
        return false;
    };
    if config.web_client_hosts.is_empty() {
        url_host(&config.default_web_client_location).is_some_and(|d| d == host)
    } else {
        // Each listed host read the same way (`Exämple.org.` is `xn--exmple-cua.org`).
        config
            .web_client_hosts
            .iter()
            .any(|h| url_host(&format!("http://{}/", h.trim())).is_some_and(|h| h == host))
    }
}

/// The host of an http(s) URL as a browser reads it (the `url` crate implements the WHATWG
/// URL standard browsers follow): lower case, without port, IDNA and IPv4 forms normalised.
/// `None` when the URL has user information (`https://app.element.io@evil.example` goes to
/// `evil.example`), which no web client link needs.
fn url_host(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https")
        || !parsed.username().is_empty()
        || parsed.password().is_some()
    {
        return None;
    }
    let host = host_name(parsed.host_str()?);
    (!host.is_empty()).then(|| host.to_owned())
}

/// A host as the allow list compares it: no trailing dot, IPv6 without brackets.
fn host_name(host: &str) -> &str {
    let host = host.trim_end_matches('.');
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// An absolute http(s) URL that is safe to place in a mail as written: no white space, no
/// characters that end an HTML attribute, and no `\`, which browsers read as `/` and other
/// URL parsers do not (so the host a browser opens is the host checked here).
fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    matches!(rest, Some(host) if !host.is_empty() && !host.starts_with('/'))
        && !url
            .chars()
            .any(|c| c.is_whitespace() || "<>\"'`\\".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(hosts: &[&str]) -> TemplatesConfig {
        TemplatesConfig {
            default_web_client_location: "https://app.element.io/".to_owned(),
            web_client_hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            ..TemplatesConfig::default()
        }
    }

    #[test]
    fn hosts_are_read_as_a_browser_reads_them() {
        assert_eq!(
            url_host("https://APP.Element.io./x").as_deref(),
            Some("app.element.io")
        );
        assert_eq!(url_host("http://[::1]:8080/x").as_deref(), Some("::1"));
        assert_eq!(url_host("http://0x7f.1/").as_deref(), Some("127.0.0.1"));
        assert_eq!(url_host("https://app.element.io@evil.example/"), None);
        assert_eq!(url_host("https://:pw@app.element.io/"), None);
        assert_eq!(url_host("javascript:alert(1)"), None);
        assert_eq!(url_host("https://"), None);
    }

    #[test]
    fn only_allowed_clients_are_linked() {
        let default = config(&[]);
        let listed = config(&["Client.Example.", "[::1]", "exämple.org"]);
        for (config, requested, linked) in [
            (
                &default,
                "https://app.element.io/#/x/",
                "https://app.element.io/#/x",
            ),
            (&default, "https://evil.example", "https://app.element.io"),
            (
                &default,
                "https://evil.example\\@app.element.io/",
                "https://app.element.io",
            ),
            (
                &listed,
                "https://xn--exmple-cua.org/",
                "https://xn--exmple-cua.org",
            ),
            (
                &listed,
                "https://client.example:8443/a",
                "https://client.example:8443/a",
            ),
            (&listed, "http://[::1]/", "http://[::1]"),
            (
                &listed,
                "https://app.element.io/x",
                "https://app.element.io",
            ),
        ] {
            assert_eq!(
                web_client_location(config, Some(requested)),
                linked,
                "{requested}"
            );
        }
        assert_eq!(
            web_client_location(&default, None),
            "https://app.element.io"
        );
    }
}
