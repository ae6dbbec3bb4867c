//! `cargo xtask corpus <DIR>`: every API in a corpus of public specs (one folder each, and
//! `gaps/<name>/` fragments) is generated as a standalone crate, built, and its examples
//! checked twice: by the crate's own validators and by the `jsonschema` crate on the same
//! schema; one line of figures per spec (operations, codegen time, generated lines, build
//! time, examples checked and those that break their own schema). Fails if any spec does not
//! generate, build without warnings, or if the two validators disagree on an example.
//!
//! Examples are not trusted: real specs carry examples their own schemas refuse. An example
//! both validators refuse at the same pointers is the spec's error, listed, not a failure;
//! a disagreement (one accepts, or the pointer sets differ) is ours to explain.
//!
//! `.ci/run` steps run it on `../shared/openapi-corpus` and `../shared/openapi-corpus-next`. Each
//! spec folder (and `gaps/*`) becomes a crate in `target/corpus/`, `cargo test`ed there with an
//! `examples` test this command writes (with `examples.json` and a `jsonschema` dev-dependency
//! added to the crate's manifest). Every response example, body or response schema `example` and
//! gap run-time case goes through the crate's `validate::` registry *and* through `jsonschema` on
//! the schema that validator was emitted from (the *oracle schema*). Real specs' examples break
//! their own schemas (147 of Twilio's 287); such an example is counted and listed under the spec's
//! line (`spec error (both refuse): …`). A gap case may name the one pointer it must be refused at
//! (`GAP_CASES`). A warning anywhere or a build failure also fails the run; the figures are in
//! docs/benchmarks.md.
//!
//! Pointers are compared as sets of RFC 6901 instance locations, in our convention: jsonschema
//! reports a missing required property and an unexpected one at the object, we at the property, so
//! its `required` and `additionalProperties` errors are moved to `{object}/{property}` first; every
//! other error is its `instance_path`. Error kinds are not compared (the oracle's translations
//! change them by construction: an unknown discriminator tag is our `Enum`, its `required`), nor
//! messages or counts (jsonschema may report one location twice).
//!
//! The oracle schema (`oracle_schema`) is the model's schema after normalisation and degradation,
//! so both sides judge the same semantics (the choices of ARCHITECTURE.md's *OpenAPI's letter and
//! its authors' intent* included), in plain 2020-12: recursion stubs become `$ref`s into the root's
//! `$defs`; a discriminated `oneOf`/`anyOf` becomes "the tag is required and one of the branches'
//! tags, and `if` the tag is T `then` T's branch"; `format: int32`/`int64` become the bounds
//! `rt::formats` checks; annotations, `x-*` and `$id` go. Formats: jsonschema asserts with its own
//! checks the five both implement (`email`, `uri`, `ipv4`, `ipv6`, `uuid`, so our implementations
//! are compared too), ours for the Matrix `mx-*` formats (registered from `rt::formats::check`),
//! and none of the formats we leave unchecked (`date-time`, `date`, `time`, `duration`, `hostname`,
//! `idn-*`, `iri*`, `uri-reference`, `uri-template`, `json-pointer`, `relative-json-pointer`,
//! `regex`: registered as always valid). That is the one place the two differ on purpose: a
//! malformed `date-time` passes both (Twilio's dates are RFC 2822, not RFC 3339; asserting them is
//! a separate decision).

use crate::codegen::{self, Options, degrade, emit_types, emit_validators, load, model};
use anyhow::{Context, Result, bail};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The test each corpus crate gets (written by this command, not by codegen): every example
/// of `examples.json` through the crate's validator for its operation and status, and through
/// `jsonschema` on the schema that validator was emitted from (`schemas`, see
/// [`oracle_schema`]). Both must agree on the verdict and on the set of error pointers
/// (jsonschema's `required` and `additionalProperties` errors are moved to the property's
/// own pointer, where ours are reported); kinds are not compared, as the oracle's
/// translations (a discriminator as `if`/`then`, `int32` as bounds) change them by
/// construction. The verdicts go to `examples-report.json` for the corpus command to print.
const EXAMPLES_TEST: &str = r#"//! Written by `cargo xtask corpus`: the spec's examples against the generated validators
//! and against the jsonschema crate on the same (normalised) schema.

use jsonschema::error::ValidationErrorKind as Their;
use serde_json::{Value, json};
use std::collections::BTreeSet;

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// jsonschema's error pointers in our convention: a missing or unexpected property is
/// reported at the property's own pointer.
fn their_pointers(v: &jsonschema::Validator, instance: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for e in v.iter_errors(instance) {
        let at = e.instance_path().as_str().to_owned();
        match e.kind() {
            Their::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                out.insert(format!("{at}/{}", escape(name)));
            }
            Their::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    out.insert(format!("{at}/{}", escape(name)));
                }
            }
            _ => {
                out.insert(at);
            }
        }
    }
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn reference(schema: &Value, ours: &[String], unasserted: &[String]) -> Result<jsonschema::Validator, String> {
    let mut options = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true);
    for name in ours {
        let format = name.clone();
        options = options.with_format(name.as_str(), move |s: &str| CRATE::rt::formats::check(&format, s));
    }
    for name in unasserted {
        options = options.with_format(name.as_str(), |_: &str| true);
    }
    options.build(schema).map_err(|e| e.to_string())
}

#[test]
fn examples_agree_with_jsonschema() {
    let doc: Value = serde_json::from_str(include_str!("../examples.json")).expect("examples.json");
    let ours = strings(&doc["formats"]["ours"]);
    let unasserted = strings(&doc["formats"]["unasserted"]);
    let schemas = doc["schemas"].as_array().cloned().unwrap_or_default();
    let mut validators: Vec<Option<Result<jsonschema::Validator, String>>> =
        schemas.iter().map(|_| None).collect();
    let cases = doc["cases"].as_array().cloned().unwrap_or_default();
    let mut failures = Vec::new();
    let mut spec_errors = Vec::new();
    for case in &cases {
        let op = case["operation"].as_str().unwrap_or_default();
        let value = &case["value"];
        let verdict = match case["status"].as_u64() {
            Some(status) => CRATE::validate::response(op, status as u16, value),
            None => CRATE::validate::request(op, value),
        };
        let mine: BTreeSet<String> = match verdict {
            Ok(Ok(())) => BTreeSet::new(),
            Ok(Err(errors)) => errors.0.iter().map(|e| e.pointer.clone()).collect(),
            Err(lookup) => {
                failures.push(format!("{}: {lookup:?}", case["at"]));
                continue;
            }
        };
        let index = case["schema"].as_u64().unwrap_or(u64::MAX) as usize;
        let Some(slot) = validators.get_mut(index) else {
            failures.push(format!("{}: no schema {index}", case["at"]));
            continue;
        };
        let built = slot.get_or_insert_with(|| reference(&schemas[index], &ours, &unasserted));
        let theirs = match built {
            Ok(v) => their_pointers(v, value),
            Err(e) => {
                failures.push(format!("{}: jsonschema refuses the schema: {e}", case["at"]));
                continue;
            }
        };
        let expected = case["refused_at"].as_str();
        if mine != theirs {
            failures.push(format!(
                "{}: ours {mine:?}, jsonschema {theirs:?}; value {value}",
                case["at"]
            ));
        } else if let Some(pointer) = expected {
            if mine.len() != 1 || !mine.contains(pointer) {
                failures.push(format!("{}: refused at {mine:?}, expected {pointer}", case["at"]));
            }
        } else if !mine.is_empty() {
            spec_errors.push(json!({"at": case["at"], "pointers": mine}));
        }
    }
    let report = json!({"checked": cases.len(), "spec_errors": spec_errors, "failures": failures});
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples-report.json");
    std::fs::write(path, report.to_string()).expect("writing examples-report.json");
    assert!(
        failures.is_empty(),
        "{} example(s) where the generated validators and jsonschema disagree:
{}",
        failures.len(),
        failures.join("
")
    );
}
"#;

struct Row {
    name: String,
    operations: usize,
    codegen_ms: u128,
    lines: usize,
    build_s: f64,
    examples: usize,
    /// Examples both validators refuse (where, and the pointers).
    spec_errors: Vec<String>,
    problem: Option<String>,
}

/// Writes `contents` unless the file already holds them: the corpus crates are kept between
/// runs, and an unchanged mtime spares cargo rebuilding the examples test.
fn write_if_changed(path: &Path, contents: &str) -> Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() != Some(contents) {
        std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The corpus crate's manifest gets the dev-dependency its examples test needs, the
/// `jsonschema` line of `generated/Cargo.toml` (codegen's standalone manifest has no
/// dev-dependencies: users' crates need none).
fn add_dev_dependency(manifest: &Path) -> Result<()> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    if text.contains("[dev-dependencies]") {
        return Ok(());
    }
    let line = codegen::manifest_section(codegen::GENERATED_MANIFEST, "dev-dependencies")
        .into_iter()
        .find(|l| l.trim_start().starts_with("jsonschema"))
        .context("generated/Cargo.toml has no jsonschema dev-dependency")?;
    std::fs::write(
        manifest,
        format!("{text}\n[dev-dependencies]\n{}\n", line.trim()),
    )?;
    Ok(())
}

/// The spec folders of a corpus: each folder with API documents (or a `spec/` inside), and
/// each folder of `gaps/`.
fn spec_dirs(corpus: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus)
        .with_context(|| format!("reading {}", corpus.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name == "gaps" {
            for (gap, path) in spec_dirs(&dir)? {
                out.push((format!("gaps-{gap}"), path));
            }
        } else if dir.join("spec").is_dir() {
            out.push((name, dir.join("spec")));
        } else if let Some(entry) = ["entry.yaml", "entry.yml", "entry.json"]
            .iter()
            .map(|f| dir.join(f))
            .find(|p| p.is_file())
        {
            // A multi-file API with a named entry: generated from that file alone.
            out.push((name, entry));
        } else {
            out.push((name, dir));
        }
    }
    Ok(out)
}

/// Run-time cases for the gap fragments (spec folder, operation, response status or `None`
/// for the request body, value, where the validator must refuse it or `None`): each gap
/// behaves as its schema says.
type GapCase = (
    &'static str,
    &'static str,
    Option<u16>,
    &'static str,
    Option<&'static str>,
);

const GAP_CASES: &[GapCase] = &[
    (
        "gaps-discriminator",
        "add_pet",
        None,
        r#"{"petType": "Cat", "hunts": true}"#,
        None,
    ),
    (
        "gaps-discriminator",
        "add_pet",
        None,
        r#"{"petType": "Dog", "bark": "woof"}"#,
        None,
    ),
    (
        "gaps-discriminator",
        "add_pet",
        None,
        r#"{"petType": "Cow"}"#,
        Some("/petType"),
    ),
    (
        "gaps-discriminator",
        "add_pet",
        None,
        r#"{"petType": "Cat", "hunts": 1}"#,
        Some("/hunts"),
    ),
    (
        "gaps-nullable-ref",
        "add_order",
        None,
        r#"{"owner": null, "note": null}"#,
        None,
    ),
    (
        "gaps-nullable-ref",
        "add_order",
        None,
        r#"{"owner": {"name": "a"}, "note": "n"}"#,
        None,
    ),
    (
        "gaps-nullable-ref",
        "add_order",
        None,
        r#"{"owner": {"name": 1}, "note": "n"}"#,
        Some("/owner/name"),
    ),
    (
        "gaps-recursive",
        "get_tree",
        Some(200),
        r#"{"name": "a", "children": [{"children": [{"name": "b"}]}]}"#,
        None,
    ),
    (
        "gaps-recursive",
        "get_tree",
        Some(200),
        r#"{"children": [{"children": [{"name": 2}]}]}"#,
        Some("/children/0/children/0/name"),
    ),
    (
        "gaps-multi-status",
        "put_item",
        Some(201),
        r#"{"location": "/items/1"}"#,
        None,
    ),
    (
        "gaps-multi-status",
        "put_item",
        Some(500),
        r#"{"code": 1}"#,
        Some("/message"),
    ),
];

/// The formats jsonschema asserts by itself (draft 2020-12).
const JSONSCHEMA_FORMATS: &[&str] = &[
    "date",
    "date-time",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "iri",
    "iri-reference",
    "uri",
    "uri-reference",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
    "uuid",
];

/// Which formats the oracle asserts, to match what the emitted validators assert: those both
/// know (`email`, `uri`, `ipv4`, `ipv6`, `uuid`) with jsonschema's own checks, so our
/// implementations are compared too; ours alone (the Matrix `mx-*` formats) registered with
/// jsonschema as `rt::formats::check`; jsonschema's others (`date-time`, `hostname`, …),
/// which our validators leave unchecked, registered as always valid.
fn formats() -> Value {
    let asserted: Vec<&str> = emit_validators::STRING_FORMATS
        .iter()
        .map(|(name, ..)| *name)
        .collect();
    let ours: Vec<&str> = asserted
        .iter()
        .copied()
        .filter(|f| !JSONSCHEMA_FORMATS.contains(f))
        .collect();
    let unasserted: Vec<&str> = JSONSCHEMA_FORMATS
        .iter()
        .copied()
        .filter(|f| !asserted.contains(f))
        .collect();
    json!({"ours": ours, "unasserted": unasserted})
}

/// The examples of a spec, as `examples.json` for [`EXAMPLES_TEST`]: response examples by
/// status and `example` on request-body and response schemas (for the gap fragments, their
/// run-time cases), each with the index of its schema in `schemas` (the oracle's form of the
/// schema its validator was emitted from; one entry per distinct schema).
fn examples(name: &str, spec: &model::Spec) -> Value {
    let mut schemas: Vec<Value> = Vec::new();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    let mut schema_index = |schema: &Value| -> usize {
        let key = schema.to_string();
        *index.entry(key).or_insert_with(|| {
            schemas.push(oracle_schema(schema));
            schemas.len() - 1
        })
    };
    let mut cases = Vec::new();
    let operations = || spec.files.iter().flat_map(|f| f.operations.iter());
    for (gap, operation, status, value, refused_at) in GAP_CASES {
        if *gap != name {
            continue;
        }
        let op = operations().find(|op| op.name == *operation);
        let schema = match status {
            Some(status) => op.and_then(|op| response_schema(op, *status)),
            None => op.and_then(|op| op.body.as_ref()).map(|b| &b.schema),
        };
        let value = serde_json::from_str::<Value>(value).unwrap_or_default();
        // No operation or schema: the test reports the case (a lookup error or `no schema`)
        // instead of it being skipped.
        let index = schema.map(&mut schema_index);
        let mut case = json!({"operation": operation, "value": value, "schema": index});
        match status {
            Some(status) => {
                case["status"] = json!(status);
                case["at"] = json!(format!("{operation} {status} case {}", cases.len()));
            }
            None => case["at"] = json!(format!("{operation} request case {}", cases.len())),
        }
        if let Some(pointer) = refused_at {
            case["refused_at"] = json!(pointer);
        }
        cases.push(case);
    }
    for op in operations() {
        if let Some(b) = &op.body
            && let Some(ex) = b.schema.get("example")
        {
            cases.push(json!({
                "operation": op.name,
                "value": ex,
                "schema": schema_index(&b.schema),
                "at": format!("{} request body example", op.name),
            }));
        }
        for r in &op.responses {
            let (Some(status), Some(schema)) = (r.numeric_status(), &r.schema) else {
                continue;
            };
            let listed = r.examples.iter().chain(schema.get("example"));
            for (i, ex) in listed.enumerate() {
                cases.push(json!({
                    "operation": op.name,
                    "status": status,
                    "value": ex,
                    "schema": schema_index(schema),
                    "at": format!("{} {status} example {i}", op.name),
                }));
            }
        }
    }
    json!({"formats": formats(), "schemas": schemas, "cases": cases})
}

/// The schema of the response the runtime validates a status against
/// (`OperationInfo::response_validator`): the exact status, else its range (`5XX`), else
/// `default`.
fn response_schema(op: &model::Operation, status: u16) -> Option<&Value> {
    let exact = status.to_string();
    let range = format!("{}XX", status / 100);
    [exact.as_str(), range.as_str(), "default"]
        .iter()
        .find_map(|key| {
            op.responses
                .iter()
                .find(|r| r.schema.is_some() && r.status.eq_ignore_ascii_case(key))
        })
        .and_then(|r| r.schema.as_ref())
}

/// The schema jsonschema checks an example against: the one the validator was emitted from
/// (after [`model::normalise_schema`] and [`degrade::degrade`], so `nullable`, the `allOf`
/// merge and whatever was left unchecked mean the same on both sides), in plain JSON Schema
/// 2020-12 for what the emitters give an OpenAPI meaning:
/// - a recursion stub of the loader (`x-oxident-cycle`) becomes a `$ref` into `$defs` at the
///   root, which holds the translated copy of the component around it;
/// - a discriminated `oneOf`/`anyOf` ([`emit_types::discriminated`]) becomes what the
///   emitted validator checks: the tag is required and one of the branches' tags, and the
///   branch it names must hold (`if` the tag is that value `then` the branch), instead of
///   "exactly one branch";
/// - `format: int32`/`int64` (number formats jsonschema does not know) become the bounds the
///   runtime checks;
/// - annotations and extensions (`example`, `discriminator`, `x-*`, `$id`, …) go: an `$id`
///   would move the base `$ref`s resolve against.
pub fn oracle_schema(schema: &Value) -> Value {
    let mut oracle = Oracle::default();
    let mut root = oracle.walk(schema);
    if oracle.cycles.is_empty() {
        return root;
    }
    let mut defs = Map::new();
    for (key, n) in &oracle.cycles {
        let copy = oracle.full.remove(key).unwrap_or_else(|| json!({}));
        defs.insert(format!("oxident-cycle-{n}"), copy);
    }
    match &mut root {
        Value::Object(m) => match m.get_mut("$defs") {
            Some(Value::Object(existing)) => existing.extend(defs),
            _ => {
                m.insert("$defs".into(), Value::Object(defs));
            }
        },
        other => *other = json!({"allOf": [other.clone()], "$defs": defs}),
    }
    root
}

#[derive(Default)]
struct Oracle {
    /// Recursive components by their loader key, numbered.
    cycles: BTreeMap<String, usize>,
    /// The translated full copy of each recursive component.
    full: BTreeMap<String, Value>,
}

impl Oracle {
    fn walk(&mut self, schema: &Value) -> Value {
        let Value::Object(m) = schema else {
            return schema.clone();
        };
        let key = m.get(load::REF_KEY).and_then(Value::as_str);
        if m.contains_key(load::REF_CYCLE)
            && let Some(key) = key
        {
            let next = self.cycles.len();
            let n = *self.cycles.entry(key.to_string()).or_insert(next);
            return json!({"$ref": format!("#/$defs/oxident-cycle-{n}")});
        }
        let discriminated = emit_types::discriminated(schema);
        let replaced = discriminated.as_ref().map(|_| {
            if m.contains_key("oneOf") {
                "oneOf"
            } else {
                "anyOf"
            }
        });
        let mut out = Map::new();
        let mut all_of = Vec::new();
        for (k, v) in m {
            match k.as_str() {
                "properties" | "patternProperties" | "$defs" | "definitions"
                | "dependentSchemas" => {
                    let walked = match v {
                        Value::Object(props) => Value::Object(
                            props
                                .iter()
                                .map(|(name, s)| (name.clone(), self.walk(s)))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    out.insert(k.clone(), walked);
                }
                "items"
                | "additionalProperties"
                | "not"
                | "contains"
                | "if"
                | "then"
                | "else"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties"
                | "additionalItems" => {
                    out.insert(k.clone(), self.walk(v));
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    if Some(k.as_str()) == replaced {
                        continue;
                    }
                    let walked = match v {
                        Value::Array(list) => {
                            Value::Array(list.iter().map(|s| self.walk(s)).collect())
                        }
                        other => other.clone(),
                    };
                    if k == "allOf" {
                        if let Value::Array(list) = walked {
                            all_of.extend(list);
                        }
                    } else {
                        out.insert(k.clone(), walked);
                    }
                }
                "format" if matches!(v.as_str(), Some("int32" | "int64")) => {
                    let (min, max) = if v == "int32" {
                        (json!(i32::MIN), json!(i32::MAX))
                    } else {
                        (json!(i64::MIN), json!(i64::MAX))
                    };
                    all_of.push(json!({"minimum": min, "maximum": max}));
                }
                "example" | "examples" | "discriminator" | "$id" | "$schema" | "$anchor"
                | "$dynamicAnchor" | "$comment" => {}
                _ if k.starts_with("x-") => {}
                _ => {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        if let Some(d) = &discriminated {
            let property = d.property;
            let tags: Vec<&str> = d.branches.iter().map(|(tag, ..)| tag.as_str()).collect();
            all_of.push(json!({"properties": {property: {"enum": tags}}, "required": [property]}));
            for (tag, _, branch) in &d.branches {
                all_of.push(json!({
                    "if": {"type": "object", "properties": {property: {"const": tag}}, "required": [property]},
                    "then": self.walk(branch),
                }));
            }
        }
        if !all_of.is_empty() {
            out.insert("allOf".into(), Value::Array(all_of));
        }
        let out = Value::Object(out);
        if let Some(key) = key
            && self.cycles.contains_key(key)
            && !self.full.contains_key(key)
        {
            self.full.insert(key.to_string(), out.clone());
        }
        out
    }
}

fn lines_under(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .map(|p| {
            if p.is_dir() {
                lines_under(&p)
            } else if p.extension().is_some_and(|e| e == "rs") {
                std::fs::read_to_string(&p).map_or(0, |t| t.lines().count())
            } else {
                0
            }
        })
        .sum()
}

fn one(name: &str, spec_dir: &Path, out: &Path, target: &Path) -> Result<Row> {
    let crate_name = format!("corpus-{name}");
    let started = Instant::now();
    let opts = Options::standalone(spec_dir, out, &crate_name, false);
    codegen::run(&opts).with_context(|| format!("generating {name}"))?;
    let codegen_ms = started.elapsed().as_millis();
    // The model the emitters read: normalised, and degraded as codegen degraded it (its
    // warnings were printed by codegen).
    let mut spec = model::load_spec(spec_dir)?;
    degrade::degrade(&mut spec);
    let operations = spec.files.iter().map(|f| f.operations.len()).sum();
    let lines = lines_under(&out.join("src"));
    let doc = examples(name, &spec);
    let checked = doc["cases"].as_array().map_or(0, Vec::len);
    write_if_changed(
        &out.join("examples.json"),
        &serde_json::to_string_pretty(&doc)?,
    )?;
    add_dev_dependency(&out.join("Cargo.toml"))?;
    std::fs::create_dir_all(out.join("tests"))?;
    let lib = codegen::package_name(&crate_name).replace('-', "_");
    write_if_changed(
        &out.join("tests/examples.rs"),
        &EXAMPLES_TEST.replace("CRATE", &lib),
    )?;
    let report_path = out.join("examples-report.json");
    let _ = std::fs::remove_file(&report_path);
    let started = Instant::now();
    let output = Command::new(env!("CARGO"))
        .args([
            "test",
            "--quiet",
            "--message-format",
            "short",
            "--manifest-path",
        ])
        .arg(out.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .output()
        .context("running cargo")?;
    let build_s = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    // Dependencies from crates.io have their lints capped; what warns is the generated
    // crate or the runtime.
    let warnings: Vec<&str> = stderr.lines().filter(|l| l.contains("warning:")).collect();
    let report: Value = std::fs::read_to_string(&report_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    let spec_errors = report["spec_errors"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let at = e["at"].as_str().unwrap_or_default();
                    let pointers: Vec<&str> = e["pointers"]
                        .as_array()
                        .map(|p| p.iter().filter_map(Value::as_str).collect())
                        .unwrap_or_default();
                    format!("{at}: {}", pointers.join(", "))
                })
                .collect()
        })
        .unwrap_or_default();
    let problem = if !output.status.success() {
        Some(format!("cargo test failed:\n{stderr}\n{stdout}"))
    } else if !warnings.is_empty() {
        Some(format!("warnings:\n{}", warnings.join("\n")))
    } else if report["checked"].as_u64() != Some(checked as u64) {
        Some(format!(
            "the examples test reported {report}, expected {checked} checked"
        ))
    } else {
        None
    };
    Ok(Row {
        name: name.to_string(),
        operations,
        codegen_ms,
        lines,
        build_s,
        examples: checked,
        spec_errors,
        problem,
    })
}

/// Runs the corpus; `out` holds the crates (kept between runs: cargo rebuilds only what
/// changed), `target` is the shared target dir.
pub fn run(corpus: &Path, out: &Path, target: &Path) -> Result<()> {
    let mut rows = Vec::new();
    for (name, dir) in spec_dirs(corpus)? {
        let row = one(&name, &dir, &out.join(&name), target).unwrap_or_else(|e| Row {
            name: name.clone(),
            operations: 0,
            codegen_ms: 0,
            lines: 0,
            build_s: 0.0,
            examples: 0,
            spec_errors: Vec::new(),
            problem: Some(format!("{e:#}")),
        });
        println!(
            "{:<28} {:>4} ops {:>6} ms codegen {:>7} lines {:>6.1} s build+test {:>3} examples {:>3} spec errors {}",
            row.name,
            row.operations,
            row.codegen_ms,
            row.lines,
            row.build_s,
            row.examples,
            row.spec_errors.len(),
            if row.problem.is_some() {
                "FAILED"
            } else {
                "ok"
            }
        );
        for e in &row.spec_errors {
            println!("    spec error (both refuse): {e}");
        }
        rows.push(row);
    }
    let failed: Vec<&Row> = rows.iter().filter(|r| r.problem.is_some()).collect();
    for r in &failed {
        eprintln!(
            "\n--- {}: {}",
            r.name,
            r.problem.as_deref().unwrap_or_default()
        );
    }
    if !failed.is_empty() {
        bail!("{} of {} corpus specs failed", failed.len(), rows.len());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracle_schema_is_plain_json_schema() {
        // A recursion stub becomes a `$ref` into `$defs`, which holds the translated copy;
        // annotations go, a property named like one stays.
        let tree = json!({
            load::REF_KEY: "t.yaml#/Tree", load::REF_NAME: "Tree",
            "type": "object", "example": {"children": []},
            "properties": {
                "example": {"type": "string", "x-extra": 1},
                "children": {"type": "array", "items": {
                    load::REF_KEY: "t.yaml#/Tree", load::REF_NAME: "Tree", load::REF_CYCLE: true
                }}
            }
        });
        let plain = json!({
            "type": "object",
            "properties": {
                "example": {"type": "string"},
                "children": {"type": "array", "items": {"$ref": "#/$defs/oxident-cycle-0"}}
            }
        });
        let mut expected = plain.clone();
        expected["$defs"] = json!({"oxident-cycle-0": plain});
        assert_eq!(oracle_schema(&tree), expected);
    }

    #[test]
    fn a_discriminator_and_number_formats_become_what_the_validator_checks() {
        let cat = json!({load::REF_KEY: "p#/Cat", load::REF_NAME: "Cat", "type": "object",
            "properties": {"n": {"type": "integer", "format": "int32"}}});
        let dog = json!({load::REF_KEY: "p#/Dog", load::REF_NAME: "Dog", "type": "object"});
        let pet = json!({
            "oneOf": [cat, dog], "not": {"required": ["x"]},
            "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}}
        });
        let bounded = json!({"type": "object", "properties": {"n": {"type": "integer",
            "allOf": [{"minimum": i32::MIN, "maximum": i32::MAX}]}}});
        let tagged = |tag: &str, then: Value| {
            json!({"if": {"type": "object", "properties": {"kind": {"const": tag}}, "required": ["kind"]},
                   "then": then})
        };
        assert_eq!(
            oracle_schema(&pet),
            json!({
                "not": {"required": ["x"]},
                "allOf": [
                    {"properties": {"kind": {"enum": ["cat", "Dog"]}}, "required": ["kind"]},
                    tagged("cat", bounded),
                    tagged("Dog", json!({"type": "object"})),
                ]
            })
        );
    }
}
