//! The cost guard: against a server that is not the embedded mock, a costly step runs
//! only when its scenario declares the cost and cancels the job it starts; otherwise
//! the run is refused with exit 2 before anything is sent.

#[path = "support/safety.rs"]
mod safety;

use safety::{Recorder, run, write};

const INGEST_WITHOUT_ALLOW: &str = r#"name: ingest without allow_cost
headers:
  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA
steps:
  - name: whoami first
    request: { method: GET, url: /v1/whoami }
  - name: start a website ingest
    request:
      method: POST
      url: "/v1/projects/{{ project_id }}/ingest/website"
      json: { url: "https://example.com" }
    capture: { job_id: $.jobId }
vars:
  project_id: "00000000-0000-4000-8000-000000000000"
finally:
  - name: cancel it
    request: { method: POST, url: "/v1/jobs/{{ job_id }}/cancel" }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn a_costly_step_aimed_at_a_real_server_is_refused_and_nothing_is_sent() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ingest.yaml", INGEST_WITHOUT_ALLOW);
    let junit = dir.path().join("junit.xml");
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            &server.base_url,
            "--junit",
            junit.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    ran.expect_code(2);
    // Names the file and line, the step and the cost, and says what to do.
    ran.stderr_has(&format!("{file}:7:"));
    ran.stderr_has("step \"start a website ingest\"");
    ran.stderr_has("costs scrape");
    ran.stderr_has("allow_cost: [scrape]");
    ran.stderr_has("nothing was sent");
    // Not even the harmless first step went out.
    assert_eq!(server.connection_count(), 0);
    assert!(server.requests().is_empty());
    assert!(!junit.exists(), "no report for a run that never started");
}

#[tokio::test(flavor = "multi_thread")]
async fn validate_reports_the_same_without_a_target() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "ingest.yaml", INGEST_WITHOUT_ALLOW);
    let ran = run(&["validate", &file], &[]).await;
    ran.expect_code(2);
    ran.stderr_has(&format!("{file}:7:"));
    ran.stderr_has("costs scrape");
}

/// A suite large enough to be checked in parts, one per core: `validate` still
/// finds every problem, each once, in the order `run` gives them (unknown cost
/// kinds, then refusals, each in file order), and a refusal's URL is rendered
/// with its own file's template macro, whichever part it was checked in.
#[tokio::test(flavor = "multi_thread")]
async fn validate_checks_a_large_suite_in_parts_and_misses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..300 {
        let text = match i {
            10 => INGEST_WITHOUT_ALLOW.to_string(),
            150 => INGEST_WITHOUT_ALLOW.replace(
                "\"/v1/projects/{{ project_id }}/ingest/website\"",
                "\"{% macro p() %}/v1/projects/{{ project_id }}/ingest/website{% endmacro %}{{ p() }}\"",
            ),
            290 => format!("name: s{i}\nallow_cost: [scrpe]\nsteps:\n  - request: {{ url: /v1/whoami }}\n"),
            _ => format!("name: s{i}\nsteps:\n  - request: {{ url: /v1/whoami }}\n"),
        };
        write(dir.path(), &format!("s{i:03}.yaml"), &text);
    }
    let ran = run(&["validate", dir.path().to_str().unwrap()], &[]).await;
    let lazy = run(
        &["validate", dir.path().to_str().unwrap()],
        &[("RUNNER_LOADING", "lazy")],
    )
    .await;
    // Loaded lazily, a file's text is dropped once it checked clean, but not
    // while the guard has a problem that quotes it.
    assert_eq!(lazy.stderr, ran.stderr, "held and lazy say the same");
    lazy.expect_code(2);
    ran.expect_code(2);
    ran.stderr_has(" 7 |   - name: start a website ingest");
    let at = |needle: &str| {
        ran.stderr
            .find(needle)
            .unwrap_or_else(|| panic!("no `{needle}` in:\n{}", ran.stderr))
    };
    let kinds = at("s290.yaml:2:");
    let first = at("s010.yaml:7:");
    let second = at("s150.yaml:7:");
    assert!(kinds < first && first < second, "{}", ran.stderr);
    assert_eq!(
        ran.stderr.matches("costs scrape").count(),
        2,
        "{}",
        ran.stderr
    );
    assert_eq!(
        ran.stderr.matches("s010.yaml:7:").count(),
        1,
        "{}",
        ran.stderr
    );
    ran.stderr_has(
        "{{ p() }}, path /v1/projects/00000000-0000-4000-8000-000000000000/ingest/website)",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_without_a_cancelling_finally_is_refused() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "github.yaml",
        r#"name: github ingest, no cleanup
allow_cost: [agent, pull_request]
steps:
  - name: start a GitHub ingest
    request:
      method: POST
      url: /v1/projects/p1/ingest/github
      json: { repoFullName: acme/app }
    capture: { job_id: $.jobId }
finally:
  - name: not a cancel
    request: { method: GET, url: "/v1/jobs/{{ job_id }}" }
"#,
    );
    for args in [
        vec!["run", &file, "--base-url", &server.base_url],
        vec!["validate", &file],
    ] {
        let ran = run(&args, &[]).await;
        ran.expect_code(2);
        ran.stderr_has("starts a long-running job");
        ran.stderr_has("POST /v1/jobs/{{ job_id }}/cancel");
        assert!(!ran.stderr.contains("does not allow it"), "{}", ran.stderr);
    }
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn declared_and_cancelled_costs_run() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "allowed.yaml",
        &INGEST_WITHOUT_ALLOW.replace(
            "name: ingest without allow_cost\n",
            "name: ingest with allow_cost\nallow_cost: [scrape]\n",
        ),
    );
    let ran = run(&["run", &file, "--base-url", &server.base_url], &[]).await;
    // The recorder answers `{}` without a jobId: the capture fails, the run too.
    ran.expect_code(1);
    let lines: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.request_line().to_string())
        .collect();
    assert!(
        lines.iter().any(|l| l
            .starts_with("POST /v1/projects/00000000-0000-4000-8000-000000000000/ingest/website")),
        "{lines:?}"
    );
    assert!(validate_ok(&file).await);
}

async fn validate_ok(file: &str) -> bool {
    run(&["validate", file], &[]).await.code() == Some(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_embedded_mock_is_never_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "mock.yaml",
        r#"name: content against the embedded mock
headers:
  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA
steps:
  - name: project
    request:
      method: POST
      url: /v1/projects
      json: { name: guard, timezone: UTC }
    capture: { project_id: $.id }
  - name: generate content
    request: { method: POST, url: "/v1/projects/{{ project_id }}/content", json: { format: slideshow_remix } }
    expect: { status: 202 }
"#,
    );
    let ran = run(&["run", &file], &[]).await;
    ran.expect_code(0);
    // The mock spends nothing real, but says what the real API would have cost.
    ran.stdout_has("50 credits");
    // The same file is refused as soon as it could reach a real server.
    let ran = run(&["validate", &file], &[]).await;
    ran.expect_code(2);
    ran.stderr_has("costs credits");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_cost_kind_is_a_file_error_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "typo.yaml",
        "name: typo\nallow_cost: [scrap]\nsteps:\n  - request: { url: /v1/whoami }\n",
    );
    for cmd in ["run", "validate"] {
        let ran = run(&[cmd, &file], &[]).await;
        ran.expect_code(2);
        ran.stderr_has("unknown cost kind `scrap`");
        ran.stderr_has("did you mean `scrape`?");
        ran.stderr_has(&format!("{file}:2:"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn users_extend_the_catalog_for_their_own_apis() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = write(
        dir.path(),
        "costs.yaml",
        "kinds:\n  sms: sends real text messages\nendpoints:\n  - endpoint: POST /api/sms/{to}\n    costs: [sms]\n    what: an SMS to a real phone\n",
    );
    let scenario = |allow: &str| {
        format!(
            "name: texting\n{allow}steps:\n  - name: text someone\n    request: {{ method: POST, url: \"/api/sms/{{{{ phone }}}}\", body: hi }}\nvars:\n  phone: \"+15550100\"\n"
        )
    };
    let refused = write(dir.path(), "refused.yaml", &scenario(""));
    let allowed = write(dir.path(), "allowed.yaml", &scenario("allow_cost: [sms]\n"));

    let ran = run(
        &[
            "run",
            &refused,
            "--base-url",
            &server.base_url,
            "--cost-catalog",
            &catalog,
        ],
        &[],
    )
    .await;
    ran.expect_code(2);
    ran.stderr_has("costs sms");
    ran.stderr_has("an SMS to a real phone");
    assert_eq!(server.connection_count(), 0);

    // Without the user's catalog the endpoint is unknown, so not refused; and
    // `sms` is then no known kind.
    let ran = run(&["validate", &refused], &[]).await;
    ran.expect_code(0);
    let ran = run(&["validate", &allowed], &[]).await;
    ran.expect_code(2);

    let ran = run(
        &[
            "run",
            &allowed,
            "--base-url",
            &server.base_url,
            "--cost-catalog",
            &catalog,
        ],
        &[],
    )
    .await;
    ran.expect_code(0);
    assert_eq!(server.requests().len(), 1);

    // A broken catalog is a file error pointing at it.
    let broken = write(
        dir.path(),
        "broken.yaml",
        "endpoints:\n  - endpoint: SEND /api/x\n    costs: [sms]\n",
    );
    let ran = run(&["validate", &allowed, "--cost-catalog", &broken], &[]).await;
    ran.expect_code(2);
    ran.stderr_has(&format!("{broken}:2:"));
    ran.stderr_has("`SEND` is not an HTTP method");
}

/// A URL the files cannot show statically (it comes from a response) is checked when
/// it is rendered: the costly request is refused unsent, the others go.
#[tokio::test(flavor = "multi_thread")]
async fn a_costly_url_known_only_at_run_time_is_refused_unsent() {
    let server = Recorder::start(std::sync::Arc::new(|_| {
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            br#"{"next":"/v1/projects/p1/ingest/appstore"}"#.to_vec(),
        )
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "dynamic.yaml",
        r#"name: dynamic target
steps:
  - name: harmless
    request: { url: /v1/whoami }
    capture: { next: $.next }
  - name: sneaky
    request: { method: POST, url: "{{ next }}", json: { iosBundleId: com.example.app } }
"#,
    );
    let ran = run(&["run", &file, "--base-url", &server.base_url], &[]).await;
    ran.expect_code(1);
    ran.stdout_has("refused, not sent");
    ran.stdout_has("allow_cost: [scrape]");
    let lines: Vec<String> = server
        .requests()
        .iter()
        .map(|r| r.request_line().to_string())
        .collect();
    assert_eq!(lines, ["GET /v1/whoami HTTP/1.1"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_or_rotating_a_key_is_refused_unless_declared() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let scenario = |allow: &str| {
        format!(
            r#"name: key lifecycle
{allow}
headers:
  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA
vars:
  key_id: "00000000-0000-4000-8000-000000000000"
steps:
  - name: kill the spare key
    request: {{ method: POST, url: "/v1/api-keys/{{{{ key_id }}}}/kill" }}
  - name: rotate it
    request: {{ method: POST, url: "/v1/api-keys/{{{{ key_id }}}}/rotate" }}
"#
        )
    };
    let refused = write(dir.path(), "refused.yaml", &scenario(""));
    let ran = run(&["run", &refused, "--base-url", &server.base_url], &[]).await;
    ran.expect_code(2);
    ran.stderr_has("costs api_keys");
    assert!(
        ran.stderr.contains("step \"kill the spare key\"")
            && ran.stderr.contains("step \"rotate it\""),
        "{}",
        ran.stderr
    );
    assert!(server.requests().is_empty());
    let allowed = write(
        dir.path(),
        "allowed.yaml",
        &scenario("allow_cost: [api_keys]"),
    );
    let ran = run(&["run", &allowed, "--base-url", &server.base_url], &[]).await;
    ran.expect_code(0);
    assert_eq!(server.requests().len(), 2);
}
