//! Any bytes through the document parser (as YAML and as JSON): an error or a value, never a
//! panic, whatever the nesting, aliases or escapes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::codegen::fuzz::parse_bytes(data));
