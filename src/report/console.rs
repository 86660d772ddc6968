//! The console: a line per scenario, details for what failed, a summary last.
//! A progress bar on a terminal; plain stable lines in CI or when piped.

use std::collections::{BTreeMap, BTreeSet};
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
    /// Print each scenario's lines together and in file order, whatever order the
    /// scenarios finish in: logs that read, and compare, the same on every run.
    pub ordered: bool,
}

/// What the console is connected to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub stdout_is_tty: bool,
    pub stderr_is_tty: bool,
    /// `NO_COLOR` is set and not empty (https://no-color.org).
    pub no_color: bool,
    /// `CI` is set and not empty (every CI system sets it).
    pub ci: bool,
}

impl Terminal {
    pub fn detect() -> Self {
        let set = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        Terminal {
            stdout_is_tty: std::io::stdout().is_terminal(),
            stderr_is_tty: std::io::stderr().is_terminal(),
            no_color: set("NO_COLOR"),
            ci: set("CI"),
        }
    }
}

impl ConsoleOptions {
    /// Colour only on a terminal without NO_COLOR; a progress bar only on a terminal
    /// outside CI; plain ordered lines when piped or in CI.
    pub fn detect(verbosity: u8) -> Self {
        Self::for_terminal(verbosity, Terminal::detect())
    }

    pub fn for_terminal(verbosity: u8, t: Terminal) -> Self {
        let interactive = t.stdout_is_tty && !t.ci;
        ConsoleOptions {
            verbosity,
            color: t.stdout_is_tty && !t.no_color,
            progress: interactive && t.stderr_is_tty && verbosity == 0,
            show_passes: true,
            ordered: !interactive,
        }
    }
}

pub struct ConsoleReporter {
    opts: ConsoleOptions,
    bar: Option<ProgressBar>,
    out: Box<dyn Write + Send>,
    /// The scenario whose lines are being written, in ordered mode.
    current: Option<usize>,
    /// Lines of scenarios not printed yet, by scenario index (ordered mode).
    held: BTreeMap<usize, Vec<String>>,
    finished: BTreeSet<usize>,
    /// The next scenario to print (ordered mode).
    next: usize,
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
            current: None,
            held: BTreeMap::new(),
            finished: BTreeSet::new(),
            next: 0,
        }
    }

    /// Print the held lines of every finished scenario up to the first one still
    /// running; with `all`, of every scenario (the run is over).
    fn release(&mut self, all: bool) {
        loop {
            let ready = self.finished.contains(&self.next);
            if !ready && !all {
                break;
            }
            if let Some(lines) = self.held.remove(&self.next) {
                for l in lines {
                    self.emit(&l);
                }
            }
            self.finished.remove(&self.next);
            self.next += 1;
            if all && self.held.is_empty() {
                break;
            }
        }
    }

    fn emit(&mut self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => {
                let _ = writeln!(self.out, "{text}");
            }
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
        match self.current {
            Some(i) if self.opts.ordered => {
                self.held.entry(i).or_default().push(text.to_string());
            }
            _ => self.emit(text),
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
            one_line(&s.name),
            one_line(&s.file),
            s.duration.as_millis()
        ));
        if let Some(m) = &s.message {
            self.line(&format!("      {}", one_line(m)));
        }
        if !flaky.is_empty() {
            for st in &s.steps {
                for a in &st.failed_attempts {
                    self.line(&format!(
                        "      step {} \"{}\": {}",
                        st.number,
                        escaped(&st.name),
                        escaped(a)
                    ));
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
                            escaped(&st.name),
                            escaped(m.trim_start_matches("skipped: "))
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
            .map(|r| format!("  {} {}", r.method, escaped(&r.url)))
            .unwrap_or_default();
        self.line(&format!(
            "      {phase}step {} \"{}\"{target}",
            st.number,
            escaped(&st.name)
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
        for (n, hop) in st.redirects.iter().enumerate() {
            let (req, resp) = (&hop.request, &hop.response);
            self.line(&format!("[{index}] > {} {}", req.method, req.url));
            for (k, v) in &req.headers {
                self.line(&format!("[{index}] > {k}: {v}"));
            }
            self.line(&format!(
                "[{index}] < {} {} ({} ms): redirect {} of {}",
                resp.version,
                resp.status,
                resp.time_ms,
                n + 1,
                st.redirects.len()
            ));
            for (k, v) in &resp.headers {
                self.line(&format!("[{index}] < {k}: {v}"));
            }
        }
        if let Some(req) = &st.request {
            self.line(&format!("[{index}] > {} {}", req.method, escaped(&req.url)));
            for (k, v) in &req.headers {
                self.line(&format!("[{index}] > {}: {}", escaped(k), escaped(v)));
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
                self.line(&format!("[{index}] < {}: {}", escaped(k), escaped(v)));
            }
            if bodies && !resp.body.is_empty() {
                self.line(&format!("[{index}] < {}", one_line(&resp.body)));
            }
        }
        if let Some(m) = &st.message {
            self.line(&format!("[{index}] {}", escaped(m)));
        }
    }
}

/// A name or a header value on one line, its line breaks shown as `\r` and `\n`:
/// a value holding CR LF must not print as a header or a result line of its own.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
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
            Event::StepFinished { index, step } => {
                self.current = Some(*index);
                self.verbose_step(*index, step);
                self.current = None;
            }
            Event::ScenarioFinished(s) => {
                self.current = Some(s.index);
                self.scenario(s);
                self.current = None;
                if self.opts.ordered {
                    self.finished.insert(s.index);
                    self.release(false);
                }
                if let Some(bar) = &self.bar {
                    bar.inc(1);
                }
            }
            Event::Notice(text) => self.line(text),
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), String> {
        self.release(true);
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

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// A writer tests can read back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
        }
    }

    fn report(index: usize, name: &str, outcome: Outcome) -> std::sync::Arc<ScenarioReport> {
        std::sync::Arc::new(ScenarioReport {
            index,
            name: name.into(),
            file: "suite.yaml".into(),
            classname: "suite".into(),
            tags: Vec::new(),
            outcome,
            message: None,
            interrupted: false,
            started_at: String::new(),
            duration: Duration::from_millis(5),
            steps: Vec::new(),
            masked_with: None,
        })
    }

    fn console(opts: ConsoleOptions) -> (ConsoleReporter, Shared) {
        let out = Shared::default();
        (
            ConsoleReporter::with_writer(opts, Box::new(out.clone())),
            out,
        )
    }

    fn plain() -> ConsoleOptions {
        ConsoleOptions::for_terminal(0, Terminal::default())
    }

    #[test]
    fn the_terminal_decides_colour_progress_and_order() {
        let tty = Terminal {
            stdout_is_tty: true,
            stderr_is_tty: true,
            ..Terminal::default()
        };
        let o = ConsoleOptions::for_terminal(0, tty);
        assert!(o.color && o.progress && !o.ordered);
        let o = ConsoleOptions::for_terminal(
            0,
            Terminal {
                no_color: true,
                ..tty
            },
        );
        assert!(
            !o.color && o.progress,
            "NO_COLOR turns colour off, nothing else"
        );
        let o = ConsoleOptions::for_terminal(0, Terminal { ci: true, ..tty });
        assert!(!o.progress && o.ordered, "CI gets plain ordered lines");
        let o = ConsoleOptions::for_terminal(1, tty);
        assert!(!o.progress, "-v prints requests, not a bar");
        let o = plain();
        assert!(!o.color && !o.progress && o.ordered, "piped: plain");
    }

    #[test]
    fn plain_output_is_in_file_order_whatever_order_scenarios_finish_in() {
        let (mut c, out) = console(plain());
        c.event(&Event::ScenarioFinished(report(
            2,
            "third",
            Outcome::Passed,
        )));
        c.event(&Event::ScenarioFinished(report(
            0,
            "first",
            Outcome::Failed,
        )));
        assert!(out.text().contains("first") && !out.text().contains("third"));
        c.event(&Event::ScenarioFinished(report(
            1,
            "second",
            Outcome::Passed,
        )));
        c.finish(&Summary::default()).unwrap_or_default();
        let text = out.text();
        let at = |n: &str| text.find(n).unwrap_or(usize::MAX);
        assert!(
            at("first") < at("second") && at("second") < at("third"),
            "{text}"
        );
        assert!(
            !text.contains('\u{1b}'),
            "no escape codes when plain: {text:?}"
        );
    }

    #[test]
    fn scenarios_that_never_finish_do_not_hold_back_the_rest_at_the_end() {
        let (mut c, out) = console(plain());
        c.event(&Event::ScenarioFinished(report(
            1,
            "second",
            Outcome::Passed,
        )));
        assert!(!out.text().contains("second"));
        c.finish(&Summary::default()).unwrap_or_default();
        assert!(out.text().contains("second"), "{}", out.text());
    }

    #[test]
    fn colour_only_when_asked() {
        let mut opts = plain();
        opts.color = true;
        let (mut c, out) = console(opts);
        c.event(&Event::ScenarioFinished(report(
            0,
            "first",
            Outcome::Passed,
        )));
        assert!(out.text().contains("\u{1b}[32mPASS"), "{:?}", out.text());
    }
}
