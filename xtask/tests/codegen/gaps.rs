//! A construct the generator cannot check costs that keyword, not the crate: it is left out
//! with a warning, and `--strict` refuses it instead. Recursive components generate.

use std::path::Path;
use xtask::codegen::{self, Options};

const SPEC: &str = "openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /things/{name}:
    get:
      operationId: getThing
      parameters:
        - {name: name, in: path, required: true, schema: {type: string, maxLength: 8, pattern: '^(?![0-9]+$)[a-z0-9-]+$'}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Node'}
components:
  schemas:
    Node:
      type: object
      properties:
        next: {$ref: '#/components/schemas/Node'}
        children: {type: array, items: {$ref: '#/components/schemas/Node'}}
";

/// The text of the generated file whose path ends with `suffix` (empty if none does).
fn file(files: &std::collections::BTreeMap<std::path::PathBuf, String>, suffix: &str) -> String {
    files
        .iter()
        .find(|(p, _)| p.ends_with(suffix))
        .map(|(_, t)| t.clone())
        .unwrap_or_default()
}

fn options(dir: &Path, strict: bool) -> Options {
    std::fs::write(dir.join("api.yaml"), SPEC).expect("write spec");
    let mut opts = Options::standalone(dir, &dir.join("out"), "t", false);
    opts.strict = strict;
    opts
}

#[test]
fn lookaround_patterns_are_checked_and_a_broken_one_degrades() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let files = codegen::generate(&options(tmp.path(), true)).expect("strict codegen succeeds");
    let op = files
        .iter()
        .find(|(p, _)| p.ends_with("api/get_thing.rs"))
        .map(|(_, t)| t)
        .expect("operation module");
    // JSON Schema patterns are ECMA-262: look-around runs on that engine, beside the
    // schema's other keywords.
    assert!(
        op.contains("rt::Pattern::ecma(\"^(?![0-9]+$)[a-z0-9-]+$\")"),
        "{op}"
    );
    assert!(op.contains("s.max_chars(p1, string1, 8)"), "{op}");

    // A pattern no engine takes costs that keyword, with a warning; --strict refuses it.
    std::fs::write(
        tmp.path().join("api.yaml"),
        SPEC.replace("^(?![0-9]+$)", "^("),
    )
    .expect("write");
    let mut opts = Options::standalone(tmp.path(), &tmp.path().join("out"), "t", false);
    let files = codegen::generate(&opts).expect("codegen succeeds");
    let op = files
        .iter()
        .find(|(p, _)| p.ends_with("api/get_thing.rs"))
        .map(|(_, t)| t.clone())
        .unwrap_or_default();
    assert!(!op.contains("Pattern::"), "{op}");
    assert!(op.contains("s.max_chars(p1, string1, 8)"), "{op}");
    opts.strict = true;
    let err = codegen::generate(&opts).expect_err("strict refuses");
    let text = format!("{err:#}");
    assert!(
        text.contains("operation `getThing`")
            && text.contains("/paths/~1things~1{name}/get/parameters/path/name/schema/pattern")
            && text.contains("nor does an ECMA-262 engine take it"),
        "{text}"
    );
}

#[test]
fn recursive_component_is_one_boxed_type_and_one_validator() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let files = codegen::generate(&options(tmp.path(), false)).expect("codegen succeeds");
    let get = |suffix: &str| file(&files, suffix);
    let types = get("src/types.rs");
    assert!(types.contains("pub struct Node {"), "{types}");
    assert!(
        types.contains("pub next: Option<Box<crate::types::Node>>,"),
        "{types}"
    );
    assert!(
        types.contains("pub children: Option<Vec<crate::types::Node>>,"),
        "{types}"
    );
    let shared = get("src/shared.rs");
    assert!(shared.contains("pub(crate) fn node_n0"), "{shared}");
    assert!(shared.contains("crate::shared::node_n0("), "{shared}");
    let op = get("api/get_thing.rs");
    assert!(op.contains("Node as Response"), "{op}");
    let bundle = get("openapi.json");
    assert!(
        bundle.contains("\"$ref\": \"#/components/schemas/Node\""),
        "{bundle}"
    );
    assert!(!bundle.contains("x-oxident"), "{bundle}");
}

#[test]
fn webhooks_and_callbacks_become_types_trace_routes_and_text_is_text() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("api.yaml"),
        "openapi: 3.1.0
info: {title: t, version: '1'}
paths:
  /debug:
    trace:
      operationId: traceDebug
      responses: {'200': {description: ok}}
    get:
      operationId: getDebug
      callbacks:
        onEvent:
          '{$request.query.url}':
            post:
              operationId: eventCallback
              requestBody:
                content: {application/json: {schema: {type: object, properties: {event: {type: string}}}}}
              responses: {'200': {description: ok}}
      responses: {'200': {description: ok, content: {text/plain: {schema: {type: string}}}}}
webhooks:
  newPet:
    post:
      requestBody:
        content: {application/json: {schema: {type: object, properties: {name: {type: string}}}}}
      responses: {'200': {description: ok}}
",
    )
    .expect("write spec");
    let opts = Options::standalone(tmp.path(), &tmp.path().join("out"), "t", false);
    let files = codegen::generate(&opts).expect("codegen succeeds");
    let get = |suffix: &str| file(&files, suffix);
    let types = get("src/types.rs");
    assert!(types.contains("pub struct NewPetPostPayload {"), "{types}");
    assert!(
        types.contains("pub struct EventCallbackPayload {"),
        "{types}"
    );
    let server = get("src/server.rs");
    assert!(server.contains("Method::TRACE"), "{server}");
    // A text/plain answer is written as text, not as a JSON string.
    assert!(server.contains("call!(serve_text, "), "{server}");
}

#[test]
fn multipart_forms_are_typed_as_forms_with_binary_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("api.yaml"),
        "openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /form:
    post:
      operationId: uploadForm
      requestBody:
        content:
          multipart/form-data:
            schema:
              type: object
              required: [file]
              properties:
                file: {type: string, format: binary}
                note: {type: string}
                n: {type: integer}
      responses: {'204': {description: ok}}
",
    )
    .expect("write spec");
    let mut opts = Options::standalone(tmp.path(), &tmp.path().join("out"), "t", false);
    // Nothing about the form is left out any more: strict generation succeeds.
    opts.strict = true;
    let files = codegen::generate(&opts).expect("codegen succeeds");
    let get = |suffix: &str| file(&files, suffix);
    let types = get("src/types.rs");
    assert!(
        types.contains("pub file: crate::rt::binary::Binary,"),
        "{types}"
    );
    let op = get("api/upload_form.rs");
    // The parts are typed as form fields are: the file keeps its bytes, `n` is a number.
    assert!(
        op.contains("(\"file\", crate::rt::ScalarKind::Binary)"),
        "{op}"
    );
    assert!(
        op.contains("(\"n\", crate::rt::ScalarKind::Integer)"),
        "{op}"
    );
}

#[test]
fn several_successes_become_one_enum_answered_with_its_status() {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("api.yaml"),
        "openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /items/{id}:
    put:
      operationId: putItem
      parameters: [{name: id, in: path, required: true, schema: {type: string}}]
      responses:
        '200': {description: replaced, content: {application/json: {schema: {$ref: '#/components/schemas/Item'}}}}
        '201': {description: created, content: {application/json: {schema: {$ref: '#/components/schemas/Created'}}}}
        default: {description: error, content: {application/json: {schema: {type: object}}}}
components:
  schemas:
    Item: {type: object, properties: {id: {type: string}}}
    Created: {type: object, properties: {location: {type: string}}}
",
    )
    .expect("write spec");
    let opts = Options::standalone(tmp.path(), &tmp.path().join("out"), "t", false);
    let files = codegen::generate(&opts).expect("codegen succeeds");
    let get = |suffix: &str| file(&files, suffix);
    let op = get("api/put_item.rs");
    assert!(op.contains("pub enum Response {"), "{op}");
    assert!(op.contains("Status200(crate::types::Item),"), "{op}");
    assert!(op.contains("Status201(crate::types::Created),"), "{op}");
    assert!(op.contains("Self::Status201(_) => 201u16,"), "{op}");
    // The dispatcher writes the variant's status (`rt::server::statuses_response`).
    let server = get("src/server.rs");
    assert!(
        server.contains("call!(serve_statuses, api::put_item"),
        "{server}"
    );
}

/// Two schemas of one name that differ only in what the validator checks (a `format`, a
/// bound) are one Rust type; each operation still checks its own constraints. v1 and v2 of
/// the identity API had `SignedAssociation` and `SignedAssociation2` for this.
#[test]
fn shapes_differing_only_in_checks_are_one_type() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let thing = |extra: &str| {
        format!(
            "type: object\nrequired: [id]\nproperties:\n  id: {{type: string{extra}}}\n  n: {{type: integer, format: int32}}\n"
        )
    };
    std::fs::create_dir_all(tmp.path().join("v1")).expect("dir");
    std::fs::create_dir_all(tmp.path().join("v2")).expect("dir");
    std::fs::write(tmp.path().join("v1/Thing.yaml"), thing("")).expect("write");
    std::fs::write(
        tmp.path().join("v2/Thing.yaml"),
        thing(", format: mx-user-id, maxLength: 255"),
    )
    .expect("write");
    let op = |name: &str, dir: &str| {
        format!(
            "  /{name}:\n    get:\n      operationId: {name}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {{$ref: '{dir}/Thing.yaml'}}\n"
        )
    };
    std::fs::write(
        tmp.path().join("api.yaml"),
        format!(
            "openapi: 3.0.3\ninfo: {{title: t, version: '1'}}\npaths:\n{}{}",
            op("getOld", "v1"),
            op("getNew", "v2")
        ),
    )
    .expect("write");
    let opts = Options::standalone(tmp.path(), &tmp.path().join("out"), "t", false);
    let files = codegen::generate(&opts).expect("codegen succeeds");
    let types = file(&files, "src/types.rs");
    assert_eq!(types.matches("pub struct Thing").count(), 1, "{types}");
    assert!(types.contains("pub n: Option<i32>,"), "{types}");
    assert!(!types.contains("Thing2"), "{types}");
    let new = file(&files, "api/get_new.rs");
    assert!(new.contains("Thing as Response"), "{new}");
    // The validators still differ: only v2's checks the length.
    assert!(
        new.contains("255") || file(&files, "src/shared.rs").contains("255"),
        "{new}"
    );
    assert!(!file(&files, "api/get_old.rs").contains("255"));
}
