//! GitHub Actions' own output, when the run is a step of a GitHub workflow
//! (`GITHUB_ACTIONS=true`): an `::error file=…,line=…::` workflow command for each
//! scenario that did not pass (GitHub shows it on that line of the file, in the pull
//! request), a `::warning` for each flaky one, and a Markdown job summary appended
//! to the file named by `GITHUB_STEP_SUMMARY`.
//!
//! Hand-written: a workflow command is one line with three escapes, and the job
//! summary is a short Markdown table; no crate writes either for a Rust program
//! without bringing the Actions toolkit's runtime along.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::{Reporter, Summary};
use crate::events::{Event, Outcome, ScenarioReport};
use crate::secrets::Redactor;

/// The job summary lists at most this many scenarios (GitHub caps a summary at 1 MiB).
const SUMMARY_ROWS: usize = 100;

/// Where GitHub's output goes.
pub struct GithubReporter {
    /// The workflow commands (stdout, unless a report took it).
    out: Box<dyn Write + Send>,
    /// `GITHUB_STEP_SUMMARY`: a file the job summary is appended to.
    summary_file: Option<PathBuf>,
    redactor: Redactor,
    scenarios: Vec<Arc<ScenarioReport>>,
}

impl GithubReporter {
    /// A reporter when the environment says this is a GitHub Actions step.
    pub fn from_env(out: Box<dyn Write + Send>, redactor: Redactor) -> Option<Self> {
        if std::env::var("GITHUB_ACTIONS").ok().as_deref() != Some("true") {
            return None;
        }
        let summary_file = std::env::var_os("GITHUB_STEP_SUMMARY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        Some(Self::new(out, summary_file, redactor))
    }

    pub fn new(
        out: Box<dyn Write + Send>,
        summary_file: Option<PathBuf>,
        redactor: Redactor,
    ) -> Self {
        GithubReporter {
            out,
            summary_file,
            redactor,
            scenarios: Vec::new(),
        }
    }
}

impl Reporter for GithubReporter {
    fn event(&mut self, event: &Event) {
        if let Event::ScenarioFinished(s) = event {
            self.scenarios.push(s.clone());
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), String> {
        self.scenarios.sort_by_key(|s| s.index);
        for s in self.scenarios.iter_mut() {
            crate::secrets::mask_shared(s, &self.redactor);
        }
        let commands = self.redactor.scrub(&commands(&self.scenarios, summary));
        let _ = self.out.write_all(commands.as_bytes());
        let _ = self.out.flush();
        let Some(path) = &self.summary_file else {
            return Ok(());
        };
        let text = job_summary(&self.scenarios, summary);
        if let Some(leak) = self.redactor.find_leak(text.as_bytes()) {
            return Err(format!(
                "refusing to write the job summary: it would contain {leak}; this is a bug in the runner, please report it"
            ));
        }
        // Appended, as GitHub asks: other steps of the job write to the same file.
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| {
                format!(
                    "cannot write the job summary to {} (GITHUB_STEP_SUMMARY): {e}",
                    path.display()
                )
            })
    }
}

/// The workflow commands of a run: one line per scenario that did not pass or was flaky.
pub fn commands(scenarios: &[Arc<ScenarioReport>], summary: &Summary) -> String {
    let mut out = String::new();
    for s in scenarios {
        let (level, title) = match s.outcome {
            Outcome::Failed => ("error", format!("FAIL: {}", s.name)),
            Outcome::Error => ("error", format!("ERROR: {}", s.name)),
            Outcome::Passed if s.verdict().flaky => ("warning", format!("FLAKY: {}", s.name)),
            _ => continue,
        };
        let (file, line) = match s.outcome {
            Outcome::Passed => (s.file.clone(), s.line),
            _ => location(s),
        };
        let message = if s.outcome == Outcome::Passed {
            flaky_message(s)
        } else {
            s.reason()
        };
        out.push_str(&format!(
            "::{level} file={},line={line},title={}::{}\n",
            property(&file),
            property(&title),
            data(&message)
        ));
    }
    if let Some(why) = summary.budget.as_ref().and_then(|b| b.exceeded.as_ref()) {
        out.push_str(&format!(
            "::error title={}::{}\n",
            property("over budget (--max-credits)"),
            data(why)
        ));
    }
    out
}

/// The file and line of what went wrong: the failing step's, else the scenario's.
fn location(s: &ScenarioReport) -> (String, usize) {
    match s.first_problem() {
        Some(st) => (s.file.clone(), st.line()),
        None => (s.file.clone(), s.line),
    }
}

fn flaky_message(s: &ScenarioReport) -> String {
    match s.previous_attempts.first() {
        Some(a) => format!(
            "passed on attempt {} of the scenario; attempt 1: {}",
            s.previous_attempts.len() + 1,
            a.message
        ),
        None => "passed after transport retries".into(),
    }
}

/// A workflow command's message: `%`, CR and LF escaped.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value: as [`data`], and `:` and `,` too.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The job summary: the counts, then a table of what did not pass.
pub fn job_summary(scenarios: &[Arc<ScenarioReport>], summary: &Summary) -> String {
    let mut out = format!(
        "### runner: {} passed, {} failed, {}, {} skipped, {} flaky ({:.2}s)\n\n",
        summary.passed,
        summary.failed,
        crate::text::count(summary.errors as u64, "error", "errors"),
        summary.skipped,
        summary.flaky,
        summary.duration.as_secs_f64()
    );
    if let Some(why) = summary.budget.as_ref().and_then(|b| b.exceeded.as_ref()) {
        out.push_str(&format!("**Over budget:** {}\n\n", cell(why)));
    }
    let listed: Vec<&Arc<ScenarioReport>> = scenarios
        .iter()
        .filter(|s| matches!(s.outcome, Outcome::Failed | Outcome::Error) || s.verdict().flaky)
        .collect();
    if listed.is_empty() {
        return out;
    }
    out.push_str("| result | scenario | where | why |\n| --- | --- | --- | --- |\n");
    for s in listed.iter().take(SUMMARY_ROWS) {
        let (result, why) = match s.outcome {
            Outcome::Failed => ("FAIL", s.reason()),
            Outcome::Error => ("ERROR", s.reason()),
            _ => ("FLAKY", flaky_message(s)),
        };
        let (file, line) = location(s);
        out.push_str(&format!(
            "| {result} | {} | `{}:{line}` | {} |\n",
            cell(&s.name),
            cell(&file).replace('`', "'"),
            cell(&why)
        ));
    }
    if listed.len() > SUMMARY_ROWS {
        out.push_str(&format!(
            "\nand {} more: see the JUnit or JSON report.\n",
            listed.len() - SUMMARY_ROWS
        ));
    }
    out.push('\n');
    out
}

/// Text for a Markdown table cell: one line, no column breaks, no HTML, at most 300 characters.
fn cell(text: &str) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let cut = match flat.char_indices().nth(300) {
        Some((at, _)) => format!("{}…", &flat[..at]),
        None => flat,
    };
    cut.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::events::{Assertion, Phase, StepReport};

    fn scenario(index: usize, name: &str, outcome: Outcome) -> ScenarioReport {
        ScenarioReport {
            index,
            name: name.into(),
            file: "api/fail.yaml".into(),
            line: 1,
            flaky: false,
            previous_attempts: Vec::new(),
            classname: "api.fail".into(),
            tags: Vec::new(),
            outcome,
            message: None,
            interrupted: false,
            started_at: String::new(),
            duration: Duration::from_millis(3),
            steps: Vec::new(),
            masked_with: None,
        }
    }

    fn failed_step(line: usize, phase: Phase) -> StepReport {
        StepReport {
            name: "who, am: I".into(),
            phase,
            number: 1,
            location: format!("api/fail.yaml:{line}"),
            outcome: Outcome::Failed,
            message: None,
            failures: vec![Assertion {
                subject: "$.n".into(),
                expected: "100%".into(),
                actual: "1\n2".into(),
            }],
            passed: Vec::new(),
            redirects: Vec::new(),
            delivery: None,
            request: None,
            response: None,
            failed_attempts: Vec::new(),
            attempts: 1,
            duration: Duration::ZERO,
            assertions: 1,
        }
    }

    #[test]
    fn each_scenario_that_did_not_pass_is_annotated_on_its_failing_line() {
        let mut failed = scenario(0, "the key works", Outcome::Failed);
        failed.steps = vec![failed_step(5, Phase::Main)];
        let mut cleanup = scenario(1, "cleans up", Outcome::Failed);
        cleanup.steps = vec![failed_step(14, Phase::Finally)];
        let mut errored = scenario(2, "no server", Outcome::Error);
        errored.line = 20;
        errored.message = Some("cannot connect".into());
        let fine = scenario(3, "fine", Outcome::Passed);
        let mut flaky = scenario(4, "sometimes", Outcome::Passed);
        flaky.flaky = true;
        flaky.line = 30;
        flaky.previous_attempts.push(crate::events::Attempt {
            outcome: Outcome::Failed,
            message: "step 1 \"x\": status: expected 200, got 503".into(),
            location: "api/fail.yaml:33".into(),
            duration: Duration::ZERO,
        });
        let all: Vec<Arc<ScenarioReport>> = [failed, cleanup, errored, fine, flaky]
            .into_iter()
            .map(Arc::new)
            .collect();
        let summary = Summary {
            budget: Some(super::super::Budget {
                max_credits: 0,
                exceeded: Some("the run spent 5 credits, over --max-credits 0".into()),
            }),
            ..Summary::default()
        };
        let text = commands(&all, &summary);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "::error file=api/fail.yaml,line=5,title=FAIL%3A the key works::step 1 \"who, am: I\": $.n: expected 100%25, got 1%0A2",
                "::error file=api/fail.yaml,line=14,title=FAIL%3A cleans up::finally step 1 \"who, am: I\": $.n: expected 100%25, got 1%0A2",
                "::error file=api/fail.yaml,line=20,title=ERROR%3A no server::cannot connect",
                "::warning file=api/fail.yaml,line=30,title=FLAKY%3A sometimes::passed on attempt 2 of the scenario; attempt 1: step 1 \"x\": status: expected 200, got 503",
                "::error title=over budget (--max-credits)::the run spent 5 credits, over --max-credits 0",
            ]
        );
        let md = job_summary(&all, &summary);
        assert!(
            md.starts_with("### runner: 0 passed, 0 failed, 0 errors"),
            "{md}"
        );
        assert!(
            md.contains("| FAIL | the key works | `api/fail.yaml:5` |"),
            "{md}"
        );
        assert!(
            md.contains("| FLAKY | sometimes | `api/fail.yaml:30` |"),
            "{md}"
        );
        assert!(md.contains("**Over budget:**"), "{md}");
        assert!(!md.contains("| fine |"), "{md}");
    }

    #[test]
    fn markdown_cells_hold_no_markup() {
        assert_eq!(cell("a|b\n<script>"), "a\\|b &lt;script&gt;");
    }
}
