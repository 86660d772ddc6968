//! What the engine tells the reporters: a stream of events carrying the results.
//!
//! Everything here is plain data; secrets are masked out of it once, between the
//! engine and the reporters (see `secrets`).

use std::time::Duration;

use serde::Serialize;

/// One thing that happened during a run.
#[derive(Debug, Clone)]
pub enum Event {
    RunStarted(RunInfo),
    ScenarioStarted {
        index: usize,
        name: String,
    },
    StepFinished {
        index: usize,
        step: Box<StepReport>,
    },
    /// Shared: file reporters keep it without copying it.
    ScenarioFinished(std::sync::Arc<ScenarioReport>),
    /// A line for the console that belongs to no scenario (the spend report, say).
    Notice(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub total: usize,
    /// Where requests go, e.g. "the embedded Layers mock at http://127.0.0.1:4123".
    pub target: String,
    pub jobs: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Passed,
    Failed,
    Error,
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Main,
    Finally,
}

/// The result of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub index: usize,
    pub name: String,
    pub file: String,
    /// The line of the file where the scenario starts (its `name:`, or its first key).
    pub line: usize,
    pub classname: String,
    pub tags: Vec<String>,
    pub outcome: Outcome,
    /// Passed on a later attempt after failing an earlier one (`scenario_retries`).
    pub flaky: bool,
    /// The attempts before the one this report holds, when the scenario was run again
    /// (`--scenario-retries` / `scenario_retries:`), oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub previous_attempts: Vec<Attempt>,
    /// Why it was skipped, errored or interrupted, when that is not a step's doing.
    pub message: Option<String>,
    pub interrupted: bool,
    /// RFC 3339.
    pub started_at: String,
    #[serde(serialize_with = "as_secs")]
    pub duration: Duration,
    /// Serialised with a `curl` reproducer on each step that failed or errored.
    #[serde(serialize_with = "steps_with_reproducers")]
    pub steps: Vec<StepReport>,
    /// The redactor's generation when this report was masked (`None`: not yet), so
    /// that a file reporter masks it again only if a secret was learnt since.
    #[serde(skip)]
    pub masked_with: Option<u64>,
}

/// An earlier run of a scenario that was run again: how it ended and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Attempt {
    pub outcome: Outcome,
    /// The one-line reason (`step 2 "read it back": $.name: expected "a", got "b"`).
    pub message: String,
    /// `file:line` of the step that did not pass (or of the scenario).
    pub location: String,
    #[serde(serialize_with = "as_secs")]
    pub duration: Duration,
}

/// What the run's summary keeps of a finished scenario (the reporters keep the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub outcome: Outcome,
    /// Passed, but only after retried attempts.
    pub flaky: bool,
}

impl ScenarioReport {
    pub fn verdict(&self) -> Verdict {
        Verdict {
            outcome: self.outcome,
            flaky: self.outcome == Outcome::Passed
                && (self.flaky || self.steps.iter().any(|st| !st.failed_attempts.is_empty())),
        }
    }

    /// `file:line` of what went wrong: the first step that did not pass, else the scenario.
    pub fn problem_location(&self) -> String {
        match self.first_problem() {
            Some(st) => st.location.clone(),
            None => format!("{}:{}", self.file, self.line),
        }
    }

    /// Why the scenario did not pass, on one line: the first step that did not pass
    /// and its first problem, or the scenario's own message.
    pub fn reason(&self) -> String {
        match self.first_problem() {
            Some(st) => st.headline(),
            None => self
                .message
                .clone()
                .unwrap_or_else(|| "the scenario did not pass".into()),
        }
    }

    /// The first step that did not pass, for the summary line.
    pub fn first_problem(&self) -> Option<&StepReport> {
        self.steps
            .iter()
            .find(|s| matches!(s.outcome, Outcome::Failed | Outcome::Error))
    }
}

/// The result of one step.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub name: String,
    pub phase: Phase,
    /// 1-based within its phase.
    pub number: usize,
    /// `file:line` where the step is written.
    pub location: String,
    pub outcome: Outcome,
    /// For an error or a skip: what happened, in a sentence.
    pub message: Option<String>,
    pub failures: Vec<Assertion>,
    /// The assertions that held, in the order they ran (recorded for the JSON report).
    pub passed: Vec<Assertion>,
    pub request: Option<RequestRecord>,
    pub response: Option<ResponseRecord>,
    /// What a `wait_webhook` step received (such a step has no request or response).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryRecord>,
    /// Redirect hops followed before the final `request`/`response`, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redirects: Vec<Exchange>,
    /// Attempts that failed before the last one (transport errors, 5xx, 429).
    pub failed_attempts: Vec<String>,
    /// How many times the request was sent (polling and retries included).
    pub attempts: u32,
    #[serde(serialize_with = "as_secs")]
    pub duration: Duration,
    /// Assertions evaluated on the final response.
    pub assertions: usize,
}

impl ScenarioReport {
    /// A report of scenario `index` of `file` with the given outcome and nothing else
    /// yet: steps, message, timings and the rest are filled in by whoever has them.
    pub fn new(
        index: usize,
        name: impl Into<String>,
        file: impl Into<String>,
        outcome: Outcome,
    ) -> Self {
        let file = file.into();
        ScenarioReport {
            index,
            name: name.into(),
            classname: file
                .trim_end_matches(".yaml")
                .trim_end_matches(".yml")
                .replace('/', "."),
            file,
            line: 1,
            tags: Vec::new(),
            outcome,
            flaky: false,
            previous_attempts: Vec::new(),
            message: None,
            interrupted: false,
            started_at: String::new(),
            duration: Duration::ZERO,
            steps: Vec::new(),
            masked_with: None,
        }
    }
}

impl StepReport {
    /// What the step received, for a failure's excerpt: the response to its request, or
    /// the webhook delivery it waited for, as (how to name it, body, the body's whole size).
    pub fn received(&self) -> Option<(String, &str, usize)> {
        if let Some(resp) = &self.response {
            return Some((
                format!("response {}", resp.status),
                &resp.body,
                resp.body_bytes,
            ));
        }
        self.delivery
            .as_ref()
            .map(|d| (d.summary(), d.body.as_str(), d.body_bytes))
    }

    /// `step 2 "read it back"` or `finally step 1 "archive it"`.
    pub fn label(&self) -> String {
        let phase = if self.phase == Phase::Finally {
            "finally "
        } else {
            ""
        };
        format!("{phase}step {} \"{}\"", self.number, self.name)
    }

    /// The line number of `location` (`file:line`), 0 when it has none.
    pub fn line(&self) -> usize {
        self.location
            .rsplit_once(':')
            .and_then(|(_, l)| l.parse().ok())
            .unwrap_or(0)
    }

    /// The step and its first problem, on one line: `step 1 "who am I": $.x: expected 1, got 2`.
    pub fn headline(&self) -> String {
        let what = match (self.failures.first(), &self.message) {
            (Some(f), _) => {
                let more = if self.failures.len() > 1 {
                    format!(" (and {} more)", self.failures.len() - 1)
                } else {
                    String::new()
                };
                format!("{f}{more}")
            }
            (None, Some(m)) => m.clone(),
            (None, None) => "did not pass".into(),
        };
        format!("{}: {what}", self.label())
    }
}

/// One assertion: what was checked, what it should have been, what it was.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Assertion {
    /// What was checked: `status`, `$.id`, `header Content-Type`, `body`, `schema`, `capture job_id`.
    pub subject: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Assertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.subject, self.expected, self.actual
        )
    }
}

/// One request and the response it got: a redirect hop.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    pub request: RequestRecord,
    pub response: ResponseRecord,
}

#[derive(Debug, Clone, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// The body as sent (an excerpt when long).
    pub body: Option<String>,
}

impl RequestRecord {
    /// The `curl` command that sends this (masked) request again.
    pub fn reproducer(&self) -> String {
        crate::curl::reproducer(&self.method, &self.url, &self.headers, self.body.as_deref())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ResponseRecord {
    pub status: u16,
    pub version: String,
    pub headers: Vec<(String, String)>,
    /// The body (an excerpt when long; invalid UTF-8 shown as U+FFFD).
    pub body: String,
    pub body_bytes: usize,
    pub truncated: bool,
    pub time_ms: u64,
}

/// A webhook delivery the run's receiver took for a `wait_webhook` step: a request
/// a server sent to us, not a response to one of ours.
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    pub headers: Vec<(String, String)>,
    /// The body (an excerpt when long; invalid UTF-8 shown as U+FFFD).
    pub body: String,
    pub body_bytes: usize,
    pub truncated: bool,
    /// How long the step waited for it.
    pub after_ms: u64,
}

impl DeliveryRecord {
    /// `webhook delivery (120 bytes, after 35 ms)`: how every reporter names it.
    pub fn summary(&self) -> String {
        format!(
            "webhook delivery ({} bytes, after {} ms)",
            self.body_bytes, self.after_ms
        )
    }
}

/// A step as serialised in a report: its fields, then `curl` when it failed or errored.
#[derive(Serialize)]
struct StepOut<'a> {
    #[serde(flatten)]
    step: &'a StepReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    curl: Option<String>,
}

/// Every step, each failing one with the `curl` command that sends its (masked)
/// request again: reports say how to reproduce a failure, not only that it happened.
fn steps_with_reproducers<S: serde::Serializer>(
    steps: &[StepReport],
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(steps.iter().map(|step| StepOut {
        step,
        curl: match (&step.request, step.outcome) {
            (Some(req), Outcome::Failed | Outcome::Error) => Some(req.reproducer()),
            _ => None,
        },
    }))
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Cut `text` to at most `max` bytes on a character boundary, saying so.
/// [`excerpt`], saying `total` bytes in all: the size of the whole body, when
/// `text` is itself a cut (a report's excerpt) or a decoding of it.
pub fn excerpt_of(text: &str, max: usize, total: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({total} bytes in all)", &text[..end])
}

pub fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}
