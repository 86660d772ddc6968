//! Reporters: the console, JUnit XML and a JSON report, each a consumer of the
//! engine's events. Secrets are masked once, here, before any reporter sees an event.

pub mod console;
pub mod html;
pub mod json;
pub mod junit;
pub mod redact;
pub mod xml;

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::events::{Event, Outcome, ScenarioReport, StepReport, Verdict};
use redact::Redactor;

/// The counts a run ends with.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub errors: usize,
    pub skipped: usize,
    /// Scenarios that passed only after retried attempts.
    pub flaky: usize,
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    pub interrupted: bool,
    /// What the run would have cost on the real API (runs against the embedded mock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spend: Option<crate::safety::Spend>,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0).round() / 1000.0)
}

impl Summary {
    pub fn from_verdicts(verdicts: &[Verdict], duration: Duration, interrupted: bool) -> Self {
        let mut s = Summary {
            total: verdicts.len(),
            duration,
            interrupted,
            ..Summary::default()
        };
        for v in verdicts {
            match v.outcome {
                Outcome::Passed => s.passed += 1,
                Outcome::Failed => s.failed += 1,
                Outcome::Error => s.errors += 1,
                Outcome::Skipped => s.skipped += 1,
            }
            s.flaky += usize::from(v.flaky);
        }
        s
    }

    pub fn all_passed(&self) -> bool {
        self.failed == 0 && self.errors == 0
    }
}

/// A consumer of events.
pub trait Reporter: Send {
    fn event(&mut self, event: &Event);
    /// Called once after the last event; file reporters write here.
    fn finish(&mut self, summary: &Summary) -> Result<(), String>;
}

/// Feed every event, masked, to every reporter until the engine is done.
pub async fn pump(
    mut rx: UnboundedReceiver<Event>,
    redactor: Redactor,
    mut reporters: Vec<Box<dyn Reporter>>,
) -> Vec<Box<dyn Reporter>> {
    while let Some(mut event) = rx.recv().await {
        scrub_event(&mut event, &redactor);
        for r in reporters.iter_mut() {
            r.event(&event);
        }
    }
    reporters
}

fn scrub_event(e: &mut Event, r: &Redactor) {
    match e {
        Event::RunStarted(info) => r.scrub_in_place(&mut info.target),
        Event::ScenarioStarted { name, .. } => r.scrub_in_place(name),
        Event::StepFinished { step, .. } => scrub_step(step, r),
        Event::ScenarioFinished(s) => mask_shared(s, r),
        Event::Notice(text) => r.scrub_in_place(text),
    }
}

/// Mask a scenario's report unless it was masked with every secret known now: a secret
/// first seen late in the run (a header of a later step) may sit in a report kept
/// since, and a file report must not carry it.
pub(crate) fn mask_scenario(s: &mut ScenarioReport, r: &Redactor) {
    // Read before masking: a secret added meanwhile makes the next call mask again.
    let generation = r.generation();
    if s.masked_with != Some(generation) {
        scrub_scenario(s, r);
        s.masked_with = Some(generation);
    }
}

/// [`mask_scenario`] for a report that reporters share: copied only when it must change.
pub(crate) fn mask_shared(s: &mut std::sync::Arc<ScenarioReport>, r: &Redactor) {
    if s.masked_with != Some(r.generation()) {
        mask_scenario(std::sync::Arc::make_mut(s), r);
    }
}

fn scrub_scenario(s: &mut ScenarioReport, r: &Redactor) {
    r.scrub_in_place(&mut s.name);
    if let Some(m) = s.message.as_mut() {
        r.scrub_in_place(m);
    }
    for st in s.steps.iter_mut() {
        scrub_step(st, r);
    }
}

fn scrub_step(st: &mut StepReport, r: &Redactor) {
    r.scrub_in_place(&mut st.name);
    if let Some(m) = st.message.as_mut() {
        r.scrub_in_place(m);
    }
    for f in st.failures.iter_mut().chain(st.passed.iter_mut()) {
        r.scrub_in_place(&mut f.subject);
        r.scrub_in_place(&mut f.expected);
        r.scrub_in_place(&mut f.actual);
    }
    for a in st.failed_attempts.iter_mut() {
        r.scrub_in_place(a);
    }
    if let Some(req) = st.request.as_mut() {
        r.scrub_in_place(&mut req.url);
        for (_, v) in req.headers.iter_mut() {
            r.scrub_in_place(v);
        }
        if let Some(b) = req.body.as_mut() {
            r.scrub_in_place(b);
        }
    }
    if let Some(resp) = st.response.as_mut() {
        for (_, v) in resp.headers.iter_mut() {
            r.scrub_in_place(v);
        }
        r.scrub_in_place(&mut resp.body);
    }
}

/// Write `bytes` to `path` atomically (a temporary file in the same folder, then
/// rename), then make sure no secret slipped into it.
pub fn write_report(path: &Path, bytes: &[u8], redactor: &Redactor) -> Result<(), String> {
    if let Some(leak) = redactor.find_leak(bytes) {
        return Err(format!(
            "refusing to write {}: it would contain {leak}; this is a bug in the runner, please report it",
            path.display()
        ));
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|_| tmp.flush())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    let written =
        std::fs::read(path).map_err(|e| format!("cannot read back {}: {e}", path.display()))?;
    if let Some(leak) = redactor.find_leak(&written) {
        let _ = std::fs::remove_file(path);
        return Err(format!("removed {}: it contained {leak}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_holding_a_secret_is_not_written() {
        let r = Redactor::new();
        r.add_labeled("hunter2-very-secret", "env DB_PASSWORD");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        let encoded = "{\"pw\":\"hunter2%2Dvery%2Dsecret\"}";
        let err = write_report(&path, encoded.as_bytes(), &r).unwrap_err();
        assert!(err.contains("env DB_PASSWORD"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(!path.exists());
        write_report(&path, b"{\"pw\":\"***\"}", &r).unwrap();
        assert!(path.exists());
    }

    #[test]
    fn a_scenario_is_masked_again_only_after_a_new_secret() {
        let r = Redactor::new();
        r.add("alpha-4a1f-9c2e-77d0");
        let mut s = ScenarioReport {
            index: 0,
            name: "uses alpha-4a1f-9c2e-77d0 and omega-b3c5-1e08-aa42".into(),
            file: "a.yaml".into(),
            classname: "a".into(),
            tags: Vec::new(),
            outcome: Outcome::Passed,
            message: None,
            interrupted: false,
            started_at: String::new(),
            duration: Duration::ZERO,
            steps: Vec::new(),
            masked_with: None,
        };
        mask_scenario(&mut s, &r);
        assert_eq!(s.name, "uses *** and omega-b3c5-1e08-aa42");
        let seen = s.masked_with;
        r.add("alpha-4a1f-9c2e-77d0");
        assert_eq!(
            r.generation(),
            seen.unwrap_or(0),
            "a known secret changes nothing"
        );
        // Unmasked text planted after masking shows the pass is skipped...
        s.name.push_str(" alpha-4a1f-9c2e-77d0");
        mask_scenario(&mut s, &r);
        assert!(s.name.ends_with(" alpha-4a1f-9c2e-77d0"), "{}", s.name);
        // ...until a new secret is learnt: then everything is masked again.
        r.add("omega-b3c5-1e08-aa42");
        mask_scenario(&mut s, &r);
        assert_eq!(s.name, "uses *** and *** ***");
    }
}
