//! The text of a validation SMS, per brand, beside the brand's email templates.
//!
//! A brand folder (the `email.templates.folder` layout) may hold `sms_template.txt`: one
//! text in which `{token}` is the code and `{{`/`}}` are literal braces — the syntax of
//! sydent's `bodyTemplate`, which has no brands. The text for a request's brand is, in order:
//! the brand's file, the default brand's file, `sms.body_template` (where sydent's
//! `bodyTemplate` lands), the built-in `templates/matrix-org/sms_template.txt`. Everything is
//! read and checked at start, so a broken template stops the server rather than a request.

use std::collections::BTreeMap;
use std::path::Path;

use crate::mail::templates::is_valid_brand_name;

/// The file name in a brand folder.
pub const SMS_TEMPLATE: &str = "sms_template.txt";

const BUILTIN: &str = include_str!("../../templates/matrix-org/sms_template.txt");

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Token,
}

/// A checked template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyTemplate(Vec<Piece>);

impl BodyTemplate {
    pub fn parse(source: &str) -> Result<Self, String> {
        let source = source.trim_end();
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = source.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    text.push('{');
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    text.push('}');
                }
                '{' => {
                    let mut name = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    if !closed {
                        return Err("a `{` without `}` (write {{ for a brace)".into());
                    }
                    if name != "token" {
                        return Err(format!(
                            "`{{{name}` is not a placeholder: only {{token}} is (write {{{{ for a brace)"
                        ));
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Token);
                }
                '}' => return Err("a single `}` (write }} for a brace)".into()),
                c => text.push(c),
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        if !pieces.contains(&Piece::Token) {
            return Err("the text does not contain {token}".into());
        }
        Ok(Self(pieces))
    }

    pub fn render(&self, token: &str) -> String {
        self.0
            .iter()
            .map(|p| match p {
                Piece::Text(t) => t.as_str(),
                Piece::Token => token,
            })
            .collect()
    }
}

/// Checks a template text (configuration problems).
pub fn check(source: &str) -> Result<(), String> {
    BodyTemplate::parse(source).map(|_| ())
}

#[derive(Debug, Clone)]
pub struct SmsTemplates {
    brands: BTreeMap<String, BodyTemplate>,
    fallback: BodyTemplate,
}

impl SmsTemplates {
    /// Reads `<folder>/<brand>/sms_template.txt` of every brand folder; `body_template` is the
    /// server-wide text (else the built-in one).
    pub fn load(folder: Option<&Path>, body_template: Option<&str>) -> Result<Self, String> {
        let fallback = BodyTemplate::parse(body_template.unwrap_or(BUILTIN))
            .map_err(|e| format!("sms.body_template: {e}"))?;
        let mut brands = BTreeMap::new();
        if let Some(folder) = folder {
            let entries = std::fs::read_dir(folder)
                .map_err(|e| format!("template folder {}: {e}", folder.display()))?;
            for entry in entries.flatten() {
                let Some(brand) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let file = entry.path().join(SMS_TEMPLATE);
                if !is_valid_brand_name(&brand) || !file.is_file() {
                    continue;
                }
                let source = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                let template =
                    BodyTemplate::parse(&source).map_err(|e| format!("{}: {e}", file.display()))?;
                brands.insert(brand, template);
            }
        }
        Ok(Self { brands, fallback })
    }

    /// The text for the brand a request asked for (`?brand=`): its file when it has one
    /// (and is a plain folder name), else `default_brand`'s, else the server-wide text.
    pub fn render(&self, brand: Option<&str>, default_brand: &str, token: &str) -> String {
        brand
            .filter(|b| is_valid_brand_name(b))
            .and_then(|b| self.brands.get(b))
            .or_else(|| self.brands.get(default_brand))
            .unwrap_or(&self.fallback)
            .render(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sydent_body_templates_render() {
        let t = BodyTemplate::parse("Your code is {token}").expect("valid");
        assert_eq!(t.render("123456"), "Your code is 123456");
        let t = BodyTemplate::parse("{{code}}: {token}\n").expect("valid");
        assert_eq!(t.render("1"), "{code}: 1");
        assert!(BodyTemplate::parse("no placeholder").is_err());
        assert!(BodyTemplate::parse("{tokn}").is_err());
        assert!(BodyTemplate::parse("{token} }").is_err());
        assert!(BodyTemplate::parse("{token").is_err());
    }

    #[test]
    fn brand_files_then_the_default_brand_then_the_configured_text() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (brand, text) in [("vector-im", "Element code {token}"), ("base", "B {token}")] {
            std::fs::create_dir(dir.path().join(brand)).expect("mkdir");
            std::fs::write(dir.path().join(brand).join(SMS_TEMPLATE), text).expect("write");
        }
        std::fs::create_dir(dir.path().join("mailonly")).expect("mkdir");
        let t = SmsTemplates::load(Some(dir.path()), Some("Server {token}")).expect("loads");
        assert_eq!(t.render(Some("vector-im"), "base", "42"), "Element code 42");
        assert_eq!(t.render(Some("mailonly"), "base", "42"), "B 42");
        assert_eq!(t.render(Some("../base"), "matrix-org", "42"), "Server 42");
        let builtin = SmsTemplates::load(None, None).expect("loads");
        assert_eq!(
            builtin.render(None, "matrix-org", "42"),
            "Your Matrix verification code is 42"
        );

        std::fs::write(dir.path().join("base").join(SMS_TEMPLATE), "{oops}").expect("write");
        let err = SmsTemplates::load(Some(dir.path()), None).expect_err("broken file");
        assert!(err.contains("sms_template.txt"), "{err}");
    }
}
