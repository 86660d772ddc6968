//! `runner run`: check everything, pick the target, run, report, exit.

use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;

use super::args::RunArgs;
use super::{load_checked, print_diagnostics_masked, vars};
use crate::engine::{self, RunOptions, Stop};
use crate::events::Event;
use crate::exit;
use crate::http::tls::{TlsOptions, read_ca_file};
use crate::report::console::{ConsoleOptions, ConsoleReporter};
use crate::report::html::HtmlReporter;
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::{Reporter, Summary, pump};
use crate::safety::{Catalog, RuntimeGuard, Target, guard, spend};
use crate::scenario::{Scenario, Suite};
use crate::secrets::Redactor;
use layers_mock::{MockConfig, MockServer};

/// Where scenarios go when nothing names a server, in a dry run: the embedded mock a
/// real run would start (on a free port, unknown until then). `.invalid` never
/// resolves, so a request copied from a dry run cannot reach anything by mistake.
const DRY_RUN_BASE: &str = "http://layers-mock.invalid";

pub fn run(a: RunArgs) -> i32 {
    // Secrets known before anything is loaded, so that even a problem in a file or on
    // the command line is printed masked.
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
    install_masking_panic_hook(redactor.clone());
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
        return exit::USAGE;
    }
    if on_stdout > 1 {
        eprintln!(
            "error: --junit - and --report-json - both ask for standard output: send one of them to a file"
        );
        return exit::USAGE;
    }
    let variables = match a.variables.resolve() {
        Ok(v) => v,
        Err(d) => {
            print_diagnostics_masked(&d, &redactor);
            return exit::USAGE;
        }
    };
    vars::add_secrets(&variables, &a.secrets, &redactor);
    let mut tls = TlsOptions {
        insecure: a.insecure,
        extra_roots: Vec::new(),
    };
    for file in &a.ca_certs {
        match read_ca_file(file) {
            Ok(certs) => tls.extra_roots.extend(certs),
            Err(e) => {
                eprintln!("error: --cacert: {e}");
                return exit::USAGE;
            }
        }
    }
    if a.insecure {
        eprintln!(
            "runner: warning: --insecure: TLS certificates are not checked; use it against test servers only"
        );
    }
    let var_names = vars::names(&variables);
    let mut suite = match load_checked(&a.paths, &var_names) {
        Ok(x) => x,
        Err(d) => {
            print_diagnostics_masked(&d, &redactor);
            return exit::USAGE;
        }
    };
    let selection = crate::select::Selection::from(&a.selection);
    let selected = crate::select::select_suite(&mut suite, &selection);
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
        return exit::USAGE;
    }
    if let Some(given) = &a.rerun_failed {
        match rerun_selection(
            std::path::Path::new(given),
            a.report_json.as_deref(),
            &mut suite,
        ) {
            Ok(Rerun::Run) => {}
            Ok(Rerun::Nothing(why)) => {
                eprintln!("runner: --rerun-failed: {why}: nothing to run");
                return exit::OK;
            }
            Err(e) => {
                eprintln!("{}", redactor.scrub(&format!("error: --rerun-failed: {e}")));
                return exit::USAGE;
            }
        }
    }
    if let Some(base) = &a.base_url {
        // An empty value is usually an unset CI variable (`RUNNER_BASE_URL: ${{ vars.X }}`):
        // refuse it rather than quietly test the file's server or the mock instead.
        if base.trim().is_empty() {
            eprintln!(
                "error: the base URL is empty (--base-url or RUNNER_BASE_URL): give the server's URL, e.g. https://staging.example.com, or unset it to use the files' base_url or the embedded mock"
            );
            return exit::USAGE;
        }
        match crate::http::wire::resolve_url(Some(base), "/") {
            Ok(u) => {
                if let Some(p) = u.password() {
                    redactor.add_labeled(p, "--base-url password");
                }
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
                return exit::USAGE;
            }
        }
    }
    let catalog = match Catalog::load(&a.cost_catalogs) {
        Ok(c) => c,
        Err(d) => {
            print_diagnostics_masked(&d, &redactor);
            return exit::USAGE;
        }
    };
    let kinds = guard::unknown_kinds(suite.scenarios(), &catalog);
    if !kinds.is_empty() {
        print_diagnostics_masked(&kinds, &redactor);
        return exit::USAGE;
    }
    let openapi = match &a.openapi {
        Some(p) => match crate::contract::load_cached(p) {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("error: --openapi: {e}");
                return exit::USAGE;
            }
        },
        None => None,
    };
    if openapi.is_none()
        && let Some((s, st)) = suite.scenarios().iter().find_map(|s| {
            s.all_steps()
                .find(|st| {
                    st.expect
                        .openapi
                        .as_ref()
                        .is_some_and(|o| o.source == crate::scenario::expect::OpenApiSource::Run)
                })
                .map(|st| (s, st))
        })
    {
        eprintln!(
            "error: {}: scenario \"{}\", step \"{}\" says `openapi: true`, which checks against the run's --openapi SPEC, and none is given",
            s.file.display(),
            s.name,
            st.name
        );
        return exit::USAGE;
    }
    let target_of = |s: &Scenario| {
        if a.base_url.is_none() && s.base_url.is_none() {
            Target::EmbeddedMock
        } else {
            Target::Real
        }
    };
    let known = guard::Known::of_process(
        suite.templates(),
        variables.iter().map(|(k, v)| (k.clone(), v.value.clone())),
        a.base_url.clone(),
    );
    let refused = guard::refusals(suite.scenarios(), &catalog, target_of, &known);
    drop(known);
    suite.set_render_limit(a.max_rendered);
    if !refused.is_empty() {
        if a.dry_run {
            eprintln!(
                "runner: dry run: a real run would refuse {} step{} (shown below); rendering anyway, nothing is sent",
                refused.len(),
                if refused.len() == 1 { "" } else { "s" }
            );
            eprint!("{}", redactor.scrub(&refused.render()));
        } else {
            print_diagnostics_masked(&refused, &redactor);
            return exit::USAGE;
        }
    }
    let uses_mock = suite
        .scenarios()
        .iter()
        .any(|s| target_of(s) == Target::EmbeddedMock);
    if let Some(max) = a.max_credits
        && !uses_mock
        && !a.dry_run
    {
        eprintln!(
            "error: --max-credits {max} reads the embedded mock's ledger, and this run sends nothing to it (every scenario has a base URL)"
        );
        eprintln!("  = hint: drop --base-url / RUNNER_BASE_URL to run against the embedded mock");
        return exit::USAGE;
    }
    suite.add_secrets(&a.secrets);
    register_literal_secret_headers(suite.scenarios(), &redactor);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::INTERNAL;
        }
    };
    let suite = Arc::new(suite);
    let cli_vars = variables
        .into_iter()
        .map(|(name, v)| (name, v.value))
        .collect();
    runtime.block_on(run_async(
        a, suite, cli_vars, tls, redactor, catalog, uses_mock,
    ))
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
    given: &std::path::Path,
    report_json: Option<&std::path::Path>,
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
    suite.retain(|_, s| failed.contains(&(s.file.display().to_string().as_str(), s.name.as_str())));
    let kept = suite.scenarios();
    if kept.is_empty() {
        return Err(format!(
            "none of the {} scenario{} that failed in {shown} is among the scenarios given (renamed, moved, or filtered out?)",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" }
        ));
    }
    eprintln!(
        "runner: --rerun-failed: running the {} scenario{} that failed or errored in {shown}",
        kept.len(),
        if kept.len() == 1 { "" } else { "s" }
    );
    Ok(Rerun::Run)
}

/// Secret headers written out in the files (`X-Api-Key: lp_test_...`), and the
/// written-out values of variables (matrix values included) listed under
/// `secrets:`, are known before the first request: masked from the first line on,
/// in every scenario.
pub(super) fn register_literal_secret_headers(scenarios: &[Scenario], redactor: &Redactor) {
    use crate::scenario::Action;
    use crate::secrets::SECRET_HEADERS;
    let is_secret = |name: &str| SECRET_HEADERS.iter().any(|h| name.eq_ignore_ascii_case(h));
    for s in scenarios {
        for (name, value) in &s.vars {
            if s.secrets.contains(name)
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

/// A panic is a bug, but its message must not carry a secret out either.
fn install_masking_panic_hook(redactor: Redactor) {
    std::panic::set_hook(Box::new(move |info| {
        eprintln!(
            "{}\nthis is a bug in the runner, please report it",
            redactor.scrub(&info.to_string())
        );
    }));
}

async fn run_async(
    a: RunArgs,
    suite: Arc<Suite>,
    cli_vars: IndexMap<String, serde_json::Value>,
    tls: TlsOptions,
    redactor: Redactor,
    catalog: Catalog,
    uses_mock: bool,
) -> i32 {
    let started = Instant::now();
    let mock = if uses_mock && !a.dry_run {
        match MockServer::start(MockConfig::default(), ([127, 0, 0, 1], 0).into()).await {
            Ok(m) => {
                eprintln!(
                    "runner: no base URL given (--base-url, RUNNER_BASE_URL or base_url:): using the embedded Layers mock at {}",
                    m.base_url()
                );
                Some(m)
            }
            Err(e) => {
                eprintln!("error: cannot start the embedded Layers mock on 127.0.0.1: {e}");
                return exit::INTERNAL;
            }
        }
    } else {
        None
    };
    let fallback = match (&mock, a.dry_run && uses_mock) {
        (Some(m), _) => Some(m.base_url().to_string()),
        (None, true) => {
            eprintln!(
                "runner: dry run: no base URL given (--base-url, RUNNER_BASE_URL or base_url:): a real run would use the embedded Layers mock, started on 127.0.0.1 at a free port; its requests show as {DRY_RUN_BASE}"
            );
            Some(DRY_RUN_BASE.to_string())
        }
        _ => None,
    };
    let target = match (&a.base_url, &mock) {
        _ if a.dry_run => "nothing: dry run (requests are rendered, not sent)".into(),
        (Some(b), _) => b.clone(),
        (None, Some(m)) => format!("the embedded Layers mock at {}", m.base_url()),
        (None, None) => "each file's base_url".into(),
    };
    let options = RunOptions {
        base_url: a.base_url.clone(),
        fallback_base_url: fallback.clone(),
        jobs: a.jobs as usize,
        default_timeout: a.timeout,
        default_retries: a.retries,
        cli_vars,
        body_cap: a.max_body,
        dry_run: a.dry_run,
        cost_guard: Some(RuntimeGuard {
            catalog: Arc::new(catalog),
            mock_base: fallback.as_deref().and_then(|b| url::Url::parse(b).ok()),
        }),
        record_passes: a.report_json.is_some() || a.report_html.is_some(),
        fail_fast: a.fail_fast,
        follow_redirects: a.follow_redirects,
        tls,
        scenario_retries: a.scenario_retries,
        max_rps: a.max_rps,
        // Only the console's -v / -vv (and a dry run's listing) shows steps one by one.
        step_events: a.verbose > 0 || a.dry_run,
        // Loaded and checked before the run started: the cache answers.
        openapi: a
            .openapi
            .as_ref()
            .and_then(|p| crate::contract::load_cached(p).ok()),
    };
    let verbosity = if a.dry_run {
        a.verbose.max(2)
    } else {
        a.verbose
    };
    // A report on standard output (`--junit -`) keeps it to itself: the console goes to stderr.
    let report_on_stdout = [&a.junit, &a.report_json, &a.report_html]
        .into_iter()
        .flatten()
        .any(|p| crate::report::is_stdout(p));
    let console: Box<dyn Reporter> = if report_on_stdout {
        let mut t = crate::report::console::Terminal::detect();
        t.stdout_is_tty = t.stderr_is_tty;
        let mut opts = ConsoleOptions::for_terminal(verbosity, t);
        opts.show_passes = !a.quiet;
        Box::new(ConsoleReporter::with_writer(
            opts,
            Box::new(std::io::stderr()),
        ))
    } else {
        let mut opts = ConsoleOptions::detect(verbosity);
        opts.show_passes = !a.quiet;
        Box::new(ConsoleReporter::new(opts))
    };
    let mut reporters: Vec<Box<dyn Reporter>> = vec![console];
    if let Some(p) = &a.junit {
        reporters.push(Box::new(JunitReporter::new(
            p.clone(),
            a.junit_granularity,
            redactor.clone(),
        )));
    }
    if let Some(p) = &a.report_json {
        reporters.push(Box::new(JsonReporter::new(p.clone(), redactor.clone())));
    }
    if let Some(p) = &a.report_html {
        reporters.push(Box::new(HtmlReporter::new(p, redactor.clone())));
    }
    let commands_out: Box<dyn std::io::Write + Send> = if report_on_stdout {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    if let Some(gh) =
        crate::report::github::GithubReporter::from_env(commands_out, redactor.clone())
    {
        reporters.push(Box::new(gh));
    }
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let pump_task = tokio::spawn(pump(rx, redactor.clone(), reporters));
    let stop = Stop::default();
    let signal = tokio::spawn(watch_signals(stop.clone(), a.grace));
    let result = engine::run(
        suite,
        options,
        redactor.clone(),
        stop.clone(),
        tx.clone(),
        target,
    )
    .await;
    let verdicts = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{}", redactor.scrub(&format!("error: {e}")));
            drop(tx);
            let _ = pump_task.await;
            return exit::INTERNAL;
        }
    };
    let mut budget_code = None;
    let mut budget = a.max_credits.map(|max_credits| crate::report::Budget {
        max_credits,
        exceeded: None,
    });
    let mut spent = None;
    if let Some(m) = &mock {
        match spend::read(m.base_url()).await {
            Ok(s) => {
                let _ = tx.send(Event::Notice(s.line()));
                if s.jobs_left_running > 0 {
                    let _ = tx.send(Event::Notice(format!(
                        "warning: {} job{} left running: a scenario started a job and no `finally` step cancelled it",
                        s.jobs_left_running,
                        if s.jobs_left_running == 1 { " was" } else { "s were" }
                    )));
                }
                if let Some(msg) = s.over_budget(a.max_credits) {
                    if let Some(b) = budget.as_mut() {
                        b.exceeded = Some(msg.trim_start_matches("error: ").to_string());
                    }
                    let _ = tx.send(Event::Notice(msg));
                    budget_code = Some(exit::INTERNAL);
                }
                spent = Some(s);
            }
            Err(e) => {
                let _ = tx.send(Event::Notice(format!(
                    "warning: could not read the embedded mock's ledger: {e}"
                )));
                if let Some(b) = budget.as_mut() {
                    b.exceeded = Some(format!(
                        "the spend could not be checked against --max-credits {}: the embedded mock's ledger could not be read: {e}",
                        b.max_credits
                    ));
                }
                if a.max_credits.is_some() {
                    budget_code = Some(exit::INTERNAL);
                }
            }
        }
    }
    drop(tx);
    let mut reporters = pump_task.await.unwrap_or_default();
    let interrupted = stop.soft.is_cancelled();
    let mut summary = Summary::from_verdicts(&verdicts, started.elapsed(), interrupted);
    summary.spend = spent;
    // A dry run spends nothing and checks no budget.
    summary.budget = if mock.is_some() { budget } else { None };
    if a.openapi_coverage {
        // Before the reporters finish, so that the run's summary stays the last line.
        for spec in crate::contract::loaded() {
            let coverage = spec.coverage();
            print!("{}", redactor.scrub(&coverage.render()));
            summary.openapi_coverage.push(coverage);
        }
    }
    let mut report_failed = false;
    for r in reporters.iter_mut() {
        if let Err(e) = r.finish(&summary) {
            eprintln!("{}", redactor.scrub(&format!("error: {e}")));
            report_failed = true;
        }
    }
    if let Some(m) = mock {
        m.shutdown().await;
    }
    let signal_code = if interrupted {
        match signal.await {
            Ok(Some(c)) => Some(c),
            _ => Some(exit::SIGINT),
        }
    } else {
        signal.abort();
        None
    };
    if let Some(c) = signal_code {
        return c;
    }
    if report_failed {
        return exit::INTERNAL;
    }
    if !summary.all_passed() || (a.flaky_fails && summary.flaky > 0) {
        return exit::FAILED;
    }
    budget_code.unwrap_or(exit::OK)
}

/// First Ctrl-C or SIGTERM: stop softly and start the grace period. A second one
/// exits at once. Returns the exit code the first signal calls for.
async fn watch_signals(stop: Stop, grace: std::time::Duration) -> Option<i32> {
    // One listener for the whole run: a second signal that arrives while the first
    // is being handled is queued, never lost.
    let mut signals = Signals::new()?;
    let code = signals.next().await?;
    eprintln!(
        "runner: {}: stopping: no new steps; running `finally` steps (up to {}; a request still on the wire gets the first {} of it); press Ctrl-C again to exit at once",
        if code == exit::SIGTERM {
            "SIGTERM"
        } else {
            "interrupted"
        },
        crate::http::fmt_duration(grace),
        crate::http::fmt_duration(engine::in_flight_share(grace))
    );
    stop.soft.cancel();
    let hard = stop.hard.clone();
    let in_flight = stop.in_flight.clone();
    tokio::spawn(async move {
        let share = engine::in_flight_share(grace);
        tokio::time::sleep(share).await;
        in_flight.cancel();
        tokio::time::sleep(grace.saturating_sub(share)).await;
        hard.cancel();
    });
    tokio::spawn(async move {
        if let Some(second) = signals.next().await {
            eprintln!("runner: second interrupt: exiting now, without reports");
            std::process::exit(second);
        }
    });
    Some(code)
}

/// SIGINT and SIGTERM as one stream of exit codes.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Option<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Some(Signals {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
        })
    }

    #[cfg(unix)]
    async fn next(&mut self) -> Option<i32> {
        tokio::select! {
            r = self.int.recv() => r.map(|_| exit::SIGINT),
            r = self.term.recv() => r.map(|_| exit::SIGTERM),
        }
    }

    #[cfg(not(unix))]
    fn new() -> Option<Self> {
        Some(Signals {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Option<i32> {
        tokio::signal::ctrl_c().await.ok().map(|_| exit::SIGINT)
    }
}
