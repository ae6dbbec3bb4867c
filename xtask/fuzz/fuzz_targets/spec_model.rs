//! Any document as an API spec: loader, model builder, degrade step and every emitter. An
//! error is fine; a panic is a bug. scripts/fuzz.sh seeds it with the corpus specs.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| xtask::codegen::fuzz::generate_bytes(data));
