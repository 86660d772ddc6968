//! Running the built `runner` binary from integration tests: a scratch folder for
//! scenario files, a clean environment, a time limit, and the captured output.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

// Each helper brings the runner core along, so a test can take any of them alone.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;
use process::Run;

/// Long enough for a slow shared machine; only there to stop a hung run.
const RUN_LIMIT: Duration = Duration::from_secs(120);

/// Environment variables that would change what a run does; removed unless a test sets them.
const AMBIENT: [&str; 10] = [
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "RUNNER_BASE_URL",
    "LAYERS_API_KEY",
    "GITHUB_RUN_ID",
    "CI",
    "NO_COLOR",
    "RUST_LOG",
    "NO_PROXY",
    "no_proxy",
];

/// A temporary folder holding a test's scenario files; the runner runs inside it.
pub struct Workspace {
    dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Workspace {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Write `text` to `rel` (folders created), returning the full path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, text).expect("write file");
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"))
    }

    /// A runner invocation in this folder.
    pub fn runner(&self) -> Runner {
        Runner::new(self.root())
    }

    /// Run with `args` then `--base-url base_url`.
    pub fn run_at<I, S>(&self, base_url: &str, args: I) -> Output
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.runner().args(args).base_url(base_url).run()
    }

    /// Run `file` (in this workspace) against `base_url`, with extra arguments.
    pub fn run_against(&self, file: &str, base_url: &str, extra: &[&str]) -> Output {
        self.runner()
            .arg(file)
            .arg("--base-url")
            .arg(base_url)
            .args(extra)
            .run()
    }
}

/// One invocation of the binary, built up then run.
pub struct Runner {
    run: Run,
}

impl Runner {
    pub fn new(dir: &Path) -> Self {
        let mut run = Run::new().current_dir(dir);
        // A proxy of the machine's must not decide where a test's requests go either.
        for k in AMBIENT.iter().chain(&runner::http::PROXY_VARS) {
            run = run.env_remove(k);
        }
        Runner { run }
    }

    pub fn arg(mut self, a: impl AsRef<std::ffi::OsStr>) -> Self {
        self.run = self.run.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.run = self.run.args(args);
        self
    }

    /// `--base-url URL`.
    pub fn base_url(self, url: &str) -> Self {
        self.arg("--base-url").arg(url)
    }

    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.run = self.run.env(k, v);
        self
    }

    /// Run to completion (killed after the time limit) and capture everything.
    pub fn run(self) -> Output {
        let done = self.run.limit(RUN_LIMIT).output();
        Output {
            code: done.code(),
            command: done.command,
            stdout: done.stdout,
            stderr: done.stderr,
        }
    }
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Output {
    pub command: String,
    /// None when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Assert the exit code, showing everything the run printed when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(code),
            "`{}` exited with {:?}, expected {code}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// stdout then stderr, for assertions that do not care where a line went.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The last non-empty line of stdout.
    pub fn last_line(&self) -> &str {
        self.stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
    }

    /// Assert `needle` appears in stdout.
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout of `{}` lacks {needle:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Assert `needle` appears in stderr.
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr of `{}` lacks {needle:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.stdout,
            self.stderr
        );
        self
    }
}
