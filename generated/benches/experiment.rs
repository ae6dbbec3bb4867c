use criterion::{Criterion, criterion_group, criterion_main};
use oxident_api::rt::validate as rt;
use serde_json::Value;
use std::hint::black_box;

const BIND: &str =
    r#"{"sid":"1234","client_secret":"monkeys_are_GREAT","mxid":"@ears:matrix.org"}"#;

#[inline(never)]
fn v_lazy(v: &Value) -> Result<(), rt::Errors> {
    let mut s = rt::Collect::new();
    node_lazy(v, &rt::Path::Root, &mut s);
    s.finish()
}
fn node_lazy<S: rt::Sink>(v: &Value, p: &rt::Path<'_>, s: &mut S) -> bool {
    let mut ok = true;
    if let Value::Object(object) = v {
        let mut seen: u64 = 0;
        for (key1, v1) in object {
            match key1.as_str() {
                "client_secret" => {
                    seen |= 2;
                    if !v1.is_string() {
                        ok = false;
                        s.fail(&rt::Path::Key(p, key1), rt::ErrorKind::Type, || {
                            rt::type_error("string", v1)
                        });
                        if S::STOP {
                            return false;
                        }
                    }
                }
                "mxid" => {
                    seen |= 4;
                    if !v1.is_string() {
                        ok = false;
                        s.fail(&rt::Path::Key(p, key1), rt::ErrorKind::Type, || {
                            rt::type_error("string", v1)
                        });
                        if S::STOP {
                            return false;
                        }
                    }
                }
                "sid" => {
                    seen |= 1;
                    if !v1.is_string() {
                        ok = false;
                        s.fail(&rt::Path::Key(p, key1), rt::ErrorKind::Type, || {
                            rt::type_error("string", v1)
                        });
                        if S::STOP {
                            return false;
                        }
                    }
                }
                _ => {}
            }
        }
        if seen != 7 {
            ok = false;
            s.fail(p, rt::ErrorKind::Required, || String::from("x"));
        }
    } else {
        ok = false;
        s.fail(p, rt::ErrorKind::Type, || rt::type_error("object", v));
    }
    ok
}

#[inline(never)]
fn v_get(v: &Value) -> Result<(), rt::Errors> {
    let mut s = rt::Collect::new();
    node_get(v, &rt::Path::Root, &mut s);
    s.finish()
}
fn node_get<S: rt::Sink>(v: &Value, p: &rt::Path<'_>, s: &mut S) -> bool {
    let mut ok = true;
    if let Value::Object(object) = v {
        for name in ["sid", "client_secret", "mxid"] {
            match object.get(name) {
                Some(v1) => {
                    if !v1.is_string() {
                        ok = false;
                        s.fail(&rt::Path::Key(p, name), rt::ErrorKind::Type, || {
                            rt::type_error("string", v1)
                        });
                    }
                }
                None => {
                    ok = false;
                    s.fail(&rt::Path::Key(p, name), rt::ErrorKind::Required, || {
                        String::from("x")
                    });
                }
            }
        }
    } else {
        ok = false;
        s.fail(p, rt::ErrorKind::Type, || rt::type_error("object", v));
    }
    ok
}

/// Fast path first: a Check-only pass with early exit; only on failure the collecting pass.
#[inline(never)]
fn v_twopass(v: &Value) -> Result<(), rt::Errors> {
    if node_lazy(v, &rt::Path::Root, &mut rt::Check) {
        return Ok(());
    }
    let mut s = rt::Collect::new();
    node_lazy(v, &rt::Path::Root, &mut s);
    s.finish()
}

/// Iterate keys with a length/first-byte dispatch and values with the string tag only.
#[inline(never)]
fn v_values(v: &Value) -> Result<(), rt::Errors> {
    let mut s = rt::Collect::new();
    if let Value::Object(object) = v {
        let mut seen: u64 = 0;
        let mut bad: u64 = 0;
        for (key1, v1) in object {
            let b = match key1.as_str() {
                "client_secret" => 2,
                "mxid" => 4,
                "sid" => 1,
                _ => 0,
            };
            seen |= b;
            if !v1.is_string() {
                bad |= b;
            }
        }
        if seen != 7 || bad != 0 {
            return node_lazy_collect(v);
        }
    } else {
        return node_lazy_collect(v);
    }
    s.finish()
}
#[cold]
fn node_lazy_collect(v: &Value) -> Result<(), rt::Errors> {
    let mut s = rt::Collect::new();
    node_lazy(v, &rt::Path::Root, &mut s);
    s.finish()
}

fn bench(c: &mut Criterion) {
    let bind: Value = serde_json::from_str(BIND).expect("bind body parses");
    c.bench_function("generated", |b| {
        b.iter(|| oxident_api::v2_associations::bind_v2::validate_body(black_box(&bind)).is_ok())
    });
    c.bench_function("lazy_path", |b| b.iter(|| v_lazy(black_box(&bind)).is_ok()));
    c.bench_function("get", |b| b.iter(|| v_get(black_box(&bind)).is_ok()));
    c.bench_function("twopass", |b| {
        b.iter(|| v_twopass(black_box(&bind)).is_ok())
    });
    c.bench_function("values", |b| b.iter(|| v_values(black_box(&bind)).is_ok()));
    c.bench_function("generated2", |b| {
        b.iter(|| oxident_api::v2_associations::bind_v2::validate_body(black_box(&bind)).is_ok())
    });
}
criterion_group! { name = benches; config = Criterion::default().warm_up_time(std::time::Duration::from_secs(1)).measurement_time(std::time::Duration::from_secs(2)); targets = bench }
criterion_main!(benches);
