//! The bundled OpenAPI 3.1 document (self-contained: shared schemas in `components/schemas`)
//! and the Markdown API reference.
//!
//! Written: `generated/openapi.json` (OpenAPI 3.1, one file, no external references) and
//! `docs/api.md`. A schema the loader identified that is used more than once, or is recursive, is
//! written once in `components/schemas` and referred to by a `$ref` wherever a use has exactly its
//! shape (a use refined beside its reference, made nullable say, stays inline); everything else is
//! inline. Inlining every use made GitHub's bundle 17.8 MB from a 3.7 MB spec (2.8 MB now), all of
//! it `include_str!`ed by the crate.

use super::emit_types::clean_markup;
use super::model::{ParamLocation, Spec};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

pub fn bundle(spec: &Spec, title: &str) -> String {
    let components = Components::find(spec.files.iter().flat_map(|f| {
        f.operations.iter().flat_map(|op| {
            op.params
                .iter()
                .map(|p| &p.schema)
                // A form body is written under two media types: two uses.
                .chain(
                    op.body
                        .iter()
                        .flat_map(|b| std::iter::repeat_n(&b.schema, if b.form { 2 } else { 1 })),
                )
                .chain(op.responses.iter().filter_map(|r| r.schema.as_ref()))
        })
    }));
    let mut paths = Map::new();
    let mut schemes = Map::new();
    for f in &spec.files {
        for (name, scheme) in &f.security_schemes {
            schemes.insert(name.clone(), openapi3_scheme(scheme));
        }
        for op in &f.operations {
            let mut o = Map::new();
            o.insert("operationId".into(), json!(op.operation_id));
            o.insert(
                "x-module".into(),
                json!(format!("{}::{}", f.module, op.name)),
            );
            if !op.summary.is_empty() {
                o.insert("summary".into(), json!(op.summary));
            }
            if !op.description.is_empty() {
                o.insert("description".into(), json!(op.description));
            }
            if op.deprecated {
                o.insert("deprecated".into(), json!(true));
            }
            let params: Vec<Value> = op
                .params
                .iter()
                .map(|p| {
                    let mut v = json!({"name": p.name, "in": p.location.as_str(), "required": p.required, "schema": components.place(&p.schema)});
                    if !p.description.is_empty() {
                        v["description"] = json!(p.description);
                    }
                    if let Some(ex) = &p.example {
                        v["example"] = ex.clone();
                    }
                    v
                })
                .collect();
            if !params.is_empty() {
                o.insert("parameters".into(), Value::Array(params));
            }
            if let Some(b) = &op.body {
                let mut content = Map::new();
                let schema = components.place(&b.schema);
                content.insert("application/json".into(), json!({"schema": schema}));
                if b.form {
                    content.insert(
                        "application/x-www-form-urlencoded".into(),
                        json!({"schema": schema}),
                    );
                }
                o.insert(
                    "requestBody".into(),
                    json!({"required": b.required, "content": content}),
                );
            }
            let mut responses = Map::new();
            for r in &op.responses {
                let mut rv = json!({"description": r.description});
                if let Some(schema) = &r.schema {
                    let mut media = json!({"schema": components.place(schema)});
                    if let Some(ex) = r.examples.first() {
                        media["example"] = ex.clone();
                    }
                    rv["content"] = json!({"application/json": media});
                } else if op.is_html() && r.status.starts_with('2') {
                    rv["content"] = json!({"text/html": {"schema": {"type": "string"}}});
                }
                responses.insert(r.status.clone(), rv);
            }
            o.insert("responses".into(), Value::Object(responses));
            if !op.security.is_empty() {
                let sec: Vec<Value> = op
                    .security
                    .iter()
                    .map(|alt| Value::Object(alt.iter().map(|n| (n.clone(), json!([]))).collect()))
                    .collect();
                o.insert("security".into(), Value::Array(sec));
            }
            let entry = paths
                .entry(op.path.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = entry {
                m.insert(op.method.clone(), Value::Object(o));
            }
        }
    }
    let doc = json!({
        "openapi": "3.1.0",
        "info": {"title": title, "version": env_version(), "x-generated": "@generated by cargo xtask codegen — do not edit."},
        "paths": paths,
        "components": {"securitySchemes": schemes},
    });
    let mut doc = doc;
    let schemas = components.schemas();
    if !schemas.is_empty() {
        doc["components"]["schemas"] = Value::Object(schemas);
    }
    uniform_tuples_as_items(&mut doc);
    super::model::sort_keys(&mut doc);
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

/// The bundle's `components/schemas`. A schema the loader identified that is used more than
/// once, or that contains itself, is written there once and referred to by `$ref` wherever a
/// use has its shape (a use refined beside its reference, e.g. made nullable, stays inline);
/// the rest is inlined, and the loader's markers go. Each schema is copied as it is placed,
/// skipping what becomes a `$ref`, so the fully inlined document is never built: GitHub's
/// would be 17.8 MB of JSON from a 3.7 MB spec.
struct Components<'a> {
    /// Component reference → its name in `components/schemas`.
    names: BTreeMap<String, String>,
    /// Component reference → its first full occurrence.
    full: BTreeMap<String, &'a Value>,
}

impl<'a> Components<'a> {
    fn find(schemas: impl Iterator<Item = &'a Value>) -> Self {
        use super::load::{REF_CYCLE, REF_KEY, REF_NAME};
        #[derive(Default)]
        struct Found<'a> {
            cyclic: BTreeMap<String, String>,
            full: BTreeMap<String, (String, &'a Value)>,
            uses: BTreeMap<String, usize>,
        }
        fn collect<'a>(v: &'a Value, found: &mut Found<'a>) {
            match v {
                Value::Object(m) => {
                    if let (Some(Value::String(key)), Some(Value::String(name))) =
                        (m.get(REF_KEY), m.get(REF_NAME))
                    {
                        if m.contains_key(REF_CYCLE) {
                            found.cyclic.insert(key.clone(), name.clone());
                            return;
                        }
                        *found.uses.entry(key.clone()).or_default() += 1;
                        if found.full.contains_key(key) {
                            // Its inside was seen with the first use.
                            return;
                        }
                        found.full.insert(key.clone(), (name.clone(), v));
                    }
                    m.values().for_each(|v| collect(v, found));
                }
                Value::Array(a) => a.iter().for_each(|v| collect(v, found)),
                _ => {}
            }
        }
        let mut found = Found::default();
        schemas.for_each(|s| collect(s, &mut found));
        let mut wanted: BTreeMap<String, String> = found.cyclic.clone();
        for (key, (name, _)) in &found.full {
            if found.uses.get(key).is_some_and(|n| *n > 1) {
                wanted.insert(key.clone(), name.clone());
            }
        }
        // One component name per schema (a numeric suffix where names clash).
        let mut names = BTreeMap::new();
        let mut taken = std::collections::BTreeSet::new();
        for (key, name) in &wanted {
            let base: String = name
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                .collect();
            let base = if base.is_empty() {
                "Schema".to_string()
            } else {
                base
            };
            let mut unique = base.clone();
            let mut n = 2;
            while !taken.insert(unique.clone()) {
                unique = format!("{base}{n}");
                n += 1;
            }
            names.insert(key.clone(), unique);
        }
        let full = found.full.into_iter().map(|(k, (_, v))| (k, v)).collect();
        Self { names, full }
    }

    /// A copy of `schema` as the bundle holds it.
    fn place(&self, schema: &Value) -> Value {
        self.copy(schema, false)
    }

    fn copy(&self, v: &Value, root: bool) -> Value {
        use super::load::{REF_CYCLE, REF_KEY, REF_NAME};
        match v {
            Value::Object(m) => {
                if let Some(Value::String(key)) = m.get(REF_KEY)
                    && let Some(name) = self.names.get(key)
                {
                    let target = Value::String(format!("#/components/schemas/{name}"));
                    if m.contains_key(REF_CYCLE) {
                        return json!({"$ref": target});
                    }
                    if !root
                        && let Some(component) = self.full.get(key)
                        && same_shape(m, component)
                    {
                        let mut out = Map::new();
                        out.insert("$ref".into(), target);
                        if let Some(d) = m
                            .get("description")
                            .filter(|d| component.get("description") != Some(*d))
                        {
                            out.insert("description".into(), d.clone());
                        }
                        return Value::Object(out);
                    }
                }
                Value::Object(
                    m.iter()
                        .filter(|(k, _)| !matches!(k.as_str(), REF_CYCLE | REF_KEY | REF_NAME))
                        .map(|(k, v)| (k.clone(), self.copy(v, false)))
                        .collect(),
                )
            }
            Value::Array(a) => Value::Array(a.iter().map(|v| self.copy(v, false)).collect()),
            other => other.clone(),
        }
    }

    /// `components/schemas`: each component written once, its own uses of others as `$ref`s.
    fn schemas(&self) -> Map<String, Value> {
        self.names
            .iter()
            .filter_map(|(key, name)| Some((name.clone(), self.copy(self.full.get(key)?, true))))
            .collect()
    }
}

/// The same schema but for annotations (and the markers, which name the same component).
fn same_shape(a: &Map<String, Value>, b: &Value) -> bool {
    use super::load::is_annotation;
    fn checked(m: &Map<String, Value>) -> impl Iterator<Item = (&String, &Value)> {
        m.iter()
            .filter(|(k, _)| !is_annotation(k) && !k.starts_with("x-oxident-"))
    }
    let Value::Object(b) = b else { return false };
    checked(a).eq(checked(b))
}

/// A tuple whose members all have one schema (`prefixItems: [s, s, s]`, bulk lookup's
/// `[medium, address, mxid]`) is written as `items: s` with its fixed length: the same
/// constraint, in the form every OpenAPI tool reads (schemathesis refuses `prefixItems` inside
/// `items` of a response schema).
fn uniform_tuples_as_items(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let uniform = match map.get("prefixItems") {
                Some(Value::Array(members)) => members
                    .first()
                    .filter(|first| members.iter().all(|m| m == *first))
                    .cloned(),
                _ => None,
            };
            if let Some(member) = uniform
                && !map.contains_key("items")
            {
                map.remove("prefixItems");
                map.insert("items".into(), member);
            }
            map.values_mut().for_each(uniform_tuples_as_items);
        }
        Value::Array(items) => items.iter_mut().for_each(uniform_tuples_as_items),
        _ => {}
    }
}

fn env_version() -> &'static str {
    "1.0.0"
}

/// Swagger 2.0 `apiKey` schemes carry over; nothing else needs translating in practice.
fn openapi3_scheme(s: &Value) -> Value {
    s.clone()
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn schema_summary(schema: &Value) -> String {
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    };
    let mut out = ty;
    if let Some(f) = schema.get("format").and_then(Value::as_str) {
        out.push_str(&format!(" ({f})"));
    }
    if let Some(items) = schema.get("items") {
        out = format!("[{}]", schema_summary(items));
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        out.push_str(&format!(" `/{p}/`"));
    }
    out
}

fn field_rows(schema: &Value, prefix: &str, out: &mut Vec<String>) {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (name, prop) in props {
            let path = format!("{prefix}{name}");
            let desc = prop
                .get("description")
                .and_then(Value::as_str)
                .map(clean_markup)
                .unwrap_or_default();
            let first = desc.split("\n\n").next().unwrap_or("").trim().to_string();
            out.push(format!(
                "| `{path}` | {} | {} | {} |",
                md_escape(&schema_summary(prop)),
                if required.contains(&name.as_str()) {
                    "yes"
                } else {
                    ""
                },
                md_escape(&first)
            ));
            field_rows(prop, &format!("{path}."), out);
        }
    }
}

pub fn api_markdown(spec: &Spec, title: &str) -> String {
    let mut s = format!(
        "<!-- @generated by cargo xtask codegen — do not edit. -->\n# {title}\n\nGenerated from `spec/`. Each operation lists its route, authentication, parameters, body fields and documented responses.\n"
    );
    for f in &spec.files {
        s.push_str(&format!("\n## {} (`{}`)\n", f.title, f.rel_path));
        for op in &f.operations {
            s.push_str(&format!(
                "\n### `{} {}`\n\noperationId `{}` · Rust `{}::{}`{}{}\n",
                op.method.to_ascii_uppercase(),
                op.path,
                op.operation_id,
                f.module,
                op.name,
                if op.deprecated {
                    " · **deprecated**"
                } else {
                    ""
                },
                if op.security.is_empty() {
                    " · no authentication".to_string()
                } else {
                    format!(
                        " · auth: {}",
                        op.security
                            .iter()
                            .map(|a| a.join("+"))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                }
            ));
            if !op.summary.is_empty() {
                s.push_str(&format!("\n{}\n", clean_markup(op.summary.trim())));
            }
            let params: Vec<_> = op
                .params
                .iter()
                .filter(|p| p.location != ParamLocation::Header)
                .collect();
            if !params.is_empty() {
                s.push_str("\n| parameter | in | type | required |\n|---|---|---|---|\n");
                for p in params {
                    s.push_str(&format!(
                        "| `{}` | {} | {} | {} |\n",
                        p.name,
                        p.location.as_str(),
                        md_escape(&schema_summary(&p.schema)),
                        if p.required { "yes" } else { "" }
                    ));
                }
            }
            if let Some(b) = &op.body {
                let mut rows = Vec::new();
                field_rows(&b.schema, "", &mut rows);
                s.push_str(&format!(
                    "\nRequest body{}:\n\n| field | type | required | description |\n|---|---|---|---|\n{}\n",
                    if b.form { " (JSON, or form-encoded)" } else { " (JSON)" },
                    rows.join("\n")
                ));
            }
            s.push_str("\n| status | description |\n|---|---|\n");
            for r in &op.responses {
                let desc = clean_markup(&r.description);
                let first = desc.split("\n\n").next().unwrap_or("").trim().to_string();
                s.push_str(&format!("| {} | {} |\n", r.status, md_escape(&first)));
            }
        }
    }
    s
}
