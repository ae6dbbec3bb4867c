//! Runs one of the benchmarked validators (`bind` or `lookup`, the payloads of
//! `benches/validate.rs`) N times: `scripts/validator-instructions.sh` counts its
//! instructions under callgrind, which the load of a shared machine does not move.
//! Hand-written, like the benches.

use std::hint::black_box;

use serde_json::{Value, json};

const BIND: &str =
    r#"{"sid":"1234","client_secret":"monkeys_are_GREAT","mxid":"@ears:matrix.org"}"#;

/// 1000 distinct 43-character URL-safe base64 strings, as in `benches/validate.rs`.
fn lookup_body() -> Value {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u32 = 0x1234_5678;
    let addresses: Vec<String> = (0..1000)
        .map(|_| {
            (0..43)
                .map(|_| {
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "bind".to_owned());
    let iterations: u32 = args.next().map_or(Ok(1000), |n| n.parse())?;
    let bind: Value = serde_json::from_str(BIND)?;
    let lookup = lookup_body();
    let mut valid = 0u32;
    for _ in 0..iterations {
        let ok = if which == "lookup" {
            oxident_api::v2_lookup::lookup_users_v2::validate_body(black_box(&lookup)).is_ok()
        } else {
            oxident_api::v2_associations::bind_v2::validate_body(black_box(&bind)).is_ok()
        };
        valid += u32::from(ok);
    }
    println!("{valid} of {iterations} valid");
    Ok(())
}
