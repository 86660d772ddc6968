//! Interrupts: on Ctrl-C or SIGTERM the runner starts no new step, runs the `finally`
//! steps of every scenario that started (within `--grace`), writes every report and
//! exits 130 / 143. A second Ctrl-C exits at once.

#![cfg(unix)]

#[path = "support/safety.rs"]
mod safety;

use std::time::Duration;

use safety::{HANG_GUARD, count, ledger, slow_job_mock, write};

const KEY: &str = "lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA";

fn scenarios(finally_delay: &str) -> String {
    format!(
        r#"headers:
  X-Api-Key: {KEY}
allow_cost: [scrape]
scenarios:
  - name: ingest, then poll until it completes
    steps:
      - name: project
        request: {{ method: POST, url: /v1/projects, json: {{ name: a, timezone: UTC }} }}
        capture: {{ project_id: $.id }}
      - name: ingest
        request:
          method: POST
          url: "/v1/projects/{{{{ project_id }}}}/ingest/appstore"
          json: {{ iosBundleId: com.example.a }}
        expect: {{ status: 202 }}
        capture: {{ job_id: $.jobId }}
      - name: wait for the job
        request: {{ url: "/v1/jobs/{{{{ job_id }}}}" }}
        retry:
          until: {{ json: {{ $.status: completed }} }}
          attempts: 10000
          interval: 200ms
    finally:
      - name: cancel the ingest
        {finally_delay}request: {{ method: POST, url: "/v1/jobs/{{{{ job_id }}}}/cancel" }}
        expect: {{ status: [200, 202, 409] }}
      - name: archive
        request: {{ method: DELETE, url: "/v1/projects/{{{{ project_id }}}}" }}
  - name: ingest, then a long pause
    steps:
      - name: project
        request: {{ method: POST, url: /v1/projects, json: {{ name: b, timezone: UTC }} }}
        capture: {{ project_id: $.id }}
      - name: ingest
        request:
          method: POST
          url: "/v1/projects/{{{{ project_id }}}}/ingest/website"
          json: {{ url: "https://example.com" }}
        capture: {{ job_id: $.jobId }}
      - name: pause
        delay: 300s
        request: {{ url: /v1/whoami }}
    finally:
      - name: cancel the ingest
        request: {{ method: POST, url: "/v1/jobs/{{{{ job_id }}}}/cancel" }}
        expect: {{ status: [200, 202, 409] }}
  - name: never started
    steps:
      - request: {{ url: /v1/whoami }}
"#
    )
}

fn signal(pid: u32, sig: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{sig} {pid}");
}

/// Wait until the mock shows `n` jobs running (the run is in its middle).
async fn until_running(base: &str, n: u64, child: &mut tokio::process::Child) {
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    loop {
        if count(&ledger(base).await, "/jobs/running") >= n {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the runner ended before its jobs ran: {status}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the jobs never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

struct Interrupted {
    code: Option<i32>,
    stderr: String,
    junit: String,
    report: serde_json::Value,
    ledger: serde_json::Value,
}

async fn interrupt(
    sig: &str,
    finally_delay: &str,
    extra: &[&str],
    second: Option<&str>,
) -> Interrupted {
    let mock = slow_job_mock().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "long.yaml", &scenarios(finally_delay));
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let mut args = vec![
        "run",
        &file,
        "--base-url",
        mock.base_url(),
        "-j",
        "2",
        "--junit",
        junit.to_str().unwrap(),
        "--report-json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let mut child = safety::command(&args, &[]).spawn().unwrap();
    let pid = child.id().unwrap();
    until_running(mock.base_url(), 2, &mut child).await;
    // Let the first scenario get into its polling and the second into its pause.
    tokio::time::sleep(Duration::from_millis(300)).await;
    signal(pid, sig);
    if let Some(again) = second {
        tokio::time::sleep(Duration::from_millis(500)).await;
        signal(pid, again);
    }
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("the runner did not stop after the signal")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    Interrupted {
        code: out.status.code(),
        junit: std::fs::read_to_string(&junit).unwrap_or_default(),
        report: std::fs::read_to_string(&json)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(serde_json::Value::Null),
        ledger: ledger(mock.base_url()).await,
        stderr,
    }
}

fn assert_clean_stop(r: &Interrupted, code: i32) {
    assert_eq!(r.code, Some(code), "{}", r.stderr);
    assert!(r.stderr.contains("stopping"), "{}", r.stderr);
    // Every job the run started was cancelled by `finally`; none reached its scraper.
    assert_eq!(count(&r.ledger, "/jobs/started"), 2, "{}", r.ledger);
    assert_eq!(count(&r.ledger, "/jobs/running"), 0, "{}", r.ledger);
    assert_eq!(count(&r.ledger, "/jobs/canceled"), 2, "{}", r.ledger);
    assert_eq!(count(&r.ledger, "/scraperCalls"), 0, "{}", r.ledger);
    // A complete JUnit file: every scenario, counts that add up; the two interrupted
    // ones as errors, the one never started as skipped.
    let counts = safety::check_junit(&r.junit);
    assert_eq!(
        counts,
        safety::Counts {
            tests: 3,
            failures: 0,
            errors: 2,
            skipped: 1
        },
        "{}",
        r.junit
    );
    assert!(r.junit.contains("interrupted"), "{}", r.junit);
    // The JSON report says so too, with the finally steps that ran.
    assert_eq!(r.report["summary"]["interrupted"], true, "{}", r.report);
    let first = &r.report["scenarios"][0];
    assert_eq!(first["interrupted"], true);
    assert_eq!(first["outcome"], "error");
    let cancel = first["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["phase"] == "finally" && s["name"] == "cancel the ingest")
        .expect("the finally step is in the report");
    assert_eq!(cancel["outcome"], "passed", "{cancel}");
    assert_eq!(r.report["scenarios"][2]["outcome"], "skipped");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_mid_run_cancels_every_job_and_writes_complete_reports() {
    let r = interrupt("INT", "", &[], None).await;
    assert_clean_stop(&r, 130);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junit.xml");
    std::fs::write(&path, &r.junit).unwrap();
    safety::xmllint_if_available(&path);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_run_cancels_every_job_and_writes_complete_reports() {
    let r = interrupt("TERM", "", &[], None).await;
    assert_clean_stop(&r, 143);
    assert!(r.stderr.contains("SIGTERM"), "{}", r.stderr);
}

/// The grace period bounds the cleanup: a `finally` step still running when it ends
/// is stopped, and the reports are written anyway.
#[tokio::test(flavor = "multi_thread")]
async fn the_grace_period_bounds_finally_steps() {
    let r = interrupt("INT", "delay: 300s\n        ", &["--grace", "1s"], None).await;
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(r.stderr.contains("up to 1s"), "{}", r.stderr);
    let counts = safety::check_junit(&r.junit);
    assert_eq!(counts.tests, 3, "{}", r.junit);
    let cancel = r.report["scenarios"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["phase"] == "finally" && s["name"] == "cancel the ingest")
        .cloned()
        .unwrap();
    assert_eq!(cancel["outcome"], "error", "{cancel}");
    assert!(
        cancel["message"]
            .as_str()
            .unwrap_or("")
            .contains("interrupted"),
        "{cancel}"
    );
}

/// A second Ctrl-C does not wait for the cleanup.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_ctrl_c_exits_at_once() {
    let r = interrupt(
        "INT",
        "delay: 300s\n        ",
        &["--grace", "300s"],
        Some("INT"),
    )
    .await;
    assert_eq!(r.code, Some(130), "{}", r.stderr);
    assert!(r.stderr.contains("second interrupt"), "{}", r.stderr);
}
