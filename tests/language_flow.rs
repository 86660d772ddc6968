//! The scenario language, end to end: transport retries, polling, time limits,
//! request bodies, cookies and webhooks, run by the built binary against a test
//! server on 127.0.0.1 (and the embedded Layers mock for webhooks).

#[path = "support/language_server.rs"]
mod server;

use std::time::Duration;

use quick_junit::TestCaseStatus;
use serde_json::Value;
use server::{LanguageServer, Workspace, failure_text};

fn flaky_runs(case: &quick_junit::TestCase) -> Vec<String> {
    match &case.status {
        TestCaseStatus::Success { flaky_runs } => flaky_runs
            .iter()
            .map(|r| {
                r.message
                    .as_ref()
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default()
            })
            .collect(),
        other => panic!("testcase {} did not pass: {other:?}", case.name.as_str()),
    }
}

// --- transport retries --------------------------------------------------------------------

/// A retried write is safe only when every attempt carries the same Idempotency-Key and
/// the same body: the step renders once, then sends those bytes again.
#[test]
fn a_retried_post_sends_one_idempotency_key_and_the_same_body_on_every_attempt() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "retry.yaml",
        r#"
name: create with retries
steps:
  - name: create
    request:
      method: POST
      url: /flaky/idem?failures=2&status=503
      headers:
        Idempotency-Key: "{{ uuid() }}"
      json:
        name: "widget-{{ uuid() }}"
        at: "{{ now() }}"
        nonce: "{{ timestamp() }}"
    expect:
      status: 201
      json:
        $.attempt: 3
"#,
    );
    let out = ws.run(&["retry.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    let sent = srv.requests("idem");
    assert_eq!(sent.len(), 3, "two 503s, then 201");
    let key = sent[0].header("idempotency-key").unwrap_or("").to_string();
    assert!(uuid::Uuid::parse_str(&key).is_ok(), "{key:?}");
    for (i, r) in sent.iter().enumerate() {
        assert_eq!(r.method, "POST");
        assert_eq!(
            r.header("idempotency-key"),
            Some(key.as_str()),
            "attempt {}",
            i + 1
        );
        assert_eq!(r.body, sent[0].body, "attempt {} sent other bytes", i + 1);
    }
    // The pass needed retries: flaky on the console and in JUnit, one entry per failed attempt.
    assert!(
        out.stdout.contains("PASS  create with retries")
            && out.stdout.contains("(flaky: passed after retries)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("1 flaky"), "{}", out.stdout);
    let runs = flaky_runs(&out.case("create with retries"));
    assert_eq!(runs.len(), 2, "{runs:?}");
    assert!(
        runs[0].starts_with("step 1 \"create\": attempt 1: HTTP 503 from POST http://"),
        "{runs:?}"
    );
    assert!(runs[1].contains("attempt 2: HTTP 503"), "{runs:?}");
    let xml = out.junit.as_deref().unwrap_or("");
    assert_eq!(xml.matches("<flakyFailure").count(), 2, "{xml}");
}

#[test]
fn flaky_steps_are_marked_per_step_in_step_granularity() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "flaky.yaml",
        r#"
name: flaky read
steps:
  - name: steady
    request: { url: /json }
  - name: wobbly
    request: { url: /flaky/wobbly?failures=1 }
    expect: { status: 201 }
"#,
    );
    let out = ws.run(&[
        "flaky.yaml",
        "--base-url",
        &srv.base_url,
        "--junit-granularity",
        "step",
    ]);
    out.expect_code(0);
    assert!(flaky_runs(&out.case("flaky read / 1. steady")).is_empty());
    let runs = flaky_runs(&out.case("flaky read / 2. wobbly"));
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(runs[0].contains("attempt 1: HTTP 503 from GET"), "{runs:?}");
}

#[test]
fn a_post_without_idempotency_key_is_not_retried() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "nokey.yaml",
        r#"
name: unsafe write
steps:
  - name: create
    request:
      method: POST
      url: /flaky/nokey?failures=1&status=503
      json: { a: 1 }
    expect:
      status: 201
"#,
    );
    let out = ws.run(&["nokey.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    assert_eq!(
        srv.requests("nokey").len(),
        1,
        "a POST without a key is sent once"
    );
    assert!(
        out.stdout.contains("expected status 201, got 503"),
        "{}",
        out.stdout
    );
}

#[test]
fn retries_zero_turns_transport_retries_off_per_step_per_file_and_per_run() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "step.yaml",
        r#"
name: step says no retries
steps:
  - request: { url: /flaky/step0?failures=1 }
    retries: 0
    expect: { status: 201 }
"#,
    );
    ws.write(
        "file.yaml",
        r#"
retries: 0
scenarios:
  - name: file says no retries
    steps:
      - request: { url: /flaky/file0?failures=1 }
        expect: { status: 201 }
  - name: a step may still ask for them
    steps:
      - request: { url: /flaky/file1?failures=1 }
        retries: 1
        expect: { status: 201 }
"#,
    );
    ws.write(
        "cli.yaml",
        r#"
name: the command line says no retries
steps:
  - request: { url: /flaky/cli0?failures=1 }
    expect: { status: 201 }
"#,
    );
    let out = ws.run(&["step.yaml", "file.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    assert_eq!(srv.requests("step0").len(), 1);
    assert_eq!(srv.requests("file0").len(), 1);
    assert_eq!(srv.requests("file1").len(), 2);
    assert!(
        out.stdout.contains("PASS  a step may still ask for them"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("FAIL  step says no retries")
            && out.stdout.contains("FAIL  file says no retries"),
        "{}",
        out.stdout
    );
    let out = ws.run(&["cli.yaml", "--base-url", &srv.base_url, "--retries", "0"]);
    out.expect_code(1);
    assert_eq!(srv.requests("cli0").len(), 1);
}

#[test]
fn a_429_is_retried_after_its_retry_after() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "ratelimit.yaml",
        r#"
name: rate limited write
steps:
  - name: create
    request:
      method: POST
      url: /flaky/limited?failures=1&status=429&retry_after=1
      json: { a: 1 }
    expect:
      status: 201
"#,
    );
    let out = ws.run(&["ratelimit.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    let sent = srv.requests("limited");
    assert_eq!(
        sent.len(),
        2,
        "a 429 means not processed: even a POST is sent again"
    );
    // Waited at least what Retry-After asked (a lower bound: a slow machine only waits longer).
    let gap = sent[1].arrived.duration_since(sent[0].arrived);
    assert!(gap >= Duration::from_millis(950), "{gap:?}");
    let runs = flaky_runs(&out.case("rate limited write"));
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(
        runs[0].contains("attempt 1: HTTP 429 from POST") && runs[0].contains("retried after 1s"),
        "{runs:?}"
    );
}

#[test]
fn an_expected_error_status_is_not_retried() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "expected.yaml",
        r#"
name: the 503 is the point
steps:
  - request: { url: /flaky/expected503?failures=1 }
    expect: { status: 503 }
"#,
    );
    let out = ws.run(&["expected.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    assert_eq!(srv.requests("expected503").len(), 1);
}

// --- polling ------------------------------------------------------------------------------

#[test]
fn polling_repeats_until_the_condition_holds_with_backoff() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "poll.yaml",
        r#"
scenarios:
  - name: job completes
    steps:
      - name: wait for the job
        request: { url: /poll/done?after=3 }
        retry:
          until:
            json:
              $.status: { one_of: [completed, failed] }
          attempts: 10
          interval: 50ms
          backoff: 2
        expect:
          json:
            $.status: completed
            $.attempt: 4
  - name: job never completes
    steps:
      - name: wait in vain
        request: { url: /poll/never?after=100 }
        retry:
          until:
            status: 200
            json:
              $.status: { one_of: [completed, failed] }
          attempts: 3
          interval: 10ms
"#,
    );
    let out = ws.run(&["poll.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    assert!(out.stdout.contains("PASS  job completes"), "{}", out.stdout);
    let done = srv.requests("done");
    assert_eq!(done.len(), 4);
    // Pauses of 50ms, 100ms, 200ms at least.
    for (i, min_ms) in [(1, 50), (2, 100), (3, 200)] {
        let gap = done[i].arrived.duration_since(done[i - 1].arrived);
        assert!(
            gap >= Duration::from_millis(min_ms - 5),
            "pause {i}: {gap:?}"
        );
    }
    assert_eq!(srv.requests("never").len(), 3);
    let line = "retry.until $.status (after 3 attempts): expected one of [\"completed\", \"failed\"], got \"running\"";
    assert!(out.stdout.contains(line), "{}", out.stdout);
    assert!(
        failure_text(&out.case("job never completes")).contains(line),
        "{:?}",
        out.case("job never completes")
    );
}

// --- time ---------------------------------------------------------------------------------

#[test]
fn timeouts_name_the_step_and_the_limit() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "timeouts.yaml",
        r#"
scenarios:
  - name: step timeout
    steps:
      - name: slow read
        request: { url: /delay/5000 }
        timeout: 200ms
  - name: scenario timeout
    timeout: 700ms
    steps:
      - name: quick read
        request: { url: /delay/10 }
      - name: slow read
        request: { url: /delay/5000 }
        timeout: 10s
      - name: never reached
        request: { url: /json }
    finally:
      - name: cleanup still runs
        request: { url: /json }
  - name: default from the command line
    steps:
      - name: slow read
        request: { url: /delay/5000 }
"#,
    );
    let out = ws.run(&[
        "timeouts.yaml",
        "--base-url",
        &srv.base_url,
        "--timeout",
        "300ms",
    ]);
    out.expect_code(1);
    let step = failure_text(&out.case("step timeout"));
    assert!(
        step.contains("step \"slow read\" timed out: no complete response within 200ms"),
        "{step}"
    );
    let cli = failure_text(&out.case("default from the command line"));
    assert!(
        cli.contains("step \"slow read\" timed out: no complete response within 300ms"),
        "{cli}"
    );
    let scenario = out.case("scenario timeout");
    let text = failure_text(&scenario);
    assert!(
        text.contains("step \"slow read\": the scenario's timeout of 700ms was reached"),
        "{text}"
    );
    assert!(
        text.contains("the scenario's timeout of 700ms was reached"),
        "{text}"
    );
    let log = scenario
        .system_out
        .as_ref()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    assert!(log.contains("step 1 \"quick read\": ok"), "{log}");
    assert!(log.contains("step 3 \"never reached\": skipped"), "{log}");
    assert!(
        log.contains("finally step 1 \"cleanup still runs\": ok"),
        "{log}"
    );
    // The error kind tells CI a timeout is not an assertion failure.
    match &scenario.status {
        TestCaseStatus::NonSuccess { kind, .. } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Error)
        }
        other => panic!("{other:?}"),
    }
    assert!(
        out.stdout
            .contains("step \"slow read\" timed out: no complete response within 200ms"),
        "{}",
        out.stdout
    );
}

#[test]
fn delay_waits_before_the_step() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "delay.yaml",
        r#"
name: delayed
steps:
  - request: { url: /flaky/delayed?failures=0 }
  - request: { url: /flaky/delayed?failures=0 }
    delay: 400ms
"#,
    );
    let out = ws.run(&["delay.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    let sent = srv.requests("delayed");
    assert_eq!(sent.len(), 2);
    let gap = sent[1].arrived.duration_since(sent[0].arrived);
    assert!(gap >= Duration::from_millis(400), "{gap:?}");
}

// --- bodies and sessions ------------------------------------------------------------------

#[test]
fn form_multipart_and_body_file_bodies() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write("scenarios/files/logo.txt", "pretend this is a PNG\n");
    ws.write("scenarios/files/payload.json", "{\"from\": \"a file\"}\n");
    ws.write(
        "scenarios/bodies.yaml",
        r#"
name: bodies
vars:
  who: ann lee
steps:
  - name: form
    request:
      method: POST
      url: /anything
      form:
        name: "{{ who }}"
        note: a&b=c
    expect:
      json:
        $.headers['content-type']: application/x-www-form-urlencoded
        $.data: name=ann+lee&note=a%26b%3Dc
        $.form: { equals: { name: ann lee, note: "a&b=c" } }
  - name: multipart
    request:
      method: POST
      url: /anything
      multipart:
        title: "logo for {{ who }}"
        logo:
          file: files/logo.txt
          content_type: image/png
        renamed:
          file: files/payload.json
          filename: data.json
    expect:
      json:
        $.headers['content-type']: { matches: "^multipart/form-data; boundary=" }
        $.form.title: logo for ann lee
        $.files.logo: { equals: { filename: logo.txt, content_type: image/png, content: "pretend this is a PNG\n" } }
        $.files.renamed.filename: data.json
  - name: body_file
    request:
      method: PUT
      url: /anything
      headers:
        Content-Type: application/json
      body_file: files/payload.json
    expect:
      json:
        $.data: "{\"from\": \"a file\"}\n"
        $.json.from: a file
  - name: raw body
    request:
      method: POST
      url: /anything
      headers:
        Content-Type: text/plain
      body: "hello {{ who }}"
    expect:
      json:
        $.data: hello ann lee
"#,
    );
    let out = ws.run(&["scenarios/bodies.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    // Ten written assertions plus the implicit "not an error status" of each of the 4 steps.
    assert_eq!(out.case("bodies").assertions, Some(14));
}

#[test]
fn a_missing_body_file_is_an_error_naming_the_file() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "nofile.yaml",
        r#"
name: no such file
steps:
  - name: upload
    request:
      method: POST
      url: /anything
      body_file: files/missing.bin
"#,
    );
    let out = ws.run(&["nofile.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    let text = failure_text(&out.case("no such file"));
    assert!(
        text.contains("cannot read body_file `") && text.contains("files/missing.bin"),
        "{text}"
    );
}

#[test]
fn cookies_live_in_one_scenario_and_are_not_shared() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "cookies.yaml",
        r#"
scenarios:
  - name: a session
    steps:
      - name: log in
        request: { url: "/cookies/set?session=abc123&theme=dark" }
      - name: the cookies come back
        request: { url: /cookies }
        expect:
          json:
            $.cookies: { equals: { session: abc123, theme: dark } }
      - name: an explicit Cookie header wins
        request:
          url: /cookies
          headers:
            Cookie: session=mine
        expect:
          json:
            $.cookies: { equals: { session: mine } }
  - name: another scenario
    steps:
      - name: starts with no cookies
        delay: 200ms
        request: { url: /cookies }
        expect:
          json:
            $.cookies: { length: 0 }
"#,
    );
    let out = ws.run(&["cookies.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    // Run one after the other too: still nothing shared.
    let out = ws.run(&["cookies.yaml", "--base-url", &srv.base_url, "-j", "1"]);
    out.expect_code(0);
}

// --- webhooks -----------------------------------------------------------------------------

#[test]
fn the_shipped_webhook_scenario_passes_against_the_mock() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ws = Workspace::new();
    let file = format!("{root}/scenarios/webhooks.yaml");
    let json = ws.path("report.json");
    let json_arg = json.to_string_lossy().into_owned();
    let out = ws.run(&[&file, "-v", "--report-json", &json_arg]);
    out.expect_code(0);
    // A delivery is reported as what it is, not as a response to a request of ours.
    assert!(
        out.stdout.contains("< webhook delivery ("),
        "{}",
        out.stdout
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let step = &report["scenarios"][0]["steps"][2];
    assert_eq!(step["name"], "ping arrives signed", "{step}");
    assert!(step["response"].is_null(), "{step}");
    assert!(step["delivery"]["body_bytes"].as_u64() > Some(0), "{step}");
    assert!(step["delivery"]["headers"].is_array(), "{step}");
    let case = out.case("webhook test ping arrives signed");
    assert!(
        matches!(case.status, TestCaseStatus::Success { .. }),
        "{case:?}"
    );
    let log = case
        .system_out
        .as_ref()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    assert!(
        log.contains("step 3 \"ping arrives signed\": ok")
            && log.contains("  < webhook delivery (")
            && log.contains("finally step 1 \"delete the endpoint\": ok"),
        "{log}"
    );
}

#[test]
fn a_failed_webhook_step_quotes_what_arrived() {
    let root = env!("CARGO_MANIFEST_DIR");
    let shipped = std::fs::read_to_string(format!("{root}/scenarios/webhooks.yaml")).unwrap();
    let changed = shipped.replacen("$.type: test.ping", "$.type: test.pong", 1);
    assert_ne!(shipped, changed, "the shipped scenario checks $.type");
    let ws = Workspace::new();
    let file = ws.write("webhooks.yaml", &changed);
    let out = ws.run(&[file.to_str().unwrap()]);
    out.expect_code(1);
    // The console and JUnit quote the delivery's body, as they quote a response's.
    assert!(
        out.stdout.contains("body: ") && out.stdout.contains("\"type\":\"test.ping\""),
        "{}",
        out.stdout
    );
    let case = out.case("webhook test ping arrives signed");
    let text = format!("{:?}", case.status);
    assert!(
        text.contains("webhook delivery (") && text.contains("test.ping"),
        "{text}"
    );
}

#[test]
fn a_dry_run_renders_the_webhook_url_without_sending() {
    let root = env!("CARGO_MANIFEST_DIR");
    let ws = Workspace::new();
    let file = format!("{root}/scenarios/webhooks.yaml");
    let out = ws.run(&[&file, "--dry-run"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("\"url\":\"http://127.0.0.1:") && out.stdout.contains("/hooks/0\""),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("undefined variable"), "{}", out.stdout);
}

#[test]
fn webhook_failures_say_what_was_awaited_and_what_came() {
    let ws = Workspace::new();
    ws.write(
        "hooks.yaml",
        r#"
headers:
  X-Api-Key: lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA
scenarios:
  - name: wrong secret
    steps:
      - name: register
        request:
          method: POST
          url: /v1/webhook-endpoints
          json: { url: "{{ webhook.url }}", events: [test.ping] }
        expect: { status: 201 }
        capture: { endpoint_id: $.endpoint.id }
      - name: ping
        request:
          method: POST
          url: "/v1/webhook-endpoints/{{ endpoint_id }}/test"
          json: { payload: { hello: world } }
      - name: arrives
        wait_webhook:
          event: test.ping
          within: 5s
          secret: whsec_not_the_secret
        expect:
          json:
            $.data.hello: mars
  - name: nothing arrives
    steps:
      - name: wait in vain
        wait_webhook:
          event: job.completed
          within: 300ms
  - name: each scenario has its own address
    steps:
      - name: register
        request:
          method: POST
          url: /v1/webhook-endpoints
          json: { url: "{{ webhook.url }}", events: [test.ping] }
        capture:
          endpoint_id: $.endpoint.id
          secret: $.signingSecret
          registered_url: $.endpoint.url
      - name: ping
        request:
          method: POST
          url: "/v1/webhook-endpoints/{{ endpoint_id }}/test"
          json: { payload: { to: me } }
      - name: mine arrives signed
        wait_webhook:
          within: 5s
          secret: "{{ secret }}"
        expect:
          headers:
            Content-Type: application/json
          json:
            $.type: test.ping
            $.data: { equals: { to: me } }
"#,
    );
    let out = ws.run(&["hooks.yaml"]);
    out.expect_code(1);
    assert!(
        out.stdout
            .contains("PASS  each scenario has its own address"),
        "{}",
        out.stdout
    );
    let wrong = failure_text(&out.case("wrong secret"));
    for line in [
        "$.data.hello: expected \"mars\", got \"world\"",
        "webhook signature: expected a valid X-Layers-Signature, got no v1 signature matches HMAC-SHA256 of \"t.body\" with the given secret",
    ] {
        assert!(wrong.contains(line), "lacks {line:?}:\n{wrong}");
        assert!(out.stdout.contains(line), "console lacks {line:?}");
    }
    let none = failure_text(&out.case("nothing arrives"));
    assert!(
        none.contains(
            "webhook: expected a delivery of `job.completed` within 300ms, got none arrived"
        ),
        "{none}"
    );
}

#[test]
fn a_webhook_url_is_loopback_and_per_scenario() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "urls.yaml",
        r#"
scenarios:
  - name: first
    steps:
      - request:
          method: POST
          url: /flaky/hook-urls?failures=0
          json: { url: "{{ webhook.url }}" }
  - name: second
    steps:
      - delay: 100ms
        request:
          method: POST
          url: /flaky/hook-urls?failures=0
          json: { url: "{{ webhook.url }}" }
"#,
    );
    let out = ws.run(&["urls.yaml", "--base-url", &srv.base_url, "-j", "1"]);
    out.expect_code(0);
    let urls: Vec<String> = srv
        .requests("hook-urls")
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["url"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(urls.len(), 2);
    assert_ne!(urls[0], urls[1]);
    for u in &urls {
        assert!(u.starts_with("http://127.0.0.1:"), "{u}");
    }
}
