//! Terms of service: the operator's policies file and the rule "every current policy is
//! accepted (in any of its languages)" that gates authenticated endpoints.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::path::PathBuf;

/// The policies as served by `GET /v2/terms`, and the URLs that count as acceptance.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// The `policies` object exactly as served.
    pub document: serde_json::Map<String, Value>,
    /// For each policy, the set of its URLs (one per language); accepting any one counts.
    required: Vec<BTreeSet<String>>,
}

impl Policies {
    /// Reads a TOML or JSON file shaped like the `/v2/terms` response (`{policies: {...}}`,
    /// or just the inner map), or sydent's YAML terms file (`.yaml`/`.yml`).
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value: Value = if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            // sydent's terms file, as it is (`terms.path`).
            crate::sydent::terms::policies_from_yaml(&text)
                .map_err(|e| format!("{}: {e}", path.display()))?
        } else if path.extension().is_some_and(|e| e == "json") {
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        } else {
            let yaml: toml::Value = toml::from_str(&text)
                .map_err(|e| format!("{} is not valid TOML: {e}", path.display()))?;
            serde_json::to_value(yaml).map_err(|e| e.to_string())?
        };
        Self::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Self, String> {
        let map = match value {
            Value::Object(mut m) if m.contains_key("policies") => match m.remove("policies") {
                Some(Value::Object(p)) => p,
                _ => return Err("`policies` must be an object".into()),
            },
            Value::Object(m) => m,
            _ => return Err("the policies document must be an object".into()),
        };
        let mut required = Vec::new();
        for (id, policy) in &map {
            let Some(obj) = policy.as_object() else {
                return Err(format!("policy `{id}` must be an object"));
            };
            if !obj.get("version").is_some_and(Value::is_string) {
                return Err(format!("policy `{id}` needs a string `version`"));
            }
            let urls: BTreeSet<String> = obj
                .iter()
                .filter(|(k, _)| *k != "version")
                .filter_map(|(lang, t)| {
                    let url = t.get("url").and_then(Value::as_str)?;
                    t.get("name").and_then(Value::as_str)?;
                    let _ = lang;
                    Some(url.to_string())
                })
                .collect();
            if urls.is_empty() {
                return Err(format!(
                    "policy `{id}` needs at least one language with `name` and `url`"
                ));
            }
            required.push(urls);
        }
        Ok(Self {
            document: map,
            required,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.required.is_empty()
    }

    /// Every URL that belongs to some policy (acceptances of other URLs are ignored).
    pub fn known_urls(&self) -> BTreeSet<&str> {
        self.required
            .iter()
            .flat_map(|s| s.iter().map(String::as_str))
            .collect()
    }

    /// Whether the accepted URLs cover every policy.
    pub fn all_accepted<'a>(&self, accepted: impl IntoIterator<Item = &'a str> + Clone) -> bool {
        self.required
            .iter()
            .all(|urls| accepted.clone().into_iter().any(|a| urls.contains(a)))
    }
}

/// `[terms]`: where the policies come from.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TermsConfig {
    /// A TOML or JSON file of policies in the `/v2/terms` shape (`{policies: {...}}`).
    /// None: no terms, nothing is gated.
    pub policies_file: Option<PathBuf>,
}

impl TermsConfig {
    /// The policies file, if one is named, must load: a server that would serve broken terms
    /// does not start.
    pub fn validate(&self) -> Result<(), TermsConfigError> {
        match &self.policies_file {
            Some(file) => Policies::load(file)
                .map(drop)
                .map_err(TermsConfigError::PoliciesFile),
            None => Ok(()),
        }
    }
}

/// What is wrong with `[terms]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsConfigError {
    #[error("terms.policies_file: {0}")]
    PoliciesFile(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policies() -> Policies {
        Policies::from_value(json!({"policies": {
            "privacy": {"version": "1.0", "en": {"name": "Privacy", "url": "https://x/en"},
                        "fr": {"name": "Confidentialité", "url": "https://x/fr"}},
            "tos": {"version": "2", "en": {"name": "Terms", "url": "https://x/tos"}}}}))
        .expect("valid")
    }

    #[test]
    fn any_language_counts_and_every_policy_is_needed() {
        let p = policies();
        assert!(!p.all_accepted(["https://x/fr"]));
        assert!(p.all_accepted(["https://x/fr", "https://x/tos"]));
        assert!(p.all_accepted(["https://x/en", "https://x/tos", "https://other"]));
    }

    #[test]
    fn malformed_documents_are_refused() {
        assert!(
            Policies::from_value(json!({"policies": {"a": {"en": {"name": "n", "url": "u"}}}}))
                .is_err()
        );
        assert!(Policies::from_value(json!({"policies": {"a": {"version": "1"}}})).is_err());
    }
}
