//! Schema constructs the emitters cannot check are taken out of the schema before emission,
//! keyword by keyword, each with a [`Warning`] naming where it was; the rest of the schema,
//! the operation and the crate are still generated. `--strict` makes any warning an error.
//!
//! Removed: a pattern neither the `regex` crate nor an ECMA-262 engine takes; `propertyNames`,
//! `unevaluated*` and `dependencies`; an unknown `type` (Swagger 2.0's `file` is not one: the model
//! reads it as `format: binary`); a non-positive `multipleOf`; a bound that is not a finite number.
//! Each warning names the spec file, the operation and the JSON pointer.

use super::emit_validators::check_pattern;
use super::model::Spec;
use serde_json::{Map, Value};

/// One construct left unchecked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The spec file (relative to the spec root).
    pub file: String,
    /// The operationId.
    pub operation: String,
    /// Where in the file, as a JSON pointer (the schema's position in the operation, then the
    /// keyword's inside the schema).
    pub pointer: String,
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.operation.is_empty() {
            return write!(f, "{}: {}", self.file, self.message);
        }
        write!(
            f,
            "{} (operation `{}`) at {}: {}",
            self.file, self.operation, self.pointer, self.message
        )
    }
}

/// Keywords the validator emitter does not implement; the schema is still checked without
/// them (accepting more than the spec allows, which the warning says).
const UNCHECKED: &[&str] = &[
    "$dynamicRef",
    "$recursiveRef",
    "propertyNames",
    "dependentSchemas",
    "dependencies",
    "unevaluatedItems",
    "unevaluatedProperties",
];

const TYPES: [&str; 7] = [
    "null", "boolean", "integer", "number", "string", "array", "object",
];

/// Removes from every schema of `spec` what the emitters would refuse; returns one warning
/// per removal.
pub fn degrade(spec: &mut Spec) -> Vec<Warning> {
    let mut warnings = std::mem::take(&mut spec.skipped);
    for file in &mut spec.files {
        for op in &mut file.operations {
            let base = format!(
                "/paths/{}/{}",
                escape(&op.path),
                op.method.to_ascii_lowercase()
            );
            let mut found = Vec::new();
            for p in &mut op.params {
                let at = format!(
                    "{base}/parameters/{}/{}/schema",
                    p.location.as_str(),
                    escape(&p.name)
                );
                schema(&mut p.schema, &at, &mut found);
            }
            if let Some(b) = &mut op.body {
                schema(
                    &mut b.schema,
                    &format!("{base}/requestBody/schema"),
                    &mut found,
                );
            }
            for r in &mut op.responses {
                if let Some(s) = &mut r.schema {
                    let at = format!("{base}/responses/{}/schema", escape(&r.status));
                    schema(s, &at, &mut found);
                }
            }
            warnings.extend(found.into_iter().map(|(pointer, message)| Warning {
                file: file.rel_path.clone(),
                operation: op.operation_id.clone(),
                pointer,
                message,
            }));
        }
    }
    warnings
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn schema(v: &mut Value, at: &str, found: &mut Vec<(String, String)>) {
    let Value::Object(m) = v else {
        return;
    };
    for k in UNCHECKED {
        if m.remove(*k).is_some() {
            found.push((
                format!("{at}/{}", escape(k)),
                format!("keyword `{k}` is not checked"),
            ));
        }
    }
    check_type(m, at, found);
    if let Some(Value::String(p)) = m.get("pattern")
        && let Err(e) = check_pattern(p)
    {
        found.push((
            format!("{at}/pattern"),
            format!("{e:#}; the pattern is not checked"),
        ));
        m.remove("pattern");
    }
    if let Some(Value::Object(props)) = m.get_mut("patternProperties") {
        let bad: Vec<(String, String)> = props
            .keys()
            .filter_map(|p| {
                check_pattern(p)
                    .err()
                    .map(|e| (p.clone(), format!("{e:#}")))
            })
            .collect();
        for (p, e) in bad {
            props.remove(&p);
            found.push((
                format!("{at}/patternProperties/{}", escape(&p)),
                format!("{e}; these properties are not checked"),
            ));
        }
    }
    if let Some(n) = m.get("multipleOf")
        && !n.as_f64().is_some_and(|f| f > 0.0 && f.is_finite())
    {
        found.push((
            format!("{at}/multipleOf"),
            format!("`multipleOf` {n} is not a positive number; not checked"),
        ));
        m.remove("multipleOf");
    }
    for key in ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"] {
        if let Some(n) = m.get(key)
            && !n.as_f64().is_some_and(f64::is_finite)
        {
            found.push((
                format!("{at}/{key}"),
                format!("`{key}` {n} is not a finite number; not checked"),
            ));
            m.remove(key);
        }
    }
    for key in [
        "items",
        "additionalProperties",
        "not",
        "if",
        "then",
        "else",
        "contains",
    ] {
        if let Some(sub) = m.get_mut(key) {
            schema(sub, &format!("{at}/{key}"), found);
        }
    }
    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = m.get_mut(key) {
            for (name, sub) in props.iter_mut() {
                schema(sub, &format!("{at}/{key}/{}", escape(name)), found);
            }
        }
    }
    for key in ["allOf", "anyOf", "oneOf", "prefixItems"] {
        if let Some(Value::Array(list)) = m.get_mut(key) {
            for (i, sub) in list.iter_mut().enumerate() {
                schema(sub, &format!("{at}/{key}/{i}"), found);
            }
        }
    }
}

/// Unknown type names (Swagger 2.0's `file`) are dropped from `type`; a `type` left empty
/// goes altogether (any value).
fn check_type(m: &mut Map<String, Value>, at: &str, found: &mut Vec<(String, String)>) {
    let names: Vec<String> = match m.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .map(|t| t.as_str().unwrap_or("?").to_string())
            .collect(),
        Some(_) => vec!["?".into()],
        None => return,
    };
    let unknown: Vec<&String> = names
        .iter()
        .filter(|n| !TYPES.contains(&n.as_str()))
        .collect();
    if unknown.is_empty() {
        return;
    }
    found.push((
        format!("{at}/type"),
        format!("type {unknown:?} is not a JSON type; values of it are not checked"),
    ));
    let known: Vec<Value> = names
        .iter()
        .filter(|n| TYPES.contains(&n.as_str()))
        .map(|n| Value::String(n.clone()))
        .collect();
    if known.is_empty() {
        m.remove("type");
    } else {
        m.insert("type".into(), Value::Array(known));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_only_the_unsupported_keyword_with_its_pointer() {
        let mut s = json!({"type": "object", "properties": {
            "name": {"type": "string", "pattern": "^([a-z]+$", "maxLength": 5},
            "slug": {"type": "string", "pattern": "^(?![0-9]+$)[a-z]+$"},
            "upload": {"type": "file"},
            "n": {"type": "integer", "multipleOf": 0, "propertyNames": {}}}});
        let mut found = Vec::new();
        schema(&mut s, "/x", &mut found);
        assert_eq!(
            s,
            json!({"type": "object", "properties": {
                "name": {"type": "string", "maxLength": 5},
                "slug": {"type": "string", "pattern": "^(?![0-9]+$)[a-z]+$"},
                "upload": {},
                "n": {"type": "integer"}}})
        );
        let pointers: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/x/properties/n/propertyNames",
                "/x/properties/n/multipleOf",
                "/x/properties/name/pattern",
                "/x/properties/upload/type",
            ]
        );
        // A look-around pattern is kept (the ECMA-262 engine runs it); one no engine
        // takes is left out.
        assert!(found[2].1.contains("nor does an ECMA-262 engine take it"));
    }
}
