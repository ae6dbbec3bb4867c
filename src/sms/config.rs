//! `[sms]`: which gateway texts the validation codes, who the texts come from, which
//! countries are served, and how many texts a client or a number may cause.
//!
//! Without `gateway` (the default) the server sends no SMS: msisdn `requestToken` answers
//! `400 M_DESTINATION_REJECTED`, so nobody's phone bill depends on a default.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::routing::{Originator, Rule};

/// The sender sydent uses when no originator is configured for a destination.
pub const DEFAULT_ORIGINATOR: &str = "alpha:Matrix";

/// OpenMarket's SMS API (v4, JSON), the endpoint sydent sends to.
pub const OPENMARKET_URL: &str = "https://smsc.openmarket.com/sms/v4/mt";

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// `openmarket`, `webhook`, `outbox` (development: texts become files in `outbox_dir`),
    /// or absent: SMS switched off.
    pub gateway: Option<GatewayKind>,
    /// Where `gateway = "outbox"` writes texts.
    pub outbox_dir: std::path::PathBuf,
    pub openmarket: OpenMarketConfig,
    pub webhook: WebhookConfig,
    /// The text sent when the brand has no `sms_template.txt`: `{token}` is the code
    /// (sydent's `bodyTemplate`, same syntax: `{{` and `}}` are literal braces).
    pub body_template: Option<String>,
    /// Calling code (`"44"`) or `"default"` → senders, each `long:<number>`,
    /// `short:<number>` or `alpha:<text>` (sydent's `originators.<cc>`). One is chosen per
    /// number, always the same for the same number.
    pub originators: BTreeMap<String, Vec<String>>,
    /// Calling code (`"44"`), ISO 3166 region (`"GB"`) or `"default"` → `allow` or `reject`
    /// (sydent's `smsRule.<cc>`). The most specific key wins (region, calling code, default);
    /// with none matching a destination is allowed. `default = "reject"` makes the others an
    /// allow list.
    pub rules: BTreeMap<String, String>,
    /// Digits in a texted code (sydent: 6).
    pub token_length: usize,
    /// Gateway connect and whole-request timeout, in seconds.
    pub timeout_secs: u64,
    /// Texts one client address may cause per minute (burst; 0: no limit).
    pub per_ip_per_minute: u32,
    /// Texts one phone number may receive per hour (burst; 0: no limit).
    pub per_number_per_hour: u32,
}

impl Default for SmsConfig {
    fn default() -> Self {
        Self {
            gateway: None,
            outbox_dir: std::path::PathBuf::from("data/sms-outbox"),
            openmarket: OpenMarketConfig::default(),
            webhook: WebhookConfig::default(),
            body_template: None,
            originators: BTreeMap::new(),
            rules: BTreeMap::new(),
            token_length: 6,
            timeout_secs: 10,
            per_ip_per_minute: 5,
            per_number_per_hour: 3,
        }
    }
}

/// A credential from the configuration: never shown by `Debug` (configuration dumps, logs).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The credential itself, for the one request header it goes into.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GatewayKind {
    Openmarket,
    Webhook,
    Outbox,
}

/// `[sms.openmarket]`: HTTP Basic credentials (sydent's `username`, `password`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenMarketConfig {
    pub url: String,
    pub username: String,
    pub password: Secret,
}

impl Default for OpenMarketConfig {
    fn default() -> Self {
        Self {
            url: OPENMARKET_URL.to_owned(),
            username: String::new(),
            password: Secret::default(),
        }
    }
}

/// `[sms.webhook]`: any HTTP API that takes one JSON POST per text.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    pub url: String,
    /// Header carrying the credential (default `Authorization`).
    pub auth_header_name: Option<String>,
    /// Its value, e.g. `Bearer …` (not sent when absent).
    pub auth_header: Option<Secret>,
    /// The JSON body; in every string `{msisdn}` (digits), `{e164}` (`+` and digits),
    /// `{message}`, `{originator}` and `{originator_type}` (`long`, `short`, `alpha`) are
    /// replaced, `{{`/`}}` are braces. Default: `{"to": "{e164}", "from": "{originator}",
    /// "text": "{message}"}`.
    pub body: Option<serde_json::Value>,
}

impl SmsConfig {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Parsed `originators`: calling code or `default` → senders.
    pub fn parsed_originators(&self) -> Result<BTreeMap<String, Vec<Originator>>, String> {
        let mut out = BTreeMap::new();
        for (key, list) in &self.originators {
            if key != "default" && !is_calling_code(key) {
                return Err(format!(
                    "sms.originators: `{key}` is neither a calling code (digits) nor `default`"
                ));
            }
            if list.is_empty() {
                return Err(format!("sms.originators.{key}: the list is empty"));
            }
            let parsed = list
                .iter()
                .map(|s| Originator::parse(s).map_err(|e| format!("sms.originators.{key}: {e}")))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(key.clone(), parsed);
        }
        Ok(out)
    }

    /// Parsed `rules`: key → rule.
    pub fn parsed_rules(&self) -> Result<BTreeMap<String, Rule>, String> {
        let mut out = BTreeMap::new();
        for (key, action) in &self.rules {
            let region = key.len() == 2 && key.bytes().all(|b| b.is_ascii_uppercase());
            if key != "default" && !is_calling_code(key) && !region {
                return Err(format!(
                    "sms.rules: `{key}` is neither a calling code, an upper-case ISO 3166 region nor `default`"
                ));
            }
            let rule = match action.as_str() {
                "allow" => Rule::Allow,
                "reject" => Rule::Reject,
                other => {
                    return Err(format!(
                        "sms.rules.{key}: `{other}` is not `allow` or `reject`"
                    ));
                }
            };
            out.insert(key.clone(), rule);
        }
        Ok(out)
    }

    /// Semantic checks, one message per problem (`Config::problems` adds them). With a
    /// gateway, the brands' `sms_template.txt` files in `templates_folder` are checked too, so
    /// `oxident check-config` finds a broken one before a start does.
    pub fn problems(&self, templates_folder: Option<&std::path::Path>) -> Vec<String> {
        let mut p = Vec::new();
        if self.gateway.is_some()
            && let Some(folder) = templates_folder
            && folder.is_dir()
            && let Err(e) = super::templates::SmsTemplates::load(Some(folder), None)
        {
            p.push(format!("sms templates: {e}"));
        }
        if let Err(e) = self.parsed_originators() {
            p.push(e);
        }
        if let Err(e) = self.parsed_rules() {
            p.push(e);
        }
        if !(4..=10).contains(&self.token_length) {
            p.push("sms.token_length: must be between 4 and 10 digits".into());
        }
        if let Some(t) = &self.body_template
            && let Err(e) = super::templates::check(t)
        {
            p.push(format!("sms.body_template: {e}"));
        }
        match self.gateway {
            None | Some(GatewayKind::Outbox) => {}
            Some(GatewayKind::Openmarket) => {
                if !is_http_url(&self.openmarket.url) {
                    p.push("sms.openmarket.url: must be an http(s) URL".into());
                }
                if self.openmarket.username.is_empty() {
                    p.push("sms.openmarket.username: must be set".into());
                }
            }
            Some(GatewayKind::Webhook) => {
                if !is_http_url(&self.webhook.url) {
                    p.push("sms.webhook.url: must be an http(s) URL".into());
                }
                if let Some(name) = &self.webhook.auth_header_name
                    && (name.is_empty()
                        || !name
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
                {
                    p.push("sms.webhook.auth_header_name: not a header name".into());
                }
                if let Some(body) = &self.webhook.body
                    && let Err(e) = super::webhook::check_body_template(body)
                {
                    p.push(format!("sms.webhook.body: {e}"));
                }
            }
        }
        p
    }
}

fn is_calling_code(key: &str) -> bool {
    (1..=3).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_digit())
}

fn is_http_url(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://")) && url.len() > "http://".len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_switch_sms_off_and_pass_the_checks() {
        let c = SmsConfig::default();
        assert!(c.gateway.is_none());
        assert!(c.problems(None).is_empty(), "{:?}", c.problems(None));
    }

    #[test]
    fn every_problem_is_reported() {
        let c = SmsConfig {
            gateway: Some(GatewayKind::Webhook),
            originators: [("uk".to_owned(), vec!["alpha:X".to_owned()])].into(),
            rules: [("44".to_owned(), "deny".to_owned())].into(),
            token_length: 2,
            body_template: Some("code {tokn}".into()),
            ..SmsConfig::default()
        };
        let p = c.problems(None);
        assert_eq!(p.len(), 5, "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("sms.webhook.url")), "{p:?}");
    }

    #[test]
    fn a_broken_brand_template_is_a_problem_once_sms_is_on() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join("b")).expect("mkdir");
        std::fs::write(dir.path().join("b/sms_template.txt"), "no code here").expect("write");
        let off = SmsConfig::default();
        assert!(off.problems(Some(dir.path())).is_empty());
        let on = SmsConfig {
            gateway: Some(GatewayKind::Webhook),
            webhook: WebhookConfig {
                url: "https://sms.example/send".into(),
                ..WebhookConfig::default()
            },
            ..SmsConfig::default()
        };
        let p = on.problems(Some(dir.path()));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].contains("sms_template.txt"), "{p:?}");
    }

    /// sydent.conf's `[sms]` through the whole loader: its OpenMarket account switches the
    /// gateway on, country keys survive as keys.
    #[test]
    #[allow(
        clippy::result_large_err,
        reason = "figment::Jail's closure signature returns figment::Error"
    )]
    fn sydent_conf_sms_section_loads() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "sydent.conf",
                "[sms]\nbodyTemplate = Code: {token}\nusername = u\npassword = p\n\
                 originators.44 = long:447700900123,alpha:Matrix\nsmsRule.1 = reject\n",
            )?;
            let c =
                crate::config::Config::load_from_sydent_conf(std::path::Path::new("sydent.conf"))
                    .map_err(|p| format!("{p:?}"))?;
            assert_eq!(c.sms.gateway, Some(GatewayKind::Openmarket));
            assert_eq!(c.sms.openmarket.username, "u");
            assert_eq!(c.sms.openmarket.password.expose(), "p");
            assert_eq!(c.sms.openmarket.url, OPENMARKET_URL);
            assert_eq!(c.sms.body_template.as_deref(), Some("Code: {token}"));
            assert_eq!(c.sms.parsed_originators().map(|o| o["44"].len()), Ok(2));
            assert_eq!(c.sms.parsed_rules().map(|r| r["1"]), Ok(Rule::Reject));
            assert_eq!(format!("{:?}", c.sms.openmarket.password), "[redacted]");
            Ok(())
        });
    }

    #[test]
    fn originators_and_rules_parse() {
        let c = SmsConfig {
            originators: [
                (
                    "44".to_owned(),
                    vec!["long:447700900123".to_owned(), "alpha:Matrix".to_owned()],
                ),
                ("default".to_owned(), vec!["short:12345".to_owned()]),
            ]
            .into(),
            rules: [
                ("1".to_owned(), "reject".to_owned()),
                ("GB".to_owned(), "allow".to_owned()),
            ]
            .into(),
            ..SmsConfig::default()
        };
        assert_eq!(c.parsed_originators().map(|o| o["44"].len()), Ok(2));
        assert_eq!(c.parsed_rules().map(|r| r["1"]), Ok(Rule::Reject));
        assert!(c.problems(None).is_empty());
    }
}
