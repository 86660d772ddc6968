//! `runner run`: check everything, pick the target, run, report, exit.

use std::sync::Arc;
use std::time::Instant;

use indexmap::IndexMap;

use super::args::RunArgs;
use super::{load_suite, print_diagnostics};
use crate::engine::{self, RunOptions, Stop};
use crate::events::Event;
use crate::exit;
use crate::mock::{MockConfig, MockServer};
use crate::report::console::{ConsoleOptions, ConsoleReporter};
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::redact::Redactor;
use crate::report::{Reporter, Summary, pump};
use crate::scenario::Suite;

pub fn run(a: RunArgs) -> i32 {
    let var_names: Vec<String> = a.vars.iter().map(|(k, _)| k.clone()).collect();
    let (scenarios, templates) = match load_suite(&a.paths, &var_names) {
        Ok(x) => x,
        Err(d) => {
            print_diagnostics(&d);
            return exit::USAGE;
        }
    };
    let mut scenarios = crate::select::select(scenarios, &a.selection);
    if scenarios.is_empty() {
        eprintln!(
            "error: no scenario matches the selection (--tag, --skip-tag, --filter, --shard)"
        );
        return exit::USAGE;
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
        if let Err(e) = engine::request::resolve_url(Some(base), "/") {
            eprintln!("error: base URL (--base-url or RUNNER_BASE_URL): {e}");
            return exit::USAGE;
        }
    }
    for s in scenarios.iter_mut() {
        s.secrets.extend(a.secrets.iter().cloned());
    }
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
    runtime.block_on(run_async(a, suite))
}

async fn run_async(a: RunArgs, suite: Arc<Suite>) -> i32 {
    let started = Instant::now();
    let redactor = Redactor::new();
    redactor.add_env_secrets();
    for name in &a.secrets {
        if let Ok(v) = std::env::var(name) {
            redactor.add(&v);
        }
        if let Some((_, v)) = a.vars.iter().find(|(k, _)| k == name) {
            redactor.add(v);
        }
    }
    let needs_fallback =
        a.base_url.is_none() && suite.scenarios.iter().any(|s| s.base_url.is_none());
    let mock = if needs_fallback && !a.dry_run {
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
    let fallback = match (&mock, a.dry_run && needs_fallback) {
        (Some(m), _) => Some(m.base_url().to_string()),
        (None, true) => Some("http://127.0.0.1:0".to_string()),
        _ => None,
    };
    let target = match (&a.base_url, &mock) {
        (Some(b), _) => b.clone(),
        (None, Some(m)) => format!("the embedded Layers mock at {}", m.base_url()),
        (None, None) => "each file's base_url".into(),
    };
    let options = RunOptions {
        base_url: a.base_url.clone(),
        fallback_base_url: fallback,
        jobs: a.jobs as usize,
        default_timeout: a.timeout,
        default_retries: a.retries,
        cli_vars: a.vars.iter().cloned().collect::<IndexMap<_, _>>(),
        body_cap: a.max_body,
        dry_run: a.dry_run,
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
    let reports = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            drop(tx);
            let _ = pump_task.await;
            return exit::INTERNAL;
        }
    };
    let mut code = None;
    if let Some(m) = &mock {
        match spend_report(m.base_url(), a.max_credits).await {
            Ok((line, over)) => {
                let _ = tx.send(Event::Notice(line));
                if let Some(msg) = over {
                    let _ = tx.send(Event::Notice(msg));
                    code = Some(exit::INTERNAL);
                }
            }
            Err(e) => {
                let _ = tx.send(Event::Notice(format!(
                    "could not read the mock's ledger: {e}"
                )));
            }
        }
    }
    drop(tx);
    let mut reporters = pump_task.await.unwrap_or_default();
    let interrupted = stop.soft.is_cancelled();
    let summary = Summary::from_reports(&reports, started.elapsed(), interrupted);
    let mut report_failed = false;
    for r in reporters.iter_mut() {
        if let Err(e) = r.finish(&summary) {
            eprintln!("error: {e}");
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
    code.unwrap_or(exit::OK)
}

/// First Ctrl-C or SIGTERM: stop softly and start the grace period. A second Ctrl-C
/// exits at once. Returns the exit code the signal calls for.
async fn watch_signals(stop: Stop, grace: std::time::Duration) -> Option<i32> {
    let code = wait_signal().await?;
    eprintln!(
        "runner: stopping: no new steps; running `finally` steps (up to {}); press Ctrl-C again to exit at once",
        crate::http::fmt_duration(grace)
    );
    stop.soft.cancel();
    let hard = stop.hard.clone();
    tokio::spawn(async move {
        tokio::time::sleep(grace).await;
        hard.cancel();
    });
    tokio::spawn(async move {
        if wait_signal().await.is_some() {
            eprintln!("runner: second interrupt: exiting now");
            std::process::exit(exit::SIGINT);
        }
    });
    Some(code)
}

#[cfg(unix)]
async fn wait_signal() -> Option<i32> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok()?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.ok().map(|_| exit::SIGINT),
        _ = term.recv() => Some(exit::SIGTERM),
    }
}

#[cfg(not(unix))]
async fn wait_signal() -> Option<i32> {
    tokio::signal::ctrl_c().await.ok().map(|_| exit::SIGINT)
}

/// What the run would have cost, from the mock's ledger; and the budget verdict.
async fn spend_report(
    base: &str,
    max_credits: Option<u64>,
) -> Result<(String, Option<String>), String> {
    let url = format!("{}/_mock/ledger", base.trim_end_matches('/'));
    let v: serde_json::Value = reqwest::get(&url)
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let n = |k: &str| v.get(k).and_then(|x| x.as_u64()).unwrap_or(0);
    let running = v
        .pointer("/jobs/running")
        .and_then(|x| x.as_u64())
        .unwrap_or(0);
    let credits = n("creditsSpent");
    let line = format!(
        "spend (mock ledger): {credits} credits, {} scraper calls, {} agent runs, {} pull requests, {} posts, {} jobs left running",
        n("scraperCalls"),
        n("agentRuns"),
        n("pullRequests"),
        n("posts"),
        running
    );
    let over = max_credits
        .filter(|max| credits > *max)
        .map(|max| format!("error: the run spent {credits} credits, over --max-credits {max}"));
    Ok((line, over))
}
