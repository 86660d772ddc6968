//! JUnit XML for CI: one `<testsuite>` per file, one `<testcase>` per scenario
//! (or per step), failures and errors told apart, flaky passes marked.

use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};

use super::redact::Redactor;
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
    scenarios: Vec<ScenarioReport>,
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
            self.scenarios.push((**s).clone());
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), String> {
        self.scenarios.sort_by_key(|s| s.index);
        for s in self.scenarios.iter_mut() {
            super::scrub_scenario(s, &self.redactor);
        }
        let xml = render(&self.scenarios, self.granularity, summary.duration)?;
        write_report(&self.path, xml.as_bytes(), &self.redactor)
    }
}

/// The whole report as XML text.
pub fn render(
    scenarios: &[ScenarioReport],
    granularity: Granularity,
    duration: Duration,
) -> Result<String, String> {
    let mut report = Report::new("runner");
    report.set_time(duration);
    report.set_timestamp(chrono::Utc::now().fixed_offset());
    let mut suites: IndexMap<String, TestSuite> = IndexMap::new();
    for s in scenarios {
        let suite = suites.entry(s.file.clone()).or_insert_with(|| {
            let mut t = TestSuite::new(clean(&s.file));
            t.set_time(Duration::ZERO);
            if let Ok(ts) = chrono::DateTime::parse_from_rfc3339(&s.started_at) {
                t.set_timestamp(ts);
            }
            t
        });
        let cases = match granularity {
            Granularity::Scenario => vec![scenario_case(s)],
            Granularity::Step => step_cases(s),
        };
        suite.add_test_cases(cases);
        let total = suite.time.unwrap_or_default() + s.duration;
        suite.set_time(total);
    }
    for (_, suite) in suites {
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .map_err(|e| format!("cannot serialize the JUnit report: {e}"))
}

fn base_case(name: &str, s: &ScenarioReport, status: TestCaseStatus, time: Duration) -> TestCase {
    let mut c = TestCase::new(clean(name), status);
    c.set_classname(clean(&s.classname));
    c.set_time(time);
    c.extra.insert("file".into(), clean(&s.file).into());
    c
}

fn scenario_case(s: &ScenarioReport) -> TestCase {
    let status = match s.outcome {
        Outcome::Passed => {
            let mut st = TestCaseStatus::success();
            for step in &s.steps {
                add_flaky_runs(&mut st, step);
            }
            st
        }
        Outcome::Skipped => {
            let mut st = TestCaseStatus::skipped();
            if let Some(m) = &s.message {
                st.set_message(clean(m));
            }
            st
        }
        Outcome::Failed | Outcome::Error => {
            let kind = if s.outcome == Outcome::Failed {
                NonSuccessKind::Failure
            } else {
                NonSuccessKind::Error
            };
            let mut st = TestCaseStatus::non_success(kind);
            let (message, ty) = headline(s);
            st.set_message(clean(&message));
            st.set_type(ty);
            st.set_description(clean(&details(s)));
            st
        }
    };
    let mut c = base_case(&s.name, s, status, s.duration);
    let assertions: usize = s.steps.iter().map(|st| st.assertions).sum();
    c.set_assertions(assertions);
    c.set_system_out(clean(&bounded(step_log(&s.steps))));
    c
}

fn step_cases(s: &ScenarioReport) -> Vec<TestCase> {
    if s.steps.is_empty() {
        return vec![scenario_case(s)];
    }
    s.steps
        .iter()
        .map(|st| {
            let status = match st.outcome {
                Outcome::Passed => {
                    let mut t = TestCaseStatus::success();
                    add_flaky_runs(&mut t, st);
                    t
                }
                Outcome::Skipped => {
                    let mut t = TestCaseStatus::skipped();
                    if let Some(m) = &st.message {
                        t.set_message(clean(m));
                    }
                    t
                }
                Outcome::Failed | Outcome::Error => {
                    let kind = if st.outcome == Outcome::Failed {
                        NonSuccessKind::Failure
                    } else {
                        NonSuccessKind::Error
                    };
                    let mut t = TestCaseStatus::non_success(kind);
                    t.set_message(clean(&step_headline(st)));
                    t.set_type(if st.outcome == Outcome::Failed {
                        "AssertionFailure"
                    } else {
                        "StepError"
                    });
                    t.set_description(clean(&step_details(st)));
                    t
                }
            };
            let phase = if st.phase == crate::events::Phase::Finally {
                "finally "
            } else {
                ""
            };
            let name = format!("{} / {phase}{}. {}", s.name, st.number, st.name);
            let mut c = base_case(&name, s, status, st.duration);
            c.set_assertions(st.assertions);
            c.set_system_out(clean(&bounded(step_log(std::slice::from_ref(st)))));
            c
        })
        .collect()
}

/// A passing step that needed transport retries: one `<flakyFailure>` per failed attempt.
fn add_flaky_runs(status: &mut TestCaseStatus, step: &StepReport) {
    for attempt in &step.failed_attempts {
        let mut rerun = TestRerun::new(NonSuccessKind::Failure);
        rerun.set_message(clean(&format!(
            "step {} \"{}\": {attempt}",
            step.number, step.name
        )));
        rerun.set_type("FlakyAttempt");
        status.add_rerun(rerun);
    }
}

/// The message attribute: the first thing that went wrong, on one line.
fn headline(s: &ScenarioReport) -> (String, &'static str) {
    match s.first_problem() {
        Some(st) => (
            step_headline(st),
            if st.outcome == Outcome::Failed {
                "AssertionFailure"
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

/// Only characters XML 1.0 allows; quick-junit drops C0 controls, this also
/// drops U+FFFE/U+FFFF and C1 controls, which some CI parsers reject.
pub fn clean(text: &str) -> String {
    text.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r')
                || (('\u{20}'..='\u{D7FF}').contains(&c) && !('\u{7F}'..='\u{9F}').contains(&c))
                || ('\u{E000}'..='\u{FFFD}').contains(&c)
                || c >= '\u{10000}'
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keeps_text_and_drops_what_xml_forbids() {
        assert_eq!(
            clean("a\u{1b}[31mb\u{0}c\u{FFFE}d\u{FFFF}é\n"),
            "a[31mbcdé\n"
        );
    }
}
