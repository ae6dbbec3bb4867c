//! sydent's configuration file (`sydent.conf`), read the way Python's `configparser` reads
//! it: `[section]` headers, `key = value` or `key: value`, keys case-insensitive, values
//! trimmed, `#`/`;` comment lines, indented continuation lines joined with a newline, and
//! `[DEFAULT]` values visible in every section.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

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

    /// Whether `path` holds a sydent.conf rather than Oxident's TOML: it is not TOML, and it
    /// reads as an INI file with one of sydent's sections. (The spelling
    /// `import-sydent --config sydent.conf` passes it where the TOML file usually goes.)
    pub fn is_sydent_conf(path: &Path) -> bool {
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        toml::from_str::<toml::Table>(&text).is_err()
            && Self::parse(&text).is_ok_and(|conf| {
                ["general", "db", "http", "email", "crypto"]
                    .iter()
                    .any(|s| conf.sections.contains_key(*s))
            })
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

    /// Every option of `section` (keys lower case, as configparser gives them), without
    /// `[DEFAULT]`'s.
    pub fn options(&self, section: &str) -> impl Iterator<Item = (&str, &str)> {
        self.sections
            .get(section)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()))
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

/// sydent options with a meaning here → Oxident configuration values (a nested JSON object
/// of Oxident keys: the TOML twins). Only options present in the file are mapped; relative
/// paths are taken from `base` (the folder of sydent.conf). Unreadable values are problems.
/// sydent options without a twin (its database, replication, Prometheus, Sentry, …) are
/// ignored: the database is carried over by `oxident import-sydent`.
impl SydentConf {
    pub fn oxident_values(&self, base: &Path) -> (Value, Vec<String>) {
        let mut out = Map::new();
        let mut problems = Vec::new();
        let mut set = |path: &str, value: Value| insert(&mut out, path, value);
        let path_of = |v: &str| Value::String(base.join(v).display().to_string());

        if let Some(v) = self.get_set("general", "server.name") {
            set("server.server_name", v.into());
        }
        if let Some(v) = self.get_set("general", "templates.path") {
            set("email.templates.folder", path_of(v));
        }
        if let Some(v) = self.get_set("general", "brand.default") {
            set("email.templates.default_brand", v.into());
        }
        if let Some(v) = self.get_set("general", "terms.path") {
            set("terms.policies_file", path_of(v));
        }
        if let Some(v) = self.get_set("general", "address_lookup_limit") {
            match v.parse::<u64>() {
                Ok(n) => set("lookup.max_addresses", n.into()),
                Err(_) => problems.push(format!(
                    "general.address_lookup_limit: `{v}` is not a number"
                )),
            }
        }
        for (key, twin) in [
            ("ip.blacklist", "federation.extra_denied"),
            ("ip.whitelist", "federation.extra_allowed"),
        ] {
            if let Some(v) = self.get_set("general", key) {
                let list: Vec<Value> = v
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect();
                set(twin, Value::Array(list));
            }
        }
        for (key, twin) in [
            ("enable_v1_access", "api.enable_v1_access"),
            ("enable_v1_associations", "api.enable_v1_associations"),
        ] {
            if let Some(v) = self.get_set("general", key) {
                match parse_bool(v) {
                    Some(on) => set(twin, on.into()),
                    None => problems.push(format!("general.{key}: `{v}` is not a boolean")),
                }
            }
        }
        for (key, twin) in [
            (
                "email.third_party_invite_username_obfuscate_characters",
                "invites.username_reveal_characters",
            ),
            (
                "email.third_party_invite_domain_obfuscate_characters",
                "invites.domain_reveal_characters",
            ),
        ] {
            if let Some(v) = self.get_set("email", key) {
                match v.parse::<u64>() {
                    Ok(n) => set(twin, n.into()),
                    Err(_) => problems.push(format!("email.{key}: `{v}` is not a number")),
                }
            }
        }
        let port = self.get_set("http", "clientapi.http.port");
        let address = self.get_set("http", "clientapi.http.bind_address");
        if port.is_some() || address.is_some() {
            let port = port.unwrap_or("8090");
            let address = address.unwrap_or("::");
            let bind = if address.contains(':') {
                format!("[{address}]:{port}")
            } else {
                format!("{address}:{port}")
            };
            set("server.bind", bind.into());
        }
        if let Some(v) = self.get_set("http", "client_http_base") {
            set("server.public_base_url", v.into());
            set("email.templates.identity_server_url", v.into());
        }
        if let Some(v) = self.get_set("http", "federation.verifycerts") {
            match parse_bool(v) {
                Some(verify) => set("federation.accept_invalid_certs", (!verify).into()),
                None => problems.push(format!(
                    "http.federation.verifycerts: `{v}` is not a boolean"
                )),
            }
        }

        if let Some(host) = self.get_set("email", "email.smtphost") {
            set("email.smtp.host", host.into());
            if let Some(v) = self.get_set("email", "email.smtpport") {
                match v.parse::<u16>() {
                    Ok(n) => set("email.smtp.port", n.into()),
                    Err(_) => problems.push(format!("email.email.smtpport: `{v}` is not a port")),
                }
            }
            if let Some(v) = self.get_set("email", "email.smtpusername") {
                set("email.smtp.username", v.into());
            }
            if let Some(v) = self.get_set("email", "email.smtppassword") {
                set("email.smtp.password", v.into());
            }
            if let Some(v) = self.get_set("email", "email.tlsmode") {
                let tls = match v.to_ascii_uppercase().as_str() {
                    "0" | "" | "NONE" | "FALSE" => Some("none"),
                    "SSL" | "TLS" => Some("implicit"),
                    "STARTTLS" => Some("start_tls"),
                    _ => None,
                };
                match tls {
                    Some(t) => set("email.smtp.tls", t.into()),
                    None => problems.push(format!(
                        "email.email.tlsmode: `{v}` is not 0, SSL, TLS or STARTTLS"
                    )),
                }
            }
            if let Some(v) = self.get_set("email", "email.hostname") {
                set("email.smtp.hello_name", v.into());
            }
        }
        if let Some(from) = self.get_set("email", "email.from") {
            // sydent fills `{hostname}` in its default sender; a configured one may use it too.
            let hostname = self
                .get_set("email", "email.hostname")
                .unwrap_or("localhost");
            let from = from.replace("{hostname}", hostname);
            set("email.templates.from", from.clone().into());
            if self.get_set("email", "email.smtphost").is_some() {
                set("email.smtp.from", from.into());
            }
        }
        for (key, twin) in [
            ("email.hostname", "email.templates.hostname"),
            ("email.subject", "email.templates.verification_subject"),
            ("email.invite.subject", "email.templates.invite_subject"),
            (
                "email.invite.subject_space",
                "email.templates.invite_subject_space",
            ),
            (
                "email.default_web_client_location",
                "email.templates.default_web_client_location",
            ),
        ] {
            if let Some(v) = self.get_set("email", key) {
                set(twin, v.into());
            }
        }
        self.sms_values(&mut out, &mut problems);
        (Value::Object(out), problems)
    }

    /// `[sms]`: sydent texts through OpenMarket with `username`/`password`; a set username
    /// switches the OpenMarket gateway on here. `bodyTemplate` is the server-wide text,
    /// `originators.<cc>` and `smsRule.<cc>` (`allow`/`reject`) keep their meaning.
    fn sms_values(&self, out: &mut Map<String, Value>, problems: &mut Vec<String>) {
        if let Some(user) = self.get_set("sms", "username") {
            insert(out, "sms.gateway", "openmarket".into());
            insert(out, "sms.openmarket.username", user.into());
            if let Some(v) = self.get_set("sms", "password") {
                insert(out, "sms.openmarket.password", v.into());
            }
        }
        if let Some(v) = self.get_set("sms", "bodytemplate") {
            insert(out, "sms.body_template", v.into());
        }
        for (key, value) in self.options("sms") {
            if let Some(cc) = key.strip_prefix("originators.") {
                let list: Vec<Value> = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect();
                sms_map_entry(out, "originators", cc, Value::Array(list));
            } else if let Some(cc) = key.strip_prefix("smsrule.") {
                if value == "allow" || value == "reject" {
                    sms_map_entry(out, "rules", cc, value.into());
                } else {
                    problems.push(format!("sms.{key}: `{value}` is not `allow` or `reject`"));
                }
            }
        }
    }
}

/// `sms.<table>.<cc>`: a country key may not go through [`insert`]'s dotted path.
fn sms_map_entry(out: &mut Map<String, Value>, table: &str, key: &str, value: Value) {
    let sms = out
        .entry("sms")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(sms) = sms {
        let entry = sms
            .entry(table)
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(map) = entry {
            map.insert(key.to_owned(), value);
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    // configparser's getboolean words.
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

/// Sets `a.b.c` in a nested object.
fn insert(root: &mut Map<String, Value>, path: &str, value: Value) {
    let mut parts: Vec<&str> = path.split('.').collect();
    let Some(last) = parts.pop() else {
        return;
    };
    let mut map = root;
    for part in parts {
        let entry = map
            .entry(part.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else {
            return;
        };
        map = next;
    }
    map.insert(last.to_owned(), value);
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

    #[test]
    fn v1_switches_and_redaction_lengths_have_twins() {
        let conf = SydentConf::parse(
            "[general]\nenable_v1_access = false\nenable_v1_associations = yes\n\
             [email]\nemail.third_party_invite_username_obfuscate_characters = 5\n\
             email.third_party_invite_domain_obfuscate_characters = 1\n",
        )
        .expect("parses");
        let (values, problems) = conf.oxident_values(Path::new("/etc/sydent"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(values["api"]["enable_v1_access"], false);
        assert_eq!(values["api"]["enable_v1_associations"], true);
        assert_eq!(values["invites"]["username_reveal_characters"], 5);
        assert_eq!(values["invites"]["domain_reveal_characters"], 1);
        let bad = SydentConf::parse("[general]\nenable_v1_access = maybe\n").expect("parses");
        let (_, problems) = bad.oxident_values(Path::new("/"));
        assert_eq!(problems.len(), 1, "{problems:?}");
    }

    #[test]
    fn sms_section_maps_onto_the_openmarket_gateway() {
        let conf = SydentConf::parse(
            "[sms]\nbodyTemplate = Your code is {token}\nusername = om-user\npassword = om-pass\n\
             originators.44 = long:447700900123, alpha:Matrix\noriginators.default = short:12345\n\
             smsRule.1 = reject\nsmsrule.44 = allow\n",
        )
        .expect("parses");
        let (values, problems) = conf.oxident_values(Path::new("/"));
        assert!(problems.is_empty(), "{problems:?}");
        let sms = &values["sms"];
        assert_eq!(sms["gateway"], "openmarket");
        assert_eq!(sms["openmarket"]["username"], "om-user");
        assert_eq!(sms["openmarket"]["password"], "om-pass");
        assert_eq!(sms["body_template"], "Your code is {token}");
        assert_eq!(
            sms["originators"]["44"],
            serde_json::json!(["long:447700900123", "alpha:Matrix"])
        );
        assert_eq!(
            sms["originators"]["default"],
            serde_json::json!(["short:12345"])
        );
        assert_eq!(sms["rules"]["1"], "reject");
        assert_eq!(sms["rules"]["44"], "allow");

        // sydent's default: an empty username, so no gateway is switched on.
        let default = SydentConf::parse("[sms]\nbodyTemplate = Your code is {token}\nusername =\n")
            .expect("parses");
        let (values, _) = default.oxident_values(Path::new("/"));
        assert!(values["sms"].get("gateway").is_none());
        let bad = SydentConf::parse("[sms]\nsmsrule.44 = deny\n").expect("parses");
        assert_eq!(bad.oxident_values(Path::new("/")).1.len(), 1);
    }
}
