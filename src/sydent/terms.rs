//! sydent's terms file (`terms.path`, YAML): `master_version` and `docs: {<id>: {version,
//! langs: {<lang>: {name, url}}}}`, checked as sydent checks it, turned into the `/v2/terms`
//! shape Oxident serves (`{policies: {<id>: {version, <lang>: {name, url}}}}`).

use serde_json::{Map, Value, json};

/// Converts the text of a sydent terms file.
pub fn policies_from_yaml(text: &str) -> Result<Value, String> {
    let yaml: Value = serde_yaml::from_str(text).map_err(|e| format!("not valid YAML: {e}"))?;
    if !yaml.get("master_version").is_some_and(Value::is_string) {
        return Err("`master_version` must be a string".to_owned());
    }
    let docs = yaml
        .get("docs")
        .and_then(Value::as_object)
        .ok_or("no `docs` map")?;
    let mut policies = Map::new();
    for (id, doc) in docs {
        let version = match doc.get("version") {
            Some(Value::String(v)) => v.clone(),
            // YAML reads an unquoted `version: 1.2` as a number; sydent serves it as given.
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(format!("`{id}` has no version")),
        };
        let langs = doc
            .get("langs")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("`{id}` has no langs"))?;
        let mut policy = Map::new();
        policy.insert("version".to_owned(), Value::String(version));
        for (lang, text) in langs {
            let name = text.get("name").and_then(Value::as_str);
            let url = text.get("url").and_then(Value::as_str);
            let (Some(name), Some(url)) = (name, url) else {
                return Err(format!("lang `{lang}` of `{id}` needs a name and a url"));
            };
            policy.insert(lang.clone(), json!({"name": name, "url": url}));
        }
        policies.insert(id.clone(), Value::Object(policy));
    }
    Ok(json!({ "policies": policies }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sydent_terms_become_v2_terms() {
        let policies = policies_from_yaml(
            "master_version: \"m1\"\ndocs:\n  privacy:\n    version: 1.2\n    langs:\n      \
             en:\n        name: Privacy\n        url: https://t/p-en\n      fr:\n        \
             name: Vie privée\n        url: https://t/p-fr\n",
        )
        .expect("converts");
        assert_eq!(
            policies,
            json!({"policies": {"privacy": {"version": "1.2",
                "en": {"name": "Privacy", "url": "https://t/p-en"},
                "fr": {"name": "Vie privée", "url": "https://t/p-fr"}}}})
        );
        assert!(policies_from_yaml("docs: {}\n").is_err());
        assert!(policies_from_yaml("master_version: a\ndocs:\n  p:\n    version: '1'\n").is_err());
    }
}
