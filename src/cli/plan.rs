//! What `runner run` will do, decided in one place before anything is sent: the
//! checked and selected scenarios, where they go, the engine's options, the
//! reporters to open and what decides the exit code. Every problem the command line
//! or a file can have is found here; `run.rs` only carries the plan out.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use indexmap::IndexMap;

use super::args::RunArgs;
use super::{print_diagnostics_masked, vars};
use crate::engine::RunOptions;
use crate::exit;
use crate::http::tls::{TlsOptions, read_ca_file};
use crate::report::junit::Granularity;
use crate::safety::{Catalog, RuntimeGuard, Target, guard};
use crate::scenario::load::{Loading, load_planned};
use crate::scenario::{Scenario, Suite};
use crate::secrets::Redactor;

/// A run, ready to go.
pub(super) struct RunPlan {
    pub suite: Arc<Suite>,
    /// `--base-url` / `RUNNER_BASE_URL`, checked.
    pub base_url: Option<String>,
    /// Where scenarios without any base URL go.
    pub fallback: Fallback,
    /// What the engine is told; the embedded mock's address is added once it runs.
    pub options: RunOptions,
    pub reports: Reports,
    pub redactor: Redactor,
    /// `--grace`: how long `finally` steps may still run after an interrupt.
    pub grace: Duration,
    pub max_credits: Option<u64>,
    /// `--flaky-fails`: a scenario that passed only on a retry fails the run.
    pub flaky_fails: bool,
    /// `--openapi-coverage`: print what the run covered of each OpenAPI document.
    pub openapi_coverage: bool,
}

/// Where the scenarios that name no server (no `--base-url`, no `base_url:`) go.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Fallback {
    /// Every scenario names its server.
    None,
    /// The embedded Layers mock, started for the run.
    EmbeddedMock,
    /// A dry run: the mock a real run would start, which is not started.
    DryRunMock,
}

impl Fallback {
    fn of(uses_mock: bool, dry_run: bool) -> Self {
        match (uses_mock, dry_run) {
            (false, _) => Fallback::None,
            (true, false) => Fallback::EmbeddedMock,
            (true, true) => Fallback::DryRunMock,
        }
    }
}

/// The reporters to open besides the console.
pub(super) struct Reports {
    pub junit: Option<(PathBuf, Granularity)>,
    pub json: Option<PathBuf>,
    pub html: Option<PathBuf>,
    /// The console's `-v` count (a dry run lists every step).
    pub verbosity: u8,
    /// `--quiet`: the console shows no passing scenario.
    pub quiet: bool,
    /// A report goes to standard output (`--junit -`): it keeps it to itself, and
    /// the console and workflow commands go to stderr.
    pub on_stdout: bool,
}

/// Secrets known before anything is loaded, so that even a problem in a file or on
/// the command line is printed masked.
pub(super) fn early_secrets(a: &RunArgs) -> Redactor {
    let redactor = Redactor::new();
    redactor.add_env_secrets();
    for name in &a.secrets {
        if let Ok(v) = std::env::var(name) {
            redactor.add_labeled(&v, &format!("env {name}"));
        }
    }
    // Command-line secrets are masked before anything (a problem in a vars file
    // included) is printed.
    for (name, v) in &a.variables.vars {
        if a.secrets.contains(name) {
            redactor.add_labeled(v, &format!("--var {name}"));
        }
    }
    redactor
}

/// Check everything and decide the run. `Err` is the exit code, its message
/// already printed (masked with `redactor`).
pub(super) fn build(a: RunArgs, redactor: Redactor) -> Result<RunPlan, i32> {
    check_outputs(&a)?;
    let variables = match a.variables.resolve() {
        Ok(v) => v,
        Err(d) => {
            print_diagnostics_masked(&d, &redactor);
            return Err(exit::USAGE);
        }
    };
    vars::add_secrets(&variables, &a.secrets, &redactor);
    let tls = tls_options(&a)?;
    let var_names = vars::names(&variables);
    // Loaded before the files: a large suite is inspected file by file as it loads
    // (the cost guard included), and its scenarios are not held afterwards.
    let catalog = match Catalog::load(&a.cost_catalogs) {
        Ok(c) => c,
        Err(d) => {
            print_diagnostics_masked(&d, &redactor);
            return Err(exit::USAGE);
        }
    };
    let loading = loading_mode()?;
    let no_templates = crate::template::Templates::new();
    let known = guard::Known::of_process(
        &no_templates,
        variables.iter().map(|(k, v)| (k.clone(), v.value.clone())),
        a.base_url.clone(),
    );
    let loaded = load_planned(&a.paths, &var_names, loading, |s, templates| {
        inspect(&a, s, templates, &catalog, &known, &redactor)
    });
    drop(known);
    let (mut suite, notes) = match loaded {
        Ok(x) => x,
        Err(d) => {
            print_diagnostics_masked(&d, &redactor);
            return Err(exit::USAGE);
        }
    };
    select(&a, &mut suite, &redactor)?;
    // What was noted of each scenario, for those selected.
    let mut notes: Vec<Option<Notes>> = notes.into_iter().map(Some).collect();
    let notes: Vec<Notes> = (0..suite.len())
        .filter_map(|i| suite.loaded_position(i))
        .filter_map(|p| notes.get_mut(p).and_then(Option::take))
        .collect();
    if let Some(base) = &a.base_url {
        check_base_url(base, &redactor)?;
    }
    let kinds = once(notes.iter().map(|n| &n.guard.unknown_kinds));
    if !kinds.is_empty() {
        print_diagnostics_masked(&kinds, &redactor);
        return Err(exit::USAGE);
    }
    let openapi = openapi_spec(&a, &notes)?;
    let uses_mock = guard_costs(&a, &notes, &redactor)?;
    suite.set_render_limit(a.max_rendered);
    suite.add_secrets(&a.secrets);
    let cli_vars: IndexMap<String, serde_json::Value> = variables
        .into_iter()
        .map(|(name, v)| (name, v.value))
        .collect();
    let options = RunOptions {
        base_url: a.base_url.clone(),
        fallback_base_url: None,
        jobs: a.jobs as usize,
        default_timeout: a.timeout,
        default_retries: a.retries,
        cli_vars,
        body_cap: a.max_body,
        dry_run: a.dry_run,
        cost_guard: Some(RuntimeGuard {
            catalog: Arc::new(catalog),
            mock_base: None,
        }),
        record_passes: a.report_json.is_some() || a.report_html.is_some(),
        fail_fast: a.fail_fast,
        follow_redirects: a.follow_redirects,
        tls,
        scenario_retries: a.scenario_retries,
        max_rps: a.max_rps,
        // Only the console's -v / -vv (and a dry run's listing) shows steps one by one.
        step_events: a.verbose > 0 || a.dry_run,
        openapi,
    };
    let reports = reports(&a);
    Ok(RunPlan {
        suite: Arc::new(suite),
        base_url: a.base_url,
        fallback: Fallback::of(uses_mock, a.dry_run),
        options,
        reports,
        redactor,
        grace: a.grace,
        max_credits: a.max_credits,
        flaky_fails: a.flaky_fails,
        openapi_coverage: a.openapi_coverage,
    })
}

/// The reporters the command line asks for.
fn reports(a: &RunArgs) -> Reports {
    let on_stdout = [&a.junit, &a.report_json, &a.report_html]
        .into_iter()
        .flatten()
        .any(|p| crate::report::is_stdout(p));
    Reports {
        on_stdout,
        junit: a.junit.clone().map(|p| (p, a.junit_granularity)),
        json: a.report_json.clone(),
        html: a.report_html.clone(),
        verbosity: if a.dry_run {
            a.verbose.max(2)
        } else {
            a.verbose
        },
        quiet: a.quiet,
    }
}

/// Report outputs and scenario paths that cannot be meant as written.
fn check_outputs(a: &RunArgs) -> Result<(), i32> {
    let on_stdout = [&a.junit, &a.report_json, &a.report_html]
        .into_iter()
        .flatten()
        .filter(|p| crate::report::is_stdout(p))
        .count();
    // `--rerun-failed run.json` reads as a bare flag and a scenario path: say so
    // before that JSON report is loaded as a scenario file.
    if a.rerun_failed.as_deref() == Some("")
        && let Some(json) = a
            .paths
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "json"))
    {
        eprintln!(
            "error: `{}` is read as a scenario path: to rerun what failed in that report, write --rerun-failed={} (with `=`)",
            json.display(),
            json.display()
        );
        return Err(exit::USAGE);
    }
    if on_stdout > 1 {
        eprintln!(
            "error: --junit - and --report-json - both ask for standard output: send one of them to a file"
        );
        return Err(exit::USAGE);
    }
    Ok(())
}

/// `--insecure` and `--cacert`.
fn tls_options(a: &RunArgs) -> Result<TlsOptions, i32> {
    let mut tls = TlsOptions {
        insecure: a.insecure,
        extra_roots: Vec::new(),
    };
    for file in &a.ca_certs {
        match read_ca_file(file) {
            Ok(certs) => tls.extra_roots.extend(certs),
            Err(e) => {
                eprintln!("error: --cacert: {e}");
                return Err(exit::USAGE);
            }
        }
    }
    if a.insecure {
        eprintln!(
            "runner: warning: --insecure: TLS certificates are not checked; use it against test servers only"
        );
    }
    Ok(tls)
}

/// Narrow the suite to `--tag`, `--skip-tag`, `--filter`, `--shard` and
/// `--rerun-failed`. `Err(exit::OK)` when a rerun has nothing to run.
fn select(a: &RunArgs, suite: &mut Suite, redactor: &Redactor) -> Result<(), i32> {
    let selection = crate::select::Selection::from(&a.selection);
    let selected = crate::select::select_suite(suite, &selection);
    if selected.is_empty_shard(&selection) {
        // More CI machines than scenarios: this one has nothing to do, which is
        // fine; it still writes its (empty) reports for CI to merge.
        eprintln!(
            "runner: nothing to run in this shard: {}",
            selected.describe(&selection)
        );
    } else if selected.kept == 0 {
        eprintln!(
            "error: no scenario matches the selection (--tag, --skip-tag, --filter): {}",
            selected.describe(&selection)
        );
        return Err(exit::USAGE);
    }
    if let Some(given) = &a.rerun_failed {
        match rerun_selection(Path::new(given), a.report_json.as_deref(), suite) {
            Ok(Rerun::Run) => {}
            Ok(Rerun::Nothing(why)) => {
                eprintln!("runner: --rerun-failed: {why}: nothing to run");
                return Err(exit::OK);
            }
            Err(e) => {
                eprintln!("{}", redactor.scrub(&format!("error: --rerun-failed: {e}")));
                return Err(exit::USAGE);
            }
        }
    }
    Ok(())
}

/// Refuse an empty or broken `--base-url`; its password is a secret either way.
fn check_base_url(base: &str, redactor: &Redactor) -> Result<(), i32> {
    // An empty value is usually an unset CI variable (`RUNNER_BASE_URL: ${{ vars.X }}`):
    // refuse it rather than quietly test the file's server or the mock instead.
    if base.trim().is_empty() {
        eprintln!(
            "error: the base URL is empty (--base-url or RUNNER_BASE_URL): give the server's URL, e.g. https://staging.example.com, or unset it to use the files' base_url or the embedded mock"
        );
        return Err(exit::USAGE);
    }
    match crate::http::wire::resolve_url(Some(base), "/") {
        Ok(u) => {
            if let Some(p) = u.password() {
                redactor.add_labeled(p, "--base-url password");
            }
            Ok(())
        }
        Err(e) => {
            if let Some(p) = userinfo_password(base) {
                redactor.add_labeled(p, "--base-url password");
            }
            eprintln!(
                "{}",
                redactor.scrub(&format!(
                    "error: base URL (--base-url or RUNNER_BASE_URL): {e}"
                ))
            );
            Err(exit::USAGE)
        }
    }
}

/// What the cost guard finds of one scenario before anything is sent (`run` and
/// `validate` note it as each scenario is loaded and checked).
pub(super) struct GuardNotes {
    /// `allow_cost` entries that name no cost kind of the catalog.
    pub(super) unknown_kinds: crate::diagnostic::Diagnostics,
    /// Steps the cost guard refuses before anything is sent.
    pub(super) refusals: crate::diagnostic::Diagnostics,
}

impl GuardNotes {
    pub(super) fn of(
        s: &Scenario,
        catalog: &Catalog,
        target: Target,
        known: &guard::Known<'_>,
    ) -> GuardNotes {
        let one = std::slice::from_ref(s);
        GuardNotes {
            unknown_kinds: guard::unknown_kinds(one, catalog),
            refusals: guard::refusals(one, catalog, |_| target, known),
        }
    }
}

impl crate::scenario::load::Inspection for GuardNotes {
    fn quotes_source(&self) -> bool {
        !self.unknown_kinds.is_empty() || !self.refusals.is_empty()
    }
}

/// What the run plan needs of each scenario, noted as it is loaded and checked (a
/// large suite does not keep its scenarios): small, and mostly empty.
struct Notes {
    guard: GuardNotes,
    /// A step says `openapi: true`: what to say when no `--openapi` is given.
    openapi_run: Option<String>,
    /// The scenario goes to the embedded mock (no base URL anywhere).
    to_mock: bool,
}

impl crate::scenario::load::Inspection for Notes {
    fn quotes_source(&self) -> bool {
        self.guard.quotes_source()
    }
}

/// What the plan needs of one loaded, checked scenario; its written-out secrets
/// are registered on the way, masked from the first line on.
fn inspect(
    a: &RunArgs,
    s: &Scenario,
    templates: &crate::template::Templates,
    catalog: &Catalog,
    known: &guard::Known<'_>,
    redactor: &Redactor,
) -> Notes {
    let to_mock = a.base_url.is_none() && s.base_url.is_none();
    let known = known.with_templates(templates);
    let target = if to_mock {
        Target::EmbeddedMock
    } else {
        Target::Real
    };
    register_literal_secret_headers(std::slice::from_ref(s), &a.secrets, redactor);
    let openapi_run = s
        .all_steps()
        .find(|st| {
            st.expect
                .openapi
                .as_ref()
                .is_some_and(|o| o.source == crate::scenario::expect::OpenApiSource::Run)
        })
        .map(|st| {
            format!(
                "error: {}: scenario \"{}\", step \"{}\" says `openapi: true`, which checks against the run's --openapi SPEC, and none is given",
                s.file.display(),
                s.name,
                st.name
            )
        });
    Notes {
        guard: GuardNotes::of(s, catalog, target, &known),
        openapi_run,
        to_mock,
    }
}

/// The diagnostics of every scenario, each problem once (a shared include's
/// problem is noted for every scenario that includes it).
pub(super) fn once<'a>(
    parts: impl Iterator<Item = &'a crate::diagnostic::Diagnostics>,
) -> crate::diagnostic::Diagnostics {
    let mut seen = std::collections::HashSet::new();
    let mut out = crate::diagnostic::Diagnostics::default();
    for d in parts.flat_map(|p| p.items.iter()) {
        if seen.insert((d.file.clone(), d.loc, d.message.clone())) {
            out.push(d.clone());
        }
    }
    out
}

/// `RUNNER_LOADING`: `held` or `lazy` overrides the choice by the number of files
/// (for measuring the two ways on one suite).
pub(super) fn loading_mode() -> Result<Loading, i32> {
    match std::env::var("RUNNER_LOADING").ok().as_deref() {
        None | Some("" | "auto") => Ok(Loading::Auto),
        Some("held") => Ok(Loading::Held),
        Some("lazy") => Ok(Loading::Lazy),
        Some(other) => {
            eprintln!("error: RUNNER_LOADING={other}: give auto, held or lazy");
            Err(exit::USAGE)
        }
    }
}

/// The cost guard's decision before anything is sent: a step it refuses stops a real
/// run (a dry run shows it and goes on). Returns whether a scenario goes to the
/// embedded mock.
fn guard_costs(a: &RunArgs, notes: &[Notes], redactor: &Redactor) -> Result<bool, i32> {
    let refused = once(notes.iter().map(|n| &n.guard.refusals));
    if !refused.is_empty() {
        if a.dry_run {
            eprintln!(
                "runner: dry run: a real run would refuse {} step{} (shown below); rendering anyway, nothing is sent",
                refused.len(),
                if refused.len() == 1 { "" } else { "s" }
            );
            eprint!("{}", super::masked_diagnostics(&refused, redactor));
        } else {
            print_diagnostics_masked(&refused, redactor);
            return Err(exit::USAGE);
        }
    }
    let uses_mock = notes.iter().any(|n| n.to_mock);
    if let Some(max) = a.max_credits
        && !uses_mock
        && !a.dry_run
    {
        eprintln!(
            "error: --max-credits {max} reads the embedded mock's ledger, and this run sends nothing to it (every scenario has a base URL)"
        );
        eprintln!("  = hint: drop --base-url / RUNNER_BASE_URL to run against the embedded mock");
        return Err(exit::USAGE);
    }
    Ok(uses_mock)
}

/// `--openapi SPEC`, loaded; a step saying `openapi: true` needs it.
fn openapi_spec(a: &RunArgs, notes: &[Notes]) -> Result<Option<Arc<crate::contract::Spec>>, i32> {
    let openapi = match &a.openapi {
        Some(p) => match crate::contract::load_cached(p) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: --openapi: {e}");
                return Err(exit::USAGE);
            }
        },
        None => None,
    };
    if openapi.is_none()
        && let Some(message) = notes.iter().find_map(|n| n.openapi_run.as_ref())
    {
        eprintln!("{message}");
        return Err(exit::USAGE);
    }
    Ok(openapi)
}

/// What `--rerun-failed` leaves to run.
enum Rerun {
    /// The suite now holds what failed before.
    Run,
    /// The previous run had nothing that failed.
    Nothing(String),
}

/// A previous run's report is read up to this size.
const PREVIOUS_REPORT_MAX: u64 = 512 * 1024 * 1024;

/// Keep the scenarios (by file and name) that failed or errored in the previous
/// run's JSON report.
fn rerun_selection(
    given: &Path,
    report_json: Option<&Path>,
    suite: &mut Suite,
) -> Result<Rerun, String> {
    let path = if given.as_os_str().is_empty() {
        match report_json {
            Some(p) if !crate::report::is_stdout(p) => p,
            _ => {
                return Err(
                    "which report? give the previous run's JSON report (`--rerun-failed=run.json`), or the same `--report-json FILE` as that run"
                        .into(),
                );
            }
        }
    } else {
        given
    };
    let shown = path.display();
    let size = std::fs::metadata(path)
        .map_err(|e| format!("cannot read the previous run's report {shown}: {e}"))?
        .len();
    if size > PREVIOUS_REPORT_MAX {
        return Err(format!(
            "{shown} is {size} bytes; a JSON report of the runner is far smaller"
        ));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the previous run's report {shown}: {e}"))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{shown} is not a JSON report (--report-json): {e}"))?;
    let Some(previous) = doc.get("scenarios").and_then(|v| v.as_array()) else {
        return Err(format!(
            "{shown} has no `scenarios` list: is it a JSON report of the runner (--report-json)?"
        ));
    };
    let failed: std::collections::HashSet<(&str, &str)> = previous
        .iter()
        .filter(|s| matches!(s["outcome"].as_str(), Some("failed" | "error")))
        .filter_map(|s| Some((s["file"].as_str()?, s["name"].as_str()?)))
        .collect();
    if failed.is_empty() {
        return Ok(Rerun::Nothing(format!(
            "no scenario failed or errored in {shown}"
        )));
    }
    suite.retain(|_, s| failed.contains(&(s.file.display().to_string().as_str(), s.name)));
    let kept = suite.len();
    if kept == 0 {
        return Err(format!(
            "none of the {} scenario{} that failed in {shown} is among the scenarios given (renamed, moved, or filtered out?)",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" }
        ));
    }
    eprintln!(
        "runner: --rerun-failed: running the {} scenario{} that failed or errored in {shown}",
        kept,
        if kept == 1 { "" } else { "s" }
    );
    Ok(Rerun::Run)
}

/// Secret headers written out in the files (`X-Api-Key: lp_test_...`), and the
/// written-out values of variables (matrix values included) listed under
/// `secrets:`, are known before the first request: masked from the first line on,
/// in every scenario.
pub(super) fn register_literal_secret_headers(
    scenarios: &[Scenario],
    secret_names: &[String],
    redactor: &Redactor,
) {
    use crate::scenario::Action;
    let is_secret = crate::secrets::is_secret_header;
    for s in scenarios {
        for (name, value) in &s.vars {
            if (s.secrets.contains(name) || secret_names.contains(name))
                && let Some(v) = value.as_literal_json()
            {
                redactor.add_value(&v, &format!("secret `{name}`"));
            }
        }
        let steps = s.all_steps().filter_map(|st| match &st.action {
            Action::Request(r) => Some(&r.headers),
            Action::WaitWebhook(_) => None,
        });
        for headers in std::iter::once(&s.headers).chain(steps) {
            // Every value of a repeated header: the secret may be any of its lines.
            for (name, values) in headers {
                for value in values.iter() {
                    if is_secret(name) && value.is_literal() {
                        redactor.add_header(name, &value.src);
                    }
                }
            }
        }
    }
}

/// The password of `scheme://user:password@host...`, read from the text: for a URL
/// too broken to parse, whose error message would quote it.
fn userinfo_password(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let (userinfo, _) = authority.rsplit_once('@')?;
    let (_, password) = userinfo.split_once(':')?;
    Some(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fallback_follows_the_mock_and_the_dry_run() {
        let table = [
            (false, false, Fallback::None),
            (false, true, Fallback::None),
            (true, false, Fallback::EmbeddedMock),
            (true, true, Fallback::DryRunMock),
        ];
        for (uses_mock, dry_run, want) in table {
            assert_eq!(
                Fallback::of(uses_mock, dry_run),
                want,
                "uses_mock {uses_mock}, dry_run {dry_run}"
            );
        }
    }

    #[test]
    fn a_password_is_read_from_a_url_too_broken_to_parse() {
        let table = [
            ("https://u:p4ss@host/x", Some("p4ss")),
            ("https://u:p@ss@host", Some("p@ss")),
            ("https://user@host", None),
            ("https://host/a:b@c", None),
            ("no scheme", None),
        ];
        for (url, want) in table {
            assert_eq!(userinfo_password(url), want, "{url}");
        }
    }
}
