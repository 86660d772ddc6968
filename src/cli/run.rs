//! `runner run`: check everything, pick the target, run, report, exit.

use std::time::Instant;

use super::args::RunArgs;
use super::plan::{self, Fallback, Reports, RunPlan};
use crate::engine::{self, Stop};
use crate::events::Event;
use crate::exit;
use crate::report::console::{ConsoleOptions, ConsoleReporter};
use crate::report::html::HtmlReporter;
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::{Reporter, Summary, pump};
use crate::safety::spend;
use crate::secrets::Redactor;
use layers_mock::{MockConfig, MockServer};

/// Where scenarios go when nothing names a server, in a dry run: the embedded mock a
/// real run would start (on a free port, unknown until then). `.invalid` never
/// resolves, so a request copied from a dry run cannot reach anything by mistake.
const DRY_RUN_BASE: &str = "http://layers-mock.invalid";

pub fn run(a: RunArgs) -> i32 {
    let redactor = plan::early_secrets(&a);
    install_masking_panic_hook(redactor.clone());
    let plan = match plan::build(a, redactor) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    // A lazy suite's files are loaded and checked again on these threads as their
    // scenarios start: a file nested within the limit overflowed tokio's default
    // stack (2 MB) in a debug build. Only then: the larger stacks cost a run of one
    // scenario about 1.7 ms more CPU.
    if plan.suite.is_lazy() {
        builder.thread_stack_size(crate::scenario::load::LOADER_STACK_BYTES);
    }
    // Told the count already known, unless the user set tokio's own variable,
    // which naming a count here would override.
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(crate::cores::cores());
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::INTERNAL;
        }
    };
    runtime.block_on(execute(plan))
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

/// Carry a plan out: start the mock it needs, open the reporters, run the engine,
/// read the mock's ledger, finish the reports; returns the exit code.
async fn execute(mut plan: RunPlan) -> i32 {
    let started = Instant::now();
    let (mock, fallback) = match start_fallback(plan.fallback).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    let target = describe_target(&plan, mock.as_ref());
    plan.options.fallback_base_url = fallback.clone();
    if let Some(g) = plan.options.cost_guard.as_mut() {
        g.mock_base = fallback.as_deref().and_then(|b| url::Url::parse(b).ok());
    }
    let redactor = plan.redactor.clone();
    let reporters = open_reporters(&plan.reports, &redactor);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let pump_task = tokio::spawn(pump(rx, redactor.clone(), reporters));
    let stop = Stop::default();
    let signal = tokio::spawn(watch_signals(stop.clone(), plan.grace));
    let result = engine::run(
        plan.suite.clone(),
        plan.options.clone(),
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
    let ledger = match &mock {
        Some(m) => read_ledger(m, plan.max_credits, &tx).await,
        None => Ledger::default(),
    };
    drop(tx);
    let mut reporters = pump_task.await.unwrap_or_default();
    let interrupted = stop.soft.is_cancelled();
    let mut summary = Summary::from_verdicts(&verdicts, started.elapsed(), interrupted);
    summary.spend = ledger.spent;
    // A dry run spends nothing and checks no budget.
    summary.budget = ledger.budget;
    if plan.openapi_coverage {
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
    exit_code(RunEnd {
        signal: signal_code,
        report_failed,
        failed: !summary.all_passed() || (plan.flaky_fails && summary.flaky > 0),
        budget: ledger.code,
    })
}

/// What the exit code of a run is decided from.
#[derive(Clone, Copy, Debug)]
struct RunEnd {
    /// The exit code of the signal that interrupted the run.
    signal: Option<i32>,
    /// A report could not be written.
    report_failed: bool,
    /// A scenario failed or errored (or was flaky, with `--flaky-fails`).
    failed: bool,
    /// What the mock's ledger calls for (`--max-credits` exceeded or unread).
    budget: Option<i32>,
}

/// The first that applies: interrupted, a report not written, a scenario failed,
/// over budget; else passed. A CI reading the code learns the most urgent.
fn exit_code(o: RunEnd) -> i32 {
    if let Some(c) = o.signal {
        return c;
    }
    if o.report_failed {
        return exit::INTERNAL;
    }
    if o.failed {
        return exit::FAILED;
    }
    o.budget.unwrap_or(exit::OK)
}

/// The embedded mock when the plan sends to it, and the base URL of the scenarios
/// that name no server. `Err` is the exit code, its message printed.
async fn start_fallback(fallback: Fallback) -> Result<(Option<MockServer>, Option<String>), i32> {
    match fallback {
        Fallback::None => Ok((None, None)),
        Fallback::EmbeddedMock => {
            match MockServer::start(MockConfig::default(), ([127, 0, 0, 1], 0).into()).await {
                Ok(m) => {
                    eprintln!(
                        "runner: no base URL given (--base-url, RUNNER_BASE_URL or base_url:): using the embedded Layers mock at {}",
                        m.base_url()
                    );
                    let base = m.base_url().to_string();
                    Ok((Some(m), Some(base)))
                }
                Err(e) => {
                    eprintln!("error: cannot start the embedded Layers mock on 127.0.0.1: {e}");
                    Err(exit::INTERNAL)
                }
            }
        }
        Fallback::DryRunMock => {
            eprintln!(
                "runner: dry run: no base URL given (--base-url, RUNNER_BASE_URL or base_url:): a real run would use the embedded Layers mock, started on 127.0.0.1 at a free port; its requests show as {DRY_RUN_BASE}"
            );
            Ok((None, Some(DRY_RUN_BASE.to_string())))
        }
    }
}

/// Where the run sends, in the words of the run's first line.
fn describe_target(plan: &RunPlan, mock: Option<&MockServer>) -> String {
    match (&plan.base_url, mock) {
        _ if plan.options.dry_run => "nothing: dry run (requests are rendered, not sent)".into(),
        (Some(b), _) => b.clone(),
        (None, Some(m)) => format!("the embedded Layers mock at {}", m.base_url()),
        (None, None) => "each file's base_url".into(),
    }
}

/// The console, then each report the command line asks for, then GitHub's
/// workflow commands when running in GitHub Actions.
fn open_reporters(reports: &Reports, redactor: &Redactor) -> Vec<Box<dyn Reporter>> {
    // A report on standard output (`--junit -`) keeps it to itself: the console goes to stderr.
    let console: Box<dyn Reporter> = if reports.on_stdout {
        let mut t = crate::report::console::Terminal::detect();
        t.stdout_is_tty = t.stderr_is_tty;
        let mut opts = ConsoleOptions::for_terminal(reports.verbosity, t);
        opts.show_passes = !reports.quiet;
        Box::new(ConsoleReporter::with_writer(
            opts,
            Box::new(std::io::stderr()),
        ))
    } else {
        let mut opts = ConsoleOptions::detect(reports.verbosity);
        opts.show_passes = !reports.quiet;
        Box::new(ConsoleReporter::new(opts))
    };
    let mut reporters: Vec<Box<dyn Reporter>> = vec![console];
    if let Some((p, granularity)) = &reports.junit {
        reporters.push(Box::new(JunitReporter::new(
            p.clone(),
            *granularity,
            redactor.clone(),
        )));
    }
    if let Some(p) = &reports.json {
        reporters.push(Box::new(JsonReporter::new(p.clone(), redactor.clone())));
    }
    if let Some(p) = &reports.html {
        reporters.push(Box::new(HtmlReporter::new(p, redactor.clone())));
    }
    let commands_out: Box<dyn std::io::Write + Send> = if reports.on_stdout {
        Box::new(std::io::stderr())
    } else {
        Box::new(std::io::stdout())
    };
    if let Some(gh) =
        crate::report::github::GithubReporter::from_env(commands_out, redactor.clone())
    {
        reporters.push(Box::new(gh));
    }
    reporters
}

/// What the embedded mock's ledger says after a run.
#[derive(Default)]
struct Ledger {
    spent: Option<crate::safety::Spend>,
    /// Only when `--max-credits` is given.
    budget: Option<crate::report::Budget>,
    /// The exit code the spend calls for, if not the run's outcome.
    code: Option<i32>,
}

/// Read the mock's ledger, and tell the reporters what it says (spend, jobs left
/// running, the budget) as notices.
async fn read_ledger(
    mock: &MockServer,
    max_credits: Option<u64>,
    tx: &tokio::sync::mpsc::UnboundedSender<Event>,
) -> Ledger {
    let mut ledger = Ledger {
        budget: max_credits.map(|max_credits| crate::report::Budget {
            max_credits,
            exceeded: None,
        }),
        ..Ledger::default()
    };
    match spend::read(mock.base_url()).await {
        Ok(s) => {
            let _ = tx.send(Event::Notice(s.line()));
            if s.jobs_left_running > 0 {
                let _ = tx.send(Event::Notice(format!(
                    "warning: {} job{} left running: a scenario started a job and no `finally` step cancelled it",
                    s.jobs_left_running,
                    if s.jobs_left_running == 1 { " was" } else { "s were" }
                )));
            }
            if let Some(msg) = s.over_budget(max_credits) {
                if let Some(b) = ledger.budget.as_mut() {
                    b.exceeded = Some(msg.trim_start_matches("error: ").to_string());
                }
                let _ = tx.send(Event::Notice(msg));
                ledger.code = Some(exit::INTERNAL);
            }
            ledger.spent = Some(s);
        }
        Err(e) => {
            let _ = tx.send(Event::Notice(format!(
                "warning: could not read the embedded mock's ledger: {e}"
            )));
            if let Some(b) = ledger.budget.as_mut() {
                b.exceeded = Some(format!(
                    "the spend could not be checked against --max-credits {}: the embedded mock's ledger could not be read: {e}",
                    b.max_credits
                ));
            }
            if max_credits.is_some() {
                ledger.code = Some(exit::INTERNAL);
            }
        }
    }
    ledger
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_says_the_most_urgent_outcome() {
        let ok = RunEnd {
            signal: None,
            report_failed: false,
            failed: false,
            budget: None,
        };
        let table = [
            (ok, exit::OK),
            (RunEnd { failed: true, ..ok }, exit::FAILED),
            (
                RunEnd {
                    budget: Some(exit::INTERNAL),
                    ..ok
                },
                exit::INTERNAL,
            ),
            (
                RunEnd {
                    failed: true,
                    budget: Some(exit::INTERNAL),
                    ..ok
                },
                exit::FAILED,
            ),
            (
                RunEnd {
                    report_failed: true,
                    failed: true,
                    ..ok
                },
                exit::INTERNAL,
            ),
            (
                RunEnd {
                    signal: Some(exit::SIGTERM),
                    report_failed: true,
                    failed: true,
                    budget: Some(exit::INTERNAL),
                },
                exit::SIGTERM,
            ),
        ];
        for (outcome, want) in table {
            assert_eq!(exit_code(outcome), want, "{outcome:?}");
        }
    }
}
