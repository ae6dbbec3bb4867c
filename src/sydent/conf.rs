//! sydent's configuration file (`sydent.conf`), read the way sydent's Python reads it:
//! `configparser.ConfigParser` (3.11) with sydent's interpolation. `[section]` headers (the
//! last `]` closes the name), `key = value` or `key: value` (the first `=` or `:`), keys
//! lower-cased, section names as written, `#`/`;` lines are comments (nothing is a comment
//! inside a line), a line indented deeper than its key continues the value (blank lines
//! inside kept, trailing ones dropped), `[DEFAULT]` values visible in every section, a
//! repeated section or key is an error, and values are `%`-interpolated (`%%`, `%(key)s`
//! from the same section or `[DEFAULT]`, ten levels deep) except `email.invite.subject` and
//! `email.invite.subject_space`, which sydent reads raw. A differential test compares this
//! with CPython on generated files.
//!
//! Kept by hand: the `configparser` crate strips `;`/`#` inside values (a URL's `#/room`),
//! lower-cases section names, accepts keys without a value and has no interpolation;
//! `rust-ini` adds escapes and quoting. Either would read some sydent.conf differently.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::{Map, Value};

/// The section whose values every other section sees.
const DEFAULT_SECTION: &str = "DEFAULT";

/// Options sydent reads without interpolation (`SydentInterpolation`'s list): they are
/// `%(name)s` templates themselves.
const RAW_OPTIONS: [&str; 2] = ["email.invite.subject", "email.invite.subject_space"];

/// configparser's `MAX_INTERPOLATION_DEPTH`.
const MAX_DEPTH: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SydentConf {
    /// section → key (lower case) → the value `get` returns (`[DEFAULT]`'s keys included,
    /// interpolated in the section), or why Python's `get` would raise.
    sections: BTreeMap<String, BTreeMap<String, Result<String, String>>>,
    /// The keys each section sets itself (not through `[DEFAULT]`).
    own: BTreeMap<String, BTreeSet<String>>,
}

/// Values as read, before interpolation: section → key → lines.
type RawSections = BTreeMap<String, BTreeMap<String, Vec<String>>>;

impl SydentConf {
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        // Python reads the file with universal newlines.
        let text = text.replace("\r\n", "\n").replace('\r', "\n");
        let mut raw = RawSections::new();
        let mut seen_options = BTreeSet::new();
        let mut section: Option<String> = None;
        let mut option: Option<String> = None;
        let mut indent_level = 0;
        for (index, line) in text.split('\n').enumerate() {
            let number = index + 1;
            let stripped = py_strip(line);
            if stripped.starts_with(['#', ';']) {
                continue;
            }
            if stripped.is_empty() {
                // A blank line inside a value is part of it.
                if let (Some(s), Some(o)) = (&section, &option)
                    && let Some(lines) = raw.get_mut(s).and_then(|m| m.get_mut(o))
                {
                    lines.push(String::new());
                }
                continue;
            }
            let indent = line.chars().take_while(|c| is_py_space(*c)).count();
            if let (Some(s), Some(o)) = (&section, &option)
                && indent > indent_level
                && let Some(lines) = raw.get_mut(s).and_then(|m| m.get_mut(o))
            {
                lines.push(stripped.to_owned());
                continue;
            }
            indent_level = indent;
            if let Some(name) = section_header(stripped) {
                if name != DEFAULT_SECTION && raw.contains_key(name) {
                    return Err(format!("line {number}: section [{name}] appears twice"));
                }
                raw.entry(name.to_owned()).or_default();
                section = Some(name.to_owned());
                option = None;
                continue;
            }
            let Some(s) = &section else {
                return Err(format!("line {number}: an option before any [section]"));
            };
            let Some((key, value)) = split_option(stripped) else {
                return Err(format!("line {number}: expected `key = value`"));
            };
            let key = key.to_lowercase();
            if !seen_options.insert((s.clone(), key.clone())) {
                return Err(format!(
                    "line {number}: option {key} appears twice in [{s}]"
                ));
            }
            raw.entry(s.clone())
                .or_default()
                .insert(key.clone(), vec![value.to_owned()]);
            option = Some(key);
        }
        Ok(Self::resolve(raw))
    }

    /// Joins each value's lines and interpolates it as `get` would in each section.
    fn resolve(raw: RawSections) -> Self {
        let joined: BTreeMap<&str, BTreeMap<&str, String>> = raw
            .iter()
            .map(|(section, options)| {
                let options = options
                    .iter()
                    .map(|(key, lines)| (key.as_str(), py_rstrip(&lines.join("\n")).to_owned()))
                    .collect();
                (section.as_str(), options)
            })
            .collect();
        let empty = BTreeMap::new();
        let defaults = joined.get(DEFAULT_SECTION).unwrap_or(&empty);
        let mut sections = BTreeMap::new();
        let mut own = BTreeMap::new();
        for (section, options) in &joined {
            let mut visible = defaults.clone();
            visible.extend(options.iter().map(|(k, v)| (*k, v.clone())));
            let values = visible
                .iter()
                .map(|(key, value)| {
                    let got = if RAW_OPTIONS.contains(key) {
                        Ok(value.clone())
                    } else {
                        let mut out = String::new();
                        interpolate(&visible, key, value, 1, &mut out).map(|()| out)
                    };
                    ((*key).to_owned(), got)
                })
                .collect();
            sections.insert((*section).to_owned(), values);
            own.insert(
                (*section).to_owned(),
                options.keys().map(|k| (*k).to_owned()).collect(),
            );
        }
        Self { sections, own }
    }

    /// Whether `path` holds a sydent.conf rather than Oxident's TOML: it is not TOML, and it
    /// reads as an INI file with one of sydent's sections. (The issue's spelling
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

    /// The value of `key` in `section` (or in `[DEFAULT]`), if set and readable (a value
    /// whose interpolation fails is `None` here; [`SydentConf::oxident_values`] reports it).
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.lookup(section, key)?.as_deref().ok()
    }

    fn lookup(&self, section: &str, key: &str) -> Option<&Result<String, String>> {
        self.sections.get(section)?.get(&key.to_lowercase())
    }

    /// Every option `section` sets itself (keys lower case, as configparser gives them),
    /// without `[DEFAULT]`'s, with the values `get` gives (or why it cannot).
    fn options(&self, section: &str) -> impl Iterator<Item = (&str, Result<&str, &str>)> {
        let values = self.sections.get(section);
        self.own
            .get(section)
            .into_iter()
            .flatten()
            .filter_map(move |key| {
                let value = values?.get(key)?;
                Some((key.as_str(), value.as_deref().map_err(String::as_str)))
            })
    }

    /// A non-empty value.
    pub fn get_set(&self, section: &str, key: &str) -> Option<&str> {
        self.get(section, key).filter(|v| !v.is_empty())
    }

    /// A non-empty value; a value sydent could not read either (its interpolation fails)
    /// is a problem, as sydent would refuse to start on it.
    fn read(&self, problems: &mut Vec<String>, section: &str, key: &str) -> Option<&str> {
        match self.lookup(section, key)? {
            Ok(value) => Some(value.as_str()).filter(|v| !v.is_empty()),
            Err(why) => {
                problems.push(format!("{section}.{key}: {why}"));
                None
            }
        }
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

/// configparser's `BasicInterpolation`: `%%` is `%`, `%(name)s` the value of `name` (lower
/// case) among `values`, itself interpolated when it holds a `%`; any other `%` is an error.
fn interpolate(
    values: &BTreeMap<&str, String>,
    option: &str,
    mut rest: &str,
    depth: usize,
    out: &mut String,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "`%(…)s` references nest more than {MAX_DEPTH} deep in {option}"
        ));
    }
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        if let Some(after) = rest.strip_prefix("%%") {
            out.push('%');
            rest = after;
        } else if let Some(named) = rest.strip_prefix("%(") {
            let name = named
                .find(')')
                .filter(|&close| close > 0 && named[close + 1..].starts_with('s'))
                .map(|close| &named[..close])
                .ok_or_else(|| format!("a `%(` in {option} is not a `%(name)s` reference"))?;
            rest = &named[name.len() + 2..];
            let name = name.to_lowercase();
            let value = values
                .get(name.as_str())
                .ok_or_else(|| format!("{option} refers to `{name}`, which is not set"))?;
            if value.contains('%') {
                interpolate(values, option, value, depth + 1, out)?;
            } else {
                out.push_str(value);
            }
        } else {
            return Err(format!(
                "a `%` in {option} is followed by neither `%` nor `(` (write `%%`)"
            ));
        }
    }
    out.push_str(rest);
    Ok(())
}

/// Python's `str.isspace`: Unicode white space and the four separators U+001C–U+001F.
fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn py_strip(text: &str) -> &str {
    text.trim_matches(is_py_space)
}

fn py_rstrip(text: &str) -> &str {
    text.trim_end_matches(is_py_space)
}

/// `[name]` as configparser's `SECTCRE` reads a line: from the first `[` to the last `]`,
/// whatever follows it, the name not empty.
fn section_header(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

/// `key = value` / `key: value` as configparser's `OPTCRE` reads it: split at the first `=`
/// or `:`, both sides stripped, the key not empty.
fn split_option(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(['=', ':'])?;
    let key = py_rstrip(key);
    (!key.is_empty()).then(|| (key, py_strip(value)))
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

        if let Some(v) = self.read(&mut problems, "general", "server.name") {
            set("server.server_name", v.into());
        }
        if let Some(v) = self.read(&mut problems, "general", "templates.path") {
            set("email.templates.folder", path_of(v));
        }
        if let Some(v) = self.read(&mut problems, "general", "brand.default") {
            set("email.templates.default_brand", v.into());
        }
        if let Some(v) = self.read(&mut problems, "general", "terms.path") {
            set("terms.policies_file", path_of(v));
        }
        if let Some(v) = self.read(&mut problems, "general", "address_lookup_limit") {
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
            if let Some(v) = self.read(&mut problems, "general", key) {
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
            if let Some(v) = self.read(&mut problems, "general", key) {
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
            if let Some(v) = self.read(&mut problems, "email", key) {
                match v.parse::<u64>() {
                    Ok(n) => set(twin, n.into()),
                    Err(_) => problems.push(format!("email.{key}: `{v}` is not a number")),
                }
            }
        }
        let port = self.read(&mut problems, "http", "clientapi.http.port");
        let address = self.read(&mut problems, "http", "clientapi.http.bind_address");
        if port.is_some() || address.is_some() {
            let port = port.unwrap_or("8090");
            let address = address.unwrap_or("::");
            set("server.bind", socket_address(address, port).into());
        }
        // sydent serves its Prometheus metrics on `prometheus_addr`:`prometheus_port` once the
        // port is set (and does not start without the address): the operator listener here.
        if let Some(port) = self.read(&mut problems, "general", "prometheus_port") {
            let address = self.read(&mut problems, "general", "prometheus_addr");
            match (port.parse::<u16>(), address) {
                (Ok(port), Some(address)) => {
                    set("metrics.bind", socket_address(address, port).into());
                }
                (Err(_), _) => {
                    problems.push(format!("general.prometheus_port: `{port}` is not a port"))
                }
                (Ok(_), None) => problems.push(
                    "general.prometheus_addr: needed with prometheus_port (sydent does not \
                     start without it)"
                        .into(),
                ),
            }
        }
        // sydent's internal API (bind/unbind without validation) is the admin listener here;
        // an empty port (sydent's default) leaves it off, and its address defaults to `::1`.
        if let Some(port) = self
            .read(&mut problems, "http", "internalapi.http.port")
            .filter(|p| !p.is_empty())
        {
            let address = self
                .read(&mut problems, "http", "internalapi.http.bind_address")
                .unwrap_or("::1");
            let bind = if address.contains(':') {
                format!("[{address}]:{port}")
            } else {
                format!("{address}:{port}")
            };
            if bind.parse::<std::net::SocketAddr>().is_ok() {
                set("admin.bind", bind.into());
            } else {
                problems.push(format!(
                    "http.internalapi.http.port / bind_address: `{bind}` is not an address"
                ));
            }
        }
        if let Some(v) = self.read(&mut problems, "http", "client_http_base") {
            set("server.public_base_url", v.into());
            set("email.templates.identity_server_url", v.into());
        }
        if let Some(v) = self.read(&mut problems, "http", "federation.verifycerts") {
            match parse_bool(v) {
                Some(verify) => set("federation.accept_invalid_certs", (!verify).into()),
                None => problems.push(format!(
                    "http.federation.verifycerts: `{v}` is not a boolean"
                )),
            }
        }

        if let Some(host) = self.read(&mut problems, "email", "email.smtphost") {
            set("email.smtp.host", host.into());
            if let Some(v) = self.read(&mut problems, "email", "email.smtpport") {
                match v.parse::<u16>() {
                    Ok(n) => set("email.smtp.port", n.into()),
                    Err(_) => problems.push(format!("email.email.smtpport: `{v}` is not a port")),
                }
            }
            if let Some(v) = self.read(&mut problems, "email", "email.smtpusername") {
                set("email.smtp.username", v.into());
            }
            if let Some(v) = self.read(&mut problems, "email", "email.smtppassword") {
                set("email.smtp.password", v.into());
            }
            if let Some(v) = self.read(&mut problems, "email", "email.tlsmode") {
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
            if let Some(v) = self.read(&mut problems, "email", "email.hostname") {
                set("email.smtp.hello_name", v.into());
            }
        }
        if let Some(from) = self.read(&mut problems, "email", "email.from") {
            // sydent fills `{hostname}` in its default sender; a configured one may use it too.
            let hostname = self
                .get_set("email", "email.hostname")
                .unwrap_or("localhost");
            let from = from.replace("{hostname}", hostname);
            set("email.templates.from", from.clone().into());
            if self
                .read(&mut problems, "email", "email.smtphost")
                .is_some()
            {
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
            if let Some(v) = self.read(&mut problems, "email", key) {
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
        if let Some(user) = self.read(problems, "sms", "username") {
            insert(out, "sms.gateway", "openmarket".into());
            insert(out, "sms.openmarket.username", user.into());
            if let Some(v) = self.read(problems, "sms", "password") {
                insert(out, "sms.openmarket.password", v.into());
            }
        }
        if let Some(v) = self.read(problems, "sms", "bodytemplate") {
            insert(out, "sms.body_template", v.into());
        }
        for (key, value) in self.options("sms") {
            let value = match value {
                Ok(value) => value,
                Err(why) => {
                    problems.push(format!("sms.{key}: {why}"));
                    continue;
                }
            };
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

/// `address:port` as a socket address reads it (an IPv6 address in brackets).
fn socket_address(address: &str, port: impl std::fmt::Display) -> String {
    if address.contains(':') {
        format!("[{address}]:{port}")
    } else {
        format!("{address}:{port}")
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
    use crate::sydent::cpython;
    use proptest::prelude::*;

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
    fn interpolates_like_sydent() {
        let conf = SydentConf::parse(
            "[DEFAULT]\nhost = is.example\n[http]\nclient_http_base = https://%(host)s/\n\
             pct = 100%%\n[email]\nemail.invite.subject = %(sender_display_name)s invited you\n\
             email.smtppassword = p%ss\nlist = a\n\n  b\n\n",
        )
        .expect("parses");
        assert_eq!(
            conf.get("http", "client_http_base"),
            Some("https://is.example/")
        );
        assert_eq!(conf.get("http", "pct"), Some("100%"));
        assert_eq!(
            conf.get("email", "email.invite.subject"),
            Some("%(sender_display_name)s invited you")
        );
        assert_eq!(conf.get("email", "list"), Some("a\n\nb"));
        // sydent would fail reading the password; the import says so.
        assert_eq!(conf.get("email", "email.smtppassword"), None);
        let conf = SydentConf::parse("[email]\nemail.smtphost = h\nemail.smtppassword = p%ss\n")
            .expect("parses");
        let (_, problems) = conf.oxident_values(Path::new("/"));
        assert_eq!(problems.len(), 1, "{problems:?}");
        for refused in [
            "[a]\nx = 1\nX = 2\n",
            "[a]\n[a]\n",
            "[a]\n= v\n",
            "[a]\nnovalue\n",
        ] {
            assert!(SydentConf::parse(refused).is_err(), "{refused:?}");
        }
    }

    /// What sydent's configparser makes of a file: per section (`DEFAULT` first), each
    /// visible key's `get`, or `null` where `get` raises; `null` for a file it refuses.
    const SYDENT_CONFIGPARSER: &str = r#"
import configparser, io, json, sys
class SydentInterpolation(configparser.Interpolation):
    basic = configparser.BasicInterpolation()
    def before_get(self, parser, section, option, value, defaults):
        if option in ("email.invite.subject", "email.invite.subject_space"):
            return value
        return self.basic.before_get(parser, section, option, value, defaults)
answers = []
for text in json.load(sys.stdin):
    parser = configparser.ConfigParser(interpolation=SydentInterpolation())
    try:
        parser.read_file(io.StringIO(text, newline=None))
    except configparser.Error:
        answers.append(None)
        continue
    sections = {}
    for section in ["DEFAULT"] + parser.sections():
        keys = parser.defaults() if section == "DEFAULT" else parser.options(section)
        values = {}
        for key in keys:
            try:
                values[key] = parser.get(section, key)
            except configparser.Error:
                values[key] = None
        sections[section] = values
    answers.append(sections)
json.dump(answers, sys.stdout)
"#;

    /// Lines of the kinds sydent.conf files hold, and the kinds that trip parsers up.
    fn conf_text() -> impl Strategy<Value = String> {
        let key = "[a-cA-C][a-c._]{0,3}";
        let value = "([a-z0-9 #;:=/é]|%%|%\\([a-cA-C]{1,2}\\)s|%|\\(|\\)|s){0,6}";
        let indent = "[ \t]{0,2}";
        let line = prop_oneof![
            4 => (indent, key, " ?[=:] ?", value).prop_map(|(i, k, d, v)| format!("{i}{k}{d}{v}")),
            2 => ("[ \t]{1,4}", value).prop_map(|(i, v)| format!("{i}{v}")),
            1 => "\\[(DEFAULT|general|email|a b|x\\]y)\\]( ?#x)?",
            1 => "[ \t]?[#;][a-z =]{0,5}",
            1 => "[ \t]{0,2}",
            1 => Just("email.invite.subject = %(a)s %".to_owned()),
        ];
        (
            prop::collection::vec(line, 0..10),
            prop::bool::ANY,
            prop::bool::weighted(0.9),
        )
            .prop_map(|(lines, crlf, header)| {
                let mut text = if header {
                    "[general]\n".to_owned()
                } else {
                    String::new()
                };
                text.push_str(&lines.join(if crlf { "\r\n" } else { "\n" }));
                text
            })
    }

    #[test]
    fn reads_sydent_conf_as_cpython_does() {
        let texts = cpython::samples(conf_text(), 400);
        let answers = cpython::run(SYDENT_CONFIGPARSER, &serde_json::json!(texts));
        let answers = answers.as_array().expect("list");
        let mut parsed = 0;
        for (text, answer) in texts.iter().zip(answers) {
            let ours = SydentConf::parse(text).ok().map(|conf| {
                let mut sections = serde_json::Map::new();
                let defaults = conf.sections.get(DEFAULT_SECTION);
                sections.insert(DEFAULT_SECTION.to_owned(), gets(defaults));
                for (name, values) in &conf.sections {
                    if name != DEFAULT_SECTION {
                        sections.insert(name.clone(), gets(Some(values)));
                    }
                }
                Value::Object(sections)
            });
            parsed += usize::from(ours.is_some());
            assert_eq!(
                ours.as_ref().unwrap_or(&Value::Null),
                answer,
                "file {text:?}"
            );
        }
        // The generated files exercise both outcomes.
        assert!(parsed > 100 && parsed < texts.len(), "{parsed} parsed");
    }

    fn gets(values: Option<&BTreeMap<String, Result<String, String>>>) -> Value {
        values
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_ref().map_or(Value::Null, |v| v.as_str().into()),
                )
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    #[test]
    fn the_internal_api_becomes_the_admin_listener() {
        let values = |text: &str| {
            let conf = SydentConf::parse(text).expect("parses");
            let (values, problems) = conf.oxident_values(Path::new("/"));
            assert!(problems.is_empty(), "{problems:?}");
            values
        };
        let v = values("[http]\ninternalapi.http.port = 8091\n");
        assert_eq!(v["admin"]["bind"], "[::1]:8091");
        let v = values(
            "[http]\ninternalapi.http.port = 8091\ninternalapi.http.bind_address = 127.0.0.1\n",
        );
        assert_eq!(v["admin"]["bind"], "127.0.0.1:8091");
        // sydent's default: an empty port, no internal API.
        let v = values("[http]\ninternalapi.http.port =\ninternalapi.http.bind_address = ::1\n");
        assert!(v.get("admin").is_none());
        let bad = SydentConf::parse("[http]\ninternalapi.http.port = eighty\n").expect("parses");
        let (_, problems) = bad.oxident_values(Path::new("/"));
        assert_eq!(problems.len(), 1, "{problems:?}");
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
    fn prometheus_port_and_addr_become_the_operator_listener() {
        let conf = SydentConf::parse("[general]\nprometheus_port = 9101\nprometheus_addr = ::1\n")
            .expect("parses");
        let (values, problems) = conf.oxident_values(Path::new("/"));
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(values["metrics"]["bind"], "[::1]:9101");
        let conf =
            SydentConf::parse("[general]\nprometheus_port = 9101\nprometheus_addr = 127.0.0.1\n")
                .expect("parses");
        let (values, _) = conf.oxident_values(Path::new("/"));
        assert_eq!(values["metrics"]["bind"], "127.0.0.1:9101");
        // Without the port sydent serves no metrics; a bad port or no address stops it.
        let (values, problems) = SydentConf::parse("[general]\nprometheus_addr = ::1\n")
            .expect("parses")
            .oxident_values(Path::new("/"));
        assert!(problems.is_empty() && values.get("metrics").is_none());
        for bad in [
            "prometheus_port = http\nprometheus_addr = ::1",
            "prometheus_port = 9101",
        ] {
            let (values, problems) = SydentConf::parse(&format!("[general]\n{bad}\n"))
                .expect("parses")
                .oxident_values(Path::new("/"));
            assert_eq!(problems.len(), 1, "{bad}: {problems:?}");
            assert!(values.get("metrics").is_none());
        }
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
