//! Helpers for the tests of the scenario writer's experience: run the built
//! binary with a time limit, and read the diagnostics it prints.
#![allow(dead_code)]

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What a run of the binary left behind.
#[derive(Debug)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Run `runner ARGS` in `dir` with `env` set, killing it after `limit` (a hang is a
/// failure, reported with what it printed so far).
pub fn run_with_limit(dir: &Path, args: &[&str], env: &[(&str, &str)], limit: Duration) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runner"));
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("RUNNER_BASE_URL")
        .env_remove("NO_COLOR")
        .env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("the runner binary starts");
    let mut out = child.stdout.take().expect("stdout is piped");
    let mut err = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait on the runner") {
            break Some(status);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    assert!(
        status.is_some(),
        "runner {args:?} did not finish within {limit:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    Output {
        code: status.and_then(|s| s.code()),
        stdout,
        stderr,
    }
}

/// One diagnostic as printed:
/// ```text
/// error: MESSAGE
///   --> FILE:LINE:COL
///    |
///  8 |       stauts: 200
///    |       ^^^^^^ HINT
/// ```
#[derive(Debug, Clone, Default)]
pub struct Printed {
    pub message: String,
    pub file: String,
    pub line: u32,
    pub col: u32,
    pub source_line: Option<String>,
    /// Characters before the first caret, and the number of carets.
    pub caret_at: Option<(usize, usize)>,
    pub hint: Option<String>,
}

/// Every diagnostic in `stderr`, in order.
pub fn parse_diagnostics(stderr: &str) -> Vec<Printed> {
    let mut out: Vec<Printed> = Vec::new();
    let mut lines = stderr.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(message) = l.strip_prefix("error: ") else {
            continue;
        };
        let mut d = Printed {
            message: message.to_string(),
            ..Printed::default()
        };
        if let Some(pos) = lines
            .peek()
            .and_then(|p| p.trim_start().strip_prefix("--> "))
        {
            let pos = pos.to_string();
            lines.next();
            let mut parts = pos.rsplitn(3, ':');
            let col = parts.next().and_then(|c| c.parse().ok());
            let line = parts.next().and_then(|c| c.parse().ok());
            match (line, col, parts.next()) {
                (Some(line), Some(col), Some(file)) => {
                    d.file = file.to_string();
                    d.line = line;
                    d.col = col;
                }
                _ => d.file = pos,
            }
        }
        // The snippet: " {pad} |", " {n} | source", " {pad} | carets hint", or "  = hint: ...".
        while let Some(next) = lines.peek() {
            if next.starts_with("error: ") || next.trim().is_empty() {
                break;
            }
            let next = lines.next().unwrap_or_default();
            if let Some(h) = next.trim_start().strip_prefix("= hint: ") {
                d.hint = Some(h.to_string());
                continue;
            }
            let Some((gutter, rest)) = next.split_once(" |") else {
                continue;
            };
            let rest = rest.strip_prefix(' ').unwrap_or(rest);
            if gutter.trim().parse::<u32>().is_ok() {
                d.source_line = Some(rest.to_string());
            } else if rest.contains('^') {
                let lead = rest.chars().take_while(|c| *c != '^').count();
                let carets = rest.chars().skip(lead).take_while(|c| *c == '^').count();
                d.caret_at = Some((lead, carets));
                let hint: String = rest.chars().skip(lead + carets).collect();
                let hint = hint.trim();
                if !hint.is_empty() {
                    d.hint = Some(hint.to_string());
                }
            }
        }
        out.push(d);
    }
    out
}
