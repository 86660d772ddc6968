//! Scenarios as the engine runs them: files merged, includes inlined, matrices
//! expanded, templates compiled.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;

use super::expect::{Capture, Expect};
use super::model::{RequestDoc, Retry, WaitWebhook};
use super::values::{TValue, Tpl};
use crate::diagnostic::Loc;
use crate::template::Templates;

/// Everything a run needs from the files, checked. Only the checks
/// ([`check_suite`](super::load::check_suite), or the lazy loader, which checks
/// every file the same way) make one, and it can only lose scenarios afterwards:
/// the engine, which takes a `Suite`, cannot be handed a scenario whose templates
/// were never compiled or whose names were never checked.
///
/// A suite holds its scenarios, or (a large suite, see
/// [`load_planned`](super::load::load_planned)) only a small record of each, its
/// file loaded and checked again when the scenario starts ([`Suite::open`]).
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
    /// The compiled templates of the held scenarios of the suite's first part (see
    /// `parts`); for a lazy suite, none. Its render budget is the run's: every
    /// other registry, and each lazily reloaded file's, counts against it.
    templates: Templates,
    /// The compiled templates of each further part of the suite checked on a core
    /// of its own, with the loaded position of the part's first scenario, in order.
    parts: Vec<(usize, Templates)>,
    /// Each scenario's position when loaded, before any selection.
    positions: Vec<usize>,
    lazy: Option<Lazy>,
}

/// What a lazily loaded suite keeps of each scenario until it starts: what the
/// selection, the scheduler and the reports of a scenario that cannot start need.
pub(super) struct Record {
    pub(super) file: Arc<Path>,
    /// Its position among the scenarios of its file (matrix cases expanded).
    pub(super) within: usize,
    pub(super) name: String,
    pub(super) line: u32,
    pub(super) tags: Vec<String>,
    pub(super) locks: Vec<String>,
    /// What its file and every file read to load and check it (includes, `data:`
    /// files, expected bodies, schemas) held when they were checked
    /// ([`super::read::fingerprinted`]).
    pub(super) fingerprint: u64,
}

pub(super) struct Lazy {
    pub(super) records: Vec<Record>,
    pub(super) cli_vars: Vec<String>,
    /// `--secret` names, added to every scenario as it is loaded again.
    pub(super) secrets: Vec<String>,
    /// A scenario of the suite waits for a webhook or reads `webhook`.
    pub(super) webhooks: bool,
    /// The file loaded last: the scenarios of one file (a matrix's cases) start one
    /// after another, and each would otherwise load and check the whole file again.
    pub(super) last: Mutex<Option<Arc<Reloaded>>>,
}

/// A file loaded and checked again as one of its scenarios starts.
pub(super) struct Reloaded {
    file: Arc<Path>,
    scenarios: Vec<Scenario>,
    templates: Templates,
    fingerprint: u64,
}

/// What selection and the scheduler read of a scenario, held or not.
#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    /// Its position in the suite (the engine's index).
    pub index: usize,
    pub file: &'a Arc<Path>,
    pub name: &'a str,
    pub line: u32,
    pub tags: &'a [String],
    pub locks: &'a [String],
}

impl Entry<'_> {
    /// JUnit classname: the path without extension, `/` as `.`.
    pub fn classname(&self) -> String {
        classname(self.file)
    }
}

/// A scenario ready to start, and the templates it renders with.
pub struct Opened<'a>(OpenedInner<'a>);

enum OpenedInner<'a> {
    Held(&'a Scenario, &'a Templates),
    Loaded(Arc<Reloaded>, usize),
}

impl Opened<'_> {
    pub fn scenario(&self) -> &Scenario {
        match &self.0 {
            OpenedInner::Held(s, _) => s,
            OpenedInner::Loaded(r, i) => &r.scenarios[*i],
        }
    }

    pub fn templates(&self) -> &Templates {
        match &self.0 {
            OpenedInner::Held(_, t) => t,
            OpenedInner::Loaded(r, _) => &r.templates,
        }
    }
}

impl Suite {
    /// The checks' result (see [`check_suite`](super::load::check_suite)): the
    /// scenarios, the registry of the first part, and those of the parts after
    /// it with the position of each one's first scenario.
    pub(super) fn checked(
        scenarios: Vec<Scenario>,
        templates: Templates,
        parts: Vec<(usize, Templates)>,
    ) -> Suite {
        let mut suite = Suite {
            positions: (0..scenarios.len()).collect(),
            scenarios,
            templates,
            parts,
            lazy: None,
        };
        suite.share_render_budget();
        suite
    }

    /// Every part's registry counts against the run's budget.
    fn share_render_budget(&mut self) {
        for (_, t) in &mut self.parts {
            t.share_render_budget(&self.templates);
        }
    }

    /// The registry scenario `i`'s templates were compiled into.
    fn registry_of(&self, i: usize) -> &Templates {
        let at = self.positions.get(i).copied().unwrap_or(0);
        let after = self.parts.partition_point(|(start, _)| *start <= at);
        match after.checked_sub(1).and_then(|p| self.parts.get(p)) {
            Some((_, t)) => t,
            None => &self.templates,
        }
    }

    /// A suite of records whose files were every one loaded and checked.
    pub(super) fn lazy(records: Vec<Record>, cli_vars: &[String], webhooks: bool) -> Suite {
        Suite {
            scenarios: Vec::new(),
            templates: Templates::new(),
            parts: Vec::new(),
            positions: (0..records.len()).collect(),
            lazy: Some(Lazy {
                records,
                cli_vars: cli_vars.to_vec(),
                secrets: Vec::new(),
                webhooks,
                last: Mutex::new(None),
            }),
        }
    }

    /// The held scenarios, in run order (each one's `index` is its position).
    /// Empty when the suite is lazy: [`Suite::entries`] and [`Suite::open`] serve
    /// both kinds.
    pub fn held_scenarios(&self) -> &[Scenario] {
        &self.scenarios
    }

    /// Whether scenarios are loaded again as they start.
    pub fn is_lazy(&self) -> bool {
        self.lazy.is_some()
    }

    /// How many scenarios the suite has.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    /// Scenario `i`'s position when loaded, before any selection.
    pub fn loaded_position(&self, i: usize) -> Option<usize> {
        self.positions.get(i).copied()
    }

    /// What selection and the scheduler read of scenario `i`.
    pub fn entry(&self, i: usize) -> Option<Entry<'_>> {
        match &self.lazy {
            None => self.scenarios.get(i).map(|s| s.entry(i)),
            Some(l) => l.records.get(i).map(|r| Entry {
                index: i,
                file: &r.file,
                name: &r.name,
                line: r.line,
                tags: &r.tags,
                locks: &r.locks,
            }),
        }
    }

    /// Every scenario's [`Entry`], in run order.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        (0..self.len()).filter_map(|i| self.entry(i))
    }

    /// A scenario waits for a webhook or a template reads `webhook`: the run
    /// starts the receiver.
    pub fn uses_webhooks(&self) -> bool {
        match &self.lazy {
            Some(l) => l.webhooks,
            None => {
                self.scenarios.iter().any(|s| {
                    s.all_steps()
                        .any(|st| matches!(st.action, Action::WaitWebhook(_)))
                }) || std::iter::once(&self.templates)
                    .chain(self.parts.iter().map(|(_, t)| t))
                    .any(|t| t.any_reads("webhook"))
            }
        }
    }

    /// Keep the scenarios `keep` says yes to (given each one's position), numbered
    /// again from 0: the engine finds a scenario by its index.
    pub fn retain(&mut self, mut keep: impl FnMut(usize, Entry<'_>) -> bool) {
        let kept: Vec<bool> = self.entries().map(|e| keep(e.index, e)).collect();
        let mut flags = kept.iter();
        self.positions
            .retain(|_| flags.next().copied().unwrap_or(false));
        match &mut self.lazy {
            None => {
                let mut flags = kept.iter();
                self.scenarios
                    .retain(|_| flags.next().copied().unwrap_or(false));
                for (i, s) in self.scenarios.iter_mut().enumerate() {
                    s.index = i;
                }
            }
            Some(l) => {
                let mut flags = kept.iter();
                l.records.retain(|_| flags.next().copied().unwrap_or(false));
            }
        }
    }

    /// Names (`--secret`) whose values every scenario masks.
    pub fn add_secrets(&mut self, names: &[String]) {
        for s in &mut self.scenarios {
            s.secrets.extend(names.iter().cloned());
        }
        if let Some(l) = &mut self.lazy {
            l.secrets.extend(names.iter().cloned());
        }
    }

    /// How many bytes the run's templates may render in all (`--max-rendered`).
    pub fn set_render_limit(&mut self, bytes: usize) {
        self.templates.set_render_limit(bytes);
        self.share_render_budget();
    }

    /// Scenario `i`, ready to start. A lazy suite loads and checks its file again:
    /// a file (or a file it includes) changed in any way since the run checked
    /// it gives `Err`, the reason, and the scenario is an error, never a
    /// different test.
    pub fn open(&self, i: usize) -> Result<Opened<'_>, String> {
        let Some(lazy) = &self.lazy else {
            return self
                .scenarios
                .get(i)
                .map(|s| Opened(OpenedInner::Held(s, self.registry_of(i))))
                .ok_or_else(|| format!("no scenario number {i}"));
        };
        let r = lazy
            .records
            .get(i)
            .ok_or_else(|| format!("no scenario number {i}"))?;
        let cached = lazy
            .last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .filter(|f| f.file == r.file)
            .cloned();
        let file = match cached {
            Some(f) => f,
            None => {
                let (mut scenarios, mut templates, fingerprint) =
                    super::load::reload(&r.file, &lazy.cli_vars).map_err(|d| {
                        format!(
                            "{}: the file changed since the run checked it, and no longer loads or checks:\n{}",
                            r.file.display(),
                            // Without the quoted lines: this goes into the reports,
                            // masked as text after the fact, where a line cut to fit
                            // could leave a piece of a secret too short to be known.
                            d.items
                                .iter()
                                .map(|x| x.one_line())
                                .collect::<Vec<_>>()
                                .join("\n")
                        )
                    })?;
                templates.share_render_budget(&self.templates);
                for s in &mut scenarios {
                    s.secrets.extend(lazy.secrets.iter().cloned());
                }
                let f = Arc::new(Reloaded {
                    file: r.file.clone(),
                    scenarios,
                    templates,
                    fingerprint,
                });
                *lazy.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(f.clone());
                f
            }
        };
        match file.scenarios.get(r.within) {
            Some(s) if s.name == r.name && s.tags == r.tags && s.locks == r.locks => {}
            _ => {
                return Err(format!(
                    "{}: the file changed since the run checked it: scenario `{}` is no longer its scenario number {} (with the same tags and locks)",
                    r.file.display(),
                    r.name,
                    r.within + 1
                ));
            }
        }
        // Any change at all, even one that keeps the scenario where it was: the
        // run's checks before the first request (the cost guard, the secrets
        // written in the file) were made on what it held then.
        if file.fingerprint != r.fingerprint {
            return Err(format!(
                "{}: the file changed since the run checked it (it, or a file it includes or reads: `data:` rows, an expected body, a schema); the scenario is not run as it is now",
                r.file.display()
            ));
        }
        Ok(Opened(OpenedInner::Loaded(file, r.within)))
    }
}

/// JUnit classname of a file: the path without extension, `/` as `.`.
fn classname(file: &Path) -> String {
    let p = file.with_extension("");
    let s = p.to_string_lossy().replace(['/', '\\'], ".");
    s.trim_start_matches("./")
        .trim_start_matches('.')
        .to_string()
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
        classname(&self.file)
    }

    /// Every step, main ones first.
    /// What selection, the scheduler and the reports read of it, as the suite's
    /// scenario number `index`.
    pub fn entry(&self, index: usize) -> Entry<'_> {
        Entry {
            index,
            file: &self.file,
            name: &self.name,
            line: self.loc.line,
            tags: &self.tags,
            locks: &self.locks,
        }
    }

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
