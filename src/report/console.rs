//! The console: a line per scenario, details for what failed, a summary last.
//! A progress bar on a terminal; plain stable lines in CI or when piped.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Reporter, Summary};
use crate::events::{Event, Outcome, Phase, ScenarioReport, StepReport, excerpt};

/// How the console looks.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleOptions {
    /// 0: a line per scenario; 1: each request and response line with headers; 2: with bodies.
    pub verbosity: u8,
    pub color: bool,
    pub progress: bool,
    /// Print passing scenarios too (off with --quiet).
    pub show_passes: bool,
}

impl ConsoleOptions {
    /// Colour only on a terminal without NO_COLOR; a progress bar only on a terminal outside CI.
    pub fn detect(verbosity: u8) -> Self {
        let tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        ConsoleOptions {
            verbosity,
            color: tty && !no_color,
            progress: std::io::stderr().is_terminal() && !ci && verbosity == 0,
            show_passes: true,
        }
    }
}

pub struct ConsoleReporter {
    opts: ConsoleOptions,
    bar: Option<ProgressBar>,
    out: Box<dyn Write + Send>,
}

impl ConsoleReporter {
    pub fn new(opts: ConsoleOptions) -> Self {
        Self::with_writer(opts, Box::new(std::io::stdout()))
    }

    pub fn with_writer(opts: ConsoleOptions, out: Box<dyn Write + Send>) -> Self {
        ConsoleReporter {
            opts,
            bar: None,
            out,
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.opts.color {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_string()
        }
    }

    fn line(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(self.out, "{text}");
            }
        }
    }

    fn scenario(&mut self, s: &ScenarioReport) {
        let (label, code) = match s.outcome {
            Outcome::Passed => ("PASS ", "32"),
            Outcome::Failed => ("FAIL ", "31"),
            Outcome::Error => ("ERROR", "31;1"),
            Outcome::Skipped => ("SKIP ", "33"),
        };
        if s.outcome == Outcome::Passed && !self.opts.show_passes {
            return;
        }
        let label = self.paint(code, label);
        let flaky = if s.outcome == Outcome::Passed
            && s.steps.iter().any(|st| !st.failed_attempts.is_empty())
        {
            self.paint("33", "  (flaky: passed after retries)")
        } else {
            String::new()
        };
        self.line(&format!(
            "{label} {}  {}  {} ms{flaky}",
            s.name,
            s.file,
            s.duration.as_millis()
        ));
        if let Some(m) = &s.message {
            self.line(&format!("      {m}"));
        }
        if !flaky.is_empty() {
            for st in &s.steps {
                for a in &st.failed_attempts {
                    self.line(&format!("      step {} \"{}\": {a}", st.number, st.name));
                }
            }
        }
        if matches!(s.outcome, Outcome::Failed | Outcome::Error) {
            for st in &s.steps {
                match st.outcome {
                    Outcome::Failed | Outcome::Error => self.problem(st),
                    Outcome::Skipped if st.phase == Phase::Finally => {
                        let m = st.message.clone().unwrap_or_default();
                        self.line(&format!(
                            "      finally \"{}\": {}",
                            st.name,
                            m.trim_start_matches("skipped: ")
                        ));
                    }
                    _ => {}
                }
            }
        }
    }

    fn problem(&mut self, st: &StepReport) {
        let phase = if st.phase == Phase::Finally {
            "finally "
        } else {
            ""
        };
        let target = st
            .request
            .as_ref()
            .map(|r| format!("  {} {}", r.method, r.url))
            .unwrap_or_default();
        self.line(&format!(
            "      {phase}step {} \"{}\"{target}",
            st.number, st.name
        ));
        // What a server sent (bodies, header values) may hold terminal escapes:
        // never pass control characters through to the terminal.
        for f in &st.failures {
            if f.subject == "status" {
                self.line(&format!(
                    "      expected status {}, got {}",
                    one_line(&f.expected),
                    one_line(&f.actual)
                ));
            } else {
                self.line(&format!(
                    "      {}: expected {}, got {}",
                    one_line(&f.subject),
                    one_line(&f.expected),
                    one_line(&f.actual)
                ));
            }
        }
        if let Some(m) = &st.message {
            self.line(&format!("      {}", one_line(m)));
        }
        for a in &st.failed_attempts {
            self.line(&format!("      {}", one_line(a)));
        }
        if let Some(resp) = &st.response
            && st.outcome == Outcome::Failed
            && !resp.body.is_empty()
        {
            let body = one_line(&excerpt(&resp.body, 300));
            self.line(&format!("      body: {body}"));
        }
    }

    fn verbose_step(&mut self, index: usize, st: &StepReport) {
        if self.opts.verbosity == 0 {
            return;
        }
        let bodies = self.opts.verbosity >= 2;
        if let Some(req) = &st.request {
            self.line(&format!("[{index}] > {} {}", req.method, req.url));
            for (k, v) in &req.headers {
                self.line(&format!("[{index}] > {k}: {v}"));
            }
            if bodies && let Some(b) = &req.body {
                self.line(&format!("[{index}] > {}", one_line(b)));
            }
        }
        if let Some(resp) = &st.response {
            if resp.version == crate::engine::WEBHOOK_DELIVERY {
                self.line(&format!(
                    "[{index}] < webhook delivery, {} bytes, after {} ms",
                    resp.body_bytes, resp.time_ms
                ));
            } else {
                self.line(&format!(
                    "[{index}] < {} {} ({} ms)",
                    resp.version, resp.status, resp.time_ms
                ));
            }
            for (k, v) in &resp.headers {
                self.line(&format!("[{index}] < {k}: {v}"));
            }
            if bodies && !resp.body.is_empty() {
                self.line(&format!("[{index}] < {}", one_line(&resp.body)));
            }
        }
        if let Some(m) = &st.message {
            self.line(&format!("[{index}] {m}"));
        }
    }
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c == '\n' || c == '\r' {
                ' '
            } else if c.is_control() {
                '?'
            } else {
                c
            }
        })
        .collect()
}

impl Reporter for ConsoleReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted(info) => {
                if self.opts.progress {
                    let bar = ProgressBar::with_draw_target(
                        Some(info.total as u64),
                        ProgressDrawTarget::stderr(),
                    );
                    if let Ok(style) = ProgressStyle::with_template(
                        "{bar:30} {pos}/{len} scenarios  {elapsed}  {msg}",
                    ) {
                        bar.set_style(style);
                    }
                    self.bar = Some(bar);
                }
            }
            Event::ScenarioStarted { name, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(name.clone());
                }
            }
            Event::StepFinished { index, step } => self.verbose_step(*index, step),
            Event::ScenarioFinished(s) => {
                self.scenario(s);
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            Event::Notice(text) => self.line(text),
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), String> {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let mut parts = vec![
            format!("{} passed", summary.passed),
            format!("{} failed", summary.failed),
        ];
        if summary.errors > 0 {
            parts.push(format!("{} errors", summary.errors));
        }
        if summary.skipped > 0 {
            parts.push(format!("{} skipped", summary.skipped));
        }
        if summary.flaky > 0 {
            parts.push(format!("{} flaky", summary.flaky));
        }
        let mut line = format!(
            "{}  ({:.2}s)",
            parts.join(", "),
            summary.duration.as_secs_f64()
        );
        if summary.interrupted {
            line.push_str("  interrupted");
        }
        let code = if summary.all_passed() && !summary.interrupted {
            "32"
        } else {
            "31"
        };
        let line = self.paint(code, &line);
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
        Ok(())
    }
}
