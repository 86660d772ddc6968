//! Files that never end or never open (`/dev/zero`, a FIFO) named where a
//! scenario, a schema or a request body is read: refused with a message, never
//! read forever.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far beyond what these runs take: a run still going then has hung.
const HANG_LIMIT: Duration = Duration::from_secs(30);

/// Run the binary; returns (exit code, stderr + stdout).
fn runner(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_runner"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > HANG_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("runner {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut text = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    (status.code().unwrap_or(-1), text)
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
