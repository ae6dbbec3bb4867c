//! The project's automation as a library, so the generator can be tested from `tests/`:
//! `codegen` (spec/ → generated/, or any Swagger 2.0 / OpenAPI 3.x tree → a standalone crate)
//! `spec_diff` (a structural comparison of spec/ with an upstream tree) and `corpus` (every
//! spec of a corpus generated, built and its examples checked).

pub mod codegen;
pub mod corpus;
pub mod spec_diff;

use std::path::{Path, PathBuf};

/// The workspace root (the parent of the `xtask` package).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
