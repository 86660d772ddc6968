//! From scenario files to typed scenarios, on every core: each file parsed, its
//! scenarios built (includes inlined by `include.rs`, cases expanded by
//! `expand.rs`), then checked as one suite.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde_saphyr::Spanned;

use super::discover::same_file_key;
use super::expand::Matrix;
use super::model::{ScenarioDoc, StepDoc};
use super::read::parse_yaml_lenient;
use super::suite::{Action, Params, Scenario, Step};
use super::values::TValue;
use crate::diagnostic::{Diagnostic, Diagnostics, Loc};
use crate::template::Templates;

// Kept at their old paths (`load::read_capped`, ...) while code outside the
// loader still names them here; their home is `discover` and `read`.
pub use super::discover::discover;

/// Loader threads get a stack big enough for MAX_NESTING levels of a debug build;
/// so do the threads of the command line's runtime when the suite is lazy: they
/// load its files again as their scenarios start.
pub const LOADER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Load, expand and check every scenario under `paths`: what `run`, `validate`
/// and `list` start from. Any problem in any file comes back, and nothing is run.
pub fn load_suite(
    paths: &[PathBuf],
    cli_vars: &[String],
) -> Result<(Vec<Scenario>, Templates), Diagnostics> {
    let files = discover(paths)?;
    let (mut scenarios, diags) = load_files(&files);
    let (templates, more) = super::check::check(&mut scenarios, cli_vars);
    settled(diags, more, &files).map(|()| (scenarios, templates))
}

/// [`load_suite`], as the checked suite the engine runs.
pub fn load_checked(paths: &[PathBuf], cli_vars: &[String]) -> Result<super::Suite, Diagnostics> {
    let files = discover(paths)?;
    let (scenarios, diags) = load_files(&files);
    let (suite, more, ()) = check_suite(scenarios, cli_vars, diags.is_empty(), |_, _| ());
    settled(diags, more, &files).map(|()| suite)
}

/// The problems of loading and of checking, in the order of the files, or none.
fn settled(
    mut diags: Diagnostics,
    more: Diagnostics,
    files: &[PathBuf],
) -> Result<(), Diagnostics> {
    diags.extend(more);
    diags.refine_positions();
    diags.sort_by_file(files);
    if diags.is_empty() { Ok(()) } else { Err(diags) }
}

/// Below this many scenarios a suite is checked as one part, on one thread: a
/// thread costs more than checking a few files.
const CHECK_ALONE_BELOW: usize = 256;

/// Check the loaded `scenarios` as one suite, on every core: in parts of whole
/// files (the checks within a file, two scenarios of one name say, see all of
/// it), each part with a registry of its own. When `clean` (loading found no
/// problem), what `inspect` says of each scenario of a part the checks found no
/// problem in comes back too, in order (`R` collects it: `()` to ignore it).
pub fn check_suite<T: Send, R: FromIterator<T>>(
    scenarios: Vec<Scenario>,
    cli_vars: &[String],
    clean: bool,
    inspect: impl Fn(&Scenario, &Templates) -> T + Sync,
) -> (super::Suite, Diagnostics, R) {
    let parts = if scenarios.len() < CHECK_ALONE_BELOW {
        1
    } else {
        crate::cores::cores()
    };
    check_in_parts(scenarios, cli_vars, clean, inspect, parts)
}

/// [`check_suite`] in about `parts` parts.
fn check_in_parts<T: Send, R: FromIterator<T>>(
    mut scenarios: Vec<Scenario>,
    cli_vars: &[String],
    clean: bool,
    inspect: impl Fn(&Scenario, &Templates) -> T + Sync,
    parts: usize,
) -> (super::Suite, Diagnostics, R) {
    let part = |part: &mut [Scenario]| {
        let (templates, diags) = super::check::check(part, cli_vars);
        let notes: Vec<T> = if clean && diags.is_empty() {
            part.iter().map(|s| inspect(s, &templates)).collect()
        } else {
            Vec::new()
        };
        (templates, diags, notes)
    };
    let starts = part_starts(&scenarios, parts);
    let mut pieces: Vec<&mut [Scenario]> = Vec::with_capacity(starts.len());
    let mut rest: &mut [Scenario] = &mut scenarios;
    let mut at = 0;
    for next in starts.iter().skip(1) {
        let (head, tail) = rest.split_at_mut(next - at);
        pieces.push(head);
        rest = tail;
        at = *next;
    }
    pieces.push(rest);
    let done = on_every_core(pieces, || (), |(), p| part(p));
    let mut diags = Diagnostics::default();
    let mut seen = Places::default();
    let mut notes = Vec::new();
    let mut parts = Vec::new();
    for (i, part) in done.into_iter().enumerate() {
        let Some((templates, d, n)) = part else {
            // Its thread died: its scenarios were never checked, so nothing runs.
            diags.push(Diagnostic::new(
                "",
                Loc::UNKNOWN,
                "internal error while checking the scenarios; please report it",
            ));
            continue;
        };
        diags
            .items
            .extend(d.items.into_iter().filter(|d| seen.first(d)));
        notes.extend(n);
        parts.push((starts.get(i).copied().unwrap_or(0), templates));
    }
    let first = if parts.is_empty() {
        Templates::new()
    } else {
        parts.remove(0).1
    };
    let notes = if clean && diags.is_empty() {
        notes.into_iter().collect()
    } else {
        std::iter::empty().collect()
    };
    (super::Suite::checked(scenarios, first, parts), diags, notes)
}

/// The places (file and position) problems were found at. A problem in an
/// include that files checked apart share (in two parts, or in a lazy suite
/// two files) is found by each; it is kept once per place, as the checks of one
/// part keep it, so that what is shown does not depend on how the suite was
/// split.
#[derive(Default)]
struct Places(std::collections::HashSet<(PathBuf, Loc)>);

impl Places {
    /// Whether `d` is the first problem at its place.
    fn first(&mut self, d: &Diagnostic) -> bool {
        self.0.insert((d.file.clone(), d.loc))
    }
}

/// Where each of about `parts` parts of a suite to check starts (as many
/// scenarios in each, a part ending where a file does).
fn part_starts(scenarios: &[Scenario], parts: usize) -> Vec<usize> {
    let size = scenarios.len().div_ceil(parts.max(1)).max(1);
    let mut starts = vec![0];
    let mut at = size;
    while at < scenarios.len() {
        // Move on to the first scenario of the next file.
        while at < scenarios.len() && scenarios[at].file == scenarios[at - 1].file {
            at += 1;
        }
        if at < scenarios.len() {
            starts.push(at);
        }
        at += size;
    }
    starts
}

/// What loading one file gave.
#[derive(Default)]
struct FileLoad {
    scenarios: Vec<Scenario>,
    diags: Diagnostics,
    /// The files its `include:` steps name (at any depth), other than itself, as
    /// [`same_file_key`]s.
    includes: Vec<PathBuf>,
}

/// Load every file; scenarios come out in file order, then order within a file.
///
/// A file that another file of the run includes holds shared steps, not a
/// scenario: it counts only as an include, so shared steps may live in the
/// folder that is run (`scenarios/shared/login.yaml`). Which files those are is
/// read from the loaded steps themselves, once every file is loaded.
pub fn load_files(files: &[PathBuf]) -> (Vec<Scenario>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let loads = scenario_files(
        files,
        in_parallel(files, |loader, f| loader.load_one(f)),
        |l| &l.includes,
        &mut diags,
    );
    let mut all = Vec::with_capacity(loads.iter().map(|l| l.scenarios.len()).sum());
    for load in loads {
        all.extend(load.scenarios);
        diags.extend(load.diags);
    }
    for (i, s) in all.iter_mut().enumerate() {
        s.index = i;
    }
    (all, diags)
}

/// The loads of the files that hold scenarios, in file order: a file that another
/// file of the run includes holds shared steps (`includes` gives the files a
/// load includes), and a file whose loader thread died is an error in `diags`.
fn scenario_files<L>(
    files: &[PathBuf],
    loads: Vec<Option<L>>,
    includes: impl Fn(&L) -> &[PathBuf],
    diags: &mut Diagnostics,
) -> Vec<L> {
    let included: std::collections::HashSet<PathBuf> = loads
        .iter()
        .flatten()
        .flat_map(|l| includes(l).iter().cloned())
        .collect();
    let mut kept = Vec::with_capacity(loads.len());
    for (f, load) in files.iter().zip(loads) {
        if !included.is_empty() && included.contains(&same_file_key(f)) {
            continue;
        }
        match load {
            Some(l) => kept.push(l),
            None => diags.push(thread_died(f)),
        }
    }
    kept
}

/// `work` on every file, on every core, each thread with its loader; the
/// results in the order of `files` (`None` for a file whose thread died).
fn in_parallel<R: Send>(
    files: &[PathBuf],
    work: impl Fn(&mut Loader, &Path) -> R + Sync,
) -> Vec<Option<R>> {
    let cases = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    on_every_core(
        files.iter().map(PathBuf::as_path).collect(),
        || Loader {
            cases: cases.clone(),
            ..Loader::default()
        },
        work,
    )
}

/// What stands for a file whose loader thread died: nothing of it is known, so
/// nothing runs.
fn thread_died(file: &Path) -> Diagnostic {
    Diagnostic::new(
        file,
        Loc::UNKNOWN,
        "internal error while loading this file; please report it",
    )
}

/// `work` on every item, on every core, each thread with the `state` it makes;
/// the results in the order of `items`, `None` for an item whose thread died.
/// The work runs on threads of [`LOADER_STACK_BYTES`] (this thread only when
/// none could start): loading and checking recurse as deep as a file nests.
fn on_every_core<I: Send, S, R: Send>(
    items: Vec<I>,
    state: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, I) -> R + Sync,
) -> Vec<Option<R>> {
    let len = items.len();
    let threads = crate::cores::cores().min(len.max(1));
    // Each thread takes the next item not yet taken, rather than a fixed share:
    // files differ in size, and a share given up front left one core idle at the end.
    let queue = std::sync::Mutex::new(items.into_iter().enumerate());
    let worker = || {
        let mut state = state();
        let mut done: Vec<(usize, R)> = Vec::new();
        loop {
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
            let Some((i, item)) = next else { break };
            done.push((i, work(&mut state, item)));
        }
        done
    };
    let parts: Vec<Vec<(usize, R)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .filter_map(|_| {
                std::thread::Builder::new()
                    .stack_size(LOADER_STACK_BYTES)
                    .spawn_scoped(s, worker)
                    .ok()
            })
            .collect();
        if handles.is_empty() {
            return vec![worker()];
        }
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    let mut out: Vec<Option<R>> = Vec::new();
    out.resize_with(len, || None);
    for (i, r) in parts.into_iter().flatten() {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(r);
        }
    }
    out
}

/// Whether a run holds every loaded scenario or loads each again as it starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loading {
    /// Lazy from [`LAZY_FROM_FILES`] files on.
    Auto,
    /// Hold every scenario (one parse of each file).
    Held,
    /// Keep a small record of each scenario; load its file again as it starts.
    Lazy,
}

/// From this many files on, a run loads lazily. Held, a scenario of the
/// benchmark's 4-step flow costs about 12 KB for the whole run, so a run below
/// the switch peaks at about 170 MB at most, and lazily a run of 50,000 files
/// peaks lower than a held run of 5,000; loading lazily costs about a quarter
/// more CPU (each file parsed and checked a second time), which suites of
/// thousands of files, the ones CI runs most, do not pay (measured in
/// docs/performance.md).
pub const LAZY_FROM_FILES: usize = 10_000;

/// Load and check every scenario under `paths` as [`load_checked`] does, and give
/// what `inspect` says of each checked scenario (with the templates it compiled
/// into), in load order. A large suite (see [`Loading`]) is loaded lazily: each
/// file is loaded and checked on a loader thread, inspected, and dropped, so that
/// no more than a few files' models are held at once; the suite keeps a record of
/// each scenario and loads its file again when it starts ([`Suite::open`](super::Suite::open)).
/// Any problem in any file still comes back before anything runs.
pub fn load_planned<T: Inspection>(
    paths: &[PathBuf],
    cli_vars: &[String],
    loading: Loading,
    inspect: impl Fn(&Scenario, &Templates) -> T + Sync,
) -> Result<(super::Suite, Vec<T>), Diagnostics> {
    let files = discover(paths)?;
    let lazy = match loading {
        Loading::Auto => files.len() >= LAZY_FROM_FILES,
        Loading::Held => false,
        Loading::Lazy => true,
    };
    if !lazy {
        let (scenarios, diags) = load_files(&files);
        let (suite, more, notes) = check_suite(scenarios, cli_vars, diags.is_empty(), inspect);
        return settled(diags, more, &files).map(|()| (suite, notes));
    }
    let loads = in_parallel(&files, |loader, f| {
        let ((load, templates), fingerprint) =
            super::read::fingerprinted(|| load_and_check(loader, f, cli_vars));
        let webhooks = templates.any_reads("webhook")
            || load.scenarios.iter().any(|s| {
                s.all_steps()
                    .any(|st| matches!(st.action, Action::WaitWebhook(_)))
            });
        let clean = load.diags.is_empty();
        let notes: Vec<T> = if clean {
            load.scenarios
                .iter()
                .map(|s| inspect(s, &templates))
                .collect()
        } else {
            Vec::new()
        };
        let mut records: Vec<super::suite::Record> = load
            .scenarios
            .iter()
            .enumerate()
            .map(|(within, s)| super::suite::Record {
                file: s.file.clone(),
                within,
                name: s.name.clone(),
                line: s.loc.line,
                tags: s.tags.clone(),
                locks: s.locks.clone(),
                fingerprint,
            })
            .collect();
        records.shrink_to_fit();
        if clean && !notes.iter().any(Inspection::quotes_source) {
            // Its text is only quoted by a problem, and it has none.
            crate::diagnostic::forget_source(f);
        }
        // Boxed: each thread's list of results, and the list of all of them, then
        // hold a pointer a file rather than the whole record (50,000 files: 10 MB).
        Box::new(LazyFile {
            records,
            notes,
            diags: load.diags,
            includes: load.includes,
            webhooks,
        })
    });
    let mut diags = Diagnostics::default();
    let loads = scenario_files(&files, loads, |l| &l.includes, &mut diags);
    let mut records = Vec::with_capacity(loads.iter().map(|l| l.records.len()).sum());
    let mut notes = Vec::with_capacity(loads.iter().map(|l| l.notes.len()).sum());
    let mut seen = Places::default();
    let mut webhooks = false;
    for load in loads {
        records.extend(load.records);
        notes.extend(load.notes);
        webhooks |= load.webhooks;
        diags
            .items
            .extend(load.diags.items.into_iter().filter(|d| seen.first(d)));
    }
    diags.refine_positions();
    diags.sort_by_file(&files);
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok((super::Suite::lazy(records, cli_vars, webhooks), notes))
}

/// What [`load_planned`]'s inspection of a scenario gives back.
pub trait Inspection: Send {
    /// Whether it holds a problem that quotes the scenario's file (a step the
    /// cost guard refuses): a lazy suite then keeps that file's text for it.
    fn quotes_source(&self) -> bool {
        false
    }
}

impl Inspection for () {}

/// What loading one file lazily keeps.
struct LazyFile<T> {
    records: Vec<super::suite::Record>,
    notes: Vec<T>,
    diags: Diagnostics,
    includes: Vec<PathBuf>,
    webhooks: bool,
}

/// One file of a lazy suite loaded and checked alone, as it is the first time
/// and again as its scenario starts: the same work, so that both read the same
/// files in the same order ([`super::read::fingerprinted`]).
fn load_and_check(loader: &mut Loader, file: &Path, cli_vars: &[String]) -> (FileLoad, Templates) {
    let mut load = loader.load_one(file);
    let (templates, more) = super::check::check(&mut load.scenarios, cli_vars);
    load.diags.extend(more);
    (load, templates)
}

/// Load and check `file` again as one of its scenarios starts (its scenarios and
/// the templates they compiled into, or what is wrong with it now), on the thread
/// that starts it: loading and checking recurse as deep as the file nests, so
/// that thread needs a loader's stack ([`LOADER_STACK_BYTES`]; the command
/// line's runtime gives its threads one).
pub(super) fn reload(
    file: &Path,
    cli_vars: &[String],
) -> Result<(Vec<Scenario>, Templates, u64), Diagnostics> {
    let mut loader = Loader::default();
    let ((mut load, templates), fingerprint) =
        super::read::fingerprinted(|| load_and_check(&mut loader, file, cli_vars));
    if load.diags.is_empty() {
        crate::diagnostic::forget_source(file);
        Ok((load.scenarios, templates, fingerprint))
    } else {
        load.diags.refine_positions();
        Err(load.diags)
    }
}

#[derive(Default)]
pub(super) struct Loader {
    pub(super) diags: Diagnostics,
    pub(super) includes: HashMap<PathBuf, super::include::Parsed>,
    /// Files named by `include:` while loading the current file.
    pub(super) included: Vec<PathBuf>,
    /// Matrix cases expanded so far by every loader of the run.
    pub(super) cases: Arc<std::sync::atomic::AtomicUsize>,
}

impl Loader {
    /// One file, its problems and the files it includes apart from the others'.
    fn load_one(&mut self, path: &Path) -> FileLoad {
        let mut scenarios =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.load_file(path)))
                .unwrap_or_else(|_| {
                    self.diags.push(Diagnostic::new(
                        path,
                        Loc::UNKNOWN,
                        "internal error while loading this file; please report it",
                    ));
                    Vec::new()
                });
        // Every file's list is kept until all are loaded: one scenario would sit
        // in room for four.
        scenarios.shrink_to_fit();
        let own = std::mem::take(&mut self.included);
        let includes = if own.is_empty() {
            Vec::new()
        } else {
            let me = same_file_key(path);
            own.iter()
                .map(|p| same_file_key(p))
                .filter(|k| *k != me)
                .collect()
        };
        FileLoad {
            scenarios,
            diags: std::mem::take(&mut self.diags),
            includes,
        }
    }

    fn load_file(&mut self, path: &Path) -> Vec<Scenario> {
        let (doc, problems) = parse_yaml_lenient::<ScenarioDoc>(path);
        self.diags.extend(problems);
        let Some(doc) = doc else {
            // Its steps are unknown: the files it seems to include are still not
            // loaded as scenarios, or their errors would bury this file's own.
            self.included.extend(super::include::named_in_text(path));
            return Vec::new();
        };
        let file: Arc<Path> = Arc::from(path);
        let mut out = Vec::new();
        if doc.scenarios.is_empty() {
            if let Some(s) = self.scenario(&file, None, doc) {
                out.extend(self.expand_cases(s));
            }
        } else {
            if !doc.steps.is_empty() || !doc.finally.is_empty() || doc.name.is_some() {
                let loc = doc
                    .name
                    .as_ref()
                    .map_or(Loc::new(1, 1), |n| n.referenced.into());
                self.diags.push(
                    Diagnostic::new(path, loc, "a file with `scenarios:` cannot also have its own `name`, `steps` or `finally`")
                        .hint("move them into an entry of `scenarios:`"),
                );
            }
            let mut parent = doc;
            let subs = std::mem::take(&mut parent.scenarios);
            for sub in subs {
                let sub_loc: Loc = sub.referenced.into();
                let mut sub = sub.value;
                if !sub.scenarios.is_empty() {
                    self.diags.push(Diagnostic::new(
                        path,
                        sub_loc,
                        "`scenarios:` cannot be nested",
                    ));
                    continue;
                }
                merge_parent(&parent, &mut sub);
                if let Some(s) = self.scenario(&file, Some(sub_loc), sub) {
                    out.extend(self.expand_cases(s));
                }
            }
        }
        out
    }

    /// A scenario from its document (file-level fields already merged in).
    fn scenario(
        &mut self,
        file: &Arc<Path>,
        entry_loc: Option<Loc>,
        doc: ScenarioDoc,
    ) -> Option<(Scenario, Option<Matrix>, Option<Spanned<String>>)> {
        let (name, loc) = match doc.name {
            Some(n) => (n.value, Loc::from(n.referenced)),
            None => {
                self.diags.push(
                    Diagnostic::new(
                        file.as_ref(),
                        entry_loc.unwrap_or(Loc::new(1, 1)),
                        "the scenario has no `name`",
                    )
                    .hint("add `name: what this scenario checks`"),
                );
                // Its steps are still read: the files they include are shared
                // steps, not scenarios, and loaded as scenarios they would bury
                // this error under theirs.
                let no_params = Arc::new(Params::default());
                self.steps(file, doc.steps, &no_params, 0);
                self.steps(file, doc.finally, &no_params, 0);
                return None;
            }
        };
        if doc.steps.is_empty() {
            self.diags.push(
                Diagnostic::new(
                    file.as_ref(),
                    loc,
                    format!("scenario `{name}` has no steps"),
                )
                .hint("add `steps:` with at least one request"),
            );
        }
        let no_params = Arc::new(Params::default());
        let mut steps = self.steps(file, doc.steps, &no_params, 0);
        let mut finally = self.steps(file, doc.finally, &no_params, 0);
        // Kept for the whole run: a vector grown step by step has room for more.
        steps.shrink_to_fit();
        finally.shrink_to_fit();
        if let Some(mut o) = doc.openapi {
            // Relative to this file, whichever file a step comes from (an include).
            if let super::expect::OpenApiSource::File(rel) = &o.source {
                let joined = file.parent().unwrap_or(Path::new(".")).join(rel);
                let abs = std::path::absolute(&joined).unwrap_or(joined);
                o.source = super::expect::OpenApiSource::File(abs.display().to_string());
            }
            for st in steps.iter_mut().chain(finally.iter_mut()) {
                if matches!(st.action, Action::Request(_)) && st.expect.openapi.is_none() {
                    st.expect.openapi = Some(o.clone());
                }
            }
        }
        let scenario = Scenario {
            index: 0,
            file: file.clone(),
            name,
            loc,
            description: doc.description,
            base_url: doc.base_url,
            vars: doc.vars.into_iter().collect(),
            headers: doc.headers,
            secrets: doc.secrets,
            inferred_secrets: Vec::new(),
            tags: doc.tags,
            allow_cost: doc
                .allow_cost
                .into_iter()
                .map(|s| (s.value, Loc::from(s.referenced)))
                .collect(),
            locks: doc.locks,
            skip: doc.skip,
            timeout: doc.timeout.map(|d| d.0),
            step_timeout: doc.step_timeout.map(|d| d.0),
            retries: doc.retries,
            scenario_retries: doc.scenario_retries,
            follow_redirects: doc.follow_redirects,
            steps,
            finally,
        };
        Some((scenario, doc.matrix, doc.data))
    }

    pub(super) fn steps(
        &mut self,
        file: &Arc<Path>,
        docs: Vec<Spanned<StepDoc>>,
        params: &Arc<Params>,
        depth: usize,
    ) -> Vec<Step> {
        let mut out = Vec::new();
        for d in docs {
            let loc: Loc = d.referenced.into();
            let doc = d.value;
            let kinds = [
                doc.request.is_some(),
                doc.include.is_some(),
                doc.wait_webhook.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if kinds != 1 {
                let (msg, hint) = if kinds == 0 {
                    (
                        "a step needs one of `request`, `include` or `wait_webhook`",
                        "add `request:` with a `url:` (or `include:` a file of steps)",
                    )
                } else {
                    (
                        "a step takes only one of `request`, `include` or `wait_webhook`",
                        "split it into separate steps",
                    )
                };
                self.diags
                    .push(Diagnostic::new(file.as_ref(), loc, msg).hint(hint));
                continue;
            }
            if let Some(inc) = doc.include {
                out.extend(self.include(file, inc, doc.with, params, depth));
                continue;
            }
            if !doc.with.is_empty() {
                self.diags.push(
                    Diagnostic::new(file.as_ref(), loc, "`with` only goes with `include`")
                        .hint("use `vars:` on the scenario for values of its own steps"),
                );
            }
            let action = match (doc.request, doc.wait_webhook) {
                (Some(r), _) => Action::Request(Box::new(r)),
                (None, Some(w)) => Action::WaitWebhook(Box::new(w)),
                (None, None) => continue,
            };
            let name = match (&doc.name, &action) {
                (Some(n), _) => n.value.clone(),
                (None, Action::Request(r)) => {
                    let method = r
                        .method
                        .as_ref()
                        .map_or("GET".to_string(), |m| m.value.to_uppercase());
                    format!("{method} {}", r.url.src)
                }
                (None, Action::WaitWebhook(w)) => match &w.event {
                    Some(e) => format!("wait for webhook {}", e.src),
                    None => "wait for a webhook".into(),
                },
            };
            out.push(Step {
                name,
                file: file.clone(),
                loc,
                action,
                expect: doc.expect.unwrap_or_default(),
                capture: {
                    // Collected in place, the list would keep the mapping's room.
                    let mut c: Vec<_> = doc.capture.into_iter().collect();
                    c.shrink_to_fit();
                    c
                },
                retry: doc.retry.map(Box::new),
                retries: doc.retries,
                timeout: doc.timeout.map(|d| d.0),
                delay: doc.delay.map(|d| d.0),
                skip: doc.skip,
                params: params.clone(),
            });
        }
        out
    }
}

fn merge_parent(parent: &ScenarioDoc, sub: &mut ScenarioDoc) {
    if sub.base_url.is_none() {
        sub.base_url = parent.base_url.clone();
    }
    let mut vars: IndexMap<String, TValue> = parent.vars.clone();
    vars.extend(std::mem::take(&mut sub.vars));
    sub.vars = vars;
    let mut headers = parent.headers.clone();
    headers.extend(std::mem::take(&mut sub.headers));
    sub.headers = headers;
    sub.secrets.extend(parent.secrets.iter().cloned());
    let mut tags = parent.tags.clone();
    tags.extend(std::mem::take(&mut sub.tags));
    sub.tags = tags;
    sub.allow_cost.extend(parent.allow_cost.iter().cloned());
    let mut locks = parent.locks.clone();
    locks.extend(std::mem::take(&mut sub.locks));
    sub.locks = locks;
    if sub.skip.is_none() {
        sub.skip = parent.skip.clone();
    }
    if sub.timeout.is_none() {
        sub.timeout = parent.timeout;
    }
    if sub.step_timeout.is_none() {
        sub.step_timeout = parent.step_timeout;
    }
    if sub.retries.is_none() {
        sub.retries = parent.retries;
    }
    if sub.scenario_retries.is_none() {
        sub.scenario_retries = parent.scenario_retries;
    }
    if sub.follow_redirects.is_none() {
        sub.follow_redirects = parent.follow_redirects;
    }
    if sub.matrix.is_none() {
        sub.matrix = parent.matrix.clone();
    }
    if sub.data.is_none() {
        sub.data = parent.data.clone();
    }
    if sub.openapi.is_none() {
        sub.openapi = parent.openapi.clone();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which files of a folder are scenarios: a file included by another is not;
    /// a file whose name only shows up in text (a body, a comment) still is.
    #[test]
    fn included_files_are_found_from_the_loaded_steps() {
        let step = "  - request: { url: /x }\n";
        // What the case shows, its files (path, text), the scenarios expected.
        type Case = (
            &'static str,
            &'static [(&'static str, &'static str)],
            &'static [&'static str],
        );
        let cases: &[Case] = &[
            (
                "included as a list and as a mapping, nested",
                &[
                    (
                        "a.yaml",
                        "name: a\nsteps:\n  - include: shared/list.yaml\n  - { include: map.yaml }\n",
                    ),
                    ("shared/list.yaml", "- include: ../deep.yaml\n"),
                    (
                        "map.yaml",
                        "description: d\nsteps:\n  - request: { url: /m }\n",
                    ),
                    ("deep.yaml", "- request: { url: /d }\n"),
                ],
                &["a"],
            ),
            (
                "named in a request body",
                &[
                    (
                        "a.yaml",
                        "name: a\nsteps:\n  - request:\n      url: /x\n      json: { note: \"see include: b.yaml\" }\n",
                    ),
                    ("b.yaml", "name: b\nsteps:\n"),
                ],
                &["a", "b"],
            ),
            (
                "named in a comment",
                &[
                    ("a.yaml", "name: a\n# include: b.yaml\nsteps:\n"),
                    ("b.yaml", "name: b\nsteps:\n"),
                ],
                &["a", "b"],
            ),
            (
                "a file including itself is still a scenario (and an error)",
                &[("a.yaml", "name: a\nsteps:\n  - include: a.yaml\n")],
                &["a"],
            ),
        ];
        for (what, files, want) in cases {
            let dir = tempfile::tempdir().unwrap();
            for (name, text) in *files {
                let path = dir.path().join(name);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                let text = if text.ends_with("steps:\n") {
                    format!("{text}{step}")
                } else {
                    text.to_string()
                };
                std::fs::write(path, text).unwrap();
            }
            let found = discover(&[dir.path().to_path_buf()]).unwrap();
            let (scenarios, _) = load_files(&found);
            let names: Vec<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
            assert_eq!(names, *want, "{what}");
            let indexes: Vec<usize> = scenarios.iter().map(|s| s.index).collect();
            assert_eq!(indexes, (0..want.len()).collect::<Vec<_>>(), "{what}");
        }
    }

    /// A file that cannot be parsed still keeps the files it names in `include:`
    /// from being loaded as scenarios: only its own error shows.
    #[test]
    fn an_unparsable_file_still_hides_what_it_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("shared")).unwrap();
        std::fs::write(
            dir.path().join("a.yaml"),
            "name: a\nsteps:\n  - include: shared/login.yaml\n  - [broken\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("shared/login.yaml"),
            "- request: { url: /login }\n",
        )
        .unwrap();
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        let (scenarios, diags) = load_files(&found);
        assert!(scenarios.is_empty());
        let text = diags.render();
        assert!(!diags.is_empty());
        assert!(!text.contains("login.yaml:"), "{text}");
    }

    /// A scenario without `name` still keeps the files its steps include from
    /// being loaded as scenarios: only its own error shows.
    #[test]
    fn a_scenario_without_a_name_still_hides_what_it_includes() {
        // (what the case shows, the including file's text)
        let cases = [
            ("no name", "steps:\n  - include: shared/login.yaml\n"),
            (
                "no name, include in finally",
                "steps:\n  - request: { url: /x }\nfinally:\n  - include: shared/login.yaml\n",
            ),
            (
                "an entry of scenarios: without name",
                "scenarios:\n  - steps:\n      - include: shared/login.yaml\n",
            ),
        ];
        for (what, text) in cases {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("shared")).unwrap();
            std::fs::write(dir.path().join("a.yaml"), text).unwrap();
            std::fs::write(
                dir.path().join("shared/login.yaml"),
                "- request: { url: /login }\n",
            )
            .unwrap();
            let found = discover(&[dir.path().to_path_buf()]).unwrap();
            let (scenarios, diags) = load_files(&found);
            assert!(scenarios.is_empty(), "{what}");
            let text = diags.render();
            assert!(text.contains("has no `name`"), "{what}: {text}");
            assert!(!text.contains("login.yaml:"), "{what}: {text}");
        }
    }

    /// Loading on several threads gives the scenarios in file order, each problem
    /// once, whatever thread loaded which file.
    #[test]
    fn files_load_in_order_whatever_thread_took_them() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..40 {
            let text = if i % 9 == 4 {
                format!("name: s{i}\nsteps: [\n")
            } else {
                format!("name: s{i}\nsteps:\n  - request: {{ url: /x }}\n")
            };
            std::fs::write(dir.path().join(format!("f{i:02}.yaml")), text).unwrap();
        }
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        let (scenarios, diags) = load_files(&found);
        let want: Vec<String> = (0..40)
            .filter(|i| i % 9 != 4)
            .map(|i| format!("s{i}"))
            .collect();
        let names: Vec<String> = scenarios.iter().map(|s| s.name.clone()).collect();
        assert_eq!(names, want);
        assert_eq!(diags.len(), 4, "{}", diags.render());
    }

    /// Files (name, text) in a fresh folder, loaded as a run loads them.
    fn loaded(files: &[(String, String)]) -> (tempfile::TempDir, Vec<Scenario>) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        let (scenarios, diags) = load_files(&found);
        assert!(diags.is_empty(), "{}", diags.render());
        (dir, scenarios)
    }

    /// Each scenario renders with the registry of its own part, before and after a
    /// selection renumbers the suite: rendered with another part's, it finds no
    /// template (names hold the file's path), and were two files' templates ever
    /// named alike, it would send another file's URL, which the test also sees.
    #[test]
    fn a_suite_checked_in_parts_renders_each_scenario_with_its_own_templates() {
        let files: Vec<(String, String)> = (0..12)
            .map(|k| {
                let text = format!(
                    "scenarios:\n  - name: a\n    steps:\n      - request: {{ url: \"/{{{{ 'f{k:02}a' }}}}\" }}\n  - name: b\n    steps:\n      - request: {{ url: \"/{{{{ 'f{k:02}b' }}}}\" }}\n"
                );
                (format!("f{k:02}.yaml"), text)
            })
            .collect();
        let (_dir, scenarios) = loaded(&files);
        assert_eq!(scenarios.len(), 24);
        assert!(part_starts(&scenarios, 4).len() >= 3);
        let (mut suite, diags, ()) = check_in_parts(scenarios, &[], true, |_, _| (), 4);
        assert!(diags.is_empty(), "{}", diags.render());
        let urls = |suite: &super::super::Suite| -> Vec<String> {
            (0..suite.len())
                .map(|i| {
                    let opened = suite.open(i).unwrap();
                    let Some(Action::Request(r)) =
                        opened.scenario().steps.first().map(|st| &st.action)
                    else {
                        panic!("scenario {i} has no request");
                    };
                    opened
                        .templates()
                        .render_str(&r.url, &minijinja::Value::from(()))
                        .unwrap()
                })
                .collect()
        };
        let want: Vec<String> = (0..12)
            .flat_map(|k| [format!("/f{k:02}a"), format!("/f{k:02}b")])
            .collect();
        assert_eq!(urls(&suite), want);
        suite.retain(|i, _| i % 3 != 0);
        let kept: Vec<String> = want
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 3 != 0)
            .map(|(_, u)| u.clone())
            .collect();
        assert_eq!(urls(&suite), kept);
    }

    /// A part never splits a file: the checks within one (two scenarios of one
    /// name) see all of it; and a problem of an include that files of two parts
    /// share is reported once, the same one however many parts (the files
    /// before the middle define `b`, those after it `a`: one part reports `a`
    /// undefined at the include, another `b`, at the same place).
    #[test]
    fn the_parts_of_a_suite_end_where_files_do() {
        let mut files: Vec<(String, String)> = vec![(
            "shared/bad.yaml".into(),
            "- request: { url: \"/{{ a }}/{{ b }}\" }\n".into(),
        )];
        for k in 0..6 {
            let defined = if k < 3 { "b" } else { "a" };
            let mut text = format!("vars: {{ {defined}: 1 }}\nscenarios:\n");
            for j in 0..5 {
                // File 3 names two of its scenarios alike.
                let name = if k == 3 && j == 4 { 0 } else { j };
                text.push_str(&format!(
                    "  - name: s{name}\n    steps:\n      - include: shared/bad.yaml\n"
                ));
            }
            files.push((format!("f{k}.yaml"), text));
        }
        let (_dir, scenarios) = loaded(&files);
        assert_eq!(scenarios.len(), 30);
        for parts in [1, 2, 4, 7, 30, 100] {
            let starts = part_starts(&scenarios, parts);
            assert_eq!(starts.first(), Some(&0));
            assert!(starts.windows(2).all(|w| w[0] < w[1]), "{starts:?}");
            for s in starts.iter().skip(1) {
                assert_ne!(
                    scenarios[*s].file,
                    scenarios[s - 1].file,
                    "{parts}: {starts:?}"
                );
            }
            assert!(starts.len() <= parts.max(1), "{parts}: {starts:?}");
        }
        assert!(part_starts(&scenarios, 4).len() > 1);
        let (_again, same) = loaded(&files);
        let (_, whole, ()) = check_in_parts(same, &[], true, |_, _| (), 1);
        let (_, parted, ()) = check_in_parts(scenarios, &[], true, |_, _| (), 4);
        let messages = |d: &Diagnostics| -> Vec<String> {
            let mut m: Vec<String> = d
                .items
                .iter()
                .map(|d| {
                    format!(
                        "{}:{}: {}",
                        d.file.file_name().unwrap().to_string_lossy(),
                        d.loc.line,
                        d.message
                    )
                })
                .collect();
            m.sort();
            m
        };
        assert_eq!(messages(&parted), messages(&whole));
        let count =
            |keep: &dyn Fn(&Diagnostic) -> bool| parted.items.iter().filter(|d| keep(d)).count();
        let named_twice = count(&|d| d.message.contains("two scenarios are named `s0`"));
        assert_eq!(named_twice, 1, "{}", parted.render());
        let undefined = count(&|d| d.file.ends_with("shared/bad.yaml"));
        assert_eq!(undefined, 1, "{}", parted.render());
    }
}
