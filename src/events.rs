//! What the engine tells the reporters: a stream of events carrying the results.
//!
//! Everything here is plain data; secrets are masked out of it once, between the
//! engine and the reporters (see `report::redact`).

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
    pub classname: String,
    pub tags: Vec<String>,
    pub outcome: Outcome,
    /// Why it was skipped, errored or interrupted, when that is not a step's doing.
    pub message: Option<String>,
    pub interrupted: bool,
    /// RFC 3339.
    pub started_at: String,
    #[serde(serialize_with = "as_secs")]
    pub duration: Duration,
    pub steps: Vec<StepReport>,
    /// The redactor's generation when this report was masked (`None`: not yet), so
    /// that a file reporter masks it again only if a secret was learnt since.
    #[serde(skip)]
    pub masked_with: Option<u64>,
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
                && self.steps.iter().any(|st| !st.failed_attempts.is_empty()),
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

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// Cut `text` to at most `max` bytes on a character boundary, saying so.
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
