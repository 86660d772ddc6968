//! The scenario language, end to end: `include` with `with:`, `matrix`, tags and the
//! selection flags, `skip`, run by the built binary against a test server on 127.0.0.1.

#[path = "support/language_server.rs"]
mod server;

use quick_junit::TestCaseStatus;
use serde_json::{Value, json};
use server::{LanguageServer, Workspace, failure_text};

fn bodies(srv: &LanguageServer, key: &str) -> Vec<Value> {
    srv.requests(key)
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap_or(Value::Null))
        .collect()
}

fn system_out(case: &quick_junit::TestCase) -> String {
    case.system_out
        .as_ref()
        .map(|s| s.as_str().to_string())
        .unwrap_or_default()
}

#[test]
fn includes_resolve_from_the_including_file_and_take_with_parameters() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "suite/orders/create.yaml",
        r#"
name: orders with a shared login
vars:
  user: ann
steps:
  - include: ../shared/login.yaml
    with:
      username: "{{ user }}"
      password: s3cret
  - name: use the session
    request:
      method: POST
      url: /flaky/inc-use?failures=0
      headers:
        Authorization: "Bearer {{ token }}"
finally:
  - include: ../shared/teardown.yaml
    with: { what: orders }
"#,
    );
    ws.write(
        "suite/shared/login.yaml",
        r#"
description: Log in and keep the token.
steps:
  - name: log in
    request:
      method: POST
      url: /flaky/inc-login?failures=0
      json: { user: "{{ username }}", password: "{{ password }}" }
    expect:
      status: 201
    capture:
      token: $.json.user
  - include: helpers/ping.yaml
    with:
      note: "after the login of {{ username }}"
"#,
    );
    ws.write(
        "suite/shared/helpers/ping.yaml",
        r#"
- name: ping
  request:
    method: POST
    url: /flaky/inc-ping?failures=0
    json: { note: "{{ note }}", user: "{{ username }}", token: "{{ token }}" }
"#,
    );
    ws.write(
        "suite/shared/teardown.yaml",
        r#"
- name: tear down
  request:
    method: DELETE
    url: "/flaky/inc-teardown?failures=0&what={{ what }}"
"#,
    );
    let out = ws.run(&["suite/orders", "--base-url", &srv.base_url]);
    out.expect_code(0);
    assert_eq!(
        bodies(&srv, "inc-login"),
        vec![json!({"user": "ann", "password": "s3cret"})]
    );
    assert_eq!(
        bodies(&srv, "inc-ping"),
        vec![json!({"note": "after the login of ann", "user": "ann", "token": "ann"})]
    );
    let used = srv.requests("inc-use");
    assert_eq!(used.len(), 1);
    assert_eq!(used[0].header("authorization"), Some("Bearer ann"));
    let teardown = srv.requests("inc-teardown");
    assert_eq!(teardown.len(), 1);
    assert_eq!(teardown[0].method, "DELETE");
    let log = system_out(&out.case("orders with a shared login"));
    for line in [
        "step 1 \"log in\": ok",
        "step 2 \"ping\": ok",
        "step 3 \"use the session\": ok",
        "finally step 1 \"tear down\": ok",
    ] {
        assert!(log.contains(line), "lacks {line:?}:\n{log}");
    }
}

/// Shared steps may live in the folder that is run: a file another file includes
/// is not loaded as a scenario of its own.
#[test]
fn included_files_in_a_run_folder_are_not_scenarios() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "suite/orders.yaml",
        r#"
name: orders
steps:
  - include: shared/login.yaml
    with: { user: ann }
  - { include: "shared/ping.yaml" }
"#,
    );
    ws.write(
        "suite/shared/login.yaml",
        r#"
description: Log in.
steps:
  - name: log in
    request: { url: "/anything/login?user={{ user }}" }
"#,
    );
    ws.write(
        "suite/shared/ping.yaml",
        "- name: ping\n  request: { url: /json }\n",
    );
    let out = ws.run(&["suite", "--base-url", &srv.base_url]);
    out.expect_code(0);
    let names: Vec<String> = out
        .cases()
        .iter()
        .map(|c| c.name.as_str().to_string())
        .collect();
    assert_eq!(names, ["orders"]);
    let listed = ws.run(&["list", "suite"]);
    listed.expect_code(0);
    assert_eq!(listed.stdout.lines().count(), 1, "{}", listed.stdout);
}

/// A `with:` is rendered once per include: every step of the include (and of the
/// includes inside it) sees the same `{{ uuid() }}`; another include of the same
/// file renders its own.
#[test]
fn with_parameters_render_once_per_include() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "main.yaml",
        r#"
name: one value per include
steps:
  - include: lib/create-and-check.yaml
    with: { external_id: "ext-{{ uuid() }}" }
  - include: lib/create-and-check.yaml
    with: { external_id: "ext-{{ uuid() }}" }
"#,
    );
    ws.write(
        "lib/create-and-check.yaml",
        r#"
- name: create
  request:
    method: POST
    url: /flaky/once?failures=0
    json: { id: "{{ external_id }}" }
- include: check.yaml
  with: { stamp: "{{ uuid() }}" }
"#,
    );
    ws.write(
        "lib/check.yaml",
        r#"
- name: check
  request:
    method: POST
    url: /flaky/once?failures=0
    json: { id: "{{ external_id }}", stamp: "{{ stamp }}" }
- name: check again
  request:
    method: POST
    url: /flaky/once?failures=0
    json: { id: "{{ external_id }}", stamp: "{{ stamp }}" }
"#,
    );
    let out = ws.run(&["main.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    let sent = bodies(&srv, "once");
    assert_eq!(sent.len(), 6, "{sent:?}");
    let (first, second) = sent.split_at(3);
    for half in [first, second] {
        assert!(half.iter().all(|b| b["id"] == half[0]["id"]), "{sent:?}");
        assert_eq!(half[1]["stamp"], half[2]["stamp"], "{sent:?}");
        assert!(half[1]["stamp"].is_string(), "{sent:?}");
    }
    assert_ne!(first[0]["id"], second[0]["id"], "{sent:?}");
    assert_ne!(first[1]["stamp"], second[1]["stamp"], "{sent:?}");
}

#[test]
fn include_problems_are_reported_before_anything_is_sent() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "suite/a.yaml",
        r#"
name: missing include
steps:
  - include: shared/nope.yaml
"#,
    );
    ws.write(
        "suite/b.yaml",
        r#"
name: a parameter not given
steps:
  - include: ../lib/needs.yaml
    with: { present: 1 }
"#,
    );
    ws.write(
        "lib/needs.yaml",
        r#"
- name: uses a parameter
  request:
    url: "/flaky/never-sent?failures=0&x={{ absent }}"
"#,
    );
    let out = ws.run(&["suite", "--base-url", &srv.base_url]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("suite/a.yaml:4:")
            && out.stderr.contains("included file `")
            && out.stderr.contains("shared/nope.yaml` not found")
            && out
                .stderr
                .contains("paths are relative to the file that includes them"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("lib/needs.yaml:4:")
            && out.stderr.contains("undefined variable `absent`"),
        "{}",
        out.stderr
    );
    assert!(srv.requests("never-sent").is_empty());
    assert!(out.junit.is_none(), "nothing ran, nothing reported");
}

#[test]
fn a_matrix_expands_into_named_cases_each_its_own_testcase() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "matrix.yaml",
        r#"
scenarios:
  - name: "ingest {{ bundle }} on {{ platform }}"
    matrix:
      bundle: [com.a, com.b]
      platform: [ios, android]
    vars:
      platform: web
      store_id: "{{ platform }}:{{ bundle }}"
    steps:
      - request:
          method: POST
          url: /flaky/matrix?failures=0
          json: { bundle: "{{ bundle }}", platform: "{{ platform }}", id: "{{ store_id }}" }
  - name: status check
    matrix:
      code: [200, 404]
    steps:
      - request: { url: "/status/{{ code }}" }
        expect: { status: 200 }
"#,
    );
    let out = ws.run(&["matrix.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    let names: Vec<String> = out
        .cases()
        .iter()
        .map(|c| c.name.as_str().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "ingest com.a on ios",
            "ingest com.a on android",
            "ingest com.b on ios",
            "ingest com.b on android",
            "status check [code=200]",
            "status check [code=404]",
        ]
    );
    let mut sent = bodies(&srv, "matrix");
    sent.sort_by_key(|v| v.to_string());
    assert_eq!(
        sent,
        vec![
            json!({"bundle": "com.a", "platform": "android", "id": "android:com.a"}),
            json!({"bundle": "com.a", "platform": "ios", "id": "ios:com.a"}),
            json!({"bundle": "com.b", "platform": "android", "id": "android:com.b"}),
            json!({"bundle": "com.b", "platform": "ios", "id": "ios:com.b"}),
        ]
    );
    assert!(matches!(
        out.case("status check [code=200]").status,
        TestCaseStatus::Success { .. }
    ));
    let failed = failure_text(&out.case("status check [code=404]"));
    assert!(failed.contains("status: expected 200, got 404"), "{failed}");
    assert!(
        out.stdout.contains("FAIL  status check [code=404]"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_matrix_name_that_does_not_render_is_reported() {
    let ws = Workspace::new();
    ws.write(
        "bad.yaml",
        r#"
name: "case {{ colour }}"
matrix:
  color: [red]
steps:
  - request: { url: /json }
"#,
    );
    let out = ws.run(&["bad.yaml", "--base-url", "http://127.0.0.1:9"]);
    out.expect_code(2);
    assert!(
        out.stderr
            .contains("the scenario name `case {{ colour }}` cannot be rendered from the matrix"),
        "{}",
        out.stderr
    );
}

const TAGGED: &str = r#"
tags: [api]
scenarios:
  - name: smoke read
    tags: [smoke]
    steps:
      - request: { url: /json }
  - name: slow read
    tags: [slow]
    steps:
      - request: { url: /json }
  - name: smoke and slow
    tags: [smoke, slow]
    steps:
      - request: { url: /json }
  - name: Untagged Here
    steps:
      - request: { url: /json }
"#;

#[test]
fn tags_skip_tags_and_filter_select_scenarios() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write("tagged.yaml", TAGGED);
    let run = |args: &[&str]| {
        let mut all = vec!["tagged.yaml", "--base-url", srv.base_url.as_str()];
        all.extend_from_slice(args);
        let out = ws.run(&all);
        out.expect_code(0);
        out.cases()
            .iter()
            .map(|c| c.name.as_str().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(run(&["--tag", "smoke"]), ["smoke read", "smoke and slow"]);
    assert_eq!(
        run(&["--tag", "smoke", "--skip-tag", "slow"]),
        ["smoke read"]
    );
    assert_eq!(
        run(&["--skip-tag", "slow"]),
        ["smoke read", "Untagged Here"]
    );
    assert_eq!(run(&["--filter", "untagged"]), ["Untagged Here"]);
    assert_eq!(
        run(&["--tag", "slow", "--filter", "smoke"]),
        ["smoke and slow"]
    );
    // File-level tags apply to every scenario of the file.
    assert_eq!(run(&["--tag", "api"]).len(), 4);
    let out = ws.run(&[
        "tagged.yaml",
        "--base-url",
        &srv.base_url,
        "--tag",
        "nightly",
    ]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("no scenario matches the selection"),
        "{}",
        out.stderr
    );
    // `list` shows the same selection without sending anything.
    let listed = ws.run(&["list", "tagged.yaml", "--tag", "smoke"]);
    assert!(
        listed.stdout.contains("smoke read  [api, smoke]") && !listed.stdout.contains("slow read"),
        "{}",
        listed.all()
    );
}

#[test]
fn skip_on_a_scenario_or_a_step_says_why() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "skip.yaml",
        r#"
scenarios:
  - name: not this release
    skip: waiting for the v2 endpoint
    steps:
      - request: { url: /flaky/skipped-scenario?failures=0 }
  - name: one step skipped
    steps:
      - name: first
        request: { url: /json }
      - name: not deployed yet
        skip: the endpoint is not deployed
        request: { url: /flaky/skipped-step?failures=0 }
      - name: third
        request: { url: /json }
"#,
    );
    let out = ws.run(&["skip.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    assert!(srv.requests("skipped-scenario").is_empty());
    assert!(srv.requests("skipped-step").is_empty());
    assert!(
        out.stdout.contains("SKIP  not this release")
            && out.stdout.contains("waiting for the v2 endpoint")
            && out.stdout.contains("1 passed, 0 failed, 1 skipped"),
        "{}",
        out.stdout
    );
    match &out.case("not this release").status {
        TestCaseStatus::Skipped { message, .. } => assert_eq!(
            message.as_ref().map(|m| m.as_str()),
            Some("waiting for the v2 endpoint")
        ),
        other => panic!("{other:?}"),
    }
    let case = out.case("one step skipped");
    assert!(matches!(case.status, TestCaseStatus::Success { .. }));
    let log = system_out(&case);
    assert!(
        log.contains("step 2 \"not deployed yet\": skipped")
            && log.contains("the endpoint is not deployed")
            && log.contains("step 3 \"third\": ok"),
        "{log}"
    );
    // Per step, the skipped step is a skipped testcase with its reason.
    let out = ws.run(&[
        "skip.yaml",
        "--base-url",
        &srv.base_url,
        "--junit-granularity",
        "step",
    ]);
    match &out.case("one step skipped / 2. not deployed yet").status {
        TestCaseStatus::Skipped { message, .. } => assert_eq!(
            message.as_ref().map(|m| m.as_str()),
            Some("the endpoint is not deployed")
        ),
        other => panic!("{other:?}"),
    }
}
