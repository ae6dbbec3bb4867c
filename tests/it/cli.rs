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
    // A usage error exits before reading its input: a closed pipe is then expected.
    if let Err(e) = child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
    {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
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

#[test]
fn generate_key_writes_a_loadable_key_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("k.key");
    let p = path.to_str().expect("utf-8 path");
    let (code, out, err) = run(&["generate-key", "--path", p], "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ed25519:0"), "{out}");
    let keys = oxident::crypto::keyfile::load_key_file(&path).expect("loads");
    assert_eq!(keys.len(), 1);
    let (code, _, err) = run(&["generate-key", "--path", p], "");
    assert_eq!(code, 1, "refuses to overwrite: {err}");
    let (code, _, _) = run(&["generate-key", "--path", p, "--force"], "");
    assert_eq!(code, 0);
    let again = oxident::crypto::keyfile::load_key_file(&path).expect("loads");
    assert_ne!(
        again[0].public_key().to_base64(),
        keys[0].public_key().to_base64()
    );
}

#[test]
fn import_key_takes_the_reference_servers_format() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("imported.key");
    // sydent.conf style: `ed25519.signingkey = ed25519 0 <unpadded base64 seed>`.
    let conf =
        "[crypto]\ned25519.signingkey = ed25519 0 YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1\n";
    let (code, out, err) = run(
        &["import-key", "-", "--path", path.to_str().expect("utf-8")],
        conf,
    );
    assert_eq!(code, 0, "{err}");
    let keys = oxident::crypto::keyfile::load_key_file(&path).expect("loads");
    let expected = oxident::crypto::SigningKey::from_base64_seed(
        "0",
        "YJDBA9Xnr2sVqXD9Vj7XVUnmFZcZrlw8Md7kMW+3XA1",
    )
    .expect("seed");
    assert_eq!(
        keys[0].public_key().to_base64(),
        expected.public_key().to_base64()
    );
    assert!(out.contains(&expected.public_key().to_base64()));
    let (code, _, _) = run(&["import-key", "-", "--path", "/dev/null/x"], "not a key");
    assert_eq!(code, 1);
}

#[test]
fn check_config_reports_every_problem() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "[server]\nbind = \"nope\"\npublic_base_url = \"ftp://x\"\n[sessions]\nmax_submit_attempts = 0\n",
    )
    .expect("write");
    let (code, _, err) = run(
        &["--config", path.to_str().expect("utf-8"), "check-config"],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("3 problem(s)"), "{err}");
    assert!(
        err.contains("server.bind")
            && err.contains("public_base_url")
            && err.contains("max_submit_attempts")
    );
    let good = dir.path().join("good.toml");
    std::fs::write(&good, "[server]\nbind = \"127.0.0.1:9999\"\n").expect("write");
    let (code, out, _) = run(
        &["--config", good.to_str().expect("utf-8"), "check-config"],
        "",
    );
    assert_eq!((code, out.trim()), (0, "configuration OK"));

    // SMTP credentials over a plain connection: refused unless explicitly allowed.
    let smtp = "[email.smtp]\nhost = \"mail.example.org\"\nfrom = \"is@example.org\"\n\
                username = \"is\"\npassword = \"s3cret\"\n";
    let plain = dir.path().join("plain.toml");
    std::fs::write(&plain, smtp).expect("write");
    let (code, _, err) = run(
        &["--config", plain.to_str().expect("utf-8"), "check-config"],
        "",
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("in the clear") && !err.contains("s3cret"),
        "{err}"
    );
    for fix in ["tls = \"start_tls\"\n", "allow_plaintext_auth = true\n"] {
        std::fs::write(&plain, format!("{smtp}{fix}")).expect("write");
        let (code, out, err) = run(
            &["--config", plain.to_str().expect("utf-8"), "check-config"],
            "",
        );
        assert_eq!((code, out.trim()), (0, "configuration OK"), "{fix}: {err}");
    }
}

/// `--help` documents `OXIDENT_CONFIG` as the variable of `--config`: setting it must load
/// that file, not make the server refuse to start over an unknown key `config`.
#[test]
fn oxident_config_variable_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("oxident.toml");
    std::fs::write(&file, "[server]\nbind = \"127.0.0.1:1\"\n").expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_oxident"))
        .arg("check-config")
        .env("OXIDENT_CONFIG", &file)
        .output()
        .expect("run oxident");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "configuration OK"
    );
    // The variable really selects the file: a broken one is reported.
    std::fs::write(&file, "[server]\nbind = \"nope\"\n").expect("write config");
    let out = Command::new(env!("CARGO_BIN_EXE_oxident"))
        .arg("check-config")
        .env("OXIDENT_CONFIG", &file)
        .output()
        .expect("run oxident");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("server.bind"));
}
