//! A machine-readable report of the whole run: scenarios, steps, requests,
//! responses, assertions, timings.

use std::path::PathBuf;

use serde::Serialize;

use super::redact::Redactor;
use super::{Reporter, Summary};
use crate::events::{Event, RunInfo, ScenarioReport};

pub struct JsonReporter {
    path: PathBuf,
    redactor: Redactor,
    run: Option<RunInfo>,
    scenarios: Vec<std::sync::Arc<ScenarioReport>>,
}

#[derive(Serialize)]
struct Document<'a> {
    /// Bumped when a field changes meaning or goes away.
    format_version: u32,
    runner_version: &'static str,
    run: Option<&'a RunInfo>,
    summary: &'a Summary,
    scenarios: Vec<&'a ScenarioReport>,
}

impl JsonReporter {
    pub fn new(path: PathBuf, redactor: Redactor) -> Self {
        JsonReporter {
            path,
            redactor,
            run: None,
            scenarios: Vec::new(),
        }
    }
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted(info) => self.run = Some(info.clone()),
            Event::ScenarioFinished(s) => self.scenarios.push(s.clone()),
            _ => {}
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), String> {
        self.scenarios.sort_by_key(|s| s.index);
        for s in self.scenarios.iter_mut() {
            super::mask_shared(s, &self.redactor);
        }
        if let Some(run) = self.run.as_mut() {
            self.redactor.scrub_in_place(&mut run.target);
        }
        let doc = Document {
            format_version: 1,
            runner_version: env!("CARGO_PKG_VERSION"),
            run: self.run.as_ref(),
            summary,
            scenarios: self.scenarios.iter().map(|s| &**s).collect(),
        };
        let bytes = serde_json::to_vec_pretty(&doc)
            .map_err(|e| format!("cannot serialize the JSON report: {e}"))?;
        super::write_output(&self.path, &bytes, &self.redactor)
    }
}
