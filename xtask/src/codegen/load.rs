//! Reads Swagger 2.0 / OpenAPI 3.x documents into `serde_json::Value`s with the `$ref`s that
//! the operations reach resolved inline, lazily, like a JSON Schema resolver.
//!
//! Resolution starts from an API document's operations (and the few top-level keys the model
//! reads); component containers (`definitions`, `components`, …) are not walked for their own
//! sake, and a file is opened only when a reached `$ref` points into it, so files nothing
//! uses are never read. A schema's identity is its URI — (file, JSON pointer), any pointer —
//! so recursion may close through any schema, wherever a spec keeps it (`#/apiAgent` in a plain
//! YAML file as well as `#/components/schemas/X`). A resolved target that does not depend on
//! the references above it is kept and reused, so each schema is walked once.
//!
//! Upstream Matrix files reach across the tree (`../client-server/definitions/...`,
//! `../../schemas/...`), put `$ref` beside other keywords, and even under `securityDefinitions`;
//! resolving generically, before anything is interpreted, handles all of these the same way.
//!
//! `Loader::load_api` resolves an API document's `paths`, `webhooks` and the top-level keys the
//! model reads; an unused component's dangling `$ref`, or a broken file nothing reaches, changes
//! nothing. A `$ref` in a schema position with only annotations beside it leaves the target's
//! identity in the inlined copy: `x-oxident-ref`, and `x-oxident-name` (the component's name, else
//! the pointer's last segment that is not a keyword, `#/apiAgent` → `apiAgent`, else the file's
//! stem; the type emitter makes clashes unique). A reference back to a schema being resolved
//! becomes a stub holding only that identity (`x-oxident-cycle`), which the emitters close through
//! the name and the bundled document turns back into a `$ref` to `components/schemas`. Relative
//! files, `~0`/`~1`/percent escapes and `$ref` beside other keywords (siblings refine the target)
//! all resolve; a URL is an error, never a request. Example values, `default`, `enum` and `const`
//! are data: a `$ref` inside them is not followed (GitHub's SCIM examples carry one).
//!
//! Failures are `LoadError`s naming the innermost `file#pointer`, each `$ref` site that led there,
//! and the operation (`GET /a`). Bounds: 256 nested `$ref`s, and a node budget for what inlining
//! produces, so a spec whose references multiply is an error, not an out-of-memory.

use super::yaml;
use anyhow::{Result, anyhow};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

/// Most values the inlined documents of one spec may hold: a spec whose references multiply
/// (each schema using the next twice, forty deep) is an error, not an out-of-memory.
const MAX_NODES: usize = 40_000_000;
/// Deepest chain of `$ref`s followed inside one another.
const MAX_REF_DEPTH: usize = 256;

/// Top-level keys of an API document that only hold components: resolved when an operation
/// reaches into them, never walked for their own sake.
const COMPONENT_CONTAINERS: [&str; 5] = [
    "definitions",
    "parameters",
    "responses",
    "components",
    "$defs",
];

/// Parsed documents and resolved targets, cached so each file is read once and each schema
/// walked once.
#[derive(Default)]
pub struct Loader {
    docs: HashMap<PathBuf, Rc<Value>>,
    /// Resolved `$ref` targets that close no recursion outside themselves, by reference and
    /// context, with their size (for the node budget).
    memo: HashMap<(String, Ctx), (Rc<Value>, usize)>,
    nodes: usize,
}

/// A load failure with where it happened: the innermost location first, then each `$ref`
/// site that led there (the outermost names the operation).
#[derive(Debug)]
pub struct LoadError {
    message: String,
    /// Pointer tokens inside the current file, innermost first (collected on the way up).
    tokens: Vec<String>,
    /// Finished locations (`file#pointer`), innermost first.
    trail: Vec<String>,
}

impl LoadError {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            tokens: Vec::new(),
            trail: Vec::new(),
        }
    }

    fn inside(mut self, token: &str) -> Self {
        self.tokens.push(token.to_string());
        self
    }

    /// Closes the location inside `file` whose tokens were collected from `base` down.
    fn finish(mut self, file: &Path, base: &str) -> Self {
        let mut pointer = base.to_string();
        for t in self.tokens.drain(..).rev() {
            pointer.push('/');
            pointer.push_str(&escape_token(&t));
        }
        self.trail.push(format!("{}#{pointer}", file.display()));
        self
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        for (i, loc) in self.trail.iter().enumerate() {
            let how = if i == 0 { "at" } else { "reached from" };
            write!(f, "\n  {how} {loc}")?;
            if i + 1 == self.trail.len()
                && let Some(op) = operation_of(loc)
            {
                write!(f, " (operation {op})")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// `METHOD /path` from a location under `#/paths/…/<method>`.
fn operation_of(location: &str) -> Option<String> {
    let pointer = location.rsplit_once('#')?.1;
    let mut tokens = pointer.split('/').skip(1);
    if tokens.next()? != "paths" {
        return None;
    }
    let path = unescape_token(tokens.next()?);
    let method = tokens.next()?;
    super::model::METHODS
        .contains(&method)
        .then(|| format!("{} {path}", method.to_ascii_uppercase()))
}

type Resolved = std::result::Result<(Value, usize), LoadError>;

impl Loader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives the document at `path` from memory: it is never read from disk.
    pub fn insert_document(&mut self, path: &Path, doc: Value) {
        self.docs.insert(normalise(path), Rc::new(doc));
    }

    /// Drops the kept resolved targets (memory: they are copies of what was inlined).
    pub fn forget_resolved(&mut self) {
        self.memo = HashMap::new();
    }

    /// The parsed document at `path` (read and parsed once).
    pub fn document(&mut self, path: &Path) -> Result<Rc<Value>> {
        let path = normalise(path);
        self.doc(&path).map_err(|e| anyhow!("{e}"))
    }

    /// An API document: its operations, webhooks and the top-level keys the model reads, with
    /// every `$ref` they reach resolved; component containers are left out (what the
    /// operations use of them is inlined where it is used).
    pub fn load_api(&mut self, path: &Path) -> Result<Value> {
        let path = normalise(path);
        let doc = self.doc(&path).map_err(|e| anyhow!("{e}"))?;
        let Value::Object(top) = &*doc else {
            return Err(anyhow!(
                "{}: not a mapping at the top level",
                path.display()
            ));
        };
        let mut out = Map::new();
        let mut stack = Vec::new();
        for (k, v) in top {
            if k.starts_with("x-") {
                continue;
            }
            if k == "components" {
                if let Some(schemes) = v.get("securitySchemes") {
                    let resolved = self
                        .resolve(
                            schemes,
                            &path,
                            &mut stack,
                            Ctx::default().child("securitySchemes"),
                            0,
                        )
                        .map_err(|e| {
                            anyhow!(
                                "{}",
                                e.inside("securitySchemes")
                                    .inside("components")
                                    .finish(&path, "")
                            )
                        })?;
                    out.insert(
                        k.clone(),
                        serde_json::json!({"securitySchemes": resolved.0}),
                    );
                }
                continue;
            }
            if COMPONENT_CONTAINERS.contains(&k.as_str()) {
                continue;
            }
            let (value, _) = self
                .resolve(v, &path, &mut stack, Ctx::default().child(k), 0)
                .map_err(|e| anyhow!("{}", e.inside(k).finish(&path, "")))?;
            out.insert(k.clone(), value);
        }
        Ok(Value::Object(out))
    }

    /// Reads `path` and returns the whole document with every `$ref` replaced by its target.
    ///
    /// A `$ref` in a schema position with only annotations beside it leaves its identity in
    /// the inlined copy ([`REF_KEY`], [`REF_NAME`]), so one named type and one validator can
    /// serve every use; a reference back to a schema being resolved becomes a stub holding
    /// only that identity ([`REF_CYCLE`]), the recursion the emitters close through a name.
    pub fn load_resolved(&mut self, path: &Path) -> Result<Value> {
        let path = normalise(path);
        let doc = self.doc(&path).map_err(|e| anyhow!("{e}"))?;
        let mut stack = Vec::new();
        self.resolve(&doc, &path, &mut stack, Ctx::default(), 0)
            .map(|(v, _)| v)
            .map_err(|e| anyhow!("{}", e.finish(&path, "")))
    }

    fn doc(&mut self, path: &Path) -> std::result::Result<Rc<Value>, LoadError> {
        if let Some(doc) = self.docs.get(path) {
            return Ok(doc.clone());
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::new(format!("reading {}: {e}", path.display())))?;
        let json = path.extension().is_some_and(|e| e == "json");
        let value = yaml::parse_document(&text, json)
            .map_err(|e| LoadError::new(format!("parsing {}: {e:#}", path.display())))?;
        let doc = Rc::new(value);
        self.docs.insert(path.to_path_buf(), doc.clone());
        Ok(doc)
    }

    fn spend(&mut self, n: usize) -> std::result::Result<(), LoadError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            return Err(LoadError::new(format!(
                "the spec's references expand to more than {MAX_NODES} values when inlined"
            )));
        }
        Ok(())
    }

    /// Resolves `value` (found in `file`); returns it with the lowest index of `stack` that a
    /// recursion stub inside it refers to (`usize::MAX` for none): a target is reusable when
    /// it refers to nothing below itself.
    fn resolve(
        &mut self,
        value: &Value,
        file: &Path,
        stack: &mut Vec<String>,
        ctx: Ctx,
        depth: usize,
    ) -> Resolved {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    return self.resolve_ref(reference, map, file, stack, ctx, depth);
                }
                let mut out = Map::with_capacity(map.len());
                let mut low = usize::MAX;
                for (k, v) in map {
                    if ctx.is_literal(k, v) {
                        self.spend(count_nodes(v))?;
                        out.insert(k.clone(), v.clone());
                        continue;
                    }
                    let (inner, l) = self
                        .resolve(v, file, stack, ctx.child(k), depth)
                        .map_err(|e| e.inside(k))?;
                    low = low.min(l);
                    out.insert(k.clone(), inner);
                }
                self.spend(1)?;
                Ok((Value::Object(out), low))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut low = usize::MAX;
                for (i, v) in items.iter().enumerate() {
                    let (inner, l) = self
                        .resolve(v, file, stack, ctx.clone(), depth)
                        .map_err(|e| e.inside(&i.to_string()))?;
                    low = low.min(l);
                    out.push(inner);
                }
                self.spend(1)?;
                Ok((Value::Array(out), low))
            }
            other => {
                self.spend(1)?;
                Ok((other.clone(), usize::MAX))
            }
        }
    }

    fn resolve_ref(
        &mut self,
        reference: &str,
        map: &Map<String, Value>,
        file: &Path,
        stack: &mut Vec<String>,
        ctx: Ctx,
        depth: usize,
    ) -> Resolved {
        let (target_file, pointer) = split_ref(reference, file).map_err(LoadError::new)?;
        let key = format!("{}#{}", target_file.display(), pointer);
        let identity = ctx
            .is_schema()
            .then(|| schema_name(&target_file, &pointer))
            .flatten();
        let annotations_only = map
            .keys()
            .all(|k| k == "$ref" || is_annotation(k) || k == "nullable");
        let siblings = || map.iter().filter(|(k, _)| *k != "$ref");
        if let Some(at) = stack.iter().position(|k| *k == key) {
            return match identity {
                Some(name) if annotations_only => {
                    let mut stub = Map::new();
                    stub.insert(REF_KEY.into(), Value::String(key));
                    stub.insert(REF_NAME.into(), Value::String(name));
                    stub.insert(REF_CYCLE.into(), Value::Bool(true));
                    for (k, v) in siblings() {
                        stub.insert(k.clone(), v.clone());
                    }
                    self.spend(stub.len())?;
                    Ok((Value::Object(stub), at))
                }
                _ => Err(LoadError::new(format!(
                    "cyclic $ref {reference}: it leads back to itself{}",
                    if identity.is_some() {
                        " through keywords that refine it"
                    } else {
                        " outside a schema"
                    }
                ))
                .inside("$ref")),
            };
        }
        if depth >= MAX_REF_DEPTH {
            return Err(LoadError::new(format!(
                "$ref {reference}: references nested more than {MAX_REF_DEPTH} deep"
            ))
            .inside("$ref"));
        }
        let memo_key = (key.clone(), ctx.clone());
        let (mut resolved, low) = if let Some((v, size)) = self.memo.get(&memo_key) {
            let (v, size) = (v.clone(), *size);
            self.spend(size)?;
            ((*v).clone(), usize::MAX)
        } else {
            let doc = self.doc(&target_file).map_err(|e| e.inside("$ref"))?;
            let target = pointer_get(&doc, &pointer).ok_or_else(|| {
                LoadError::new(format!(
                    "unresolved $ref {reference}: {} has nothing at #{pointer}",
                    target_file.display()
                ))
                .inside("$ref")
            })?;
            let index = stack.len();
            stack.push(key.clone());
            let result = self.resolve(target, &target_file, stack, ctx.clone(), depth + 1);
            stack.pop();
            let (v, low) = result.map_err(|e| e.finish(&target_file, &pointer).inside("$ref"))?;
            if low >= index {
                let size = count_nodes(&v);
                self.memo.insert(memo_key, (Rc::new(v.clone()), size));
            }
            (v, low)
        };
        if let (Some(name), Value::Object(target)) = (&identity, &mut resolved) {
            if annotations_only {
                target.insert(REF_KEY.into(), Value::String(key));
                target.insert(REF_NAME.into(), Value::String(name.clone()));
            } else {
                // Refined by its siblings: no longer the component's shape.
                target.remove(REF_KEY);
                target.remove(REF_NAME);
            }
        }
        // Keywords beside `$ref` refine the target (upstream relies on this).
        let mut low = low;
        let extra: Map<String, Value> = siblings().map(|(k, v)| (k.clone(), v.clone())).collect();
        if !extra.is_empty() {
            let (extra, l) = self.resolve(&Value::Object(extra), file, stack, ctx, depth)?;
            low = low.min(l);
            if let (Value::Object(target), Value::Object(extra)) = (&mut resolved, extra) {
                for (k, v) in extra {
                    target.insert(k, v);
                }
            }
        }
        Ok((resolved, low))
    }
}

fn count_nodes(v: &Value) -> usize {
    match v {
        Value::Array(a) => a.iter().map(count_nodes).fold(1, usize::saturating_add),
        Value::Object(m) => m.values().map(count_nodes).fold(1, usize::saturating_add),
        _ => 1,
    }
}

/// The marker keys a resolved component carries (removed from the bundled document).
pub const REF_KEY: &str = "x-oxident-ref";
pub const REF_NAME: &str = "x-oxident-name";
pub const REF_CYCLE: &str = "x-oxident-cycle";

/// Removes the component markers (the bundled OpenAPI document must not show them).
pub fn strip_markers(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.remove(REF_KEY);
            m.remove(REF_NAME);
            m.remove(REF_CYCLE);
            m.values_mut().for_each(strip_markers);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_markers),
        _ => {}
    }
}

/// Keywords that only annotate a schema (a `$ref` beside them still names the same shape).
pub fn is_annotation(k: &str) -> bool {
    matches!(
        k,
        "description"
            | "title"
            | "example"
            | "examples"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
            | "externalDocs"
            | "$comment"
    ) || (k.starts_with("x-") && !k.starts_with("x-oxident-"))
}

/// The name a referenced schema's type takes: the component's name for the usual containers,
/// else the last segment of the pointer that is a name rather than a keyword (`#/apiAgent` →
/// `apiAgent`, `#/Pet/properties/owner` → `owner`, `#/Pet/items` → `Pet`), else the file's
/// stem. Clashes are made unique (and stable) by the type emitter.
fn schema_name(file: &Path, pointer: &str) -> Option<String> {
    // Keywords that hold schemas or name maps, beside the schema keys.
    const CONTAINERS: [&str; 15] = [
        "schemas",
        "content",
        "properties",
        "definitions",
        "$defs",
        "components",
        "responses",
        "requestBody",
        "parameters",
        "headers",
        "paths",
        "patternProperties",
        "webhooks",
        "callbacks",
        "examples",
    ];
    let stem = || {
        file.file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
    };
    let tokens: Vec<String> = pointer
        .split('/')
        .filter(|t| !t.is_empty())
        .map(unescape_token)
        .collect();
    let name = tokens.iter().rev().find(|t| {
        !SCHEMA_KEYS.contains(&t.as_str())
            && !CONTAINERS.contains(&t.as_str())
            && !t.chars().all(|c| c.is_ascii_digit())
            && !t.contains('/')
            && !super::model::METHODS.contains(&t.as_str())
    });
    name.cloned().or_else(stem)
}

/// Keys whose value is a schema (or a list of schemas).
const SCHEMA_KEYS: [&str; 13] = [
    "schema",
    "items",
    "additionalProperties",
    "not",
    "allOf",
    "oneOf",
    "anyOf",
    "prefixItems",
    "additionalItems",
    "contains",
    "if",
    "then",
    "else",
];

/// Where a value sits, as far as "is this a schema?" needs: the key holding it and the key
/// above that.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
struct Ctx {
    key: Option<String>,
    parent: Option<String>,
}

/// Maps whose keys are names (of properties, schemas), not keywords.
const NAME_MAPS: [&str; 5] = [
    "properties",
    "patternProperties",
    "definitions",
    "$defs",
    "schemas",
];

impl Ctx {
    fn child(&self, key: &str) -> Ctx {
        Ctx {
            key: Some(key.to_string()),
            parent: self.key.clone(),
        }
    }

    /// Whether entry `key` of the map at this context is data, not spec: example values,
    /// defaults, `enum`/`const` values, where a `$ref` key is the data's own (SCIM members
    /// carry one) and must not be followed.
    fn is_literal(&self, key: &str, value: &Value) -> bool {
        let names_map = self.key.as_deref().is_some_and(|k| NAME_MAPS.contains(&k));
        match key {
            // `default` of a `responses` map is the default response, not a value.
            "default" => !names_map && self.key.as_deref() != Some("responses"),
            "example" | "enum" | "const" => !names_map,
            // JSON Schema's `examples` is a list of values; OpenAPI's is a map of Example
            // Objects (which may be `$ref`s), followed as usual.
            "examples" => !names_map && value.is_array(),
            // The `value` of an Example Object (an entry of an `examples` map).
            "value" => self.parent.as_deref() == Some("examples"),
            _ => false,
        }
    }

    fn is_schema(&self) -> bool {
        self.key
            .as_deref()
            .is_some_and(|k| SCHEMA_KEYS.contains(&k))
            || self
                .parent
                .as_deref()
                .is_some_and(|k| NAME_MAPS.contains(&k))
    }
}

/// The file and JSON pointer a `$ref` names, relative to the file it is written in. Only local
/// files are followed: a URL is an error, never a request.
fn split_ref(reference: &str, file: &Path) -> std::result::Result<(PathBuf, String), String> {
    let (file_part, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    if file_part.contains("://") || file_part.starts_with("//") {
        return Err(format!(
            "$ref {reference}: remote references are not followed (save the document beside the spec and refer to the file)"
        ));
    }
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "$ref {reference}: `#{pointer}` is not a JSON pointer (plain-name fragments are not supported)"
        ));
    }
    let target = if file_part.is_empty() {
        file.to_path_buf()
    } else {
        let decoded = percent_decode(file_part);
        normalise(&file.parent().unwrap_or(Path::new(".")).join(decoded))
    };
    Ok((target, pointer.to_string()))
}

/// One RFC 6901 token as written in a pointer.
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// One pointer token as a key (percent-escapes as they appear in URIs, then `~1`, `~0`).
fn unescape_token(raw: &str) -> String {
    percent_decode(raw).replace("~1", "/").replace("~0", "~")
}

/// Lexical normalisation (no symlink resolution) so `a/../b` and `b` share a cache entry.
pub fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                // `a/..` cancels; leading `..`s (and `..` after the root) are kept as written.
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else if !matches!(out.components().next_back(), Some(Component::RootDir)) {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// RFC 6901 pointer lookup, also accepting percent-encoded tokens as they appear in URIs.
pub fn pointer_get<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    let mut node = doc;
    for raw in pointer.split('/').filter(|t| !t.is_empty()) {
        let token = unescape_token(raw);
        node = match node {
            Value::Object(m) => m.get(&token)?,
            Value::Array(a) => a.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(node)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_inside_example_values_and_defaults_are_data() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-literal-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        // GitHub's spec: SCIM group members carry a `$ref` URL as data.
        std::fs::write(
            dir.join("api.yaml"),
            r##"components:
  examples:
    group:
      value:
        members: [{value: u1, $ref: "https://example.org/Users/u1"}]
  schemas:
    Member:
      type: object
      properties:
        example: {$ref: "#/components/schemas/Id"}
      default: {$ref: "https://example.org/literal"}
      examples: [{$ref: "https://example.org/also-literal"}]
    Id: {type: string}
paths:
  /g:
    get:
      responses:
        default:
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Id"}
        "200":
          content:
            application/json:
              examples:
                one: {$ref: "#/components/examples/group"}
"##,
        )?;
        let v = Loader::new().load_resolved(&dir.join("api.yaml"))?;
        let members = &v["components"]["examples"]["group"]["value"]["members"][0];
        assert_eq!(members["$ref"], "https://example.org/Users/u1");
        let member = &v["components"]["schemas"]["Member"];
        // A property named `example` is a schema and is followed; the keywords are data.
        assert_eq!(member["properties"]["example"]["type"], "string");
        assert_eq!(member["default"]["$ref"], "https://example.org/literal");
        assert_eq!(
            member["examples"][0]["$ref"],
            "https://example.org/also-literal"
        );
        // The default response is a response: its schema is followed.
        let default = &v["paths"]["/g"]["get"]["responses"]["default"];
        assert_eq!(
            default["content"]["application/json"]["schema"]["type"],
            "string"
        );
        // An Example Object reference is still followed, and its value kept as data.
        let one = &v["paths"]["/g"]["get"]["responses"]["200"]["content"]["application/json"]["examples"]
            ["one"];
        assert_eq!(one["value"]["members"][0]["value"], "u1");
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn resolves_relative_refs_with_siblings_and_pointers() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-load-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("api/defs"))?;
        std::fs::create_dir_all(dir.join("schemas"))?;
        std::fs::write(
            dir.join("api/main.yaml"),
            "a:\n  $ref: defs/x.yaml#/things/one\n  description: over\nb:\n  $ref: '../schemas/s.yaml'\n200:\n  ok: true\n",
        )?;
        std::fs::write(
            dir.join("api/defs/x.yaml"),
            "things:\n  one:\n    type: string\n    description: under\n",
        )?;
        std::fs::write(dir.join("schemas/s.yaml"), "type: object\n")?;
        let v = Loader::new().load_resolved(&dir.join("api/main.yaml"))?;
        assert_eq!(
            v,
            serde_json::json!({"a": {"type": "string", "description": "over"}, "b": {"type": "object"}, "200": {"ok": true}})
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn recursive_schema_components_become_named_stubs() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-rec-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join("r.yaml"),
            "schema:\n  $ref: '#/definitions/Node'\ndefinitions:\n  Node:\n    type: object\n    properties:\n      next:\n        $ref: '#/definitions/Node'\n",
        )?;
        let v = Loader::new().load_resolved(&dir.join("r.yaml"))?;
        let key = format!("{}#/definitions/Node", dir.join("r.yaml").display());
        assert_eq!(v["schema"][REF_NAME], "Node");
        assert_eq!(v["schema"][REF_KEY], key.as_str());
        assert_eq!(
            v["schema"]["properties"]["next"],
            serde_json::json!({REF_KEY: key, REF_NAME: "Node", REF_CYCLE: true})
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn detects_cycles() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-cycle-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("c.yaml"), "a:\n  $ref: '#/b'\nb:\n  $ref: '#/a'\n")?;
        let err = Loader::new().load_resolved(&dir.join("c.yaml"));
        assert!(err.is_err_and(|e| e.to_string().contains("cyclic")));
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }

    #[test]
    fn normalise_keeps_leading_parent_dirs() {
        assert_eq!(
            normalise(Path::new("../../a/./b/../c")),
            Path::new("../../a/c")
        );
        assert_eq!(normalise(Path::new("a/../../b")), Path::new("../b"));
        assert_eq!(normalise(Path::new("/../a")), Path::new("/a"));
    }

    #[test]
    fn pointer_escapes() {
        let doc = serde_json::json!({"a/b": {"c~d": 1}, "sp ace": 2});
        assert_eq!(pointer_get(&doc, "/a~1b/c~0d"), Some(&Value::from(1)));
        assert_eq!(pointer_get(&doc, "/sp%20ace"), Some(&Value::from(2)));
    }
}
