//! Files that never end or never open (`/dev/zero`, a FIFO) named where a
//! scenario, a schema or a request body is read: refused with a message, never
//! read forever.

#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::path::Path;
use std::process::Command;

/// Run the binary (killed, and the test failed, if it hangs); returns (exit code,
/// stdout + stderr).
fn runner(args: &[&str]) -> (i32, String) {
    let out = runner_cli::Runner::new(&std::env::temp_dir())
        .args(args)
        .run();
    (out.code.unwrap_or(-1), out.all())
}

#[test]
fn a_device_given_as_a_scenario_file_is_refused() {
    let (code, text) = runner(&["validate", "/dev/zero"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("not a regular file"), "{text}");
}

#[test]
fn a_fifo_given_as_a_scenario_file_is_refused_without_opening_it() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.yaml");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let (code, text) = runner(&["validate", fifo.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("not a regular file"), "{text}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn a_device_as_a_schema_file_is_refused_at_validation() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "s.yaml",
        "name: s\nsteps:\n  - request:\n      url: http://127.0.0.1:9/x\n    expect:\n      schema: /dev/zero\n",
    );
    let (code, text) = runner(&["validate", &f]);
    assert_eq!(code, 2, "{text}");
    assert!(
        text.contains("cannot read schema `/dev/zero`: it is not a regular file"),
        "{text}"
    );
}

#[test]
fn a_device_as_a_body_file_errors_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let f = write(
        dir.path(),
        "s.yaml",
        "name: s\nsteps:\n  - request:\n      method: POST\n      url: /x\n      body_file: /dev/zero\n",
    );
    let (code, text) = runner(&[
        "run",
        &f,
        "--base-url",
        "http://127.0.0.1:9",
        "--retries",
        "0",
    ]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("cannot read body_file `/dev/zero`: it is not a regular file"),
        "{text}"
    );
}
