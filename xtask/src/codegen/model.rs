//! One internal model for Swagger 2.0 and OpenAPI 3.0/3.1: every emitter (types, router,
//! validators, bundle, docs) and `spec-diff` read this, never the raw documents.
//!
//! Schemas stay `serde_json::Value` (normalised to the JSON Schema 2020-12 dialect of OpenAPI
//! 3.1) so the type generator and the validator generator see exactly the same data.
//!
//! The model: `Spec` → `SpecFile` → `Operation` with params, body, responses, security and
//! produces. Normalisation: draft-4 tuple `items` → `prefixItems`; `nullable`/`x-nullable` → `null`
//! in `type`, after the `allOf` merge, so `nullable` beside `allOf: [$ref]` holds, and so does a
//! lone `{nullable: true}` inside `allOf` (ARCHITECTURE.md, *OpenAPI's letter and its authors'
//! intent*); boolean `exclusiveMinimum` → the 2020-12 number form; `allOf` merged. Operation names
//! are snake_case operationIds, prefixed with the file's module when two files share an id; `trace`
//! is a method like the others. Webhooks (OpenAPI 3.1; a document may have no `paths`) and
//! operations' callbacks are `SpecFile::events`: their JSON bodies become types (`{Name}Payload` in
//! `types.rs`), not routes.
//!
//! Why the lone `nullable` counts: OpenAPI 3.0.3 gives `nullable` no effect without a `type` beside
//! it, so `allOf: [{type: object, …}, {nullable: true}]` would refuse `null`; but a part that says
//! nothing else can mean nothing else, and the API sends the `null` (Box's `shared_link`: "`null`
//! if no shared link has been created"). `nullable` with an `enum` that does not list `null`
//! follows the letter: the `enum` is a list the author wrote out, 3.0.3 says `null` must be in it,
//! and `null` is refused (Twilio's `nullable` enums: their `null` examples are listed as the spec's
//! errors).

use super::load::{self, Loader};
use anyhow::{Context, Result, bail};
use heck::ToSnakeCase;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Spec {
    pub files: Vec<SpecFile>,
    /// Files of a spec folder left out because they do not parse (the degrade step reports
    /// them as warnings, so `--strict` refuses them).
    pub skipped: Vec<super::degrade::Warning>,
}

#[derive(Debug, Clone)]
pub struct SpecFile {
    /// Path relative to the spec root with `/` separators, e.g. `v2_associations.yaml`.
    pub rel_path: String,
    /// Rust module name derived from the path, e.g. `v2_associations`.
    pub module: String,
    pub title: String,
    pub operations: Vec<Operation>,
    /// Security scheme definitions by name (`securityDefinitions` / `components.securitySchemes`).
    pub security_schemes: BTreeMap<String, Value>,
    /// Requests the API sends rather than serves (OpenAPI 3.1 `webhooks`, operations'
    /// `callbacks`): their bodies become types.
    pub events: Vec<Event>,
}

/// A request the API provider makes (a webhook or a callback).
#[derive(Debug, Clone)]
pub struct Event {
    /// The operationId, else the webhook or callback name with the method.
    pub name: String,
    /// The request body's schema (normalised).
    pub schema: Value,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub operation_id: String,
    /// snake_case name, unique within the whole spec (namespaced by file when ids clash).
    pub name: String,
    pub method: String,
    /// Full path including the base path, `{param}` style.
    pub path: String,
    pub summary: String,
    pub description: String,
    pub deprecated: bool,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    pub responses: Vec<Response>,
    /// Security scheme alternatives, each a list of scheme names; empty = no authentication.
    pub security: Vec<Vec<String>>,
    /// Media types the operation produces (e.g. `text/html` for the human-facing pages).
    pub produces: Vec<String>,
    /// `x-keep-raw-body: true`: the handler also gets the body as sent (as JSON), e.g. to verify
    /// a signature over it. Otherwise the raw value is dropped once decoded.
    pub keep_raw_body: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ParamLocation {
    Path,
    Query,
    Header,
    Cookie,
}

impl ParamLocation {
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub location: ParamLocation,
    pub required: bool,
    pub description: String,
    pub schema: Value,
    pub example: Option<Value>,
    /// For an array parameter: the character its values are joined with (`?t=a,b`), or
    /// `None` when each value is a parameter of its own (`?t=a&t=b`).
    pub delimiter: Option<char>,
}

#[derive(Debug, Clone)]
pub struct Body {
    pub required: bool,
    #[allow(
        dead_code,
        reason = "part of the model; not every emitter shows it yet"
    )]
    pub description: String,
    pub schema: Value,
    /// Whether `application/x-www-form-urlencoded` is accepted besides JSON.
    pub form: bool,
    /// Raw bytes (`application/octet-stream` and other non-JSON media with a string schema):
    /// handed over as `Vec<u8>`, not parsed.
    pub binary: bool,
    /// `multipart/form-data` is accepted: its parts are read as form fields (`rt::multipart`).
    pub multipart: bool,
}

#[derive(Debug, Clone)]
pub struct Response {
    /// `200`, `302`, `4XX`, `default`, ... exactly as the spec keys it (upper-cased ranges).
    pub status: String,
    pub description: String,
    pub schema: Option<Value>,
    pub examples: Vec<Value>,
    /// The body is text (`text/plain` and other `text/*` media, no JSON one) with a string
    /// schema: written as it is, not as a JSON string.
    pub text: bool,
}

impl Response {
    pub fn numeric_status(&self) -> Option<u16> {
        self.status.parse().ok()
    }
}

impl Operation {
    /// The schema of the query and path parameters as one object, so they are validated like a
    /// body and reported with `/name` pointers.
    pub fn params_schema(&self) -> Option<Value> {
        let params: Vec<&Param> = self
            .params
            .iter()
            .filter(|p| p.location != ParamLocation::Header || !is_security_header(&p.name))
            .collect();
        if params.is_empty() {
            return None;
        }
        let mut props = Map::new();
        let mut required = Vec::new();
        for p in params {
            let mut schema = p.schema.clone();
            // The parameter's description documents the field of the `Params` type.
            if !p.description.is_empty()
                && let Value::Object(m) = &mut schema
                && !m.contains_key("description")
            {
                m.insert("description".into(), Value::String(p.description.clone()));
            }
            props.insert(p.name.clone(), schema);
            if p.required {
                required.push(Value::String(p.name.clone()));
            }
        }
        let mut schema = json!({"type": "object", "properties": props, "required": required});
        sort_keys(&mut schema);
        Some(schema)
    }

    /// Every 2xx response with a JSON body, by status: more than one, and the handler answers
    /// with an enum whose variant picks the status.
    pub fn json_successes(&self) -> Vec<&Response> {
        let mut found: Vec<&Response> = self
            .responses
            .iter()
            .filter(|r| r.numeric_status().is_some_and(|s| (200..300).contains(&s)))
            .filter(|r| r.schema.is_some() && !r.text)
            .collect();
        found.sort_by_key(|r| r.numeric_status());
        found
    }

    /// The first 2xx response, whose body the handler returns.
    pub fn success(&self) -> Option<&Response> {
        self.responses
            .iter()
            .filter(|r| r.numeric_status().is_some_and(|s| (200..300).contains(&s)))
            .min_by_key(|r| r.numeric_status())
    }

    pub fn is_html(&self) -> bool {
        self.produces.iter().any(|p| p == "text/html")
    }
}

pub(crate) const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "patch", "head", "options", "trace",
];

/// Builds the model from `root`: an API document (the entry; what it references is read from
/// its own folder on), or a folder whose `*.yaml`, `*.yml` and `*.json` files with `paths` or
/// `webhooks` are each an API (the rest are only read where an operation refers into them).
pub fn load_spec(root: &Path) -> Result<Spec> {
    let entries: Vec<PathBuf> = if root.is_file() {
        vec![root.to_path_buf()]
    } else {
        let mut entries: Vec<_> = std::fs::read_dir(root)
            .with_context(|| format!("reading spec dir {}", root.display()))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
            })
            .collect();
        entries.sort();
        entries
    };
    load_spec_with(&mut Loader::new(), entries, !root.is_file(), root)
}

/// Builds the model from the API documents `entries`, read through `loader` (which may hold
/// documents given from memory); `folder`: the entries are a folder's files, of which those
/// that do not parse or have no operations are skipped.
pub fn load_spec_with(
    loader: &mut Loader,
    entries: Vec<PathBuf>,
    folder: bool,
    root: &Path,
) -> Result<Spec> {
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    for path in entries {
        let doc = match loader.document(&path) {
            Ok(doc) => doc,
            // In a folder, a file that does not parse may be anything (notes, a template):
            // it is an API only if something says so. A `$ref` into it still fails.
            Err(e) if folder => {
                skipped.push(super::degrade::Warning {
                    file: path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .unwrap_or_default()
                        .to_string(),
                    operation: String::new(),
                    pointer: String::new(),
                    message: format!(
                        "skipped, it does not parse ({e:#}); pass the API's entry file as --spec to read only what it references"
                    ),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        if doc.get("paths").is_none() && doc.get("webhooks").is_none() {
            continue; // a shared schema file placed beside the API files
        }
        let doc = loader.load_api(&path)?;
        // The resolved targets were for this document's inlining; the model is built from it.
        loader.forget_resolved();
        let rel = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let file = read_file(&rel, &doc).with_context(|| format!("in {}", path.display()))?;
        drop(doc);
        files.push(file);
    }
    if files.is_empty() {
        bail!(
            "no API documents (with `paths` or `webhooks`) in {}",
            root.display()
        );
    }
    assign_names(&mut files);
    for op in files.iter_mut().flat_map(|f| f.operations.iter_mut()) {
        for p in &mut op.params {
            sort_keys(&mut p.schema);
        }
        if let Some(b) = &mut op.body {
            sort_keys(&mut b.schema);
        }
        for r in &mut op.responses {
            r.schema.iter_mut().for_each(sort_keys);
            r.examples.iter_mut().for_each(sort_keys);
        }
    }
    Ok(Spec { files, skipped })
}

/// Puts every object's keys in sorted order. `serde_json::Map` is sorted anyway unless some
/// crate in the build switches on `serde_json/preserve_order` (feature unification), which
/// would make every property list follow insertion order instead; sorting explicitly keeps
/// the generated code the same either way.
pub fn sort_keys(v: &mut Value) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, mut item) in entries {
                sort_keys(&mut item);
                map.insert(k, item);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

fn module_name(rel: &str) -> String {
    let stem = rel.rsplit_once('.').map_or(rel, |(s, _)| s);
    snake_ident(stem, "api")
}

pub fn is_keyword(s: &str) -> bool {
    matches!(
        s,
        "as" | "break"
            | "const"
            | "continue"
            | "crate"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "dyn"
            | "abstract"
            | "become"
            | "box"
            | "do"
            | "final"
            | "macro"
            | "override"
            | "priv"
            | "typeof"
            | "unsized"
            | "virtual"
            | "yield"
            | "try"
            | "gen"
            | "rt"
            | "server"
            | "shared"
            | "validate"
    )
}

/// snake_case words of any spec name: ASCII letters, digits and single `_` only (possibly
/// empty, possibly starting with a digit).
pub fn snake_words(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.to_snake_case().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// A snake_case identifier for `raw`, with `prefix_` put in front when it would start with a
/// digit, be empty or be a keyword.
pub fn snake_ident(raw: &str, prefix: &str) -> String {
    let words = snake_words(raw);
    if words.is_empty() || words.starts_with(|c: char| c.is_ascii_digit()) || is_keyword(&words) {
        format!("{prefix}_{words}")
            .trim_end_matches('_')
            .to_string()
    } else {
        words
    }
}

/// Operation names must be unique crate-wide (they name trait methods and router handlers);
/// equal operationIds in different files (`logout`, `getVersions` across Matrix APIs) are
/// namespaced by the file's module name. Anything still clashing gets a numeric suffix.
fn assign_names(files: &mut [SpecFile]) {
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    for f in files.iter() {
        for op in &f.operations {
            *count.entry(snake_words(&op.operation_id)).or_default() += 1;
        }
    }
    let mut taken = BTreeSet::new();
    for f in files.iter_mut() {
        let module = f.module.clone();
        for op in &mut f.operations {
            let base = snake_words(&op.operation_id);
            let name = if count.get(&base).copied().unwrap_or(0) > 1 || is_keyword(&base) {
                format!("{module}_{base}")
            } else {
                snake_ident(&base, "op")
            };
            let mut unique = name.clone();
            let mut n = 2;
            while !taken.insert(unique.clone()) {
                unique = format!("{name}_{n}");
                n += 1;
            }
            op.name = unique;
        }
    }
}

/// `default`, a status code `100`–`599`, or a range `1XX`–`5XX`.
fn is_status_key(key: &str) -> bool {
    let b = key.as_bytes();
    key.eq_ignore_ascii_case("default")
        || (b.len() == 3
            && (b'1'..=b'5').contains(&b[0])
            && ((b[1].is_ascii_digit() && b[2].is_ascii_digit())
                || (b[1].eq_ignore_ascii_case(&b'X') && b[2].eq_ignore_ascii_case(&b'X'))))
}

fn str_of(v: Option<&Value>) -> String {
    v.and_then(Value::as_str).unwrap_or_default().to_string()
}

fn read_file(rel: &str, doc: &Value) -> Result<SpecFile> {
    let swagger2 = doc.get("swagger").is_some();
    let base_path = if swagger2 {
        str_of(doc.get("basePath"))
    } else {
        openapi3_base_path(doc)
    };
    let file_consumes = string_list(doc.get("consumes"));
    let file_produces = string_list(doc.get("produces"));
    let file_security = doc.get("security").map(security_list);
    let mut operations = Vec::new();
    let empty = Map::new();
    let paths = match doc.get("paths") {
        Some(Value::Object(p)) => p,
        // OpenAPI 3.1: a document may describe webhooks only.
        None if doc.get("webhooks").is_some() => &empty,
        _ => bail!("`paths` is not an object"),
    };
    let events = read_events(doc);
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        let shared_params = item.get("parameters").cloned().unwrap_or(Value::Null);
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let operation_id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("{method}{path}").to_snake_case());
            let ctx = || format!("operation {operation_id}");
            let mut params = Vec::new();
            let mut body = None;
            let consumes = op
                .get("consumes")
                .map(|c| string_list(Some(c)))
                .unwrap_or_else(|| file_consumes.clone());
            let mut all_params: Vec<&Value> = Vec::new();
            for list in [&shared_params, op.get("parameters").unwrap_or(&Value::Null)] {
                if let Some(items) = list.as_array() {
                    all_params.extend(items);
                }
            }
            // Swagger 2.0 `in: formData` parameters, gathered into one object body.
            let mut form_fields = Map::new();
            let mut form_required = Vec::new();
            for p in all_params {
                let location = str_of(p.get("in"));
                let name = str_of(p.get("name"));
                let description = str_of(p.get("description"));
                let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
                match location.as_str() {
                    "body" => {
                        let schema = p.get("schema").cloned().unwrap_or(json!({}));
                        body = Some(Body {
                            required,
                            description,
                            schema: normalise_schema(schema),
                            form: consumes
                                .iter()
                                .any(|c| c == "application/x-www-form-urlencoded"),
                            binary: false,
                            multipart: false,
                        });
                    }
                    "query" | "path" | "header" | "cookie" => {
                        // A parameter with the same name and location overrides a path-level one.
                        params.retain(|q: &Param| {
                            !(q.name == name && q.location.as_str() == location)
                        });
                        let location = match location.as_str() {
                            "query" => ParamLocation::Query,
                            "path" => ParamLocation::Path,
                            "cookie" => ParamLocation::Cookie,
                            _ => ParamLocation::Header,
                        };
                        // OpenAPI 3: `schema`, or `content: {<media>: {schema}}`; Swagger 2.0:
                        // the schema keywords sit on the parameter itself.
                        let schema = if let Some(s) = p.get("schema") {
                            s.clone()
                        } else if let Some(s) = p
                            .get("content")
                            .and_then(Value::as_object)
                            .and_then(|c| c.values().next())
                            .and_then(|m| m.get("schema"))
                        {
                            s.clone()
                        } else {
                            swagger2_param_schema(p)
                        };
                        // Upstream gives string parameters integer `x-example`s (`1234`):
                        // the example is shown as the string a client would send.
                        let example =
                            p.get("example")
                                .or_else(|| p.get("x-example"))
                                .map(|ex| match ex {
                                    Value::Number(_) | Value::Bool(_)
                                        if schema.get("type").and_then(Value::as_str)
                                            == Some("string") =>
                                    {
                                        Value::String(ex.to_string())
                                    }
                                    _ => ex.clone(),
                                });
                        params.push(Param {
                            name,
                            location,
                            required: required || location == ParamLocation::Path,
                            description,
                            schema: normalise_schema(schema),
                            example,
                            delimiter: array_delimiter(p, swagger2),
                        });
                    }
                    "formData" => {
                        let mut schema = swagger2_param_schema(p);
                        if schema.get("type").and_then(Value::as_str) == Some("file") {
                            schema = json!({"type": "string", "format": "binary"});
                        }
                        if !description.is_empty()
                            && let Value::Object(m) = &mut schema
                        {
                            m.insert("description".into(), Value::String(description));
                        }
                        form_fields.insert(name.clone(), normalise_schema(schema));
                        if required {
                            form_required.push(Value::String(name));
                        }
                    }
                    other => bail!("{}: unsupported parameter location `{other}`", ctx()),
                }
            }
            if !form_fields.is_empty() && body.is_none() {
                body = Some(Body {
                    required: !form_required.is_empty(),
                    description: String::new(),
                    schema: json!({"type": "object", "properties": form_fields, "required": form_required}),
                    form: true,
                    binary: false,
                    multipart: false,
                });
            }
            if let Some(rb) = op.get("requestBody") {
                let content = rb.get("content").and_then(Value::as_object);
                let media = content.and_then(|c| {
                    c.get("application/json")
                        .or_else(|| c.get("application/x-www-form-urlencoded"))
                        .or_else(|| c.values().next())
                });
                let schema = media
                    .and_then(|m| m.get("schema"))
                    .cloned()
                    .unwrap_or(json!({}));
                let json_like = content.is_some_and(|c| {
                    c.keys()
                        .any(|k| k.contains("json") || k == "application/x-www-form-urlencoded")
                });
                let binary = !json_like
                    && content.is_some_and(|c| c.keys().any(|k| !k.starts_with("multipart/")))
                    && schema.get("type").and_then(Value::as_str) == Some("string");
                body = Some(Body {
                    required: rb.get("required").and_then(Value::as_bool).unwrap_or(false),
                    description: str_of(rb.get("description")),
                    schema: normalise_schema(schema),
                    form: content
                        .is_some_and(|c| c.contains_key("application/x-www-form-urlencoded")),
                    binary,
                    multipart: !json_like
                        && content.is_some_and(|c| c.keys().all(|k| k.starts_with("multipart/"))),
                });
            }
            let mut responses = Vec::new();
            if let Some(rs) = op.get("responses").and_then(Value::as_object) {
                for (status, r) in rs {
                    if status.starts_with("x-") {
                        continue; // a specification extension, not a response
                    }
                    if !is_status_key(status) {
                        bail!(
                            "{} {path}: response key {status:?} is not a status code (`200`, `4XX` or `default`) at #/paths/{}/{method}/responses",
                            method.to_ascii_uppercase(),
                            path.replace('~', "~0").replace('/', "~1")
                        );
                    }
                    responses.push(read_response(status, r, swagger2));
                }
            }
            responses.sort_by(|a, b| a.status.cmp(&b.status));
            let mut produces = op
                .get("produces")
                .map(|c| string_list(Some(c)))
                .unwrap_or_else(|| file_produces.clone());
            if !swagger2 {
                produces = openapi3_produces(op);
            }
            let security = op
                .get("security")
                .map(security_list)
                .or_else(|| file_security.clone())
                .unwrap_or_default();
            operations.push(Operation {
                operation_id,
                name: String::new(),
                method: method.to_string(),
                path: join_path(&base_path, path),
                summary: str_of(op.get("summary")),
                description: str_of(op.get("description")),
                deprecated: op
                    .get("deprecated")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                params,
                body,
                responses,
                security,
                produces,
                keep_raw_body: op
                    .get("x-keep-raw-body")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            });
        }
    }
    operations.sort_by(|a, b| (&a.path, &a.method).cmp(&(&b.path, &b.method)));
    Ok(SpecFile {
        rel_path: rel.to_string(),
        module: module_name(rel),
        title: str_of(doc.pointer("/info/title")),
        operations,
        events,
        security_schemes: doc
            .get("securityDefinitions")
            .or_else(|| doc.pointer("/components/securitySchemes"))
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    })
}

/// The webhooks of a document and the callbacks of its operations, each with a JSON body.
fn read_events(doc: &Value) -> Vec<Event> {
    fn from_item(prefix: &str, item: &Value, out: &mut Vec<Event>) {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let name = op
                .get("operationId")
                .and_then(Value::as_str)
                .map_or_else(|| format!("{prefix} {method}"), str::to_string);
            let schema = op
                .pointer("/requestBody/content/application~1json/schema")
                .cloned();
            if let Some(schema) = schema {
                let mut schema = normalise_schema(schema);
                sort_keys(&mut schema);
                out.push(Event { name, schema });
            }
        }
    }
    let mut out = Vec::new();
    if let Some(hooks) = doc.get("webhooks").and_then(Value::as_object) {
        for (name, item) in hooks {
            from_item(name, item, &mut out);
        }
    }
    if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
        for item in paths.values() {
            for method in METHODS {
                let Some(cbs) = item.pointer(&format!("/{method}/callbacks")) else {
                    continue;
                };
                for (cb_name, cb) in cbs.as_object().into_iter().flatten() {
                    for item in cb.as_object().into_iter().flat_map(|m| m.values()) {
                        from_item(cb_name, item, &mut out);
                    }
                }
            }
        }
    }
    out
}

/// How an array parameter's values arrive: OpenAPI 3 `style`/`explode` (query default: form,
/// exploded — one parameter per value), Swagger 2.0 `collectionFormat` (default `csv`).
fn array_delimiter(p: &Value, swagger2: bool) -> Option<char> {
    if swagger2 {
        return match p.get("collectionFormat").and_then(Value::as_str) {
            Some("multi") => None,
            Some("ssv") => Some(' '),
            Some("tsv") => Some('\t'),
            Some("pipes") => Some('|'),
            _ => Some(','),
        };
    }
    let location = p.get("in").and_then(Value::as_str).unwrap_or("query");
    let style = p.get("style").and_then(Value::as_str);
    let explode = p
        .get("explode")
        .and_then(Value::as_bool)
        .unwrap_or(matches!(style, None | Some("form")) && matches!(location, "query" | "cookie"));
    match style {
        Some("spaceDelimited") => Some(' '),
        Some("pipeDelimited") => Some('|'),
        _ if explode => None,
        _ => Some(','),
    }
}

/// Headers the security schemes read (`Authorization`): credentials, not parameters.
fn is_security_header(name: &str) -> bool {
    name.eq_ignore_ascii_case("authorization")
}

fn read_response(status: &str, r: &Value, swagger2: bool) -> Response {
    let status = status.to_ascii_uppercase();
    let mut examples = Vec::new();
    let mut text = false;
    let schema = if swagger2 {
        if let Some(ex) = r.pointer("/examples/application~1json") {
            examples.push(ex.clone());
        }
        r.get("schema").cloned()
    } else {
        let media = r
            .get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.get("application/json").or_else(|| c.values().next()));
        if let Some(m) = media {
            if let Some(ex) = m.get("example") {
                examples.push(ex.clone());
            }
            if let Some(exs) = m.get("examples").and_then(Value::as_object) {
                for ex in exs.values() {
                    if let Some(v) = ex.get("value") {
                        examples.push(v.clone());
                    }
                }
            }
        }
        let content = r.get("content").and_then(Value::as_object);
        let schema = media.and_then(|m| m.get("schema")).cloned();
        text = content.is_some_and(|c| {
            !c.keys().any(|k| k.contains("json")) && c.keys().any(|k| k.starts_with("text/"))
        }) && schema
            .as_ref()
            .and_then(|s| s.get("type"))
            .and_then(Value::as_str)
            == Some("string")
            // Bytes beside a text form (OpenAI's speech: octet-stream or event-stream) are
            // bytes: the schema read is the binary one.
            && schema
                .as_ref()
                .and_then(|s| s.get("format"))
                .and_then(Value::as_str)
                != Some("binary");
        schema
    };
    Response {
        status,
        description: str_of(r.get("description")),
        schema: schema.map(normalise_schema),
        examples,
        text,
    }
}

fn openapi3_produces(op: &Value) -> Vec<String> {
    let mut out = BTreeSet::new();
    if let Some(rs) = op.get("responses").and_then(Value::as_object) {
        for r in rs.values() {
            if let Some(c) = r.get("content").and_then(Value::as_object) {
                out.extend(c.keys().cloned());
            }
        }
    }
    out.into_iter().collect()
}

fn openapi3_base_path(doc: &Value) -> String {
    let Some(server) = doc.pointer("/servers/0") else {
        return String::new();
    };
    let mut url = str_of(server.get("url"));
    if let Some(vars) = server.get("variables").and_then(Value::as_object) {
        for (name, var) in vars {
            url = url.replace(&format!("{{{name}}}"), &str_of(var.get("default")));
        }
    }
    // Keep only the path: strip `scheme://host`.
    if let Some((_, rest)) = url.split_once("://") {
        url = rest
            .find('/')
            .map_or(String::new(), |i| rest[i..].to_string());
    }
    url
}

fn join_path(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    if path == "/" && !base.is_empty() {
        return base.to_string();
    }
    format!("{base}{path}")
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn security_list(v: &Value) -> Vec<Vec<String>> {
    v.as_array()
        .map(|alts| {
            alts.iter()
                .filter_map(Value::as_object)
                .map(|req| req.keys().cloned().collect())
                .filter(|req: &Vec<String>| !req.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A Swagger 2.0 non-body parameter carries its schema keywords inline.
fn swagger2_param_schema(p: &Value) -> Value {
    const KEYS: [&str; 14] = [
        "type",
        "format",
        "items",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "default",
    ];
    let mut s = Map::new();
    if let Some(obj) = p.as_object() {
        for k in KEYS {
            if let Some(v) = obj.get(k) {
                s.insert(k.to_string(), v.clone());
            }
        }
    }
    Value::Object(s)
}

/// Brings a schema to the 2020-12 dialect: draft-4 tuple `items` become `prefixItems`,
/// `nullable`/`x-nullable` become a `null` type, boolean `exclusiveMinimum` becomes numeric,
/// and `allOf` is merged (the only use of `allOf` in these specs is refinement).
pub fn normalise_schema(schema: Value) -> Value {
    let Value::Object(mut map) = schema else {
        return schema;
    };
    // Swagger 2.0's `type: file` (a file response or form part) is its spelling of binary.
    if map.get("type").and_then(Value::as_str) == Some("file") {
        map.insert("type".into(), json!("string"));
        map.insert("format".into(), json!("binary"));
    }
    for key in ["items", "additionalProperties", "not", "additionalItems"] {
        if let Some(v) = map.remove(key) {
            if key == "items"
                && let Value::Array(tuple) = v
            {
                let tuple = tuple.into_iter().map(normalise_schema);
                map.insert("prefixItems".into(), Value::Array(tuple.collect()));
                if let Some(extra) = map.remove("additionalItems") {
                    map.insert("items".into(), normalise_schema(extra));
                }
                continue;
            }
            if key == "additionalItems" {
                continue; // only meaningful beside tuple items (handled above)
            }
            map.insert(key.into(), normalise_schema(v));
        }
    }
    for key in ["properties", "patternProperties", "$defs", "definitions"] {
        if let Some(Value::Object(props)) = map.remove(key) {
            let props = props
                .into_iter()
                .map(|(k, v)| (k, normalise_schema(v)))
                .collect();
            map.insert(key.into(), Value::Object(props));
        }
    }
    for key in ["anyOf", "oneOf", "prefixItems"] {
        if let Some(Value::Array(list)) = map.remove(key) {
            let list = list.into_iter().map(normalise_schema);
            map.insert(key.into(), Value::Array(list.collect()));
        }
    }
    let mut nullable = map
        .remove("nullable")
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
        || map
            .remove("x-nullable")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
    // A part of `allOf` that is `nullable` without a `type` of its own (Box's
    // `allOf: [{type: object, …}, {nullable: true}]`) makes the merged schema nullable: the
    // letter of OpenAPI 3.0 gives it no effect, but nothing else could be meant by it, and
    // the API sends the `null` (ARCHITECTURE.md, "OpenAPI's letter and its authors' intent").
    if let Some(Value::Array(parts)) = map.get("allOf") {
        nullable |= parts.iter().any(|part| {
            part.get("type").is_none()
                && ["nullable", "x-nullable"]
                    .iter()
                    .any(|k| part.get(*k) == Some(&Value::Bool(true)))
        });
    }
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(Value::Bool(b)) = map.get(flag).cloned() {
            map.remove(flag);
            if b && let Some(v) = map.remove(bound) {
                map.insert(flag.into(), v);
            }
        }
    }
    if let Some(Value::Array(parts)) = map.remove("allOf") {
        // `allOf: [$ref]` with annotations beside it (OpenAPI 3.0's way to describe or make
        // nullable a reference) is still that component; any other merge is a new shape.
        let same_component = parts.len() == 1
            && !map.contains_key(load::REF_KEY)
            && map.keys().all(|k| load::is_annotation(k));
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(p) = normalise_schema(part) {
                merge_into(&mut merged, p);
            }
        }
        if !same_component {
            merged.remove(load::REF_KEY);
            merged.remove(load::REF_NAME);
        }
        let own = std::mem::take(&mut map);
        merge_into(&mut merged, own);
        map = merged;
    }
    // After the merge: `nullable` beside `allOf` applies to the merged type.
    if nullable {
        let has_properties = map.contains_key("properties");
        match map.get_mut("type") {
            Some(Value::String(t)) => {
                let t = t.clone();
                map.insert("type".into(), json!([t, "null"]));
            }
            Some(Value::Array(ts)) if !ts.iter().any(|t| t == "null") => ts.push(json!("null")),
            None if has_properties => {
                map.insert("type".into(), json!(["object", "null"]));
            }
            _ => {}
        }
    }
    Value::Object(map)
}

fn merge_into(target: &mut Map<String, Value>, source: Map<String, Value>) {
    for (k, v) in source {
        match (k.as_str(), target.get_mut(&k), v) {
            ("properties", Some(Value::Object(t)), Value::Object(s)) => {
                for (pk, pv) in s {
                    t.insert(pk, pv);
                }
            }
            ("required", Some(Value::Array(t)), Value::Array(s)) => {
                for r in s {
                    if !t.contains(&r) {
                        t.push(r);
                    }
                }
            }
            (_, _, v) => {
                target.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_draft4_constructs() {
        let s = normalise_schema(
            json!({"type": "array", "items": [{"type": "string"}, {"type": "string", "x-nullable": true}]}),
        );
        assert_eq!(
            s,
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": ["string", "null"]}]})
        );
        let s = normalise_schema(
            json!({"allOf": [{"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                             {"properties": {"b": {"type": "integer", "minimum": 0, "exclusiveMinimum": true}}, "required": ["b"]}]}),
        );
        assert_eq!(
            s,
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer", "exclusiveMinimum": 0}}, "required": ["a", "b"]})
        );
    }

    #[test]
    fn a_lone_nullable_inside_all_of_makes_the_merged_schema_nullable() {
        // Box's `shared_link`: an object part, an empty one and `{nullable: true}`.
        let s = normalise_schema(json!({"allOf": [
            {"type": "object", "properties": {"url": {"type": "string"}}},
            {},
            {"nullable": true}
        ]}));
        assert_eq!(
            s,
            json!({"type": ["object", "null"], "properties": {"url": {"type": "string"}}})
        );
        // A part with its own type keeps its nullability to itself (it is merged as it is).
        let s = normalise_schema(json!({"allOf": [
            {"type": "object", "properties": {"url": {"type": "string"}}},
            {"type": "object", "nullable": false}
        ]}));
        assert_eq!(s["type"], json!("object"));
    }

    #[test]
    fn operation_names_are_identifiers_namespaced_on_clash() {
        let op = |id: &str| Operation {
            operation_id: id.into(),
            name: String::new(),
            method: "get".into(),
            path: "/".into(),
            summary: String::new(),
            description: String::new(),
            deprecated: false,
            params: vec![],
            body: None,
            responses: vec![],
            security: vec![],
            produces: vec![],
            keep_raw_body: false,
        };
        let file = |module: &str, ids: &[&str]| SpecFile {
            rel_path: format!("{module}.yaml"),
            module: module.into(),
            title: String::new(),
            operations: ids.iter().map(|id| op(id)).collect(),
            security_schemes: BTreeMap::new(),
            events: Vec::new(),
        };
        let mut files = vec![
            file("a", &["getVersions", "logout", "2fa", "type", "b_x"]),
            file("b", &["getVersions", "x"]),
        ];
        assign_names(&mut files);
        let names: Vec<&str> = files
            .iter()
            .flat_map(|f| f.operations.iter().map(|o| o.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                "a_get_versions",
                "logout",
                "op_2fa",
                "a_type",
                "b_x",
                "b_get_versions",
                "x"
            ]
        );
        assert_eq!(module_name("3pid-api.yaml"), "api_3pid_api");
        assert_eq!(module_name("server.yaml"), "api_server");
    }

    #[test]
    fn base_path_from_servers() {
        let doc = json!({"servers": [{"url": "{protocol}://{hostname}{basePath}", "variables": {
            "protocol": {"default": "https"}, "hostname": {"default": "localhost:8090"},
            "basePath": {"default": "/_matrix/identity/v2"}}}]});
        assert_eq!(openapi3_base_path(&doc), "/_matrix/identity/v2");
        assert_eq!(
            join_path("/_matrix/identity/v2", "/"),
            "/_matrix/identity/v2"
        );
    }
}
