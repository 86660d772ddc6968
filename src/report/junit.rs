//! JUnit XML for CI: one `<testsuite>` per file, one `<testcase>` per scenario
//! (or per step), failures and errors told apart, flaky passes marked.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

use super::Summary;
use super::pipeline::{Assembly, FileFormat, FileReporter};
use super::xml::XmlWriter;
use crate::events::{Outcome, RunInfo, ScenarioReport, StepReport};
use crate::secrets::Redactor;

/// The step-by-step log kept in `<system-out>` is cut beyond this.
const SYSTEM_OUT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Granularity {
    /// One testcase per scenario.
    Scenario,
    /// One testcase per step.
    Step,
}

/// JUnit XML, rendered as scenarios finish: each scenario's testcases then (kept
/// on disk by the pipeline); only each file's counts stay in memory, for the
/// `<testsuite>` element that comes before its cases.
pub struct Junit {
    granularity: Granularity,
    /// By file, the `<testsuite>` heads so far.
    suites: IndexMap<String, SuiteHead>,
}

impl Junit {
    pub fn new(granularity: Granularity) -> Self {
        Junit {
            granularity,
            suites: IndexMap::new(),
        }
    }
}

/// The JUnit report file.
pub type JunitReporter = FileReporter<Junit>;

impl FileReporter<Junit> {
    pub fn new(path: PathBuf, granularity: Granularity, redactor: Redactor) -> Self {
        FileReporter::with_format(path, Junit::new(granularity), redactor)
    }
}

/// What a `<testsuite>` says of its cases, summed up as they finish.
struct SuiteHead {
    name: String,
    /// The first scenario of the file (suites come in the order of their first).
    first: usize,
    started_at: String,
    counts: Counts,
    time: Duration,
    /// Scenario indices of the cases.
    cases: Vec<usize>,
}

impl SuiteHead {
    fn add(&mut self, s: &ScenarioReport, counts: Counts) {
        if s.index < self.first {
            self.first = s.index;
            self.started_at.clone_from(&s.started_at);
        }
        self.counts.merge(counts);
        self.time += s.duration;
        self.cases.push(s.index);
    }
}

impl FileFormat for Junit {
    fn name(&self) -> &'static str {
        "JUnit"
    }

    fn scenario(&mut self, s: &ScenarioReport) -> Result<Vec<Vec<u8>>, String> {
        let mut body = XmlWriter::with_depth(2);
        let mut counts = Counts::default();
        cases_of(&mut body, &mut counts, s, self.granularity);
        let head = self
            .suites
            .entry(s.file.clone())
            .or_insert_with(|| SuiteHead {
                name: s.file.clone(),
                first: s.index,
                started_at: s.started_at.clone(),
                counts: Counts::default(),
                time: Duration::ZERO,
                cases: Vec::new(),
            });
        head.add(s, counts);
        Ok(vec![body.take_text().into_bytes()])
    }

    fn assemble(
        &mut self,
        _run: Option<&RunInfo>,
        summary: &Summary,
        file: &mut Assembly<'_>,
    ) -> Result<(), String> {
        let mut suites: Vec<SuiteHead> = std::mem::take(&mut self.suites).into_values().collect();
        suites.sort_by_key(|h| h.first);
        let checks: Vec<RunCheck> = RunCheck::budget(summary).into_iter().collect();
        let mut total = suites.iter().fold(Counts::default(), |mut acc, s| {
            acc.merge(s.counts);
            acc
        });
        total.merge(check_counts(&checks));
        let mut out = XmlWriter::with_capacity(4096);
        open_report(&mut out, total, summary.duration);
        for mut suite in suites {
            suite.cases.sort_unstable();
            open_suite(&mut out, &suite);
            file.write(out.take_text().as_bytes())?;
            for i in &suite.cases {
                file.piece(0, *i)?;
            }
            out.close("testsuite");
        }
        write_checks(&mut out, &checks);
        out.close("testsuites");
        file.write(out.finish().as_bytes())
    }
}

/// Testcase counts of a suite (or of the whole report).
#[derive(Default, Clone, Copy)]
struct Counts {
    tests: usize,
    skipped: usize,
    failures: usize,
    errors: usize,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
        self.tests += 1;
        match outcome {
            Outcome::Passed => {}
            Outcome::Skipped => self.skipped += 1,
            Outcome::Failed => self.failures += 1,
            Outcome::Error => self.errors += 1,
        }
    }

    fn merge(&mut self, other: Counts) {
        self.tests += other.tests;
        self.skipped += other.skipped;
        self.failures += other.failures;
        self.errors += other.errors;
    }
}

/// A scenario's testcases (one, or one per step).
fn cases_of(
    out: &mut XmlWriter,
    counts: &mut Counts,
    s: &ScenarioReport,
    granularity: Granularity,
) {
    match granularity {
        Granularity::Scenario => scenario_case(out, counts, s),
        Granularity::Step => step_cases(out, counts, s),
    }
}

/// A check of the whole run that is not a scenario (the `--max-credits` budget): a
/// testcase of its own in a `runner` testsuite, so that CI shows why a job failed
/// when every scenario passed.
#[derive(Debug, Clone, PartialEq)]
pub struct RunCheck {
    pub name: String,
    /// Why it failed; `None`: it held.
    pub failure: Option<String>,
}

fn check_counts(checks: &[RunCheck]) -> Counts {
    let mut c = Counts::default();
    for check in checks {
        c.add(if check.failure.is_some() {
            Outcome::Failed
        } else {
            Outcome::Passed
        });
    }
    c
}

/// The run's own checks, as a last testsuite named `runner`.
fn write_checks(out: &mut XmlWriter, checks: &[RunCheck]) {
    if checks.is_empty() {
        return;
    }
    let c = check_counts(checks);
    let (tests, failures) = (c.tests.to_string(), c.failures.to_string());
    out.open(
        "testsuite",
        &[
            ("name", "runner"),
            ("tests", &tests),
            ("skipped", "0"),
            ("errors", "0"),
            ("failures", &failures),
            ("time", "0.000"),
        ],
    );
    for check in checks {
        out.open(
            "testcase",
            &[
                ("name", &check.name),
                ("classname", "runner"),
                ("time", "0.000"),
            ],
        );
        if let Some(why) = &check.failure {
            out.text_element("failure", &[("message", why), ("type", "Budget")], why);
        }
        out.close("testcase");
    }
    out.close("testsuite");
}

impl RunCheck {
    /// The budget check, when `--max-credits` was given.
    pub fn budget(summary: &Summary) -> Option<RunCheck> {
        let budget = summary.budget.as_ref()?;
        Some(RunCheck {
            name: format!("spend within --max-credits {}", budget.max_credits),
            failure: budget.exceeded.clone(),
        })
    }
}

/// The whole report as XML text, in memory (what [`JunitReporter`] writes piece by
/// piece; in the layout quick-junit writes and reads back).
pub fn render<S: std::borrow::Borrow<ScenarioReport>>(
    scenarios: &[S],
    granularity: Granularity,
    duration: Duration,
) -> Result<String, String> {
    let summary = Summary {
        duration,
        ..Summary::default()
    };
    let bytes = super::pipeline::render(&mut Junit::new(granularity), None, scenarios, &summary)?;
    String::from_utf8(bytes).map_err(|e| format!("the JUnit report is not UTF-8: {e}"))
}

/// The declaration and the opening `<testsuites>` with the run's counts.
fn open_report(out: &mut XmlWriter, total: Counts, duration: Duration) {
    out.declaration();
    out.open(
        "testsuites",
        &[
            ("name", "runner"),
            ("tests", &total.tests.to_string()),
            ("skipped", &total.skipped.to_string()),
            ("failures", &total.failures.to_string()),
            ("errors", &total.errors.to_string()),
            ("timestamp", &timestamp(&chrono::Utc::now().fixed_offset())),
            ("time", &seconds(duration)),
        ],
    );
}

/// The opening `<testsuite>` of one file, with its counts.
fn open_suite(out: &mut XmlWriter, suite: &SuiteHead) {
    {
        let c = suite.counts;
        let stamp = chrono::DateTime::parse_from_rfc3339(&suite.started_at)
            .ok()
            .map(|t| timestamp(&t));
        let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(7);
        let (name, tests, skipped, errors, failures, time) = (
            suite.name.as_str(),
            c.tests.to_string(),
            c.skipped.to_string(),
            c.errors.to_string(),
            c.failures.to_string(),
            seconds(suite.time),
        );
        attrs.extend([
            ("name", name),
            ("tests", tests.as_str()),
            ("skipped", skipped.as_str()),
            ("errors", errors.as_str()),
            ("failures", failures.as_str()),
        ]);
        if let Some(t) = &stamp {
            attrs.push(("timestamp", t));
        }
        attrs.push(("time", &time));
        out.open("testsuite", &attrs);
    }
}

/// `2026-01-01T00:00:00.000+00:00`, as quick-junit writes it.
fn timestamp(t: &chrono::DateTime<chrono::FixedOffset>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f%:z").to_string()
}

fn seconds(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// How a testcase ended, as JUnit elements.
enum Status<'a> {
    Success,
    Skipped(Option<&'a str>),
    NonSuccess {
        failure: bool,
        message: String,
        ty: &'static str,
        description: String,
    },
}

/// One `<testcase>`: the attributes, the status element, flaky attempts, `<system-out>`.
#[allow(clippy::too_many_arguments)]
fn write_case(
    out: &mut XmlWriter,
    name: &str,
    s: &ScenarioReport,
    line: usize,
    time: Duration,
    assertions: usize,
    status: Status<'_>,
    flaky: &[&StepReport],
    previous: &[crate::events::Attempt],
    system_out: &str,
) {
    let (assertions, time, line) = (assertions.to_string(), seconds(time), line.to_string());
    // `file` and `line` are what GitHub's JUnit actions annotate; without a line they
    // fall back to the last `file:NN` of the failure text, or to line 0.
    out.open(
        "testcase",
        &[
            ("name", name),
            ("classname", &s.classname),
            ("assertions", &assertions),
            ("time", &time),
            ("file", &s.file),
            ("line", &line),
        ],
    );
    match status {
        Status::Success => {
            for a in previous {
                let message = format!("attempt failed: {}", a.message);
                out.text_element(
                    "flakyFailure",
                    &[("message", &message), ("type", "FlakyScenario")],
                    &format!("{}\n", a.location),
                );
            }
            for step in flaky {
                for attempt in &step.failed_attempts {
                    let message = format!("step {} \"{}\": {attempt}", step.number, step.name);
                    out.open(
                        "flakyFailure",
                        &[("message", &message), ("type", "FlakyAttempt")],
                    );
                    out.close("flakyFailure");
                }
            }
        }
        Status::Skipped(message) => match message {
            Some(m) => out.empty("skipped", &[("message", m)]),
            None => out.empty("skipped", &[]),
        },
        Status::NonSuccess {
            failure,
            message,
            ty,
            description,
        } => {
            let tag = if failure { "failure" } else { "error" };
            out.text_element(tag, &[("message", &message), ("type", ty)], &description);
            // Earlier attempts that failed too (`scenario_retries`), as Surefire writes reruns.
            for a in previous {
                let tag = if a.outcome == Outcome::Error {
                    "rerunError"
                } else {
                    "rerunFailure"
                };
                out.text_element(
                    tag,
                    &[("message", &a.message), ("type", "ScenarioAttempt")],
                    &format!("{}\n", a.location),
                );
            }
        }
    }
    out.text_element("system-out", &[], system_out);
    out.close("testcase");
}

fn scenario_case(out: &mut XmlWriter, counts: &mut Counts, s: &ScenarioReport) {
    counts.add(s.outcome);
    let status = match s.outcome {
        Outcome::Passed => Status::Success,
        Outcome::Skipped => Status::Skipped(s.message.as_deref()),
        Outcome::Failed | Outcome::Error => {
            let (message, ty) = headline(s);
            Status::NonSuccess {
                failure: s.outcome == Outcome::Failed,
                message,
                ty,
                description: details(s),
            }
        }
    };
    let flaky: Vec<&StepReport> = if s.outcome == Outcome::Passed {
        s.steps.iter().collect()
    } else {
        Vec::new()
    };
    let assertions: usize = s.steps.iter().map(|st| st.assertions).sum();
    let line = match s.outcome {
        Outcome::Failed | Outcome::Error => s.first_problem().map_or(s.line, StepReport::line),
        _ => s.line,
    };
    write_case(
        out,
        &s.name,
        s,
        line,
        s.duration,
        assertions,
        status,
        &flaky,
        &s.previous_attempts,
        &bounded(step_log(&s.steps)),
    );
}

fn step_cases(out: &mut XmlWriter, counts: &mut Counts, s: &ScenarioReport) {
    if s.steps.is_empty() {
        scenario_case(out, counts, s);
        return;
    }
    for st in &s.steps {
        counts.add(st.outcome);
        let status = match st.outcome {
            Outcome::Passed => Status::Success,
            Outcome::Skipped => Status::Skipped(st.message.as_deref()),
            Outcome::Failed | Outcome::Error => Status::NonSuccess {
                failure: st.outcome == Outcome::Failed,
                message: step_headline(st),
                ty: if st.outcome == Outcome::Failed {
                    "Assertion"
                } else {
                    "StepError"
                },
                description: step_details(st),
            },
        };
        let phase = if st.phase == crate::events::Phase::Finally {
            "finally "
        } else {
            ""
        };
        let name = format!("{} / {phase}{}. {}", s.name, st.number, st.name);
        let flaky: &[&StepReport] = if st.outcome == Outcome::Passed {
            &[st]
        } else {
            &[]
        };
        write_case(
            out,
            &name,
            s,
            st.line(),
            st.duration,
            st.assertions,
            status,
            flaky,
            &[],
            &bounded(step_log(std::slice::from_ref(st))),
        );
    }
}

/// The message attribute: the first thing that went wrong, on one line.
fn headline(s: &ScenarioReport) -> (String, &'static str) {
    let ty = match s.first_problem() {
        Some(st) if st.outcome == Outcome::Failed => "Assertion",
        Some(_) => "StepError",
        None => "ScenarioError",
    };
    (s.reason(), ty)
}

fn step_headline(st: &StepReport) -> String {
    st.headline()
}

/// The failure text. Its first `file:line` is the step that did not pass: readers
/// that look for a location in the text (GitHub's JUnit actions take the last one
/// they find) must land there, so steps that merely did not run are listed without
/// their location.
fn details(s: &ScenarioReport) -> String {
    let mut out = String::new();
    let first = s.first_problem();
    if let Some(st) = first {
        out.push_str(&step_details(st));
    }
    if let Some(m) = &s.message {
        out.push_str(m);
        out.push('\n');
    }
    // Other problems (a `finally` step that failed too) follow the first one.
    for st in s.steps.iter().filter(|st| {
        matches!(st.outcome, Outcome::Failed | Outcome::Error)
            && !first.is_some_and(|f| std::ptr::eq(f, *st))
    }) {
        out.push_str(&step_details(st));
    }
    let not_run: Vec<String> = s
        .steps
        .iter()
        .filter(|st| st.outcome == Outcome::Skipped)
        .map(|st| {
            format!(
                "{} ({})",
                st.label(),
                st.message.as_deref().unwrap_or("skipped")
            )
        })
        .collect();
    for line in not_run {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn step_details(st: &StepReport) -> String {
    let mut out = format!("{} ({})\n", st.label(), st.location);
    if let Some(req) = &st.request {
        out.push_str(&format!("  {} {}\n", req.method, req.url));
    }
    for f in &st.failures {
        out.push_str(&format!("  {f}\n"));
    }
    if let Some(m) = &st.message {
        out.push_str(&format!("  {m}\n"));
    }
    for a in &st.failed_attempts {
        out.push_str(&format!("  {a}\n"));
    }
    if let Some((what, received, _)) = st.received()
        && st.outcome == Outcome::Failed
    {
        out.push_str(&format!(
            "  {what}: {}\n",
            crate::events::excerpt(received, 1024)
        ));
    }
    out
}

/// The step-by-step log for `<system-out>`.
fn step_log(steps: &[StepReport]) -> String {
    let mut out = String::new();
    for st in steps {
        let phase = if st.phase == crate::events::Phase::Finally {
            "finally "
        } else {
            ""
        };
        let verdict = match st.outcome {
            Outcome::Passed => "ok",
            Outcome::Failed => "FAILED",
            Outcome::Error => "ERROR",
            Outcome::Skipped => "skipped",
        };
        out.push_str(&format!(
            "{phase}step {} \"{}\": {verdict} ({} ms)\n",
            st.number,
            st.name,
            st.duration.as_millis()
        ));
        for hop in &st.redirects {
            out.push_str(&format!(
                "  > {} {}\n  < {} redirect to {}\n",
                hop.request.method,
                hop.request.url,
                hop.response.status,
                hop.response
                    .headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("location"))
                    .map_or("?", |(_, v)| v.as_str())
            ));
        }
        if let Some(req) = &st.request {
            out.push_str(&format!("  > {} {}\n", req.method, req.url));
        }
        for a in &st.failed_attempts {
            out.push_str(&format!("  ! {a}\n"));
        }
        if let Some(d) = &st.delivery {
            out.push_str(&format!("  < {}\n", d.summary()));
        }
        if let Some(resp) = &st.response {
            out.push_str(&format!(
                "  < {} ({} bytes, {} ms)\n",
                resp.status, resp.body_bytes, resp.time_ms
            ));
        }
        for f in &st.failures {
            out.push_str(&format!("  ✗ {f}\n"));
        }
        if let Some(m) = &st.message {
            out.push_str(&format!("  {m}\n"));
        }
    }
    out
}

fn bounded(text: String) -> String {
    crate::events::excerpt(&text, SYSTEM_OUT_BYTES)
}
