//! sydent's configuration file (`sydent.conf`), read the way Python's `configparser` reads
//! it: `[section]` headers, `key = value` or `key: value`, keys case-insensitive, values
//! trimmed, `#`/`;` comment lines, indented continuation lines joined with a newline, and
//! `[DEFAULT]` values visible in every section.

use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SydentConf {
    /// section → key (lower case) → value.
    sections: BTreeMap<String, BTreeMap<String, String>>,
}

impl SydentConf {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        let mut sections: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let mut section: Option<String> = None;
        let mut last_key: Option<String> = None;
        for (number, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let indented = line.len() != trimmed.len();
            if indented
                && let (Some(s), Some(k)) = (&section, &last_key)
                && let Some(value) = sections.get_mut(s).and_then(|m| m.get_mut(k))
            {
                if !value.is_empty() {
                    value.push('\n');
                }
                value.push_str(trimmed);
                continue;
            }
            if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                section = Some(name.to_owned());
                sections.entry(name.to_owned()).or_default();
                last_key = None;
                continue;
            }
            let Some(s) = &section else {
                return Err(format!(
                    "line {}: an option before any [section]",
                    number + 1
                ));
            };
            let split = trimmed
                .find(['=', ':'])
                .ok_or_else(|| format!("line {}: expected `key = value`", number + 1))?;
            let key = trimmed[..split].trim().to_lowercase();
            let value = trimmed[split + 1..].trim().to_owned();
            sections
                .entry(s.clone())
                .or_default()
                .insert(key.clone(), value);
            last_key = Some(key);
        }
        Ok(Self { sections })
    }

    /// The value of `key` in `section` (or in `[DEFAULT]`), if set.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        let key = key.to_lowercase();
        self.sections
            .get(section)
            .and_then(|m| m.get(&key))
            .or_else(|| self.sections.get("DEFAULT").and_then(|m| m.get(&key)))
            .map(String::as_str)
    }

    /// A non-empty value.
    pub fn get_set(&self, section: &str, key: &str) -> Option<&str> {
        self.get(section, key).filter(|v| !v.is_empty())
    }

    /// `server.name` of `[general]`: the name sydent signed associations under.
    pub fn server_name(&self) -> Option<&str> {
        self.get_set("general", "server.name")
    }

    /// `ed25519.signingkey` of `[crypto]`: `ed25519 0 <seed>`.
    pub fn signing_key(&self) -> Option<&str> {
        self.get_set("crypto", "ed25519.signingkey")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_configparser() {
        let conf = SydentConf::parse(
            "# comment\n[DEFAULT]\nshared = d\n[general]\nServer.Name = is.example\n\
             templates.path: /res\n; other comment\n[email]\nemail.invite.subject = %(a)s\n  \
             continued\n[crypto]\ned25519.signingkey = ed25519 0 abc\n",
        )
        .expect("parses");
        assert_eq!(conf.server_name(), Some("is.example"));
        assert_eq!(conf.get("general", "templates.path"), Some("/res"));
        assert_eq!(
            conf.get("email", "email.invite.subject"),
            Some("%(a)s\ncontinued")
        );
        assert_eq!(conf.signing_key(), Some("ed25519 0 abc"));
        assert_eq!(conf.get("email", "shared"), Some("d"));
        assert_eq!(conf.get("email", "nope"), None);
        assert!(SydentConf::parse("key = before section\n").is_err());
    }
}
