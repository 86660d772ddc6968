//! Where a report goes: a device or a pipe is written in place and stays what it is,
//! a new file gets the mode the umask gives (not 0600), as a shell redirection would.

#![cfg(unix)]

use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::Path;
use std::process::{Command, Output};

/// A scenario that sends nothing (skipped): reports are still written.
const SKIPPED: &str =
    "name: nothing to send\nskip: not today\nsteps:\n  - request: { url: /v1/whoami }\n";

/// `runner run <args>` under `umask`, in `dir`, with a clean environment.
fn runner(dir: &Path, umask: &str, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("umask {umask}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_runner"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn report_files_get_the_mode_the_umask_gives() {
    for (umask, mode) in [("022", 0o644), ("027", 0o640), ("077", 0o600)] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("s.yaml"), SKIPPED).unwrap();
        let out = runner(
            dir.path(),
            umask,
            &[
                "run",
                "s.yaml",
                "--base-url",
                "http://127.0.0.1:9",
                "--junit",
                "out/junit.xml",
                "--report-json",
                "out/run.json",
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        for f in ["out/junit.xml", "out/run.json"] {
            let m = std::fs::metadata(dir.path().join(f)).unwrap();
            assert_eq!(
                m.permissions().mode() & 0o777,
                mode,
                "{f} under umask {umask}"
            );
        }
    }
}

#[test]
fn a_device_stays_a_device() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), SKIPPED).unwrap();
    // A null device of our own when allowed (as root), so a broken runner cannot
    // replace the system's; /dev/null otherwise, which a non-root runner cannot replace.
    let own = dir.path().join("null");
    let made = Command::new("mknod")
        .arg(&own)
        .args(["c", "1", "3"])
        .output()
        .is_ok_and(|o| o.status.success());
    let device = if made { own } else { "/dev/null".into() };
    let out = runner(
        dir.path(),
        "022",
        &[
            "run",
            "s.yaml",
            "--base-url",
            "http://127.0.0.1:9",
            "--junit",
            device.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let m = std::fs::metadata(&device).unwrap();
    assert!(
        m.file_type().is_char_device(),
        "{device:?} is no longer a device"
    );
}

#[test]
fn a_json_report_to_dev_stdout_goes_to_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), SKIPPED).unwrap();
    let out = runner(
        dir.path(),
        "022",
        &[
            "run",
            "s.yaml",
            "--base-url",
            "http://127.0.0.1:9",
            "--quiet",
            "--report-json",
            "/dev/stdout",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let start = stdout.find('{').unwrap_or(0);
    let json: serde_json::Value = serde_json::from_str(
        stdout[start..]
            .rsplit_once('}')
            .map(|(a, _)| format!("{a}}}"))
            .as_deref()
            .unwrap_or(""),
    )
    .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(json["summary"]["skipped"], 1, "{stdout}");
}
