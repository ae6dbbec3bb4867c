//! The fuzz targets' bodies (`xtask/fuzz/`, cargo-fuzz), here so the regression test runs the
//! same code on stable over every input a fuzzer ever saved (`xtask/fuzz/regressions/`).
//!
//! Two targets: `yaml_loader` (any bytes through the YAML parser) and `spec_model` (any document,
//! taken as a spec, through the loader, the model, the degrade step and every emitter).
//! `scripts/fuzz.sh TARGET SECONDS` runs one on nightly, seeded with the corpus specs.

use super::{Options, generate_from, load::Loader, model, yaml};
use std::path::{Path, PathBuf};

/// Any bytes through the document parser, as YAML and as JSON.
pub fn parse_bytes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = yaml::parse_document(&text, false);
    let _ = yaml::parse_document(&text, true);
}

/// Any bytes as an API spec, from memory: loader (`$ref`s, cycles, pointers, a second file
/// for cross-file references), model builder, degrade step and every emitter.
pub fn generate_bytes(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(doc) = yaml::parse_document(&text, false) else {
        return;
    };
    let root = Path::new("/nonexistent-fuzz");
    let entry = root.join("api.yaml");
    let mut loader = Loader::new();
    loader.insert_document(&root.join("other.yaml"), doc.clone());
    loader.insert_document(&entry, doc);
    let Ok(spec) = model::load_spec_with(&mut loader, vec![entry], false, root) else {
        return;
    };
    let out = PathBuf::from("/nonexistent-fuzz-out");
    let opts = Options::standalone(root, &out, "fuzz", false);
    let _ = generate_from(&opts, spec);
}
