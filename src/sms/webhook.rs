//! A generic JSON webhook: one POST per text to the operator's URL, with an optional
//! credential header and a body built from the operator's template — for the many SMS APIs
//! (and in-house relays) that take a JSON object with a number and a text.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::config::WebhookConfig;
use super::http::{Answer, HttpTransport};
use super::{OutgoingSms, SmsError, SmsGateway};

const PLACEHOLDERS: [&str; 5] = ["msisdn", "e164", "message", "originator", "originator_type"];

/// The body when none is configured.
pub fn default_body() -> Value {
    json!({"to": "{e164}", "from": "{originator}", "text": "{message}"})
}

#[derive(Debug)]
pub struct Webhook {
    config: WebhookConfig,
    body: Value,
    http: HttpTransport,
}

impl Webhook {
    pub fn new(config: WebhookConfig, http: HttpTransport) -> Self {
        let body = config.body.clone().unwrap_or_else(default_body);
        Self { config, body, http }
    }
}

/// Checks a configured body: every placeholder is known, and the text and the number appear.
pub fn check_body_template(body: &Value) -> Result<(), String> {
    let mut seen = Vec::new();
    visit_strings(body, &mut |s| {
        for piece in split(s)? {
            if let Piece::Placeholder(name) = piece {
                seen.push(name.to_owned());
            }
        }
        Ok(())
    })?;
    if !seen.iter().any(|n| n == "message") {
        return Err("no string contains {message}".into());
    }
    if !seen.iter().any(|n| n == "msisdn" || n == "e164") {
        return Err("no string contains {msisdn} or {e164}".into());
    }
    Ok(())
}

/// The body for one text: the template with every placeholder replaced.
pub fn render_body(template: &Value, sms: &OutgoingSms) -> Value {
    let e164 = format!("+{}", sms.msisdn);
    let value_of = |name: &str| -> String {
        match name {
            "msisdn" => sms.msisdn.clone(),
            "e164" => e164.clone(),
            "message" => sms.body.clone(),
            "originator" => sms.originator.text.clone(),
            "originator_type" => sms.originator.kind.as_str().to_owned(),
            _ => String::new(),
        }
    };
    map_strings(template, &|s| match split(s) {
        Ok(pieces) => pieces
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.clone(),
                Piece::Placeholder(name) => value_of(name),
            })
            .collect(),
        // Checked at start; an unchecked template is sent as written.
        Err(_) => s.to_owned(),
    })
}

enum Piece<'a> {
    Text(String),
    Placeholder(&'a str),
}

fn split(s: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(['{', '}']) {
        text.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            text.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let Some(stripped) = tail.strip_prefix('{') {
            let end = stripped
                .find('}')
                .ok_or_else(|| format!("`{s}`: `{{` without `}}`"))?;
            let name = &stripped[..end];
            if !PLACEHOLDERS.contains(&name) {
                return Err(format!(
                    "`{{{name}}}` is not one of {{msisdn}}, {{e164}}, {{message}}, {{originator}}, {{originator_type}}"
                ));
            }
            if !text.is_empty() {
                out.push(Piece::Text(std::mem::take(&mut text)));
            }
            out.push(Piece::Placeholder(name));
            rest = &stripped[end + 1..];
        } else {
            return Err(format!("`{s}`: a single `}}` (write }}}} for a brace)"));
        }
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    Ok(out)
}

fn visit_strings(v: &Value, f: &mut dyn FnMut(&str) -> Result<(), String>) -> Result<(), String> {
    match v {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().try_for_each(|i| visit_strings(i, f)),
        Value::Object(map) => map.values().try_for_each(|i| visit_strings(i, f)),
        _ => Ok(()),
    }
}

fn map_strings(v: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match v {
        Value::String(s) => Value::String(f(s)),
        Value::Array(items) => Value::Array(items.iter().map(|i| map_strings(i, f)).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, i)| (k.clone(), map_strings(i, f)))
                .collect(),
        ),
        other => other.clone(),
    }
}

#[async_trait]
impl SmsGateway for Webhook {
    fn transport(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, sms: &OutgoingSms) -> Result<Answer, SmsError> {
        let name = self
            .config
            .auth_header_name
            .as_deref()
            .unwrap_or("Authorization");
        let headers: Vec<(&str, &str)> = self
            .config
            .auth_header
            .as_ref()
            .map(|v| (name, v.expose()))
            .into_iter()
            .collect();
        self.http
            .post_json(
                &self.config.url,
                &headers,
                None,
                &render_body(&self.body, sms),
            )
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::routing::Originator;

    fn sms() -> OutgoingSms {
        OutgoingSms {
            msisdn: "447400123456".into(),
            body: "Code {not a placeholder} \"42\"".into(),
            originator: Originator::parse("alpha:Matrix").expect("valid"),
        }
    }

    #[test]
    fn placeholders_are_filled_in_every_string_and_values_stay_json_strings() {
        let template = json!({
            "messages": [{"to": ["{msisdn}"], "from": "{originator} ({originator_type})",
                          "text": "{message}", "literal": "{{x}}", "n": 1}],
            "e164": "{e164}"
        });
        check_body_template(&template).expect("valid template");
        assert_eq!(
            render_body(&template, &sms()),
            json!({
                "messages": [{"to": ["447400123456"], "from": "Matrix (alpha)",
                              "text": "Code {not a placeholder} \"42\"", "literal": "{x}", "n": 1}],
                "e164": "+447400123456"
            })
        );
        assert_eq!(
            render_body(&default_body(), &sms())["to"],
            json!("+447400123456")
        );
        check_body_template(&default_body()).expect("the default is valid");
    }

    #[test]
    fn broken_templates_are_refused() {
        assert!(check_body_template(&json!({"to": "{e164}"})).is_err());
        assert!(check_body_template(&json!({"text": "{message}"})).is_err());
        assert!(check_body_template(&json!({"text": "{message}", "to": "{phone}"})).is_err());
        assert!(check_body_template(&json!({"text": "{message", "to": "{e164}"})).is_err());
        assert!(check_body_template(&json!({"text": "{message}}", "to": "{e164}"})).is_err());
    }
}
