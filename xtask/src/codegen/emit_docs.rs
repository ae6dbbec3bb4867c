//! The bundled OpenAPI 3.1 document (every `$ref` resolved) and the Markdown API reference.

use super::emit_types::clean_markup;
use super::model::{ParamLocation, Spec};
use serde_json::{Map, Value, json};

pub fn bundle(spec: &Spec, title: &str) -> String {
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
                    let mut v = json!({"name": p.name, "in": p.location.as_str(), "required": p.required, "schema": p.schema});
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
                content.insert("application/json".into(), json!({"schema": b.schema}));
                if b.form {
                    content.insert(
                        "application/x-www-form-urlencoded".into(),
                        json!({"schema": b.schema}),
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
                    let mut media = json!({"schema": schema});
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
        "info": {"title": title, "version": env_version()},
        "paths": paths,
        "components": {"securitySchemes": schemes},
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
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
