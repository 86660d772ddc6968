//! Scenarios as the engine runs them: files merged, includes inlined, matrices
//! expanded, templates compiled.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use super::expect::{Capture, Expect};
use super::model::{RequestDoc, Retry, WaitWebhook};
use super::values::{TValue, Tpl};
use crate::diagnostic::Loc;
use crate::template::Templates;

/// Everything a run needs from the files.
pub struct Suite {
    pub scenarios: Vec<Scenario>,
    pub templates: Arc<Templates>,
}

/// One scenario, ready to run.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Position in load order (stable across runs of the same files).
    pub index: usize,
    /// The file as the user named it.
    pub file: Arc<Path>,
    pub name: String,
    pub loc: Loc,
    pub description: Option<String>,
    pub base_url: Option<Tpl>,
    /// File vars, then the scenario's, then matrix values, in order.
    pub vars: Vec<(String, TValue)>,
    pub headers: IndexMap<String, Tpl>,
    pub secrets: Vec<String>,
    pub tags: Vec<String>,
    pub allow_cost: Vec<(String, Loc)>,
    pub skip: Option<String>,
    pub timeout: Option<Duration>,
    pub step_timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub steps: Vec<Step>,
    pub finally: Vec<Step>,
}

impl Scenario {
    /// JUnit classname: the path without extension, `/` as `.`.
    pub fn classname(&self) -> String {
        let p = self.file.with_extension("");
        let s = p.to_string_lossy().replace(['/', '\\'], ".");
        s.trim_start_matches("./")
            .trim_start_matches('.')
            .to_string()
    }

    /// Every step, main ones first.
    pub fn all_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().chain(self.finally.iter())
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Action {
    Request(Box<RequestDoc>),
    WaitWebhook(WaitWebhook),
}

/// One step, ready to run.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    /// Where the step is written (an included file's steps point there).
    pub file: Arc<Path>,
    pub loc: Loc,
    pub action: Action,
    pub expect: Expect,
    pub capture: Vec<(String, Capture)>,
    pub retry: Option<Retry>,
    pub retries: Option<u32>,
    pub timeout: Option<Duration>,
    pub delay: Option<Duration>,
    pub skip: Option<String>,
    /// `with:` parameters of the include this step came from.
    pub params: Arc<Vec<(String, TValue)>>,
}
