//! Request validation speed: the emitted validators on an already-parsed body; for
//! reference, the jsonschema crate (a schema interpreter) on the same schemas, and
//! `serde_json` parsing of the bind body.
//!
//! Run with `scripts/bench-validate.sh` (which also runs ajv on the same payloads and
//! prints a comparison) or `cargo bench -p oxident-api --bench validate`.
//! The payloads must stay identical to those of `benches/ajv/bench.mjs`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

const BIND: &str =
    r#"{"sid":"1234","client_secret":"monkeys_are_GREAT","mxid":"@ears:matrix.org"}"#;

/// 1000 distinct 43-character URL-safe base64 strings (the length of an unpadded
/// SHA-256 digest); same generator as `ajv/bench.mjs`.
fn lookup_body() -> Value {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u32 = 0x1234_5678;
    let addresses: Vec<String> = (0..1000)
        .map(|_| {
            (0..43)
                .map(|_| {
                    // xorshift32
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    ALPHABET[(x & 63) as usize] as char
                })
                .collect()
        })
        .collect();
    json!({"addresses": addresses, "algorithm": "sha256", "pepper": "matrixrocks"})
}

/// The request-body schema of `path` in the bundled spec (as ajv gets it in bench.mjs).
fn body_schema(path: &str) -> Value {
    let spec: Value =
        serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json parses");
    spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"].clone()
}

/// For reference: the jsonschema crate, a schema interpreter, on the same schemas.
fn interpreter(path: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&body_schema(path))
        .expect("schema compiles")
}

fn bench(c: &mut Criterion) {
    let bind: Value = serde_json::from_str(BIND).expect("bind body parses");
    assert!(oxident_api::v2_associations::bind_v2::validate_body(&bind).is_ok());
    let lookup = lookup_body();
    assert!(oxident_api::v2_lookup::lookup_users_v2::validate_body(&lookup).is_ok());

    // Each iteration returns `is_ok()`, as a caller branching on the result would (and as
    // ajv's validators return a boolean). Handing the whole 24-byte `Result` to `black_box`
    // instead costs the loop a store-forwarding stall (a 16-byte reload of two 8-byte
    // stores) of about 3 ns per iteration, which is harness overhead, not validation.
    c.bench_function("validate/bind_v2", |b| {
        b.iter(|| oxident_api::v2_associations::bind_v2::validate_body(black_box(&bind)).is_ok())
    });
    c.bench_function("validate/lookup_v2_1000", |b| {
        b.iter(|| {
            oxident_api::v2_lookup::lookup_users_v2::validate_body(black_box(&lookup)).is_ok()
        })
    });
    let bind_schema = interpreter("/_matrix/identity/v2/3pid/bind");
    let lookup_schema = interpreter("/_matrix/identity/v2/lookup");
    assert!(bind_schema.is_valid(&bind) && lookup_schema.is_valid(&lookup));
    c.bench_function("jsonschema/bind_v2", |b| {
        b.iter(|| bind_schema.is_valid(black_box(&bind)))
    });
    c.bench_function("jsonschema/lookup_v2_1000", |b| {
        b.iter(|| lookup_schema.is_valid(black_box(&lookup)))
    });
    c.bench_function("parse/bind_v2", |b| {
        b.iter(|| serde_json::from_str::<Value>(black_box(BIND)).expect("parses"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
