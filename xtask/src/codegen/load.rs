//! Reads a tree of Swagger 2.0 / OpenAPI 3.x YAML (or JSON) files into `serde_json::Value`s with
//! every `$ref` resolved inline.
//!
//! Upstream Matrix files reach across the tree (`../client-server/definitions/...`,
//! `../../schemas/...`), put `$ref` beside other keywords, and even under `securityDefinitions`;
//! resolving generically, before anything is interpreted, handles all of these the same way.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

/// Parsed documents, cached by normalised path so each file is read once.
#[derive(Default)]
pub struct Loader {
    docs: BTreeMap<PathBuf, Value>,
}

impl Loader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `path` and returns it with every `$ref` replaced by its target.
    ///
    /// A `$ref` to a schema component (`#/definitions/X`, `#/components/schemas/X`,
    /// `#/$defs/X`, or a whole file) in a schema position leaves its identity in the inlined
    /// copy ([`REF_KEY`], [`REF_NAME`]), so one named type and one validator can serve every
    /// use; a reference back to a component being resolved becomes a stub holding only that
    /// identity ([`REF_CYCLE`]), the recursion the emitters close through a name.
    pub fn load_resolved(&mut self, path: &Path) -> Result<Value> {
        let path = normalise(path);
        let doc = self.doc(&path)?.clone();
        let mut stack = Vec::new();
        self.resolve(doc, &path, &mut stack, Ctx::default())
    }

    fn doc(&mut self, path: &Path) -> Result<&Value> {
        if !self.docs.contains_key(path) {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let value =
                parse_document(&text).with_context(|| format!("parsing {}", path.display()))?;
            self.docs.insert(path.to_path_buf(), value);
        }
        self.docs
            .get(path)
            .ok_or_else(|| anyhow!("document {} vanished from the cache", path.display()))
    }

    fn resolve(
        &mut self,
        value: Value,
        file: &Path,
        stack: &mut Vec<String>,
        ctx: Ctx,
    ) -> Result<Value> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get("$ref") {
                    let reference = reference.clone();
                    let (target_file, pointer) = split_ref(&reference, file);
                    let key = format!("{}#{}", target_file.display(), pointer);
                    let component = ctx
                        .is_schema()
                        .then(|| component_name(&target_file, &pointer))
                        .flatten();
                    let annotations_only = map
                        .keys()
                        .all(|k| k == "$ref" || is_annotation(k) || k == "nullable");
                    if stack.contains(&key) {
                        return match component {
                            Some(name) if annotations_only => {
                                let mut stub = Map::new();
                                stub.insert(REF_KEY.into(), Value::String(key));
                                stub.insert(REF_NAME.into(), Value::String(name));
                                stub.insert(REF_CYCLE.into(), Value::Bool(true));
                                for (k, v) in map {
                                    if k != "$ref" {
                                        stub.insert(k, v);
                                    }
                                }
                                Ok(Value::Object(stub))
                            }
                            _ => bail!("cyclic $ref {reference} in {}", file.display()),
                        };
                    }
                    let target = pointer_get(self.doc(&target_file)?, &pointer)
                        .ok_or_else(|| {
                            anyhow!("unresolved $ref {reference} in {}", file.display())
                        })?
                        .clone();
                    stack.push(key.clone());
                    let resolved = self.resolve(target, &target_file, stack, ctx.clone());
                    stack.pop();
                    let mut resolved = resolved?;
                    if let (Some(name), Value::Object(target)) = (&component, &mut resolved) {
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
                    let siblings: Map<String, Value> =
                        map.into_iter().filter(|(k, _)| k != "$ref").collect();
                    if !siblings.is_empty() {
                        let siblings =
                            self.resolve(Value::Object(siblings), file, stack, ctx.clone())?;
                        if let (Value::Object(target), Value::Object(extra)) =
                            (&mut resolved, siblings)
                        {
                            for (k, v) in extra {
                                target.insert(k, v);
                            }
                        }
                    }
                    Ok(resolved)
                } else {
                    let mut out = Map::with_capacity(map.len());
                    for (k, v) in map {
                        if ctx.is_literal(&k, &v) {
                            out.insert(k, v);
                            continue;
                        }
                        let inner = ctx.child(&k);
                        out.insert(k, self.resolve(v, file, stack, inner)?);
                    }
                    Ok(Value::Object(out))
                }
            }
            Value::Array(items) => items
                .into_iter()
                .map(|v| self.resolve(v, file, stack, ctx.clone()))
                .collect::<Result<Vec<_>>>()
                .map(Value::Array),
            other => Ok(other),
        }
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

/// The component name of a schema reference, when it names one whole schema.
fn component_name(file: &Path, pointer: &str) -> Option<String> {
    let tokens: Vec<&str> = pointer.split('/').filter(|t| !t.is_empty()).collect();
    let raw = match tokens.as_slice() {
        [] => file.file_stem()?.to_str()?.to_string(),
        ["definitions" | "$defs", name] | ["components", "schemas", name] => {
            percent_decode(name).replace("~1", "/").replace("~0", "~")
        }
        _ => return None,
    };
    Some(raw)
}

/// Where a value sits, as far as "is this a schema?" needs: the key holding it and the key
/// above that.
#[derive(Clone, Default)]
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
        self.key
            .as_deref()
            .is_some_and(|k| SCHEMA_KEYS.contains(&k))
            || self
                .parent
                .as_deref()
                .is_some_and(|k| NAME_MAPS.contains(&k))
    }
}

/// YAML is read through its own value type first: YAML mapping keys may be integers (`200:`),
/// which `serde_json::Value` cannot hold as keys.
pub fn parse_document(text: &str) -> Result<Value> {
    let yaml: serde_yaml::Value = match serde_yaml::from_str(text) {
        Ok(v) => v,
        // An integer beyond 64 bits (a bound such as `maximum: 2^128-1`) has no YAML value;
        // read it as the float it is closest to, keeping it a number.
        Err(e) if e.to_string().contains("128") => serde_yaml::from_str(&widen_big_integers(text))?,
        Err(e) => return Err(e.into()),
    };
    yaml_to_json(yaml)
}

/// Appends `.0` to every integer literal of more than 19 digits that stands alone as a
/// scalar (after `: `, `- `, `[` or `, `; before the end of the line, `,`, `]`, `}` or ` #`).
fn widen_big_integers(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        let start = i;
        let digits_from = if bytes[i] == b'-' { i + 1 } else { i };
        let mut end = digits_from;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        let long = end - digits_from > 19;
        let before = &text[..start];
        let opens = before.ends_with(": ")
            || before.ends_with("- ")
            || before.ends_with('[')
            || before.ends_with(", ")
            || before.ends_with(',');
        let rest = &text[end..];
        let closes = rest.is_empty()
            || rest.starts_with(['\n', '\r', ',', ']', '}'])
            || rest.starts_with(" #")
            || rest
                .trim_start_matches(' ')
                .starts_with(['\n', ',', ']', '}']);
        if long && opens && closes {
            out.push_str(&text[copied..end]);
            out.push_str(".0");
            copied = end;
            i = end;
        } else {
            i = if end > start { end } else { i + 1 };
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn yaml_to_json(v: serde_yaml::Value) -> Result<Value> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(yaml_to_json).collect::<Result<_>>()?)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => bail!("unsupported mapping key {other:?}"),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}

fn split_ref(reference: &str, file: &Path) -> (PathBuf, String) {
    let (file_part, pointer) = reference.split_once('#').unwrap_or((reference, ""));
    let target = if file_part.is_empty() {
        file.to_path_buf()
    } else {
        normalise(&file.parent().unwrap_or(Path::new(".")).join(file_part))
    };
    (target, pointer.to_string())
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
        let token = percent_decode(raw).replace("~1", "/").replace("~0", "~");
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
    fn integers_beyond_64_bits_stay_numbers() -> Result<()> {
        let v = parse_document(
            "a: 340282366920938463463374607431768211455\nb: [1, 18446744073709551616]\nc: '99999999999999999999999'\n",
        )?;
        assert_eq!(v["a"].as_f64(), Some(3.402_823_669_209_385e38));
        assert_eq!(v["b"][1].as_f64(), Some(1.844_674_407_370_955_2e19));
        assert_eq!(v["c"], "99999999999999999999999");
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
