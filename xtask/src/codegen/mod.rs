//! `cargo xtask codegen`: spec/ → generated/ (types, trait + router, validators, bundled
//! OpenAPI document, API reference). Deterministic output; `--check` compares instead of
//! writing, as rust-analyzer's sourcegen does.
//!
//! `generate` loads the model, then `generate_from` runs the degrade step and the Rust emission on
//! this thread, while the bundled document and the reference, which only read the model, are
//! written on a second one (a fifth of the time on large specs). The emitters borrow the model's
//! schemas rather than copying them: on a large spec the schemas are most of the memory
//! (docs/benchmarks.md, generator v3).
//!
//! Snapshot tests (`xtask/tests/snapshots/`, `expect-test`) pin the emitted code for two fixture
//! specs; after a generator change `UPDATE_EXPECT=1 cargo test -p xtask` rewrites them from the
//! generator's output (never by hand), and the diff is reviewed with the change.

pub mod degrade;
pub mod emit_crate;
pub mod emit_docs;
pub mod emit_types;
pub mod emit_validators;
pub mod fuzz;
pub mod load;
pub mod model;
pub mod yaml;

use anyhow::{Context, Result, bail};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to generate and where.
pub struct Options {
    pub spec_dir: PathBuf,
    pub out_dir: PathBuf,
    pub crate_name: String,
    /// Where the Markdown reference goes (our crate: `docs/api.md` at the workspace root).
    pub docs_path: PathBuf,
    /// A standalone crate (`--out`): also writes Cargo.toml (depending on `oxident-rt`).
    pub standalone: bool,
    pub check: bool,
    /// Warnings (a construct left unchecked) are errors.
    pub strict: bool,
}

impl Options {
    /// Our own crate: `spec/` → `generated/` (crate `oxident-api`) and `docs/api.md`.
    pub fn workspace(root: &Path, check: bool) -> Self {
        Self {
            spec_dir: root.join("spec"),
            out_dir: root.join("generated"),
            crate_name: "oxident-api".into(),
            docs_path: root.join("docs").join("api.md"),
            standalone: false,
            check,
            strict: false,
        }
    }

    /// Any Swagger 2.0 / OpenAPI 3.x tree → a standalone crate in `out_dir` (its own
    /// `[workspace]`, the runtime crate as a dependency, the reference in `docs/api.md`).
    pub fn standalone(spec_dir: &Path, out_dir: &Path, crate_name: &str, check: bool) -> Self {
        Self {
            spec_dir: spec_dir.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            crate_name: package_name(crate_name),
            docs_path: out_dir.join("docs").join("api.md"),
            standalone: true,
            check,
            strict: false,
        }
    }
}

/// Our generated crate's manifest and the workspace's: the standalone manifest takes its
/// features, dependencies and lints from them, so it cannot fall behind what `rt/` needs.
pub(crate) const GENERATED_MANIFEST: &str = include_str!("../../../generated/Cargo.toml");
const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");

/// A valid Cargo package name from what the user asked for (`upstream-r0.3.0-api` →
/// `upstream-r0-3-0-api`): ASCII letters, digits, `-` and `_`, starting with a letter.
pub fn package_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out
    } else {
        format!("api-{out}").trim_end_matches('-').to_string()
    }
}

/// Every file the spec produces, by absolute path.
pub fn generate(opts: &Options) -> Result<BTreeMap<PathBuf, String>> {
    let spec = model::load_spec(&opts.spec_dir)?;
    generate_from(opts, spec)
}

/// Every file a built model produces (the fuzz targets hand in models read from memory).
pub fn generate_from(opts: &Options, mut spec: model::Spec) -> Result<BTreeMap<PathBuf, String>> {
    let warnings = degrade::degrade(&mut spec);
    if opts.strict && !warnings.is_empty() {
        let list: Vec<String> = warnings.iter().map(ToString::to_string).collect();
        bail!(
            "{} construct(s) the generator cannot check (--strict):\n{}",
            list.len(),
            list.join("\n")
        );
    }
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let mut files = BTreeMap::new();
    let title = format!("{} — generated API", opts.crate_name);
    let spec = &spec;
    // The bundled document and the reference read the model only: on a second core, beside
    // the Rust emission (a fifth of the time on large specs).
    let (docs, rust) = std::thread::scope(|scope| {
        let docs = scope.spawn(|| {
            (
                emit_docs::bundle(spec, &title),
                emit_docs::api_markdown(spec, &title),
            )
        });
        let rust = emit_rust(opts, spec, &mut files);
        (docs.join(), rust)
    });
    rust?;
    let (bundle, markdown) =
        docs.map_err(|_| anyhow::anyhow!("emitting the bundled document failed"))?;
    files.insert(opts.out_dir.join("openapi.json"), bundle);
    files.insert(opts.docs_path.clone(), markdown);
    if opts.standalone {
        files.insert(
            opts.out_dir.join("Cargo.toml"),
            standalone_manifest(&package_name(&opts.crate_name)),
        );
    }
    Ok(files)
}

/// The Rust sources: one module per spec file and operation, types, shared validators, the
/// registry and the dispatcher.
fn emit_rust(
    opts: &Options,
    spec: &model::Spec,
    files: &mut BTreeMap<PathBuf, String>,
) -> Result<()> {
    let src = opts.out_dir.join("src");
    let shared = emit_crate::SharedValidators::collect(spec);
    // Borrowed where the model holds them (only the parameters' object is built here).
    let params: Vec<serde_json::Value> = spec
        .files
        .iter()
        .flat_map(|f| f.operations.iter())
        .filter_map(|op| op.params_schema())
        .collect();
    let roots = params.iter().chain(
        spec.files
            .iter()
            .flat_map(|f| {
                f.operations.iter().flat_map(|op| {
                    op.body
                        .iter()
                        .map(|b| &b.schema)
                        .chain(op.responses.iter().filter_map(|r| r.schema.as_ref()))
                })
            })
            .chain(
                spec.files
                    .iter()
                    .flat_map(|f| f.events.iter().map(|e| &e.schema)),
            ),
    );
    let mut types = emit_types::TypeGen::for_crate(roots);
    // Webhook and callback bodies: types (`{Name}Payload`), not routes.
    for event in spec.files.iter().flat_map(|f| f.events.iter()) {
        types.root(&event.schema, "Payload", &event.name);
        types.take_used();
    }
    for f in &spec.files {
        files.insert(
            src.join(&f.module).join("mod.rs"),
            emit_crate::file_module(f)?,
        );
        for op in &f.operations {
            files.insert(
                src.join(&f.module).join(format!("{}.rs", op.name)),
                emit_crate::operation_module(f, op, &shared, &mut types)?,
            );
        }
    }
    let spec_name = opts
        .spec_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("spec");
    let source = format!("{spec_name}/");
    let crate_doc = format!(
        "Request/response types, validators and an axum router for the API in `{spec_name}`, generated by\n`cargo xtask codegen`. Each spec file is a module; each operation a module inside it."
    );
    let has_types = !types.is_empty();
    files.insert(
        src.join("lib.rs"),
        emit_crate::lib_rs(
            spec,
            &crate_doc,
            true,
            !shared.is_empty(),
            has_types,
            &source,
        )?,
    );
    if has_types {
        files.insert(
            src.join("types.rs"),
            emit_crate::types_module(types, &source)?,
        );
    }
    if !shared.is_empty() {
        files.insert(src.join("shared.rs"), shared.module(&source)?);
    }
    let lib_name = package_name(&opts.crate_name).replace('-', "_");
    files.insert(
        src.join("validate.rs"),
        emit_crate::validate_rs(spec, &lib_name, &source)?,
    );
    let trait_name = emit_crate::trait_name_for(&opts.crate_name);
    files.insert(
        src.join("server.rs"),
        emit_crate::server_rs(spec, &trait_name, &source)?,
    );
    Ok(())
}

/// The sections `[name]` of a manifest, verbatim (without their header lines).
pub(crate) fn manifest_section<'a>(manifest: &'a str, name: &str) -> Vec<&'a str> {
    let header = format!("[{name}]");
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            inside = t == header;
            continue;
        }
        if inside && !t.is_empty() && !t.starts_with('#') {
            out.push(line);
        }
    }
    out
}

/// The standalone crate's Cargo.toml: its own `[workspace]`, and the features, dependencies
/// and lints of `generated/Cargo.toml` with workspace inheritance spelled out.
pub fn standalone_manifest(name: &str) -> String {
    let workspace_deps = manifest_section(WORKSPACE_MANIFEST, "workspace.dependencies");
    let inherited = |key: &str| -> Option<String> {
        let dep = key.split('.').next()?.trim();
        workspace_deps.iter().find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == dep).then(|| format!("{dep} = {}", v.trim()))
        })
    };
    let package = manifest_section(WORKSPACE_MANIFEST, "workspace.package");
    let field = |key: &str, default: &str| {
        package
            .iter()
            .find_map(|l| {
                let (k, v) = l.split_once('=')?;
                (k.trim() == key).then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| default.to_string())
    };
    let mut out = format!(
        "# @generated by cargo xtask codegen — do not edit.\n[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = {}\nrust-version = {}\n\n[workspace]\n\n[features]\ndefault = [\"server\", \"router\"]\n",
        field("edition", "\"2024\""),
        field("rust-version", "\"1.85\""),
    );
    for line in manifest_section(GENERATED_MANIFEST, "features") {
        if !line.trim_start().starts_with("default") {
            out.push_str(line.trim());
            out.push('\n');
        }
    }
    out.push_str("\n[dependencies]\n");
    for line in manifest_section(GENERATED_MANIFEST, "dependencies") {
        let key = line.split('=').next().unwrap_or_default().trim();
        if key == "oxident-rt" {
            // The runtime from this workspace, at the version our crate uses.
            let rt = crate::workspace_root().join("rt");
            out.push_str(&format!(
                "oxident-rt = {{ version = \"0.1\", path = {:?} }}\n",
                rt.display().to_string()
            ));
            continue;
        }
        match key.strip_suffix(".workspace").and_then(inherited) {
            Some(spelled) => out.push_str(&spelled),
            None => out.push_str(line.trim()),
        }
        out.push('\n');
    }
    for (section, lints) in [
        ("workspace.lints.rust", "lints.rust"),
        ("workspace.lints.clippy", "lints.clippy"),
    ] {
        let lines = manifest_section(WORKSPACE_MANIFEST, section);
        if !lines.is_empty() {
            out.push_str(&format!("\n[{lints}]\n"));
            for l in lines {
                out.push_str(l.trim());
                out.push('\n');
            }
        }
    }
    out
}

/// Why a file is stale in check mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// The spec produces it but it does not exist.
    Missing,
    /// It exists with other contents.
    Differs,
    /// A generated file the spec no longer produces.
    Obsolete,
}

impl std::fmt::Display for Staleness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(match self {
            Staleness::Missing => "missing",
            Staleness::Differs => "differs",
            Staleness::Obsolete => "obsolete",
        })
    }
}

/// Writes (or, with `check`, compares) the files; returns the stale paths in check mode.
pub fn run(opts: &Options) -> Result<Vec<(PathBuf, Staleness)>> {
    let files = generate(opts)?;
    let mut stale = Vec::new();
    for (path, contents) in &files {
        let current = std::fs::read_to_string(path).ok();
        if current.as_deref() == Some(contents.as_str()) {
            continue;
        }
        if opts.check {
            let why = if current.is_some() {
                Staleness::Differs
            } else {
                Staleness::Missing
            };
            stale.push((path.clone(), why));
            continue;
        }
        if let Some(existing) = &current
            && !existing.contains("@generated")
            && !opts.standalone
        {
            bail!(
                "refusing to overwrite {} — it has no @generated marker (hand-written?)",
                path.display()
            );
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    }
    // A new standalone crate starts from our lock file: the dependency versions the runtime
    // is built and tested with, already compiled in a shared CARGO_TARGET_DIR. Cargo drops
    // the entries it does not need on the first build.
    let lock = opts.out_dir.join("Cargo.lock");
    let ours = crate::workspace_root().join("Cargo.lock");
    if opts.standalone && !opts.check && !lock.exists() && ours.is_file() {
        std::fs::copy(&ours, &lock).with_context(|| format!("seeding {}", lock.display()))?;
    }
    // Generated files the spec no longer produces (an operation or file was removed).
    for old in generated_files_under(&opts.out_dir.join("src"))? {
        if !files.contains_key(&old) {
            if opts.check {
                stale.push((old, Staleness::Obsolete));
            } else {
                std::fs::remove_file(&old)?;
            }
        }
    }
    Ok(stale)
}

fn generated_files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            out.extend(generated_files_under(&path)?);
        } else if path.extension().is_some_and(|e| e == "rs")
            && std::fs::read_to_string(&path).is_ok_and(|s| s.starts_with(emit_crate::HEADER))
        {
            out.push(path);
        }
    }
    Ok(out)
}
