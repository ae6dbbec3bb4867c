//! The `oxident validate` command, run as the real binary.

use std::io::Write;
use std::process::{Command, Stdio};

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_oxident"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oxident");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn valid_payload_exits_zero() {
    let (code, out, _) = run(
        &["validate", "bindV2", "request", "-"],
        r#"{"sid": "1", "client_secret": "s", "mxid": "@a:b"}"#,
    );
    assert_eq!((code, out.trim()), (0, "valid"));
}

#[test]
fn every_violation_is_printed_with_its_pointer() {
    let (code, out, _) = run(
        &["validate", "unbindV2", "request"],
        r#"{"mxid": 5, "threepid": {"medium": "email"}}"#,
    );
    assert_eq!(code, 1);
    assert!(out.contains("/mxid: "), "{out}");
    assert!(out.contains("/threepid/address: "), "{out}");
}

#[test]
fn responses_by_status() {
    let (code, _, _) = run(
        &["validate", "lookupUsersV2", "response:200"],
        r#"{"mappings": {"h": "@a:b"}}"#,
    );
    assert_eq!(code, 0);
    let (code, out, _) = run(
        &["validate", "lookupUsersV2", "response:400"],
        r#"{"error": "x"}"#,
    );
    assert_eq!(code, 1);
    assert!(out.contains("/errcode"), "{out}");
}

#[test]
fn usage_errors_exit_two_with_suggestions() {
    let (code, _, err) = run(&["validate", "bindv3", "request"], "{}");
    assert_eq!(code, 2);
    assert!(
        err.contains("did you mean") && err.contains("bindV2"),
        "{err}"
    );
    let (code, _, err) = run(&["validate", "bindV2", "sideways"], "{}");
    assert_eq!(code, 2);
    assert!(err.contains("request"), "{err}");
    let (code, _, err) = run(&["validate", "bindV2", "request"], "{oops");
    assert_eq!(code, 2);
    assert!(err.contains("not JSON"), "{err}");
    let (code, _, err) = run(
        &["validate", "bindV2", "request", "/nonexistent/file.json"],
        "",
    );
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
    let (code, _, _) = run(&["validate", "pingV2", "request"], "{}");
    assert_eq!(code, 2, "an operation without a body");
}
