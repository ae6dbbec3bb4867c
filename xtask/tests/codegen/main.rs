//! Tests of `cargo xtask codegen`: fixture specs of our own → model and generated Rust
//! (snapshots), standalone crates that must build, freshness of `generated/`, and the effect of
//! editing the spec. One test binary; `UPDATE_EXPECT=1 cargo test -p xtask` refreshes snapshots.

mod fixtures;
mod freshness;
mod fuzz_regressions;
mod gaps;
mod loader;
mod spec_edit;
mod standalone;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use xtask::codegen::{self, Options};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// Everything codegen produces for a spec tree as a standalone crate, keyed by the path
/// relative to the crate root (`src/lookup/lookup.rs`), without writing anything.
pub fn generate_standalone(spec_dir: &Path, crate_name: &str) -> BTreeMap<String, String> {
    let out = Path::new("/nonexistent/out");
    let opts = Options::standalone(spec_dir, out, crate_name, false);
    let files = codegen::generate(&opts).expect("codegen succeeds");
    relative(files, out)
}

pub fn relative(files: BTreeMap<PathBuf, String>, root: &Path) -> BTreeMap<String, String> {
    files
        .into_iter()
        .map(|(p, text)| {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            (rel.to_string_lossy().replace('\\', "/"), text)
        })
        .collect()
}

/// A generated file without its two header lines (`// @generated …`, `// Source: …`), so
/// snapshots carry no `@generated` marker of their own.
pub fn body(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    assert!(
        first.starts_with(codegen::emit_crate::HEADER),
        "missing header: {first}"
    );
    let second = lines.next().unwrap_or_default();
    assert!(
        second.starts_with("// Source: "),
        "missing source line: {second}"
    );
    let mut out = lines.collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

/// Copies a directory tree.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}
