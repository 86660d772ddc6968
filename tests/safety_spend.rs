//! The spend report: a run against the embedded mock ends with what it would have
//! cost, read from the mock's ledger; `--max-credits N` fails a run above a budget.

#[path = "support/safety.rs"]
mod safety;

use safety::{Recorder, run, write};

const CONTENT: &str = r#"name: generate a slideshow
allow_cost: [credits]
headers:
  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA
steps:
  - name: project
    request: { method: POST, url: /v1/projects, json: { name: spend, timezone: UTC } }
    capture: { project_id: $.id }
  - name: generate
    request:
      method: POST
      url: "/v1/projects/{{ project_id }}/content"
      json: { format: slideshow_remix, variantCount: 2 }
    expect: { status: 202 }
    capture: { job_id: $.jobId }
finally:
  - name: cancel
    request: { method: POST, url: "/v1/jobs/{{ job_id }}/cancel" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_run_ends_with_what_it_would_have_cost() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "content.yaml", CONTENT);
    let json = dir.path().join("report.json");
    let ran = run(
        &["run", &file, "--report-json", json.to_str().unwrap()],
        &[],
    )
    .await;
    ran.expect_code(0);
    ran.stdout_has("100 credits");
    ran.stdout_has("0 jobs left running");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["spend"]["credits"], 100);
}

#[tokio::test(flavor = "multi_thread")]
async fn max_credits_fails_a_run_over_budget() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "content.yaml", CONTENT);
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("run.json");
    let over = run(
        &[
            "run",
            &file,
            "--max-credits",
            "99",
            "--junit",
            junit.to_str().unwrap(),
            "--report-json",
            json.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    over.expect_code(3);
    over.stdout_has("spent 100 credits, over --max-credits 99");
    // The scenarios themselves passed; the one failure is the budget's own testcase,
    // so that CI shows why the job failed.
    assert!(
        over.stdout.contains("1 passed, 0 failed  (")
            && over.stdout.contains("over budget (--max-credits 99)"),
        "the summary line says why the run fails: {}",
        over.stdout
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let counts = safety::check_junit(&xml);
    assert_eq!((counts.tests, counts.failures), (2, 1), "{xml}");
    assert!(
        xml.contains(r#"<testcase name="spend within --max-credits 99" classname="runner""#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"message="the run spent 100 credits, over --max-credits 99" type="Budget""#),
        "{xml}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(
        report["summary"]["budget"],
        serde_json::json!({"max_credits": 99, "exceeded": "the run spent 100 credits, over --max-credits 99"})
    );
    let within = run(&["run", &file, "--max-credits", "100"], &[]).await;
    within.expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn max_credits_needs_the_embedded_mock() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "whoami.yaml",
        "name: w\nsteps:\n  - request: { url: /v1/whoami }\n",
    );
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            &server.base_url,
            "--max-credits",
            "0",
        ],
        &[],
    )
    .await;
    ran.expect_code(2);
    ran.stderr_has("--max-credits");
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_left_running_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    // Against the embedded mock the guard lets this through; the spend report tells.
    let file = write(
        dir.path(),
        "leaky.yaml",
        r#"name: leaves a job running
headers:
  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA
steps:
  - name: project
    request: { method: POST, url: /v1/projects, json: { name: leaky, timezone: UTC } }
    capture: { project_id: $.id }
  - name: ingest
    request: { method: POST, url: "/v1/projects/{{ project_id }}/ingest/website", json: { url: "https://example.com" } }
"#,
    );
    let ran = run(&["run", &file], &[]).await;
    ran.expect_code(0);
    ran.stdout_has("1 job left running");
    ran.stdout_has("warning: 1 job was left running");
}
