//! A large suite loaded lazily (issue 16): every file is loaded and checked up
//! front, the suite keeps a small record of each scenario, and a scenario's file
//! is loaded again as it starts. Measured with a counting allocator, like
//! `streamed_reports.rs`; each run goes to a server on 127.0.0.1.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

#[path = "support/runner_cli.rs"]
mod runner_cli;

use runner::events::{Event, Outcome, ScenarioReport};
use runner::scenario::Suite;
use runner::scenario::load::{Loading, load_planned};
use runner::secrets::Redactor;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{LIVE, PEAK};

#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

/// The tests of this file run one at a time: the allocator's counts are the process's.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A server on 127.0.0.1 that answers every request with
/// `{"id":"id-1","jobId":"job-1","ok":true}`, 202 to an App Store ingest as the
/// Layers API does and 200 to anything else, and keeps nothing of it (the test
/// servers of `support/` record every request, which would count here).
struct Server {
    url: String,
}

impl Server {
    fn start() -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let rt = runtime();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(|uri: axum::http::Uri| async move {
                    let status = if uri.path().ends_with("/ingest/appstore") {
                        axum::http::StatusCode::ACCEPTED
                    } else {
                        axum::http::StatusCode::OK
                    };
                    let body = serde_json::json!({"id": "id-1", "jobId": "job-1", "ok": true});
                    (status, axum::Json(body))
                });
                let _ = axum::serve(listener, app).await;
            });
        });
        Server { url }
    }

    fn url(&self) -> String {
        self.url.clone()
    }
}

/// The benchmark's smoke flow (bench/smoke.yaml, which bench/run.sh runs), as
/// file number `i`: four steps, two captures.
fn smoke(i: usize) -> String {
    include_str!("../bench/smoke.yaml").replace("@I@", &format!("{i:05}"))
}

/// Run `suite` against `base`, with the engine's defaults for a test (no retries,
/// no step events); see [`run_with`].
fn run(
    rt: &tokio::runtime::Runtime,
    suite: Suite,
    base: &str,
    keep_passed: bool,
) -> (usize, Vec<ScenarioReport>) {
    let options = runner::engine::RunOptions {
        base_url: Some(base.to_string()),
        step_events: false,
        default_retries: 0,
        ..Default::default()
    };
    // A passed scenario's report is counted and dropped, as the file reporters
    // do: the larger run must not hold more for the test's sake.
    run_with(rt, suite, options, move |mut s| {
        (s.outcome != Outcome::Passed || keep_passed).then(|| {
            s.steps.clear();
            s
        })
    })
}

/// Run `suite` with `options`; how many scenarios passed, and the reports `keep`
/// keeps (what it returns for each finished scenario), in the suite's order.
fn run_with(
    rt: &tokio::runtime::Runtime,
    suite: Suite,
    options: runner::engine::RunOptions,
    keep: impl Fn(ScenarioReport) -> Option<ScenarioReport> + Send + 'static,
) -> (usize, Vec<ScenarioReport>) {
    let target = options.base_url.clone().unwrap_or_default();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    rt.block_on(async {
        let drain = tokio::spawn(async move {
            let mut reports = Vec::new();
            let mut passed = 0usize;
            while let Some(e) = rx.recv().await {
                if let Event::ScenarioFinished(s) = e {
                    if s.outcome == Outcome::Passed {
                        passed += 1;
                    }
                    reports.extend(keep(Arc::unwrap_or_clone(s)));
                }
            }
            (passed, reports)
        });
        runner::engine::run(
            Arc::new(suite),
            options,
            Redactor::new(),
            runner::engine::Stop::default(),
            tx,
            target,
        )
        .await
        .unwrap();
        let (passed, mut reports) = drain.await.unwrap();
        reports.sort_by_key(|r| r.index);
        (passed, reports)
    })
}

/// Each report's scenario name and outcome.
fn outcomes(reports: &[ScenarioReport]) -> Vec<(&str, Outcome)> {
    reports
        .iter()
        .map(|r| (r.name.as_str(), r.outcome))
        .collect()
}

/// The binary's `run .` in `ws` against `server`, with `RUNNER_LOADING=loading`.
fn run_loading(ws: &runner_cli::Workspace, loading: &str, server: &Server) -> runner_cli::Output {
    ws.runner()
        .env("RUNNER_LOADING", loading)
        .args(["run", ".", "--junit", "junit.xml"])
        .base_url(&server.url())
        .run()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Loading lazily keeps a few hundred bytes per scenario, whatever the scenario
/// holds: a run of 2,000 files (load, check, run, each scenario reported and
/// dropped) peaks less than 1 KB per scenario above a run of 200. Held, the same
/// scenarios cost about 11 KB each for the whole run: the same measurement of a
/// held suite must see that, or it could not fail.
#[test]
fn a_lazy_suite_holds_a_small_record_per_scenario() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let rt = runtime();
    let (small, large) = (200usize, 2_000usize);
    let dirs: Vec<(usize, tempfile::TempDir)> = [small, large]
        .into_iter()
        .map(|n| {
            let dir = tempfile::tempdir().unwrap();
            for i in 0..n {
                std::fs::write(dir.path().join(format!("smoke-{i:05}.yaml")), smoke(i)).unwrap();
            }
            (n, dir)
        })
        .collect();
    // (how the suite is loaded, whether it may hold less than 1 KB a scenario)
    let table = [(Loading::Lazy, true), (Loading::Held, false)];
    for (loading, flat) in table {
        let mut peaks = Vec::new();
        for (n, dir) in &dirs {
            let before = LIVE.load(Ordering::SeqCst);
            PEAK.store(before, Ordering::SeqCst);
            let (suite, notes) =
                load_planned(&[dir.path().to_path_buf()], &[], loading, |_, _| ()).unwrap();
            assert_eq!(suite.is_lazy(), loading == Loading::Lazy);
            assert_eq!((suite.len(), notes.len()), (*n, *n));
            let loaded = PEAK.load(Ordering::SeqCst) - before;
            let (passed, others) = run(&rt, suite, &server.url(), false);
            let others: Vec<_> = others.iter().map(|r| (&r.name, &r.message)).collect();
            assert_eq!(passed, *n, "{loading:?}: {others:?}");
            peaks.push((loaded, PEAK.load(Ordering::SeqCst) - before));
        }
        let per_scenario = (peaks[1].1 - peaks[0].1) / (large - small) as isize;
        assert_eq!(
            per_scenario < 1024,
            flat,
            "{loading:?}: {per_scenario} bytes per scenario (peaks of loading and of the whole run: {peaks:?})"
        );
    }
}

/// Three files of one scenario each; `b.yaml` is the one a case changes.
fn three(dir: &Path) {
    for name in ["a", "b", "c"] {
        std::fs::write(
            dir.join(format!("{name}.yaml")),
            format!(
                "name: {name}\ntags: [t]\nsteps:\n  - request: {{ url: /{name} }}\n    expect: {{ status: 200 }}\n"
            ),
        )
        .unwrap();
    }
}

/// A file changed between loading and its scenario's start, so that the
/// scenario is no longer there as checked, is an error for that scenario (named
/// as it was checked, with the reason), never a pass nor a different test; the
/// other scenarios run.
#[test]
fn a_file_changed_after_loading_makes_its_scenario_an_error() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let rt = runtime();
    let step = "steps:\n  - request: { url: /b }\n";
    // (what changed, b.yaml's new text or None for removed, what the error says)
    let cases: &[(&str, Option<String>, &str)] = &[
        (
            "renamed",
            Some(format!("name: b2\ntags: [t]\n{step}")),
            "is no longer its scenario number 1",
        ),
        (
            "its tags changed",
            Some(format!("name: b\ntags: [other]\n{step}")),
            "is no longer its scenario number 1",
        ),
        (
            "a scenario added before it",
            Some(format!(
                "scenarios:\n  - name: new\n    steps:\n      - request: {{ url: /n }}\n  - name: b\n    tags: [t]\n    {}",
                step.replace("\n  ", "\n        ")
            )),
            "is no longer its scenario number 1",
        ),
        (
            "broken YAML",
            Some("name: b\nsteps: [\n".into()),
            "no longer loads or checks",
        ),
        (
            "a template reads an undefined name",
            Some("name: b\ntags: [t]\nsteps:\n  - request: { url: \"/{{ nope }}\" }\n".into()),
            "no longer loads or checks",
        ),
        ("removed", None, "no longer loads or checks"),
        (
            "only what it sends changed, in place",
            Some(format!(
                "name: b\ntags: [t]\n{}",
                step.replace("/b", "/b-edited")
            )),
            "the file changed since the run checked it (it, or a file it",
        ),
    ];
    for (what, text, says) in cases {
        let dir = tempfile::tempdir().unwrap();
        three(dir.path());
        let (suite, _) =
            load_planned(&[dir.path().to_path_buf()], &[], Loading::Lazy, |_, _| ()).unwrap();
        let b = dir.path().join("b.yaml");
        match text {
            Some(t) => std::fs::write(&b, t).unwrap(),
            None => std::fs::remove_file(&b).unwrap(),
        }
        let (_, reports) = run(&rt, suite, &server.url(), true);
        assert_eq!(
            outcomes(&reports),
            [
                ("a", Outcome::Passed),
                ("b", Outcome::Error),
                ("c", Outcome::Passed)
            ],
            "{what}"
        );
        let message = reports[1].message.clone().unwrap_or_default();
        assert!(
            message.contains(says) && message.contains("b.yaml"),
            "{what}: {message}"
        );
        assert!(
            reports[1].file.ends_with("b.yaml") && reports[1].line == 1,
            "{what}"
        );
    }
}

/// A file that a scenario file does not hold but reads to load and check (an
/// include, its `data:` rows, an expected body, a schema) changed between
/// loading and the scenario's start makes that scenario an error, like a change
/// to the file itself: the checks before the first request (the cost guard
/// among them) were made on what it held then. Unchanged, every scenario runs
/// and passes: the number that says what a file held is the same at both
/// loads, also when the loader had parsed a shared include for another file.
#[test]
fn a_file_it_reads_changed_after_loading_makes_its_scenario_an_error() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let rt = runtime();
    let body = r#"{"id":"id-1","jobId":"job-1","ok":true}"#;
    let write = |dir: &Path| {
        let put = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        // The OpenAPI document is loaded once per process and then taken from a
        // cache: each scenario's file must still come to the same number.
        put(
            "shared.yaml",
            "- request: { url: /shared }\n  expect: { openapi: spec.json }\n",
        );
        put(
            "spec.json",
            r#"{"openapi": "3.0.3", "info": {"title": "t", "version": "1"},
                "paths": {"/shared": {"get": {"responses": {"200": {"description": "ok"}}}}}}"#,
        );
        put("rows.csv", "path\n/one\n");
        put("expected.json", body);
        put("schema.json", r#"{"type": "object", "required": ["ok"]}"#);
        // Many files include shared.yaml: each loader thread parses it once and
        // then takes it from its cache.
        for i in 0..24 {
            put(
                &format!("inc{i:02}.yaml"),
                &format!("name: inc{i:02}\nsteps:\n  - include: shared.yaml\n"),
            );
        }
        put(
            "reads.yaml",
            "name: reads\ndata: rows.csv\nsteps:\n  - include: shared.yaml\n  - request: { url: \"{{ path }}\" }\n    expect:\n      status: 200\n      bytes: { file: expected.json }\n      schema: schema.json\n",
        );
    };
    // (what changed, the file, its new text)
    let cases: &[(&str, &str, &str)] = &[
        ("nothing", "", ""),
        ("the include", "shared.yaml", "- request: { url: /other }\n"),
        ("a data row", "rows.csv", "path\n/two\n"),
        ("the expected body", "expected.json", "{}"),
        ("the schema", "schema.json", r#"{"type": "object"}"#),
    ];
    for (what, file, text) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path());
        let (suite, _) =
            load_planned(&[dir.path().to_path_buf()], &[], Loading::Lazy, |_, _| ()).unwrap();
        if !file.is_empty() {
            std::fs::write(dir.path().join(file), text).unwrap();
        }
        let (_, reports) = run(&rt, suite, &server.url(), true);
        assert_eq!(reports.len(), 25, "{what}");
        for r in &reports {
            let reads_it = match *file {
                "" => false,
                "shared.yaml" => true,
                _ => r.name.starts_with("reads"),
            };
            if reads_it {
                let message = r.message.clone().unwrap_or_default();
                assert_eq!(r.outcome, Outcome::Error, "{what}: {}", r.name);
                assert!(
                    message.contains("changed since the run checked it"),
                    "{what}: {message}"
                );
            } else {
                assert_eq!(
                    r.outcome,
                    Outcome::Passed,
                    "{what}: {} {:?}",
                    r.name,
                    r.message
                );
            }
        }
    }
}

/// The same files run the same way held and lazy: matrix cases, files of several
/// scenarios, includes, selection by tag.
#[test]
fn a_lazy_suite_runs_what_a_held_one_runs() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let files = [
        (
            "matrix.yaml",
            "name: \"m {{ i }}\"\nmatrix:\n  i: [1, 2, 3]\nsteps:\n  - request: { url: \"/m/{{ i }}\" }\n    expect: { status: 200 }\n",
        ),
        (
            "many.yaml",
            "tags: [x]\nscenarios:\n  - name: one\n    steps:\n      - include: shared/login.yaml\n  - name: two\n    tags: [y]\n    steps:\n      - request: { url: /two }\n        expect: { status: 404 }\n",
        ),
        (
            "shared/login.yaml",
            "- request: { url: /login }\n  expect: { status: 200, json: { $.ok: true } }\n",
        ),
        (
            "plain.yaml",
            "name: plain\nsteps:\n  - request: { url: /p }\n    capture: { id: $.id }\n  - request: { url: \"/p/{{ id }}\" }\n",
        ),
    ];
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let selections = [
        runner::select::Selection::default(),
        runner::select::Selection {
            tags: vec!["x".into()],
            skip_tags: vec!["y".into()],
            ..Default::default()
        },
    ];
    for sel in &selections {
        let mut outcomes = Vec::new();
        for loading in [Loading::Held, Loading::Lazy] {
            let (mut suite, _) =
                load_planned(&[dir.path().to_path_buf()], &[], loading, |_, _| ()).unwrap();
            runner::select::select_suite(&mut suite, sel);
            let (_, reports) = run(&rt, suite, &server.url(), true);
            let got: Vec<(String, Outcome, Option<String>)> = reports
                .into_iter()
                .map(|r| (r.name, r.outcome, r.message))
                .collect();
            outcomes.push(got);
        }
        assert_eq!(outcomes[0], outcomes[1], "{sel:?}");
        assert!(!outcomes[0].is_empty(), "{sel:?}");
    }
}

/// The command line's run plan reads a lazy suite's notes: what the cost guard,
/// the `allow_cost` kinds and `openapi: true` need is found as each file loads,
/// and refuses the run (exit 2, nothing sent) as it does for a held suite.
/// `RUNNER_LOADING=lazy` makes a small suite lazy.
#[test]
fn the_run_plan_refuses_a_lazy_suite_as_a_held_one() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let plain = "name: plain\nsteps:\n  - request: { url: /p }\n    expect: { status: 200 }\n";
    let costly = "name: costly\nsteps:\n  - name: start a website ingest\n    request:\n      method: POST\n      url: /v1/projects/p1/ingest/website\n      json: { url: \"https://example.com\" }\n";
    let typo = "name: typo\nallow_cost: [scrap]\nsteps:\n  - request: { url: /p }\n";
    let openapi =
        "name: contract\nsteps:\n  - request: { url: /p }\n    expect: { openapi: true }\n";
    // (what, the second file, RUNNER_LOADING, exit code, what stderr says)
    let cases = [
        (
            "all pass",
            plain.replace("plain", "other"),
            "lazy",
            0,
            "2 passed",
        ),
        (
            "a costly step",
            costly.to_string(),
            "lazy",
            2,
            "costs scrape",
        ),
        (
            "a costly step, held",
            costly.to_string(),
            "held",
            2,
            "costs scrape",
        ),
        (
            "an unknown cost kind",
            typo.to_string(),
            "lazy",
            2,
            "unknown cost kind `scrap`",
        ),
        (
            "openapi: true without --openapi",
            openapi.to_string(),
            "lazy",
            2,
            "says `openapi: true`",
        ),
        (
            "a wrong RUNNER_LOADING",
            plain.replace("plain", "other"),
            "sometimes",
            2,
            "RUNNER_LOADING=sometimes",
        ),
    ];
    for (what, second, loading, code, says) in cases {
        let ws = runner_cli::Workspace::new();
        ws.write("a.yaml", plain);
        ws.write("b.yaml", &second);
        let out = run_loading(&ws, loading, &server);
        out.expect_code(code);
        assert!(
            out.stderr.contains(says) || out.stdout.contains(says),
            "{what}: {out:?}"
        );
        if code == 0 {
            let junit = ws.read("junit.xml");
            assert!(
                junit.contains("name=\"plain\"") && junit.contains("name=\"other\""),
                "{what}: {junit}"
            );
        } else {
            assert!(
                !ws.path("junit.xml").exists(),
                "{what}: a refused run writes no report"
            );
        }
    }
}

/// A scenario that will not start (`--fail-fast` after a failure) is not loaded
/// again: its file, removed since the run checked it, makes it skipped, not an
/// error (after Ctrl-C, thousands of files would otherwise be read before the
/// run could end).
#[test]
fn a_scenario_that_will_not_start_is_not_loaded_again() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    three(dir.path());
    // The server answers 200: `a` fails.
    std::fs::write(
        dir.path().join("a.yaml"),
        "name: a\nsteps:\n  - request: { url: /a }\n    expect: { status: 500 }\n",
    )
    .unwrap();
    let (suite, _) =
        load_planned(&[dir.path().to_path_buf()], &[], Loading::Lazy, |_, _| ()).unwrap();
    for name in ["b", "c"] {
        std::fs::remove_file(dir.path().join(format!("{name}.yaml"))).unwrap();
    }
    let options = runner::engine::RunOptions {
        base_url: Some(server.url()),
        step_events: false,
        default_retries: 0,
        jobs: 1,
        fail_fast: true,
        ..Default::default()
    };
    let (_, reports) = run_with(&rt, suite, options, Some);
    let got: Vec<(&str, Outcome, bool)> = reports
        .iter()
        .map(|r| {
            let fail_fast = r
                .message
                .as_deref()
                .is_some_and(|m| m.contains("--fail-fast"));
            (r.name.as_str(), r.outcome, fail_fast)
        })
        .collect();
    assert_eq!(
        got,
        [
            ("a", Outcome::Failed, false),
            ("b", Outcome::Skipped, true),
            ("c", Outcome::Skipped, true)
        ]
    );
}

/// `--max-rendered` bounds the whole run whether its scenarios are held or each
/// compiled again as it starts: the registries of files loaded again count
/// against one total.
#[test]
fn the_render_limit_is_the_run_s_held_or_lazy() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    // Each scenario renders about 2.9 KB of text in its body.
    for name in ["a", "b", "c"] {
        std::fs::write(
            dir.path().join(format!("{name}.yaml")),
            format!(
                "name: {name}\nsteps:\n  - request:\n      method: POST\n      url: /{name}\n      body: \"{{{{ range(800) | join(',') }}}}\"\n    expect: {{ status: 200 }}\n"
            ),
        )
        .unwrap();
    }
    for loading in [Loading::Held, Loading::Lazy] {
        let (mut suite, _) =
            load_planned(&[dir.path().to_path_buf()], &[], loading, |_, _| ()).unwrap();
        suite.set_render_limit(7_000);
        let options = runner::engine::RunOptions {
            base_url: Some(server.url()),
            step_events: false,
            default_retries: 0,
            jobs: 1,
            ..Default::default()
        };
        let (_, reports) = run_with(&rt, suite, options, Some);
        assert_eq!(
            outcomes(&reports),
            [
                ("a", Outcome::Passed),
                ("b", Outcome::Passed),
                ("c", Outcome::Error)
            ],
            "{loading:?}"
        );
        assert!(
            reports[2].reason().contains("--max-rendered"),
            "{loading:?}: {}",
            reports[2].reason()
        );
    }
}

/// A file nested as deep as the format allows is loaded again, as its scenario
/// starts, on a thread whose stack holds it: the command line's runtime threads
/// had tokio's 2 MB, and reloading the file overflowed it in a debug build (the
/// process aborted, its reports unwritten).
#[test]
fn a_deeply_nested_file_is_loaded_again_on_a_loader_s_stack() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let server = Server::start();
    let mut body = String::from("x");
    for _ in 0..58 {
        body = format!("{{a: {body}}}");
    }
    let ws = runner_cli::Workspace::new();
    ws.write(
        "deep.yaml",
        &format!(
            "name: deep\nsteps:\n  - request:\n      url: /deep\n      method: POST\n      json: {body}\n    expect: {{ status: 200 }}\n"
        ),
    );
    for loading in ["held", "lazy"] {
        let out = run_loading(&ws, loading, &server);
        out.expect_code(0);
        assert!(out.stdout.contains("1 passed"), "{loading}: {out:?}");
    }
}
