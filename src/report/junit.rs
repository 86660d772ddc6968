//! JUnit XML for CI: one `<testsuite>` per file, one `<testcase>` per scenario
//! (or per step), failures and errors told apart, flaky passes marked.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;

use super::redact::Redactor;
use super::xml::XmlWriter;
use super::{Reporter, Summary, write_report};
use crate::events::{Event, Outcome, ScenarioReport, StepReport};

/// The step-by-step log kept in `<system-out>` is cut beyond this.
const SYSTEM_OUT_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Granularity {
    /// One testcase per scenario.
    Scenario,
    /// One testcase per step.
    Step,
}

pub struct JunitReporter {
    path: PathBuf,
    granularity: Granularity,
    redactor: Redactor,
    scenarios: Vec<std::sync::Arc<ScenarioReport>>,
}

impl JunitReporter {
    pub fn new(path: PathBuf, granularity: Granularity, redactor: Redactor) -> Self {
        JunitReporter {
            path,
            granularity,
            redactor,
            scenarios: Vec::new(),
        }
    }
}

impl Reporter for JunitReporter {
    fn event(&mut self, event: &Event) {
        if let Event::ScenarioFinished(s) = event {
            self.scenarios.push(s.clone());
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), String> {
        self.scenarios.sort_by_key(|s| s.index);
        for s in self.scenarios.iter_mut() {
            super::mask_shared(s, &self.redactor);
        }
        let xml = render(&self.scenarios, self.granularity, summary.duration)?;
        write_report(&self.path, xml.as_bytes(), &self.redactor)
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

/// One `<testsuite>` being written: its cases go to `body` while its counts
/// add up, since the counts come first in the XML.
struct SuiteOut<'a> {
    first: &'a ScenarioReport,
    counts: Counts,
    time: Duration,
    body: XmlWriter,
}

/// The whole report as XML text, written in one pass over the scenarios (in the
/// layout quick-junit writes and reads back).
pub fn render<S: std::borrow::Borrow<ScenarioReport>>(
    scenarios: &[S],
    granularity: Granularity,
    duration: Duration,
) -> Result<String, String> {
    let mut suites: IndexMap<&str, SuiteOut<'_>> = IndexMap::new();
    for s in scenarios.iter().map(S::borrow) {
        let suite = suites.entry(s.file.as_str()).or_insert_with(|| SuiteOut {
            first: s,
            counts: Counts::default(),
            time: Duration::ZERO,
            body: XmlWriter::with_depth(2),
        });
        match granularity {
            Granularity::Scenario => scenario_case(&mut suite.body, &mut suite.counts, s),
            Granularity::Step => step_cases(&mut suite.body, &mut suite.counts, s),
        }
        suite.time += s.duration;
    }
    let total = suites.values().fold(Counts::default(), |mut acc, s| {
        acc.merge(s.counts);
        acc
    });
    let body_len: usize = suites.values().map(|s| s.body.len()).sum();
    let mut out = XmlWriter::with_capacity(body_len + 512 * (suites.len() + 1));
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
    for (_, suite) in suites {
        let c = suite.counts;
        let stamp = chrono::DateTime::parse_from_rfc3339(&suite.first.started_at)
            .ok()
            .map(|t| timestamp(&t));
        let mut attrs: Vec<(&str, &str)> = Vec::with_capacity(7);
        let (name, tests, skipped, errors, failures, time) = (
            suite.first.file.as_str(),
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
        out.raw(&suite.body);
        out.close("testsuite");
    }
    out.close("testsuites");
    Ok(out.finish())
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
    time: Duration,
    assertions: usize,
    status: Status<'_>,
    flaky: &[&StepReport],
    system_out: &str,
) {
    let (assertions, time) = (assertions.to_string(), seconds(time));
    out.open(
        "testcase",
        &[
            ("name", name),
            ("classname", &s.classname),
            ("assertions", &assertions),
            ("time", &time),
            ("file", &s.file),
        ],
    );
    match status {
        Status::Success => {
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
    write_case(
        out,
        &s.name,
        s,
        s.duration,
        assertions,
        status,
        &flaky,
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
            st.duration,
            st.assertions,
            status,
            flaky,
            &bounded(step_log(std::slice::from_ref(st))),
        );
    }
}

/// The message attribute: the first thing that went wrong, on one line.
fn headline(s: &ScenarioReport) -> (String, &'static str) {
    match s.first_problem() {
        Some(st) => (
            step_headline(st),
            if st.outcome == Outcome::Failed {
                "Assertion"
            } else {
                "StepError"
            },
        ),
        None => (
            s.message
                .clone()
                .unwrap_or_else(|| "the scenario did not pass".into()),
            "ScenarioError",
        ),
    }
}

fn step_headline(st: &StepReport) -> String {
    let what = match (st.failures.first(), &st.message) {
        (Some(f), _) => {
            let more = if st.failures.len() > 1 {
                format!(" (and {} more)", st.failures.len() - 1)
            } else {
                String::new()
            };
            format!("{f}{more}")
        }
        (None, Some(m)) => m.clone(),
        (None, None) => "did not pass".into(),
    };
    format!("step {} \"{}\": {what}", st.number, st.name)
}

fn details(s: &ScenarioReport) -> String {
    let mut out = String::new();
    if let Some(m) = &s.message {
        out.push_str(m);
        out.push('\n');
    }
    for st in s.steps.iter().filter(|st| st.outcome != Outcome::Passed) {
        out.push_str(&step_details(st));
    }
    out
}

fn step_details(st: &StepReport) -> String {
    let mut out = format!("step {} \"{}\" ({})\n", st.number, st.name, st.location);
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
    if let Some(resp) = &st.response
        && st.outcome == Outcome::Failed
    {
        out.push_str(&format!(
            "  response {}: {}\n",
            resp.status,
            crate::events::excerpt(&resp.body, 1024)
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
        if let Some(resp) = &st.response {
            if resp.version == crate::engine::WEBHOOK_DELIVERY {
                out.push_str(&format!(
                    "  < webhook delivery ({} bytes, after {} ms)\n",
                    resp.body_bytes, resp.time_ms
                ));
            } else {
                out.push_str(&format!(
                    "  < {} ({} bytes, {} ms)\n",
                    resp.status, resp.body_bytes, resp.time_ms
                ));
            }
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
