//! Helpers for the tests of the scenario writer's experience: run the built
//! binary with a time limit, and read the diagnostics it prints.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

// Each helper brings the runner core along, so a test can take any of them alone.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;
use process::Run;

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
    let done = Run::new()
        .args(args)
        .current_dir(dir)
        .env_remove("RUNNER_BASE_URL")
        .env_remove("NO_COLOR")
        .env_remove("CI")
        .envs(env)
        .limit(limit)
        .output();
    Output {
        code: done.code(),
        stdout: done.stdout,
        stderr: done.stderr,
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
