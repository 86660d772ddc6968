//! The JUnit and JSON reporters stream: what they hold in memory per finished
//! scenario is the same few bytes however large its report, and the files they
//! put together at the end read exactly as the whole run rendered at once.
//!
//! In a binary of their own: the heap is measured by a counting allocator, which
//! other tests running beside it would disturb (the two here take turns).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use runner::events::{
    Assertion, Event, Outcome, Phase, RequestRecord, ResponseRecord, RunInfo, ScenarioReport,
    StepReport,
};
use runner::report::json::JsonReporter;
use runner::report::junit::{Granularity, JunitReporter, render};
use runner::report::{Reporter, Summary};
use runner::secrets::Redactor;

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::{LIVE, PEAK};

#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

/// The tests of this file run one at a time.
static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Each scenario's report carries this much response body.
const BODY: usize = 16 * 1024;

fn scenario(index: usize) -> ScenarioReport {
    let step = StepReport {
        name: "read it back".into(),
        phase: Phase::Main,
        number: 1,
        location: "a.yaml:4".into(),
        outcome: if index % 7 == 3 {
            Outcome::Failed
        } else {
            Outcome::Passed
        },
        message: None,
        failures: if index % 7 == 3 {
            vec![Assertion {
                subject: "$.name".into(),
                expected: "\"tutorial\"".into(),
                actual: "\"other <&> \\\"quoted\\\"\"".into(),
            }]
        } else {
            Vec::new()
        },
        passed: Vec::new(),
        redirects: Vec::new(),
        delivery: None,
        request: Some(RequestRecord {
            method: "GET".into(),
            url: format!("http://127.0.0.1:9/v1/projects/{index}"),
            headers: vec![("accept".into(), "application/json".into())],
            body: None,
        }),
        response: Some(ResponseRecord {
            status: 200,
            version: "HTTP/1.1".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: format!("{{\"id\":{index},\"pad\":\"{}\"}}", "x".repeat(BODY)),
            body_bytes: BODY + 20,
            truncated: false,
            time_ms: 1,
        }),
        failed_attempts: Vec::new(),
        attempts: 1,
        duration: Duration::from_millis(3),
        assertions: 2,
    };
    ScenarioReport {
        index,
        name: format!("scenario {index}"),
        // Three files, so that the JUnit report has several suites.
        file: format!("suite/{}.yaml", index * 3 / 1_000_000),
        line: 1,
        flaky: false,
        previous_attempts: Vec::new(),
        classname: "suite".into(),
        tags: Vec::new(),
        outcome: step.outcome,
        message: None,
        interrupted: false,
        started_at: "2026-11-29T20:00:00Z".into(),
        duration: Duration::from_millis(3),
        steps: vec![step],
        masked_with: None,
    }
}

/// Feed `n` finished scenarios to `r` (out of order, as a run finishes them);
/// returns the heap the reporter grew by. Every report is dropped by the caller
/// after its event, so what remains is what the reporter keeps.
fn feed(r: &mut dyn Reporter, n: usize) -> isize {
    let before = LIVE.load(Ordering::SeqCst);
    for chunk in (0..n).collect::<Vec<_>>().chunks(8) {
        for &i in chunk.iter().rev() {
            let report = Arc::new(scenario(i));
            let event = Event::ScenarioFinished(report.clone());
            r.event(&event);
            drop(event);
            assert_eq!(
                Arc::strong_count(&report),
                1,
                "the reporter kept scenario {i}"
            );
        }
    }
    LIVE.load(Ordering::SeqCst) - before
}

fn summary(n: usize) -> Summary {
    Summary {
        total: n,
        passed: n,
        duration: Duration::from_secs(1),
        ..Summary::default()
    }
}

#[test]
fn reporters_hold_the_same_small_amount_per_finished_scenario() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    let (small, large) = (200usize, 2_000usize);
    type Make = fn(std::path::PathBuf, Redactor) -> Box<dyn Reporter>;
    let reporters: [(&str, Make); 2] = [
        ("junit", |p, r| {
            Box::new(JunitReporter::new(p, Granularity::Scenario, r))
        }),
        ("json", |p, r| Box::new(JsonReporter::new(p, r))),
    ];
    for (name, make) in reporters {
        let mut held = Vec::new();
        for n in [small, large] {
            let path = dir.path().join(format!("{name}-{n}"));
            let mut r = make(path.clone(), redactor.clone());
            r.event(&Event::RunStarted(RunInfo {
                total: n,
                target: "http://127.0.0.1:9".into(),
                jobs: 8,
            }));
            held.push(feed(r.as_mut(), n));
            r.finish(&summary(n)).unwrap();
            assert!(path.exists());
        }
        // Kept in memory, each report would be over 16 KB: 29 MB more for the
        // larger run. What a streamed scenario costs is its place in an index.
        let per_scenario = (held[1] - held[0]) / (large - small) as isize;
        assert!(
            per_scenario < 256,
            "{name}: {per_scenario} bytes held per finished scenario ({held:?})"
        );
    }
}

#[test]
fn streamed_reports_read_as_the_run_rendered_at_once() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let redactor = Redactor::new();
    let n = 50;
    let all: Vec<ScenarioReport> = (0..n).map(scenario).collect();
    // The run's timestamp is the moment each was written.
    let stamp = regex::Regex::new(r#"(<testsuites [^>]*timestamp=")[^"]*""#).unwrap();
    for granularity in [Granularity::Scenario, Granularity::Step] {
        let path = dir.path().join("junit.xml");
        let mut r = JunitReporter::new(path.clone(), granularity, redactor.clone());
        feed(&mut r, n);
        r.finish(&summary(n)).unwrap();
        let streamed = std::fs::read_to_string(&path).unwrap();
        let whole = render(&all, granularity, Duration::from_secs(1)).unwrap();
        assert!(
            stamp.replace(&streamed, "$1\"") == stamp.replace(&whole, "$1\""),
            "{granularity:?}: the streamed JUnit report differs from the run rendered at once"
        );
    }
    let path = dir.path().join("run.json");
    let mut r = JsonReporter::new(path.clone(), redactor.clone());
    feed(&mut r, n);
    r.finish(&summary(n)).unwrap();
    let streamed = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&streamed).unwrap();
    let expected = serde_json::json!({
        "format_version": 2,
        "runner_version": env!("CARGO_PKG_VERSION"),
        "run": null,
        "summary": summary(n),
        "scenarios": all,
    });
    assert!(
        doc == expected,
        "the streamed JSON report differs from the run"
    );
    // Byte for byte what the pretty printer makes of the whole document at once.
    #[derive(serde::Serialize)]
    struct Whole<'a> {
        format_version: u32,
        runner_version: &'static str,
        run: Option<()>,
        summary: &'a Summary,
        scenarios: &'a [ScenarioReport],
    }
    let whole = serde_json::to_string_pretty(&Whole {
        format_version: 2,
        runner_version: env!("CARGO_PKG_VERSION"),
        run: None,
        summary: &summary(n),
        scenarios: &all,
    })
    .unwrap();
    assert!(
        streamed == whole,
        "the streamed JSON report is laid out differently"
    );
}

/// A suite of `n` scenarios of two steps each (one file, a matrix), loaded and
/// checked as a run loads it.
fn suite_of(dir: &std::path::Path, n: usize) -> runner::scenario::Suite {
    let values: Vec<String> = (0..n).map(|i| i.to_string()).collect();
    let path = dir.join(format!("suite-{n}.yaml"));
    std::fs::write(
        &path,
        format!(
            "name: \"s {{{{ i }}}}\"\nmatrix:\n  i: [{}]\nsteps:\n  - name: create\n    request:\n      method: POST\n      url: /v1/projects\n      json: {{ name: \"p {{{{ i }}}}\", tags: [a, b, c] }}\n    expect: {{ status: 201 }}\n  - name: read\n    request: {{ url: \"/v1/projects/{{{{ i }}}}\" }}\n    expect: {{ status: 200, json: {{ $.name: \"p {{{{ i }}}}\" }} }}\n",
            values.join(", ")
        ),
    )
    .unwrap();
    let suite = runner::scenario::load::load_checked(std::slice::from_ref(&path), &[]).unwrap();
    assert_eq!(suite.held_scenarios().len(), n);
    suite
}

/// The engine's own share: while a run goes, what it keeps of each finished
/// scenario (its verdict for the summary) is a few bytes, whatever the report
/// was; every report goes to the reporters and is dropped there. Measured as the
/// heap's peak above what the loaded suite takes, for a run of 200 and of 2,000
/// scenarios (a dry run: each is rendered in full, nothing is sent).
#[test]
fn the_run_holds_the_same_small_amount_per_finished_scenario() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (small, large) = (200usize, 2_000usize);
    let mut peaks = Vec::new();
    for n in [small, large] {
        let suite = Arc::new(suite_of(dir.path(), n));
        let options = runner::engine::RunOptions {
            base_url: Some("http://127.0.0.1:9".into()),
            dry_run: true,
            step_events: false,
            ..Default::default()
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let (peak, reports) = rt.block_on(async {
            let before = LIVE.load(Ordering::SeqCst);
            PEAK.store(before, Ordering::SeqCst);
            // The reporters' side: each report is read, then dropped.
            let drain = tokio::spawn(async move {
                let mut reports = 0usize;
                while let Some(e) = rx.recv().await {
                    if let Event::ScenarioFinished(s) = &e {
                        assert_eq!(s.steps.len(), 2);
                        reports += 1;
                    }
                }
                reports
            });
            let verdicts = runner::engine::run(
                suite,
                options,
                Redactor::new(),
                runner::engine::Stop::default(),
                tx,
                "http://127.0.0.1:9".into(),
            )
            .await
            .unwrap();
            assert_eq!(verdicts.len(), n);
            assert!(
                verdicts.iter().all(|v| v.outcome != Outcome::Error),
                "{:?}",
                verdicts.first()
            );
            let reports = drain.await.unwrap();
            (PEAK.load(Ordering::SeqCst) - before, reports)
        });
        assert_eq!(reports, n);
        peaks.push(peak);
    }
    // A report of this scenario is over 2 KB (two requests, their bodies and
    // headers): kept until the end, the larger run would peak 4 MB higher.
    let per_scenario = (peaks[1] - peaks[0]) / (large - small) as isize;
    assert!(
        per_scenario < 256,
        "{per_scenario} bytes held per finished scenario (peaks above the suite: {peaks:?})"
    );
}
