//! `cargo xtask corpus <DIR>`: every API in a corpus of public specs (one folder each, and
//! `gaps/<name>/` fragments) is generated as a standalone crate, built, and its examples
//! checked by the crate's own validators; one line of figures per spec (operations, codegen
//! time, generated lines, build time). Fails if any spec does not generate, build without
//! warnings, or has an example its schema refuses.

use crate::codegen::{self, Options, model};
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The test each corpus crate gets (written by this command, not by codegen): every example
/// in `examples.json` must pass the crate's validator for its operation and status.
const EXAMPLES_TEST: &str = r#"//! Written by `cargo xtask corpus`: the spec's examples against the generated validators.

#[test]
fn examples_validate() {
    let cases: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("../examples.json")).expect("examples.json");
    let mut refused = Vec::new();
    for case in &cases {
        let op = case["operation"].as_str().unwrap_or_default();
        let value = &case["value"];
        let verdict = match case["status"].as_u64() {
            Some(status) => CRATE::validate::response(op, status as u16, value),
            None => CRATE::validate::request(op, value),
        };
        let expected = case["refused_at"].as_str();
        match (verdict, expected) {
            (Ok(Ok(())), None) => {}
            (Ok(Err(errors)), Some(pointer))
                if errors.0.iter().all(|e| e.pointer == pointer) => {}
            (Ok(Ok(())), Some(pointer)) => {
                refused.push(format!("{case}: accepted, expected a refusal at {pointer}"))
            }
            (Ok(Err(errors)), _) => refused.push(format!("{case}: {errors:?}")),
            (Err(lookup), _) => refused.push(format!("{case}: {lookup:?}")),
        }
    }
    assert!(refused.is_empty(), "{} example(s) refused:\n{}", refused.len(), refused.join("\n"));
}
"#;

struct Row {
    name: String,
    operations: usize,
    codegen_ms: u128,
    lines: usize,
    build_s: f64,
    examples: usize,
    problem: Option<String>,
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

/// Examples in the corpus that contradict their own schema upstream: (spec folder, operation,
/// the pointer the validator must refuse, why). They are checked to be refused there, and
/// only there.
const WRONG_UPSTREAM: &[(&str, &str, &str, &str)] = &[(
    "docker-engine-v2",
    "container_create",
    "/Entrypoint",
    "the example gives a string; the schema says `type: array`",
)];

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

/// The examples of a spec: response examples by status, and `example` on request-body and
/// response schemas; for the gap fragments, their run-time cases.
fn examples(name: &str, spec: &model::Spec) -> Vec<Value> {
    let mut out = Vec::new();
    for (gap, operation, status, value, refused_at) in GAP_CASES {
        if *gap != name {
            continue;
        }
        let mut case = json!({"operation": operation, "value": serde_json::from_str::<Value>(value).unwrap_or_default()});
        if let Some(status) = status {
            case["status"] = json!(status);
        }
        if let Some(pointer) = refused_at {
            case["refused_at"] = json!(pointer);
        }
        out.push(case);
    }
    for op in spec.files.iter().flat_map(|f| f.operations.iter()) {
        if let Some(b) = &op.body
            && let Some(ex) = b.schema.get("example")
        {
            let mut case = json!({"operation": op.name, "value": ex});
            if let Some((.., pointer, why)) = WRONG_UPSTREAM
                .iter()
                .find(|(spec, o, ..)| *spec == name && *o == op.name)
            {
                case["refused_at"] = json!(pointer);
                case["why"] = json!(why);
            }
            out.push(case);
        }
        for r in &op.responses {
            let (Some(status), Some(schema)) = (r.numeric_status(), &r.schema) else {
                continue;
            };
            let listed = r.examples.iter().chain(schema.get("example"));
            for ex in listed {
                out.push(json!({"operation": op.name, "status": status, "value": ex}));
            }
        }
    }
    out
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
    let spec = model::load_spec(spec_dir)?;
    let operations = spec.files.iter().map(|f| f.operations.len()).sum();
    let lines = lines_under(&out.join("src"));
    let cases = examples(name, &spec);
    std::fs::write(
        out.join("examples.json"),
        serde_json::to_string_pretty(&cases)?,
    )?;
    std::fs::create_dir_all(out.join("tests"))?;
    let lib = codegen::package_name(&crate_name).replace('-', "_");
    std::fs::write(
        out.join("tests/examples.rs"),
        EXAMPLES_TEST.replace("CRATE", &lib),
    )?;
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
    let problem = if !output.status.success() {
        Some(format!("cargo test failed:\n{stderr}\n{stdout}"))
    } else if !warnings.is_empty() {
        Some(format!("warnings:\n{}", warnings.join("\n")))
    } else {
        None
    };
    Ok(Row {
        name: name.to_string(),
        operations,
        codegen_ms,
        lines,
        build_s,
        examples: cases.len(),
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
            problem: Some(format!("{e:#}")),
        });
        println!(
            "{:<28} {:>4} ops {:>6} ms codegen {:>7} lines {:>6.1} s build+test {:>3} examples {}",
            row.name,
            row.operations,
            row.codegen_ms,
            row.lines,
            row.build_s,
            row.examples,
            if row.problem.is_some() {
                "FAILED"
            } else {
                "ok"
            }
        );
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
