//! From paths on the command line to typed scenarios: find the files, parse the
//! YAML (with positions), inline includes, expand matrices.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

use super::model::{ScenarioDoc, StepDoc};
use super::sink;
use super::suite::{Action, Params, Scenario, Step};
use super::values::TValue;
use crate::diagnostic::{Diagnostic, Diagnostics, Loc};

/// `matrix:` values by name.
type Matrix = IndexMap<String, Vec<TValue>>;

/// Files larger than this are refused rather than parsed.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// Includes nested deeper than this are taken for a cycle.
const MAX_INCLUDE_DEPTH: usize = 16;
/// A matrix expanding into more cases than this is refused.
const MAX_MATRIX_CASES: usize = 10_000;
/// The matrices of one run expanding into more cases than this, all files together,
/// are refused: each case is a copy of its scenario, and 100 files of 10 000 cases
/// took gigabytes.
pub const MAX_TOTAL_MATRIX_CASES: usize = 50_000;
/// Mappings and lists nested deeper than this are refused.
pub const MAX_NESTING: usize = 64;
/// Files with more values (keys, scalars, lists, mappings) than this are refused.
pub const MAX_NODES: usize = 2_000_000;
/// Loader threads get a stack big enough for MAX_NESTING levels of a debug build.
const LOADER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// Expand files and folders into the scenario files they hold, in sorted order.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostics> {
    let mut files = Vec::new();
    let mut diags = Diagnostics::default();
    for p in paths {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                let mut found = Vec::new();
                walk(p, &mut found, &mut diags);
                found.sort();
                if found.is_empty() {
                    diags.push(
                        Diagnostic::new(p, Loc::UNKNOWN, "no scenario files in this folder")
                            .hint("scenario files end in .yaml or .yml"),
                    );
                }
                files.extend(found);
            }
            Ok(_) => files.push(p.clone()),
            Err(e) => diags.push(
                Diagnostic::new(p, Loc::UNKNOWN, format!("cannot read: {}", io_reason(&e)))
                    .hint("give a scenario file or a folder of them"),
            ),
        }
    }
    // A file named twice (`suite suite/a.yaml`, `a.yaml ./a.yaml`) runs once, where first named.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(std::fs::canonicalize(f).unwrap_or_else(|_| f.clone())));
    if diags.is_empty() {
        Ok(files)
    } else {
        Err(diags)
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, diags: &mut Diagnostics) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => {
            diags.push(Diagnostic::new(
                dir,
                Loc::UNKNOWN,
                format!("cannot read folder: {}", io_reason(&e)),
            ));
            return;
        }
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            walk(&path, out, diags);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Load every file; scenarios come out in file order, then order within a file.
///
/// A file that another file of the run includes holds shared steps, not a
/// scenario: it is loaded only as an include, so shared steps may live in the
/// folder that is run (`scenarios/shared/login.yaml`).
pub fn load_files(files: &[PathBuf]) -> (Vec<Scenario>, Diagnostics) {
    let included = included_by_others(files);
    let files: Vec<PathBuf> = files
        .iter()
        .filter(|f| !included.contains(&same_file_key(f)))
        .cloned()
        .collect();
    let files = files.as_slice();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len().max(1));
    let chunk = files.len().div_ceil(threads).max(1);
    let cases = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load_part = |part: &[PathBuf]| {
        let mut loader = Loader {
            cases: cases.clone(),
            ..Loader::default()
        };
        let mut scenarios = Vec::new();
        for f in part {
            scenarios.extend(loader.load_file(f));
        }
        (scenarios, loader.diags)
    };
    let results: Vec<(Vec<Scenario>, Diagnostics)> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                let spawned = std::thread::Builder::new()
                    .stack_size(LOADER_STACK_BYTES)
                    .spawn_scoped(s, move || load_part(part));
                (part, spawned.ok())
            })
            .collect();
        handles
            .into_iter()
            .map(|(part, h)| match h {
                Some(h) => h.join().unwrap_or_else(|_| {
                    let mut d = Diagnostics::default();
                    d.push(Diagnostic::new(
                        part.first().map_or(Path::new("?"), |p| p.as_path()),
                        Loc::UNKNOWN,
                        "internal error while loading this file; please report it",
                    ));
                    (Vec::new(), d)
                }),
                None => load_part(part),
            })
            .collect()
    });
    let mut all = Vec::new();
    let mut diags = Diagnostics::default();
    for (s, d) in results {
        all.extend(s);
        diags.extend(d);
    }
    for (i, s) in all.iter_mut().enumerate() {
        s.index = i;
    }
    (all, diags)
}

/// The files that some other file of `files` includes, as [`same_file_key`]s. A
/// quick scan of the text for `include:` values: the loader proper reports any
/// problem with them later.
fn included_by_others(files: &[PathBuf]) -> std::collections::HashSet<PathBuf> {
    static INCLUDE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    let Some(re) = INCLUDE.get_or_init(|| {
        regex::Regex::new(r#"(?m)(?:^|[\s{,-])include:\s*["']?([^"'\s,}#]+)"#).ok()
    }) else {
        return Default::default();
    };
    let mut out = std::collections::HashSet::new();
    for f in files {
        let Ok(bytes) = read_capped(f, MAX_FILE_BYTES) else {
            continue;
        };
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let base = f.parent().unwrap_or(Path::new("."));
        let own = same_file_key(f);
        for cap in re.captures_iter(&text) {
            let target = same_file_key(&base.join(&cap[1]));
            if target != own {
                out.insert(target);
            }
        }
    }
    out
}

/// One key per file, however its path was written.
fn same_file_key(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| tidy_path(p))
}

/// Steps of an included file: a list of steps, or a mapping with `steps`.
///
/// Deserialized by hand rather than as an untagged enum: an untagged enum buffers
/// the document and loses the positions every diagnostic needs.
enum IncludeDoc {
    List(Vec<Spanned<StepDoc>>),
    Map(IncludeMap),
}

impl<'de> Deserialize<'de> for IncludeDoc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = IncludeDoc;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a list of steps, or a mapping with `steps:`")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<IncludeDoc, A::Error> {
                let mut steps = Vec::new();
                while let Some(step) = seq.next_element::<Spanned<StepDoc>>()? {
                    steps.push(step);
                }
                Ok(IncludeDoc::List(steps))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<IncludeDoc, A::Error> {
                IncludeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(IncludeDoc::Map)
            }
        }
        d.deserialize_any(V)
    }
}

/// The schema derive gives the "unknown key" hints this mapping's keys.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct IncludeMap {
    #[allow(dead_code)]
    description: Option<String>,
    #[schemars(with = "Vec<StepDoc>")]
    steps: Vec<Spanned<StepDoc>>,
}

#[derive(Default)]
struct Loader {
    diags: Diagnostics,
    includes: HashMap<PathBuf, Option<Arc<Vec<Spanned<StepDoc>>>>>,
    /// Matrix cases expanded so far by every loader of the run.
    cases: Arc<std::sync::atomic::AtomicUsize>,
}

/// Parse one YAML document from a file, reporting problems as diagnostics.
/// Parse a YAML file into `T`, stopping at the first problem.
pub fn parse_yaml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, Diagnostics> {
    match parse_yaml_lenient(path) {
        (Some(v), d) if d.is_empty() => Ok(v),
        (_, d) => Err(d),
    }
}

/// Parse a YAML file into `T`, and with leaf problems (a bad JSONPath, regex or
/// duration: placeholders stand in for them) still hand back the value, so that
/// the checks after loading (methods, templates) report their problems in the
/// same run: `validate` lists every problem of a file at once.
pub fn parse_yaml_lenient<T: for<'de> Deserialize<'de>>(path: &Path) -> (Option<T>, Diagnostics) {
    let mut diags = Diagnostics::default();
    let bytes = match read_limited(path) {
        Ok(b) => b,
        Err(d) => {
            diags.push(d);
            return (None, diags);
        }
    };
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            crate::diagnostic::keep_source(path, &String::from_utf8_lossy(&bytes));
            let (line, col) = line_col(&bytes[..e.valid_up_to()]);
            diags.push(
                Diagnostic::new(
                    path,
                    Loc::new(line, col),
                    "the file is not valid UTF-8 text",
                )
                .hint("save it as UTF-8; is it a scenario file at all?"),
            );
            return (None, diags);
        }
    };
    crate::diagnostic::keep_source(path, text);
    if text.trim().is_empty()
        || text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        diags.push(
            Diagnostic::new(path, Loc::new(1, 1), "the file is empty")
                .hint("a scenario needs at least `name` and `steps`"),
        );
        return (None, diags);
    }
    if let Some(pos) = text.find('\0') {
        let (line, col) = line_col(&bytes[..pos]);
        diags.push(
            Diagnostic::new(
                path,
                Loc::new(line, col),
                "the file holds binary data (a NUL byte)",
            )
            .hint("scenario files are YAML text"),
        );
        return (None, diags);
    }
    sink::drain();
    sink::set_source(Some(text));
    let parsed = serde_saphyr::from_str_with_options::<T>(text, yaml_options());
    sink::set_source(None);
    let problems = sink::drain();
    for p in problems {
        let mut d = Diagnostic::new(path, p.loc, p.message).width(p.width);
        if let Some(h) = p.hint {
            d = d.hint(h);
        }
        diags.push(d);
    }
    match parsed {
        Ok(v) => (Some(v), diags),
        Err(e) => {
            // A structural error may be a consequence of an earlier leaf problem; show both.
            // A syntax error further on may be its cause: then it is the one to fix.
            diags.push(
                super::yaml_error::first_syntax_error(path, text, &e)
                    .unwrap_or_else(|| super::yaml_error::yaml_error(path, text, &e)),
            );
            (None, diags)
        }
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    read_capped(path, MAX_FILE_BYTES)
        .map_err(|why| Diagnostic::new(path, Loc::UNKNOWN, format!("cannot read: {why}")))
}

/// Read a regular file of at most `max` bytes. A device (`/dev/zero`), a FIFO or
/// a file that grows while it is read is refused instead of read forever.
pub fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let regular = |meta: &std::fs::Metadata| -> Result<(), String> {
        if meta.is_dir() {
            Err("it is a folder, not a file".into())
        } else if !meta.is_file() {
            Err("it is not a regular file (a device, a pipe or a socket)".into())
        } else {
            Ok(())
        }
    };
    // Looked at before opening: opening a FIFO blocks until someone writes to it.
    regular(&std::fs::metadata(path).map_err(|e| io_reason(&e))?)?;
    let file = std::fs::File::open(path).map_err(|e| io_reason(&e))?;
    let meta = file.metadata().map_err(|e| io_reason(&e))?;
    regular(&meta)?;
    let too_big = || format!("the file is over the {} MB limit", max >> 20);
    if meta.len() > max {
        return Err(too_big());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > max {
        return Err(too_big());
    }
    Ok(bytes)
}

fn line_col(prefix: &[u8]) -> (u32, u32) {
    let line = prefix.iter().filter(|b| **b == b'\n').count() + 1;
    let start = prefix
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&prefix[start..]).chars().count() + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn yaml_options() -> serde_saphyr::Options {
    let mut o = serde_saphyr::options! {
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        budget: serde_saphyr::budget! {
            max_documents: 1,
            // Nesting is what overflows stacks; 64 levels is far beyond any request body.
            max_depth: MAX_NESTING,
            // About 80 000 ordinary steps; a flood of tiny values is refused in
            // seconds rather than parsed into gigabytes.
            max_nodes: MAX_NODES,
            max_events: 2 * MAX_NODES,
        },
    };
    // Alias bombs: a few hundred bytes that expand to billions of nodes.
    o.alias_limits.max_total_replayed_events = 100_000;
    o.alias_limits.max_replay_stack_depth = 16;
    o.alias_limits.max_alias_expansions_per_anchor = 1_000;
    // Diagnostics quote the source themselves; a snippet per error would copy text.
    o.with_snippet = false;
    o
}

impl Loader {
    fn load_file(&mut self, path: &Path) -> Vec<Scenario> {
        let (doc, problems) = parse_yaml_lenient::<ScenarioDoc>(path);
        self.diags.extend(problems);
        let Some(doc) = doc else {
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

    /// A scenario's cases: one per `data:` row, or per `matrix` combination.
    fn expand_cases(
        &mut self,
        (base, matrix, data): (Scenario, Option<Matrix>, Option<Spanned<String>>),
    ) -> Vec<Scenario> {
        let Some(data) = data else {
            return self.expand_matrix(base, matrix);
        };
        let loc: Loc = data.referenced.into();
        if matrix.is_some() {
            self.diags.push(
                Diagnostic::new(
                    base.file.as_ref(),
                    loc,
                    "a scenario takes its cases from `data` or from `matrix`, not both",
                )
                .hint("put the matrix values into the data file's columns"),
            );
            return Vec::new();
        }
        match super::data::read_rows(&base.file, &data.value, loc, MAX_MATRIX_CASES) {
            Ok(rows) => self.expand_rows(base, rows),
            Err(msg) => {
                self.diags
                    .push(Diagnostic::new(base.file.as_ref(), loc, msg));
                Vec::new()
            }
        }
    }

    /// One scenario per data row, named by the name template or by its row number:
    /// stable and unique, so each row is its own JUnit testcase.
    fn expand_rows(&mut self, base: Scenario, rows: Vec<super::data::Row>) -> Vec<Scenario> {
        let templated = super::values::has_template_syntax(&base.name);
        let mut names = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter().enumerate() {
            names.push(if templated {
                match render_name(&base.name, row) {
                    Ok(n) => n,
                    Err(msg) => {
                        self.diags
                            .push(Diagnostic::new(base.file.as_ref(), base.loc, msg));
                        return Vec::new();
                    }
                }
            } else {
                format!("{} [row {}]", base.name, i + 1)
            });
        }
        // Two rows that render the same name keep their row numbers to tell them apart.
        let dup: Vec<bool> = names
            .iter()
            .map(|n| names.iter().filter(|m| *m == n).count() > 1)
            .collect();
        let mut out = Vec::with_capacity(rows.len());
        for (i, row) in rows.into_iter().enumerate() {
            let mut s = base.clone();
            s.name = if dup[i] {
                format!("{} [row {}]", names[i], i + 1)
            } else {
                names[i].clone()
            };
            let own: Vec<(String, TValue)> = std::mem::take(&mut s.vars)
                .into_iter()
                .filter(|(k, _)| !row.iter().any(|(m, _)| m == k))
                .collect();
            s.vars = row;
            s.vars.extend(own);
            out.push(s);
        }
        out
    }

    fn steps(
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
                (None, Some(w)) => Action::WaitWebhook(w),
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
                capture: doc.capture.into_iter().collect(),
                retry: doc.retry,
                retries: doc.retries,
                timeout: doc.timeout.map(|d| d.0),
                delay: doc.delay.map(|d| d.0),
                skip: doc.skip,
                params: params.clone(),
            });
        }
        out
    }

    fn include(
        &mut self,
        file: &Arc<Path>,
        inc: Spanned<String>,
        with: IndexMap<String, TValue>,
        params: &Arc<Params>,
        depth: usize,
    ) -> Vec<Step> {
        let loc: Loc = inc.referenced.into();
        if depth >= MAX_INCLUDE_DEPTH {
            self.diags.push(
                Diagnostic::new(
                    file.as_ref(),
                    loc,
                    format!("includes nested deeper than {MAX_INCLUDE_DEPTH}"),
                )
                .hint("does an included file include itself?"),
            );
            return Vec::new();
        }
        let base = file.parent().unwrap_or(Path::new("."));
        let target = tidy_path(&base.join(&inc.value));
        let docs = match self.includes.get(&target) {
            Some(cached) => cached.clone(),
            None => {
                let parsed = if target.is_file() {
                    match parse_yaml::<IncludeDoc>(&target) {
                        Ok(IncludeDoc::List(steps))
                        | Ok(IncludeDoc::Map(IncludeMap { steps, .. })) => Some(Arc::new(steps)),
                        Err(d) => {
                            self.diags.extend(d);
                            None
                        }
                    }
                } else {
                    self.diags.push(
                        Diagnostic::new(
                            file.as_ref(),
                            loc,
                            format!("included file `{}` not found", target.display()),
                        )
                        .width(inc.value.chars().count())
                        .hint("paths are relative to the file that includes them"),
                    );
                    None
                };
                self.includes.insert(target.clone(), parsed.clone());
                parsed
            }
        };
        let Some(docs) = docs else { return Vec::new() };
        let merged = Arc::new(Params {
            parent: Some(params.clone()),
            file: Some(file.clone()),
            own: with.into_iter().collect(),
        });
        let inc_file: Arc<Path> = Arc::from(target.as_path());
        self.steps(&inc_file, docs.as_ref().clone(), &merged, depth + 1)
    }

    fn expand_matrix(&mut self, base: Scenario, matrix: Option<Matrix>) -> Vec<Scenario> {
        let mut out = self.expand_matrix_cases(base, matrix);
        for s in &mut out {
            render_default_step_names(s);
        }
        out
    }

    fn expand_matrix_cases(&mut self, base: Scenario, matrix: Option<Matrix>) -> Vec<Scenario> {
        let Some(matrix) = matrix.filter(|m| !m.is_empty()) else {
            return vec![base];
        };
        let total = matrix
            .values()
            .map(Vec::len)
            .try_fold(1usize, |acc, n| acc.checked_mul(n));
        match total {
            Some(0) => {
                self.diags.push(Diagnostic::new(
                    base.file.as_ref(),
                    base.loc,
                    "a matrix entry has no values",
                ));
                return Vec::new();
            }
            Some(n) if n <= MAX_MATRIX_CASES => {}
            _ => {
                self.diags.push(Diagnostic::new(
                    base.file.as_ref(),
                    base.loc,
                    format!("the matrix expands to more than {MAX_MATRIX_CASES} cases"),
                ));
                return Vec::new();
            }
        }
        let n = total.unwrap_or(0);
        let before = self
            .cases
            .fetch_add(n, std::sync::atomic::Ordering::Relaxed);
        if before.saturating_add(n) > MAX_TOTAL_MATRIX_CASES {
            self.diags.push(
                Diagnostic::new(
                    base.file.as_ref(),
                    base.loc,
                    format!(
                        "the matrices of this run expand to more than {MAX_TOTAL_MATRIX_CASES} cases in all (this one adds {n}, after {before} from other matrices)"
                    ),
                )
                .hint("run the files in smaller groups, or give fewer values per matrix"),
            );
            return Vec::new();
        }
        let keys: Vec<&String> = matrix.keys().collect();
        let mut cases: Vec<Vec<(String, TValue)>> = vec![Vec::new()];
        for k in &keys {
            let mut next = Vec::new();
            for case in &cases {
                for v in &matrix[*k] {
                    let mut c = case.clone();
                    c.push(((*k).clone(), v.clone()));
                    next.push(c);
                }
            }
            cases = next;
        }
        let templated = super::values::has_template_syntax(&base.name);
        let mut out = Vec::with_capacity(cases.len());
        for case in cases {
            let mut s = base.clone();
            s.name = if templated {
                match render_name(&base.name, &case) {
                    Ok(n) => n,
                    Err(msg) => {
                        self.diags
                            .push(Diagnostic::new(base.file.as_ref(), base.loc, msg));
                        base.name.clone()
                    }
                }
            } else {
                let label: Vec<String> = case
                    .iter()
                    .map(|(k, v)| format!("{k}={}", display_literal(v)))
                    .collect();
                format!("{} [{}]", base.name, label.join(", "))
            };
            // Matrix values come first, so that `vars:` can build on them; a var
            // of the same name as a matrix key would hide the case's value.
            let own: Vec<(String, TValue)> = std::mem::take(&mut s.vars)
                .into_iter()
                .filter(|(k, _)| !case.iter().any(|(m, _)| m == k))
                .collect();
            s.vars = case;
            s.vars.extend(own);
            out.push(s);
        }
        out
    }
}

/// `suite/orders/../shared/x.yaml` as `suite/shared/x.yaml`: shorter in messages.
/// Lexical only; a `..` that would climb above the start is kept.
fn tidy_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(c),
            },
            other => out.push(other),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// A step named after its request (`GET {{ path }}`) shows the URL as it will be
/// sent when the scenario's values already say it (`GET /v1/nope`); a name that
/// needs a capture keeps its template text.
fn render_default_step_names(s: &mut Scenario) {
    let literal: Vec<(String, TValue)> = s
        .vars
        .iter()
        .filter(|(_, v)| v.as_literal_json().is_some())
        .cloned()
        .collect();
    for step in s.steps.iter_mut().chain(s.finally.iter_mut()) {
        let Action::Request(r) = &step.action else {
            continue;
        };
        let method = r
            .method
            .as_ref()
            .map_or("GET".to_string(), |m| m.value.to_uppercase());
        let default = format!("{method} {}", r.url.src);
        if step.name != default || !super::values::has_template_syntax(&default) {
            continue;
        }
        if let Ok(rendered) = render_name(&default, &literal) {
            step.name = rendered;
        }
    }
}

/// A matrix case's name: the name template rendered with the case's values.
fn render_name(name: &str, case: &[(String, TValue)]) -> Result<String, String> {
    let mut ctx = serde_json::Map::new();
    for (k, v) in case {
        match v.as_literal_json() {
            Some(j) => {
                ctx.insert(k.clone(), j);
            }
            None => return Err(format!("matrix value `{k}` cannot hold a template")),
        }
    }
    let mut env = minijinja::Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_formatter(crate::template::format_value);
    env.render_str(
        name,
        crate::template::to_value(serde_json::Value::Object(ctx)),
    )
    .map_err(|e| {
        format!(
            "the scenario name `{name}` cannot be rendered from the matrix: {}",
            e.detail().unwrap_or("undefined value")
        )
    })
}

fn display_literal(v: &TValue) -> String {
    match v.as_literal_json() {
        Some(serde_json::Value::String(s)) => s,
        Some(j) => j.to_string(),
        None => "?".into(),
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
