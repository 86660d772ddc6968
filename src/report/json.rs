//! A machine-readable report of the whole run: scenarios, steps, requests,
//! responses, assertions, timings.

use std::path::PathBuf;

use serde::Serialize;

use super::{ReportFile, Reporter, Spool, Summary};
use crate::events::{Event, RunInfo, ScenarioReport};
use crate::secrets::Redactor;

/// Writes the report as scenarios finish: each scenario's object is serialised
/// then and kept on disk ([`Spool`]), nothing of it in memory; the document is put
/// together, in scenario order, at the end (the summary comes before the scenarios).
pub struct JsonReporter {
    path: PathBuf,
    redactor: Redactor,
    run: Option<RunInfo>,
    spool: Option<Spool>,
    /// The first scenario that could not be serialised (refuses the report).
    failed: Option<String>,
}

/// What the pretty printer puts before each line of an element of the top-level
/// document's `scenarios` list (two levels deep).
const ELEMENT_INDENT: &[u8] = b"    ";

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
        let spool = Some(Spool::new(&path));
        JsonReporter {
            path,
            redactor,
            run: None,
            spool,
            failed: None,
        }
    }
}

/// `s` as the pretty printer writes it as an element of the document's
/// `scenarios` (each line indented two levels), so that the pieces put together
/// read exactly as the whole document serialised at once.
fn scenario_json(s: &ScenarioReport) -> Result<Vec<u8>, String> {
    let flat = serde_json::to_vec_pretty(s)
        .map_err(|e| format!("cannot serialize the JSON report: {e}"))?;
    let lines = flat.iter().filter(|b| **b == b'\n').count() + 1;
    let mut out = Vec::with_capacity(flat.len() + lines * ELEMENT_INDENT.len());
    // Strings never hold a raw newline (JSON escapes it): each is a line break.
    for (i, line) in flat.split(|b| *b == b'\n').enumerate() {
        if i > 0 {
            out.push(b'\n');
        }
        out.extend_from_slice(ELEMENT_INDENT);
        out.extend_from_slice(line);
    }
    Ok(out)
}

impl Reporter for JsonReporter {
    fn event(&mut self, event: &Event) {
        match event {
            Event::RunStarted(info) => self.run = Some(info.clone()),
            Event::ScenarioFinished(s) => match scenario_json(s) {
                Ok(bytes) => {
                    if let Some(spool) = self.spool.as_mut() {
                        spool.put(s.index, &bytes, s.masked_with);
                    }
                }
                Err(e) => {
                    self.failed.get_or_insert(e);
                }
            },
            _ => {}
        }
    }

    fn finish(&mut self, summary: &Summary) -> Result<(), String> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        let mut parts = self
            .spool
            .take()
            .ok_or("the JSON report was already written")?
            .into_reader()?;
        if let Some(run) = self.run.as_mut() {
            self.redactor.scrub_in_place(&mut run.target);
        }
        // The document without its scenarios, cut where they go.
        let doc = Document {
            format_version: 1,
            runner_version: env!("CARGO_PKG_VERSION"),
            run: self.run.as_ref(),
            summary,
            scenarios: Vec::new(),
        };
        let empty = serde_json::to_string_pretty(&doc)
            .map_err(|e| format!("cannot serialize the JSON report: {e}"))?;
        const SLOT: &str = "\"scenarios\": []";
        let at = empty
            .rfind(SLOT)
            .ok_or("cannot serialize the JSON report: no place for the scenarios")?;
        let (head, tail) = (&empty[..at + SLOT.len() - 1], &empty[at + SLOT.len() - 1..]);
        let path = super::report_path(&self.path);
        let mut file = ReportFile::create(&path, &self.redactor)?;
        file.write(head.as_bytes())?;
        let mut any = false;
        for i in 0..parts.len() {
            if let Some(part) = parts.read(i, &self.redactor)? {
                file.write(if any { b",\n" } else { b"\n" })?;
                file.write(&part)?;
                any = true;
            }
        }
        if any {
            file.write(b"\n  ")?;
        }
        file.write(tail.as_bytes())?;
        file.commit()
    }
}
