//! Every input a fuzzer saved (`xtask/fuzz/regressions/`: crashes found and fixed, and
//! hand-made hostile documents) through both fuzz targets' code, on stable: none panics.

use std::path::Path;
use xtask::codegen::fuzz;

#[test]
fn saved_fuzz_inputs_do_not_panic() -> std::io::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir)? {
        let data = std::fs::read(entry?.path())?;
        fuzz::parse_bytes(&data);
        fuzz::generate_bytes(&data);
        seen += 1;
    }
    assert!(seen > 0, "no saved inputs in {}", dir.display());
    Ok(())
}
