//! `runner run`: check everything, pick the target, run, report, exit.

use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;

use super::args::RunArgs;
use super::{load_suite, print_diagnostics_masked, vars};
use crate::engine::{self, RunOptions, Stop};
use crate::events::Event;
use crate::exit;
use crate::http::tls::{TlsOptions, read_ca_file};
use crate::mock::{MockConfig, MockServer};
use crate::report::console::{ConsoleOptions, ConsoleReporter};
use crate::report::html::HtmlReporter;
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::redact::Redactor;
use crate::report::{Reporter, Summary, pump};
use crate::safety::{Catalog, RuntimeGuard, Target, guard, spend};
use crate::scenario::{Scenario, Suite};

/// Where scenarios go when nothing names a server, in a dry run (never contacted).
const DRY_RUN_BASE: &str = "http://127.0.0.1:0";

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
    let (scenarios, mut templates) = match load_suite(&a.paths, &var_names) {
        Ok(x) => x,
        Err(d) => {
            print_diagnostics_masked(&d, &redactor);
            return exit::USAGE;
        }
    };
    let selected = crate::select::select_counted(scenarios, &a.selection);
    if selected.is_empty_shard(&a.selection) {
        // More CI machines than scenarios: this one has nothing to do, which is
        // fine; it still writes its (empty) reports for CI to merge.
        eprintln!(
            "runner: nothing to run in this shard: {}",
            selected.describe(&a.selection)
        );
    } else if selected.scenarios.is_empty() {
        eprintln!(
            "error: no scenario matches the selection (--tag, --skip-tag, --filter): {}",
            selected.describe(&a.selection)
        );
        return exit::USAGE;
    }
    let mut scenarios = selected.scenarios;
    if let Some(base) = &a.base_url {
        // An empty value is usually an unset CI variable (`RUNNER_BASE_URL: ${{ vars.X }}`):
        // refuse it rather than quietly test the file's server or the mock instead.
        if base.trim().is_empty() {
            eprintln!(
                "error: the base URL is empty (--base-url or RUNNER_BASE_URL): give the server's URL, e.g. https://staging.example.com, or unset it to use the files' base_url or the embedded mock"
            );
            return exit::USAGE;
        }
        match engine::request::resolve_url(Some(base), "/") {
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
    let kinds = guard::unknown_kinds(&scenarios, &catalog);
    if !kinds.is_empty() {
        print_diagnostics_masked(&kinds, &redactor);
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
        &templates,
        variables.iter().map(|(k, v)| (k.clone(), v.value.clone())),
        a.base_url.clone(),
    );
    let refused = guard::refusals(&scenarios, &catalog, target_of, &known);
    drop(known);
    templates.set_render_limit(a.max_rendered);
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
    let uses_mock = scenarios
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
    for s in scenarios.iter_mut() {
        s.secrets.extend(a.secrets.iter().cloned());
    }
    register_literal_secret_headers(&scenarios, &redactor);
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
    let suite = Arc::new(Suite {
        scenarios,
        templates: Arc::new(templates),
    });
    let cli_vars = variables
        .into_iter()
        .map(|(name, v)| (name, v.value))
        .collect();
    runtime.block_on(run_async(
        a, suite, cli_vars, tls, redactor, catalog, uses_mock,
    ))
}

/// Secret headers written out in the files (`X-Api-Key: lp_test_...`), and the
/// written-out values of variables (matrix values included) listed under
/// `secrets:`, are known before the first request: masked from the first line on,
/// in every scenario.
pub(super) fn register_literal_secret_headers(scenarios: &[Scenario], redactor: &Redactor) {
    use crate::report::redact::SECRET_HEADERS;
    use crate::scenario::Action;
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
            for (name, value) in headers {
                if is_secret(name) && value.is_literal() {
                    redactor.add_header(name, &value.src);
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
        (None, true) => Some(DRY_RUN_BASE.to_string()),
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
        max_rps: a.max_rps,
        // Only the console's -v / -vv (and a dry run's listing) shows steps one by one.
        step_events: a.verbose > 0 || a.dry_run,
    };
    let mut console_opts = ConsoleOptions::detect(if a.dry_run {
        a.verbose.max(2)
    } else {
        a.verbose
    });
    console_opts.show_passes = !a.quiet;
    let mut reporters: Vec<Box<dyn Reporter>> = vec![Box::new(ConsoleReporter::new(console_opts))];
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
                    let _ = tx.send(Event::Notice(msg));
                    budget_code = Some(exit::INTERNAL);
                }
                spent = Some(s);
            }
            Err(e) => {
                let _ = tx.send(Event::Notice(format!(
                    "warning: could not read the embedded mock's ledger: {e}"
                )));
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
    if !summary.all_passed() {
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
