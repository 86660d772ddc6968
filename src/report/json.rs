//! A machine-readable report of the whole run: scenarios, steps, requests,
//! responses, assertions, timings.

use std::path::PathBuf;

use serde::Serialize;

use super::Summary;
use super::pipeline::{Assembly, FileFormat, FileReporter};
use crate::events::{RunInfo, ScenarioReport};
use crate::secrets::Redactor;

/// The JSON document, rendered as scenarios finish: each scenario's object is
/// serialised then (and kept on disk by the pipeline); the document is put
/// together, in scenario order, at the end (the summary comes before the scenarios).
pub struct Json;

/// The JSON report file.
pub type JsonReporter = FileReporter<Json>;

impl FileReporter<Json> {
    pub fn new(path: PathBuf, redactor: Redactor) -> Self {
        FileReporter::with_format(path, Json, redactor)
    }
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

impl FileFormat for Json {
    fn name(&self) -> &'static str {
        "JSON"
    }

    fn scenario(&mut self, s: &ScenarioReport) -> Result<Vec<Vec<u8>>, String> {
        Ok(vec![scenario_json(s)?])
    }

    fn assemble(
        &mut self,
        run: Option<&RunInfo>,
        summary: &Summary,
        file: &mut Assembly<'_>,
    ) -> Result<(), String> {
        // The document without its scenarios, cut where they go.
        let doc = Document {
            format_version: 2,
            runner_version: env!("CARGO_PKG_VERSION"),
            run,
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
        file.write(head.as_bytes())?;
        let mut any = false;
        for i in 0..file.scenarios() {
            if file.has(0, i) {
                file.write(if any { b",\n" } else { b"\n" })?;
                file.piece(0, i)?;
                any = true;
            }
        }
        if any {
            file.write(b"\n  ")?;
        }
        file.write(tail.as_bytes())
    }
}
