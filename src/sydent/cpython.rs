//! CPython as the oracle of differential tests (test code only). What must behave exactly as
//! sydent's Python does — its `configparser` reading of sydent.conf, its `%` templates and
//! their `_forhtml`/`_forurl` variants — is run on the same generated inputs here and there,
//! and the answers compared. `python3` (3.11 in CI) is required: a missing interpreter fails
//! the test rather than skipping the comparison.

use std::io::Write as _;
use std::process::{Command, Stdio};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use serde_json::Value;

/// Runs `script` (Python, reading one JSON document on stdin and writing one on stdout) on
/// `input` and returns its answer.
pub(crate) fn run(script: &str, input: &Value) -> Value {
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (the differential tests need CPython)");
    let mut stdin = child.stdin.take().expect("stdin piped");
    stdin
        .write_all(input.to_string().as_bytes())
        .expect("input written to python3");
    drop(stdin);
    let output = child.wait_with_output().expect("python3 finishes");
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python3 answers JSON")
}

/// `count` values of `strategy` from proptest's deterministic generator: the same inputs on
/// every run, so a difference found once is found again.
pub(crate) fn samples<S: Strategy>(strategy: S, count: usize) -> Vec<S::Value> {
    let mut runner = TestRunner::deterministic();
    (0..count)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("a generated value")
                .current()
        })
        .collect()
}
