//! Generator v3's loader on the fragments in `tests/gaps/` (one per failure seen on public
//! specs): each generates with `--strict` (no construct left unchecked) and its facts hold.
//! `cargo xtask corpus xtask/tests/gaps` also builds each and checks its examples.

use super::relative;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use xtask::codegen::{self, Options};

fn gap(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/gaps")
        .join(name)
}

fn strict(spec: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let out = Path::new("/nonexistent/out");
    let mut opts = Options::standalone(spec, out, "gap", false);
    opts.strict = true;
    Ok(relative(codegen::generate(&opts)?, out))
}

fn file<'a>(files: &'a BTreeMap<String, String>, suffix: &str) -> &'a str {
    files
        .iter()
        .find(|(p, _)| p.ends_with(suffix))
        .map_or("", |(_, t)| t.as_str())
}

/// Item 1: non-ASCII text beside an integer beyond 64 bits panicked the old loader, which
/// rewrote the YAML text (slicing inside an em dash).
#[test]
fn non_ascii_text_and_big_integers() -> anyhow::Result<()> {
    let files = strict(&gap("non-ascii-text"))?;
    let op = file(&files, "api/get_counter.rs");
    assert!(
        op.contains("340282366920938500000000000000000000000f64"),
        "{op}"
    );
    let docs = file(&files, "docs/api.md");
    assert!(docs.contains("non-ascii — em dashes, “quotes”"), "{docs}");
    Ok(())
}

/// Item 2: schemas kept as top-level keys of plain YAML files recurse through `#/apiAgent`.
#[test]
fn recursion_closes_through_any_pointer() -> anyhow::Result<()> {
    let files = strict(&gap("plain-key-recursion"))?;
    let types = file(&files, "src/types.rs");
    assert!(types.contains("pub struct ApiAgent {"), "{types}");
    assert!(
        types.contains("pub parent: Option<Box<crate::types::ApiAgent>>,"),
        "{types}"
    );
    assert!(
        types.contains("pub delegates: Option<Vec<crate::types::ApiAgent>>,"),
        "{types}"
    );
    assert!(types.contains("pub struct ApiOwner {"), "{types}");
    Ok(())
}

/// Item 3: an entry file; only what its operations reach is read. An unused component's
/// `$ref` to a missing file, a missing file referenced from an unused schema of a file that
/// is read, and an invalid YAML file beside them change nothing.
#[test]
fn only_what_the_operations_reach_is_read() -> anyhow::Result<()> {
    let files = strict(&gap("lazy-entry/entry.yaml"))?;
    let types = file(&files, "src/types.rs");
    assert!(types.contains("pub struct Pet {"), "{types}");
    // The folder form reads every file to find the APIs: the invalid one is a warning
    // (so `--strict` refuses it), not a failure of the others.
    let err = strict(&gap("lazy-entry")).expect_err("strict refuses the skipped file");
    assert!(
        format!("{err:#}").contains("notes.yaml: skipped"),
        "{err:#}"
    );
    let mut opts = Options::standalone(&gap("lazy-entry"), Path::new("/nonexistent"), "g", false);
    opts.strict = false;
    codegen::generate(&opts)?;
    Ok(())
}

/// Item 3's errors: a reached `$ref` that cannot resolve names the file, the pointer and the
/// operation it was reached from.
#[test]
fn a_broken_reached_ref_names_file_pointer_and_operation() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    std::fs::write(
        tmp.path().join("api.yaml"),
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      operationId: getA\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: 'defs.yaml#/Thing'}\n",
    )?;
    std::fs::write(
        tmp.path().join("defs.yaml"),
        "Thing:\n  type: object\n  properties:\n    part: {$ref: '#/Missing'}\n",
    )?;
    let err = strict(&tmp.path().join("api.yaml")).expect_err("unresolved");
    let text = format!("{err:#}");
    assert!(text.contains("unresolved $ref #/Missing"), "{text}");
    assert!(
        text.contains("defs.yaml#/Thing/properties/part/$ref"),
        "{text}"
    );
    assert!(text.contains("(operation GET /a)"), "{text}");
    // A URL is never fetched.
    std::fs::write(
        tmp.path().join("defs.yaml"),
        "Thing: {$ref: 'https://example.org/schema.json'}\n",
    )?;
    let err = strict(&tmp.path().join("api.yaml")).expect_err("remote");
    assert!(format!("{err:#}").contains("remote references are not followed"));
    Ok(())
}

/// Item 4: Swagger 2.0's `type: file` is binary, checked like `format: binary`.
#[test]
fn swagger2_file_type_is_binary() -> anyhow::Result<()> {
    let files = strict(&gap("file-type"))?;
    let download = file(&files, "download_report.rs");
    assert!(
        download.contains("pub type Response = crate::rt::binary::Binary;"),
        "{download}"
    );
    let upload = file(&files, "upload_report.rs");
    assert!(
        upload.contains("(\"report\", crate::rt::ScalarKind::Binary)"),
        "{upload}"
    );
    Ok(())
}

/// Item 5: JSON is read as JSON: a surrogate-pair escape is one character.
#[test]
fn json_escapes_are_json() -> anyhow::Result<()> {
    let files = strict(&gap("json-escapes"))?;
    let docs = file(&files, "docs/api.md");
    assert!(docs.contains("json-escapes — surrogate pairs"), "{docs}");
    let bundle = file(&files, "openapi.json");
    assert!(bundle.contains("Hello! 👍"), "{bundle}");
    Ok(())
}

/// Seen on OpenAI's spec: a response offered as bytes or as an event stream is bytes, not
/// text (the generated crate answered a `Binary` through the text responder and did not build).
#[test]
fn binary_beside_a_text_media_type_stays_binary() -> anyhow::Result<()> {
    let tmp = tempfile::tempdir()?;
    std::fs::write(
        tmp.path().join("api.yaml"),
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /speech:\n    post:\n      operationId: createSpeech\n      responses:\n        '200':\n          description: ok\n          content:\n            application/octet-stream:\n              schema: {type: string, format: binary}\n            text/event-stream:\n              schema: {type: string}\n",
    )?;
    let files = strict(&tmp.path().join("api.yaml"))?;
    let server = file(&files, "src/server.rs");
    assert!(!server.contains("call!(serve_text"), "{server}");
    let op = file(&files, "create_speech.rs");
    assert!(op.contains("crate::rt::binary::Binary"), "{op}");
    Ok(())
}
