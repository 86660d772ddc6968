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

/// Everything a run needs from the files, checked. Only the checks
/// ([`check_suite`](super::check::check_suite)) make one, and it can only lose
/// scenarios afterwards: the engine, which takes a `Suite`, cannot be handed a
/// scenario whose templates were never compiled or whose names were never checked.
///
/// Nothing outside the checks can build one, nor put a scenario into one:
///
/// ```compile_fail,E0451
/// let suite = runner::scenario::Suite {
///     scenarios: Vec::new(),
///     templates: runner::template::Templates::new(),
/// };
/// ```
pub struct Suite {
    scenarios: Vec<Scenario>,
    templates: Templates,
}

impl Suite {
    /// The checks' result (see [`check_suite`](super::check::check_suite)).
    pub(super) fn checked(scenarios: Vec<Scenario>, templates: Templates) -> Suite {
        Suite {
            scenarios,
            templates,
        }
    }

    /// The scenarios, in run order (each one's `index` is its position).
    pub fn scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// The compiled templates of every scenario.
    pub fn templates(&self) -> &Templates {
        &self.templates
    }

    /// The parts, for what does not run them (listing, validating, benchmarks).
    pub fn into_parts(self) -> (Vec<Scenario>, Templates) {
        (self.scenarios, self.templates)
    }

    /// Keep the scenarios `keep` says yes to (given each one's position), numbered
    /// again from 0: the engine finds a scenario by its index.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, &Scenario) -> bool) {
        let mut position = 0;
        self.scenarios.retain(|s| {
            let kept = keep(position, s);
            position += 1;
            kept
        });
        for (i, s) in self.scenarios.iter_mut().enumerate() {
            s.index = i;
        }
    }

    /// Names (`--secret`) whose values every scenario masks.
    pub fn add_secrets(&mut self, names: &[String]) {
        for s in &mut self.scenarios {
            s.secrets.extend(names.iter().cloned());
        }
    }

    /// How many bytes the run's templates may render in all (`--max-rendered`).
    pub fn set_render_limit(&mut self, bytes: usize) {
        self.templates.set_render_limit(bytes);
    }
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
    pub headers: IndexMap<String, super::model::HeaderValues>,
    pub secrets: Vec<String>,
    /// Names whose values flow into a secret header or a `secrets:` variable (found
    /// by the checks): masked from the moment they are set, when long enough to be
    /// a credential.
    pub inferred_secrets: Vec<String>,
    pub tags: Vec<String>,
    pub allow_cost: Vec<(String, Loc)>,
    /// Named locks (`locks:`): scenarios sharing one never overlap.
    pub locks: Vec<String>,
    pub skip: Option<String>,
    pub timeout: Option<Duration>,
    pub step_timeout: Option<Duration>,
    pub retries: Option<u32>,
    /// Runs of the whole scenario after a failed one (`scenario_retries:`).
    pub scenario_retries: Option<u32>,
    pub follow_redirects: Option<bool>,
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
    // Boxed like the request: inline, it made every step of every loaded scenario
    // as large as a webhook wait (1.4 KB a step), and a run keeps every step.
    WaitWebhook(Box<WaitWebhook>),
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
    /// Boxed: its condition is a whole `expect` (half a kilobyte), and few steps poll.
    pub retry: Option<Box<Retry>>,
    pub retries: Option<u32>,
    pub timeout: Option<Duration>,
    pub delay: Option<Duration>,
    pub skip: Option<String>,
    /// `with:` parameters of the include this step came from (and of those around it).
    pub params: Arc<Params>,
}

/// The `with:` parameters of one `include`, inside those of the includes around it.
/// Steps of one include share one `Params`: the engine renders it once for them all,
/// so `{{ uuid() }}` in a `with:` is one value for every step of the include.
#[derive(Debug, Default)]
pub struct Params {
    /// The include this one is written in, if any.
    pub parent: Option<Arc<Params>>,
    /// The file the `with:` is written in.
    pub file: Option<Arc<Path>>,
    pub own: Vec<(String, TValue)>,
}

impl Params {
    /// The levels, outermost first.
    pub fn chain(self: &Arc<Self>) -> Vec<Arc<Params>> {
        let mut out = vec![self.clone()];
        while let Some(p) = out.last().and_then(|l| l.parent.clone()) {
            out.push(p);
        }
        out.reverse();
        out
    }

    /// Every parameter, outermost first (an inner one may shadow an outer one).
    pub fn iter(&self) -> impl Iterator<Item = &(String, TValue)> {
        let mut all: Vec<&(String, TValue)> = Vec::new();
        if let Some(p) = &self.parent {
            all.extend(p.iter());
        }
        all.extend(self.own.iter());
        all.into_iter()
    }

    /// No parameter at any level.
    pub fn is_empty(&self) -> bool {
        self.own.is_empty() && self.parent.as_ref().is_none_or(|p| p.is_empty())
    }
}
