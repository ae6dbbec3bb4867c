//! Standalone crates: generated from each fixture tree into a temp dir and built with cargo
//! (sharing the workspace's target dir, so dependencies are compiled once), plus the pieces
//! that make them self-sufficient: the manifest, with the runtime crate as a dependency.

use super::fixture;
use std::path::{Path, PathBuf};
use std::process::Command;
use xtask::codegen::{self, Options, standalone_manifest};

#[test]
fn manifest_carries_every_dependency_of_the_generated_crate() {
    let manifest = standalone_manifest("some-api");
    assert!(manifest.contains("name = \"some-api\"") && manifest.contains("\n[workspace]\n"));
    assert!(!manifest.contains("workspace = true"), "{manifest}");
    let rt = xtask::workspace_root().join("rt");
    assert!(
        manifest.contains(&format!(
            "oxident-rt = {{ version = \"0.1\", path = {:?} }}",
            rt.display().to_string()
        )),
        "{manifest}"
    );
    let ours = std::fs::read_to_string(xtask::workspace_root().join("generated/Cargo.toml"))
        .expect("generated/Cargo.toml");
    let deps = ours
        .split("\n[dependencies]\n")
        .nth(1)
        .and_then(|rest| rest.split("\n[").next())
        .expect("a [dependencies] section");
    for line in deps
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let name = line.split(['=', '.']).next().expect("name").trim();
        assert!(
            manifest.contains(&format!("\n{name} = ")),
            "standalone manifest lacks `{name}`:\n{manifest}"
        );
    }
    assert_eq!(
        codegen::package_name("upstream-r0.3.0-api"),
        "upstream-r0-3-0-api"
    );
    assert_eq!(codegen::package_name("3pid"), "api-3pid");
}

/// The target dir shared with the workspace (or CI's `CARGO_TARGET_DIR`).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| xtask::workspace_root().join("target"))
}

fn cargo(dir: &Path, args: &[&str]) {
    let manifest = dir.join("Cargo.toml");
    let started = std::time::Instant::now();
    let (cargo_args, tool_args) = match args.iter().position(|a| *a == "--") {
        Some(i) => args.split_at(i),
        None => (args, &[][..]),
    };
    let output = Command::new(env!("CARGO"))
        .current_dir(dir)
        .args(cargo_args)
        .arg("--manifest-path")
        .arg(&manifest)
        .args(tool_args)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("cargo runs");
    eprintln!(
        "cargo {} {}: {:.1?}",
        args.join(" "),
        dir.display(),
        started.elapsed()
    );
    assert!(
        output.status.success(),
        "cargo {args:?} failed for {}:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Generates the crate (codegen seeds it with the workspace's lock file: same dependency
/// versions, so the shared target dir already holds them), builds it and lints it with
/// `-D warnings`.
fn build_standalone(fixture_name: &str) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join(format!("fixture-{fixture_name}-api"));
    let opts = Options::standalone(
        &fixture(fixture_name),
        &out,
        &format!("fixture-{fixture_name}-api"),
        false,
    );
    codegen::run(&opts).expect("codegen writes the crate");
    assert!(
        out.join("Cargo.lock").is_file(),
        "codegen seeds the lock file"
    );
    cargo(&out, &["build", "--quiet"]);
    // The library (generated code and runtime); the runtime's own unit tests are linted in
    // the workspace.
    cargo(&out, &["clippy", "--quiet", "--", "-D", "warnings"]);
}

#[test]
fn swagger2_fixture_builds_as_a_standalone_crate() {
    build_standalone("swagger2");
}

#[test]
fn openapi31_fixture_builds_as_a_standalone_crate() {
    build_standalone("openapi31");
}
