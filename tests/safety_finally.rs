//! A scenario whose assertion fails after it started an ingest still cancels it: the
//! capture is taken even from a response that failed its checks, and `finally` runs.

#[path = "support/safety.rs"]
mod safety;

use std::time::Duration;

use layers_mock::{MockConfig, MockServer};
use safety::{count, ledger, run, write};

const FILE: &str = r#"headers:
  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA
allow_cost: [scrape]
scenarios:
  - name: the ingest step itself fails its checks
    steps:
      - name: project
        request: { method: POST, url: /v1/projects, json: { name: a, timezone: UTC } }
        capture: { project_id: $.id }
      - name: ingest, expecting the wrong answer
        request:
          method: POST
          url: "/v1/projects/{{ project_id }}/ingest/appstore"
          json: { iosBundleId: com.example.a }
        expect:
          status: 201
          json: { $.status: completed }
        capture: { job_id: $.jobId }
      - name: never reached
        request: { url: /v1/whoami }
    finally:
      - name: cancel the ingest
        request: { method: POST, url: "/v1/jobs/{{ job_id }}/cancel" }
        expect: { status: 202 }
  - name: a later step fails
    steps:
      - name: project
        request: { method: POST, url: /v1/projects, json: { name: b, timezone: UTC } }
        capture: { project_id: $.id }
      - name: ingest
        request:
          method: POST
          url: "/v1/projects/{{ project_id }}/ingest/appstore"
          json: { iosBundleId: com.example.b }
        expect: { status: 202 }
        capture: { job_id: $.jobId }
      - name: the job is already done (it is not)
        request: { url: "/v1/jobs/{{ job_id }}" }
        expect: { json: { $.status: completed } }
    finally:
      - name: cancel the ingest
        request: { method: POST, url: "/v1/jobs/{{ job_id }}/cancel" }
        expect: { status: 202 }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_assertion_after_an_ingest_still_cancels_it() {
    // Scrapes start 5 s after a job is accepted: only a cancel before then prevents one.
    let config = MockConfig {
        job_duration: Duration::from_secs(60),
        scrape_after: Duration::from_secs(5),
        ..MockConfig::default()
    };
    let mock = MockServer::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "fails.yaml", FILE);
    let json = dir.path().join("report.json");
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            mock.base_url(),
            "--report-json",
            json.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    ran.expect_code(1);
    let l = ledger(mock.base_url()).await;
    assert_eq!(count(&l, "/jobs/started"), 2, "{l}");
    assert_eq!(count(&l, "/jobs/canceled"), 2, "{l}");
    assert_eq!(count(&l, "/jobs/running"), 0, "{l}");
    assert_eq!(count(&l, "/scraperCalls"), 0, "{l}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    for s in report["scenarios"].as_array().unwrap() {
        assert_eq!(s["outcome"], "failed", "{s}");
        let last = s["steps"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["phase"], "finally");
        assert_eq!(last["outcome"], "passed", "{last}");
    }
}

/// The same against the embedded mock: its ledger, read at the end of the run, is in
/// the JSON report and on the console.
#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_mock_ledger_shows_the_jobs_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "fails.yaml", FILE);
    let json = dir.path().join("report.json");
    let ran = run(
        &["run", &file, "--report-json", json.to_str().unwrap()],
        &[],
    )
    .await;
    ran.expect_code(1);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let spend = &report["summary"]["spend"];
    assert_eq!(spend["jobs_started"], 2, "{spend}");
    assert_eq!(spend["jobs_canceled"], 2, "{spend}");
    assert_eq!(spend["jobs_left_running"], 0, "{spend}");
    assert_eq!(spend["scraper_calls"], 0, "{spend}");
    ran.stdout_has("0 jobs left running");
}
