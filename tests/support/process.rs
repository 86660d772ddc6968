//! The one way the integration tests run the built `runner` binary: arguments,
//! environment, working folder and stdin set up front, a time limit, and everything
//! it printed captured. The other helpers (`runner_cli.rs`, `dx.rs`,
//! `language_server.rs`, `safety.rs`) build on this and only add their own defaults.
//!
//! A run that outlives its limit is killed and fails the test with what it printed so
//! far: a hang is a failure, never a long wait.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The limit when a caller sets none: long enough for a slow shared machine.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(120);

/// One invocation, built up then run with [`Run::output`].
pub struct Run {
    cmd: Command,
    shown: Vec<String>,
    limit: Duration,
    stdin: Option<Vec<u8>>,
    watch: Option<Box<dyn FnMut(u32) + Send>>,
}

/// What a finished run left behind.
#[derive(Debug)]
pub struct Finished {
    /// The command line, for assertion messages.
    pub command: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    /// None when the process was ended by a signal.
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

impl Default for Run {
    fn default() -> Self {
        Run::new()
    }
}

impl Run {
    /// The runner binary, in the current folder, with the inherited environment.
    pub fn new() -> Self {
        let mut run = Run::command(Command::new(env!("CARGO_BIN_EXE_runner")));
        run.shown = vec!["runner".to_string()];
        run
    }

    /// Any command a test built itself (its program, arguments and environment kept).
    pub fn command(cmd: Command) -> Self {
        let shown = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        Run {
            cmd,
            shown,
            limit: DEFAULT_LIMIT,
            stdin: None,
            watch: None,
        }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.shown.push(a.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(a);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for a in args {
            self = self.arg(a);
        }
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.cmd.env(k, v);
        self
    }

    pub fn envs<'a>(mut self, pairs: impl IntoIterator<Item = &'a (&'a str, &'a str)>) -> Self {
        for (k, v) in pairs {
            self.cmd.env(k, v);
        }
        self
    }

    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.cmd.env_remove(k);
        self
    }

    /// Start from an empty environment (PATH kept, so the runner can find tools).
    pub fn env_clear(mut self) -> Self {
        self.cmd
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        self
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.cmd.current_dir(dir);
        self
    }

    /// Bytes written to the runner's stdin (closed after them); without, stdin is empty.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn limit(mut self, limit: Duration) -> Self {
        self.limit = limit;
        self
    }

    /// Called with the process id every few milliseconds while it runs (to sample
    /// `/proc/PID/status`, say).
    pub fn watch(mut self, f: impl FnMut(u32) + Send + 'static) -> Self {
        self.watch = Some(Box::new(f));
        self
    }

    /// Run to the end (killed at the limit, which fails the test) and capture everything.
    pub fn output(mut self) -> Finished {
        let command = self.shown.join(" ");
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = self
            .cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        if let (Some(bytes), Some(mut pipe)) = (self.stdin.take(), child.stdin.take()) {
            // A writer of its own: the runner may not read stdin before it prints.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let out = drain(child.stdout.take());
        let err = drain(child.stderr.take());
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait on the runner") {
                break Some(status);
            }
            if let Some(watch) = self.watch.as_mut() {
                watch(child.id());
            }
            if started.elapsed() > self.limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = out.join().unwrap_or_default();
        let stderr = err.join().unwrap_or_default();
        let Some(status) = status else {
            panic!(
                "`{command}` did not finish within {:?} and was killed\nstdout:\n{stdout}\nstderr:\n{stderr}",
                self.limit
            );
        };
        Finished {
            command,
            status,
            stdout,
            stderr,
        }
    }
}

/// Read a pipe to its end on a thread of its own, so a full stderr cannot stall stdout.
fn drain(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut buf);
        }
        String::from_utf8_lossy(&buf).into_owned()
    })
}
