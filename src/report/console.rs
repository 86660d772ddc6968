//! The console: a line per scenario, details for what failed, a summary last.
//! A progress bar on a terminal; plain stable lines in CI or when piped.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{Reporter, Summary};
use crate::events::{Event, Outcome, Phase, ScenarioReport, StepReport};

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
            // CI logs are plain text, even where a CI gives the job a terminal.
            color: t.stdout_is_tty && !t.no_color && !t.ci,
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
    /// Scenario names by index, for the labels of `-v`.
    names: BTreeMap<usize, String>,
    /// What did not pass, for the recap at the end: by scenario index.
    recap: BTreeMap<usize, RecapLine>,
}

/// One line of the recap of failures printed after the progress lines.
struct RecapLine {
    outcome: Outcome,
    name: String,
    location: String,
    reason: String,
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
            names: BTreeMap::new(),
            recap: BTreeMap::new(),
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
            Outcome::Passed if s.flaky => ("FLAKY", "33"),
            Outcome::Passed => ("PASS ", "32"),
            Outcome::Failed => ("FAIL ", "31"),
            Outcome::Error => ("ERROR", "31;1"),
            Outcome::Skipped => ("SKIP ", "33"),
        };
        if matches!(s.outcome, Outcome::Failed | Outcome::Error) {
            self.recap.insert(
                s.index,
                RecapLine {
                    outcome: s.outcome,
                    name: s.name.clone(),
                    location: s.problem_location(),
                    reason: s.reason(),
                },
            );
        }
        if s.outcome == Outcome::Passed && !s.flaky && !self.opts.show_passes {
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
        for (i, a) in s.previous_attempts.iter().enumerate() {
            self.line(&format!(
                "      attempt {} of the scenario did not pass ({}): {}",
                i + 1,
                a.location,
                one_line(&a.message)
            ));
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
        // A capture that found nothing already quotes the body in its `actual`.
        let body_shown = st.failures.iter().any(|f| f.actual.contains("body: "));
        if let Some((_, received, total)) = st.received()
            && st.outcome == Outcome::Failed
            && !received.is_empty()
            && !body_shown
        {
            // The record's body may itself be an excerpt: count the whole body.
            let body = one_line(&crate::events::excerpt_of(received, 300, total));
            self.line(&format!("      body: {body}"));
        }
    }

    fn verbose_step(&mut self, index: usize, st: &StepReport) {
        if self.opts.verbosity == 0 {
            return;
        }
        let bodies = self.opts.verbosity >= 2;
        // Each exchange under a line naming its scenario and step: concurrent
        // scenarios are told apart by name, not by a number.
        let scenario = self
            .names
            .get(&index)
            .map_or_else(|| format!("scenario {}", index + 1), |n| escaped(n));
        self.line(&format!(
            "-- {scenario} / {}  ({})",
            escaped(&st.label()),
            escaped(&st.location)
        ));
        for (n, hop) in st.redirects.iter().enumerate() {
            let (req, resp) = (&hop.request, &hop.response);
            self.line(&format!("> {} {}", req.method, escaped(&req.url)));
            for (k, v) in &req.headers {
                self.line(&format!("> {}: {}", escaped(k), escaped(v)));
            }
            self.line(&format!(
                "< {} {} ({} ms): redirect {} of {}",
                resp.version,
                resp.status,
                resp.time_ms,
                n + 1,
                st.redirects.len()
            ));
            for (k, v) in &resp.headers {
                self.line(&format!("< {}: {}", escaped(k), escaped(v)));
            }
        }
        if let Some(req) = &st.request {
            self.line(&format!("> {} {}", req.method, escaped(&req.url)));
            for (k, v) in &req.headers {
                self.line(&format!("> {}: {}", escaped(k), escaped(v)));
            }
            if bodies && let Some(b) = &req.body {
                self.line(&format!("> {}", one_line(b)));
            }
        }
        if let Some(d) = &st.delivery {
            self.line(&format!("< {}", d.summary()));
            for (k, v) in &d.headers {
                self.line(&format!("< {}: {}", escaped(k), escaped(v)));
            }
            if bodies && !d.body.is_empty() {
                self.line(&format!("< {}", one_line(&d.body)));
            }
        }
        if let Some(resp) = &st.response {
            self.line(&format!(
                "< {} {} ({} ms)",
                resp.version, resp.status, resp.time_ms
            ));
            for (k, v) in &resp.headers {
                self.line(&format!("< {}: {}", escaped(k), escaped(v)));
            }
            if bodies && !resp.body.is_empty() {
                self.line(&format!("< {}", one_line(&resp.body)));
            }
        }
        if let Some(m) = &st.message {
            self.line(&format!("! {}", escaped(m)));
        }
        for f in &st.failures {
            self.line(&format!("! {}", escaped(&f.to_string())));
        }
        if matches!(st.outcome, Outcome::Failed | Outcome::Error)
            && let Some(req) = &st.request
        {
            self.line("# reproduce it (secrets show as ***: put them back):");
            for l in req.reproducer().lines() {
                self.line(&escaped(l));
            }
        }
    }

    /// Every scenario that failed or errored, one line each, after everything else:
    /// the failures of a long run are not scattered over the scrollback.
    fn print_recap(&mut self) {
        if self.recap.is_empty() {
            return;
        }
        let recap = std::mem::take(&mut self.recap);
        let _ = writeln!(self.out);
        let _ = writeln!(self.out, "did not pass ({}):", recap.len());
        for r in recap.values() {
            let (label, code) = match r.outcome {
                Outcome::Error => ("ERROR", "31;1"),
                _ => ("FAIL ", "31"),
            };
            let label = self.paint(code, label);
            let _ = writeln!(
                self.out,
                "  {label} {}  {}  {}",
                one_line(&r.name),
                one_line(&r.location),
                one_line(&shorten(&r.reason, 200))
            );
        }
    }
}

/// At most `max` characters of `text`, with `…` when cut (a recap line stays a line).
fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
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
            Event::ScenarioStarted { index, name } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(name.clone());
                }
                if self.opts.verbosity > 0 {
                    self.names.insert(*index, name.clone());
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
        self.print_recap();
        let mut parts = vec![
            format!("{} passed", summary.passed),
            format!("{} failed", summary.failed),
        ];
        if summary.errors > 0 {
            parts.push(crate::text::count(summary.errors as u64, "error", "errors"));
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
        let over_budget = summary
            .budget
            .as_ref()
            .is_some_and(|b| b.exceeded.is_some());
        if let Some(b) = summary.budget.as_ref().filter(|_| over_budget) {
            line.push_str(&format!("  over budget (--max-credits {})", b.max_credits));
        }
        let code = if summary.all_passed() && !summary.interrupted && !over_budget {
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
            line: 1,
            flaky: false,
            previous_attempts: Vec::new(),
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
        assert!(
            !o.progress && o.ordered && !o.color,
            "CI gets plain ordered lines, without colour even on a terminal"
        );
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

    fn step(number: usize, outcome: Outcome) -> StepReport {
        StepReport {
            name: format!("step{number}"),
            phase: Phase::Main,
            number,
            location: format!("suite.yaml:{}", 4 + number * 5),
            outcome,
            message: None,
            failures: Vec::new(),
            passed: Vec::new(),
            redirects: Vec::new(),
            delivery: None,
            request: Some(crate::events::RequestRecord {
                method: "GET".into(),
                url: "http://127.0.0.1:9/x".into(),
                headers: vec![("X-Api-Key".into(), "***".into())],
                body: None,
            }),
            response: Some(crate::events::ResponseRecord {
                status: 200,
                version: "HTTP/1.1".into(),
                headers: Vec::new(),
                body: "{\"id\":1}".into(),
                body_bytes: 8,
                truncated: false,
                time_ms: 1,
            }),
            failed_attempts: Vec::new(),
            attempts: 1,
            duration: Duration::from_millis(1),
            assertions: 1,
        }
    }

    fn failing(index: usize, name: &str, failure: crate::events::Assertion) -> Arc<ScenarioReport> {
        let mut s = (*report(index, name, Outcome::Failed)).clone();
        let mut bad = step(1, Outcome::Failed);
        bad.failures.push(failure);
        s.steps = vec![bad, step(2, Outcome::Skipped)];
        Arc::new(s)
    }

    #[test]
    fn a_recap_of_what_did_not_pass_comes_after_the_progress_lines() {
        let (mut c, out) = console(plain());
        let f = crate::events::Assertion {
            subject: "$.id".into(),
            expected: "2".into(),
            actual: "1".into(),
        };
        c.event(&Event::ScenarioFinished(failing(0, "broken one", f)));
        c.event(&Event::ScenarioFinished(report(1, "fine", Outcome::Passed)));
        let mut err = (*report(2, "no server", Outcome::Error)).clone();
        err.message = Some("cannot connect".into());
        c.event(&Event::ScenarioFinished(Arc::new(err)));
        let summary = Summary {
            passed: 1,
            failed: 1,
            errors: 1,
            ..Summary::default()
        };
        c.finish(&summary).unwrap_or_default();
        let text = out.text();
        let recap = text.find("did not pass (2):").unwrap_or(usize::MAX);
        assert!(
            recap > text.find("PASS  fine").unwrap_or(usize::MAX),
            "{text}"
        );
        let tail = &text[recap.min(text.len())..];
        let lines: Vec<&str> = tail.lines().collect();
        assert_eq!(
            lines,
            [
                "did not pass (2):",
                "  FAIL  broken one  suite.yaml:9  step 1 \"step1\": $.id: expected 2, got 1",
                "  ERROR no server  suite.yaml:1  cannot connect",
                "1 passed, 1 failed, 1 error  (0.00s)",
            ],
            "{text}"
        );
    }

    #[test]
    fn no_recap_when_everything_passed() {
        let (mut c, out) = console(plain());
        c.event(&Event::ScenarioFinished(report(0, "fine", Outcome::Passed)));
        c.finish(&Summary::default()).unwrap_or_default();
        assert!(!out.text().contains("did not pass"), "{}", out.text());
    }

    #[test]
    fn a_capture_that_found_nothing_shows_the_body_once() {
        let (mut c, out) = console(plain());
        let f = crate::events::Assertion {
            subject: "capture id".into(),
            expected: "a value at $.nope".into(),
            actual: "nothing; body: {\"id\":1}".into(),
        };
        c.event(&Event::ScenarioFinished(failing(0, "capture", f)));
        c.finish(&Summary::default()).unwrap_or_default();
        let text = out.text();
        let details = text.split("did not pass (1):").next().unwrap_or_default();
        assert_eq!(details.matches("{\"id\":1}").count(), 1, "{text}");
    }

    #[test]
    fn verbose_exchanges_are_labelled_with_scenario_and_step() {
        let mut opts = plain();
        opts.verbosity = 1;
        let (mut c, out) = console(opts);
        c.event(&Event::ScenarioStarted {
            index: 3,
            name: "the key works".into(),
        });
        let mut bad = step(1, Outcome::Failed);
        bad.failures.push(crate::events::Assertion {
            subject: "status".into(),
            expected: "201".into(),
            actual: "200".into(),
        });
        c.event(&Event::StepFinished {
            index: 3,
            step: Box::new(bad),
        });
        c.finish(&Summary::default()).unwrap_or_default();
        let text = out.text();
        assert!(
            text.starts_with(
                "-- the key works / step 1 \"step1\"  (suite.yaml:9)\n> GET http://127.0.0.1:9/x\n"
            ),
            "{text}"
        );
        assert!(!text.contains("[3]"), "{text}");
        assert!(
            text.contains("curl \\\n  http://127.0.0.1:9/x \\\n  -H 'X-Api-Key: ***'"),
            "a failing step carries its curl reproducer: {text}"
        );
    }
}
