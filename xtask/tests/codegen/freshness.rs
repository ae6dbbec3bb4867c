//! `generated/` and `docs/api.md` must be what `spec/` produces (as rust-analyzer's sourcegen
//! tests do), and check mode must name what is stale and why.

use super::{copy_tree, fixture};
use std::path::Path;
use xtask::codegen::{self, Options, Staleness};

#[test]
fn generated_crate_is_fresh() {
    let root = xtask::workspace_root();
    let stale = codegen::run(&Options::workspace(&root, true)).expect("codegen runs");
    let list: Vec<String> = stale
        .iter()
        .map(|(p, why)| format!("  {why} {}", p.strip_prefix(&root).unwrap_or(p).display()))
        .collect();
    assert!(
        list.is_empty(),
        "generated files are stale; run `cargo xtask codegen`:\n{}",
        list.join("\n")
    );
}

#[test]
fn check_mode_names_stale_files() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let spec = tmp.path().join("spec");
    copy_tree(&fixture("swagger2"), &spec);
    let out = tmp.path().join("out");
    let write = Options::standalone(&spec, &out, "fixture-api", false);
    assert!(codegen::run(&write).expect("writes").is_empty());
    let check = Options::standalone(&spec, &out, "fixture-api", true);
    assert!(
        codegen::run(&check).expect("checks").is_empty(),
        "fresh after writing"
    );

    // One file edited, one deleted, one the spec no longer produces.
    let edited = out.join("src/types.rs");
    let text = std::fs::read_to_string(&edited).expect("read");
    std::fs::write(&edited, text.replace("pub mappings", "pub mapping")).expect("write");
    let deleted = out.join("src/accounts/logout.rs");
    std::fs::remove_file(&deleted).expect("remove");
    let obsolete = out.join("src/accounts/old_operation.rs");
    std::fs::write(&obsolete, format!("{}\n", codegen::emit_crate::HEADER)).expect("write");
    // A hand-written file (no marker) in src/ is not codegen's business.
    std::fs::write(out.join("src/notes.rs"), "// mine\n").expect("write");

    let stale = codegen::run(&check).expect("checks");
    let rel = |p: &Path| p.strip_prefix(&out).unwrap_or(p).display().to_string();
    let mut got: Vec<(String, Staleness)> = stale.iter().map(|(p, w)| (rel(p), *w)).collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        got,
        [
            ("src/accounts/logout.rs".to_string(), Staleness::Missing),
            (
                "src/accounts/old_operation.rs".to_string(),
                Staleness::Obsolete
            ),
            ("src/types.rs".to_string(), Staleness::Differs),
        ]
    );
    // Writing again repairs everything and removes the obsolete file.
    codegen::run(&write).expect("writes");
    assert!(codegen::run(&check).expect("checks").is_empty());
    assert!(!obsolete.exists());
}
