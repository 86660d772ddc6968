//! Running scenarios with the built binary against servers the tests start on
//! 127.0.0.1: captures, status expectations, templates, request shapes, `finally`,
//! undefined variables, and what the console says about a failure.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/junit_check.rs"]
mod junit_check;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::time::Duration;

use http_server::{Reply, TestServer};
use runner_cli::Workspace;
use serde_json::json;

#[test]
fn captures_flow_between_steps_and_keep_their_json_type() {
    let server = TestServer::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/login") => Reply::json(
            200,
            json!({"token": "tok-123", "user": {"id": 42, "active": true, "ratio": 1.5}}),
        )
        .header("X-Session", "sess-9"),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    ws.write(
        "captures.yaml",
        r#"name: captures
steps:
  - name: log in
    request:
      method: POST
      url: /login
      json: {user: alice}
    expect:
      status: 200
    capture:
      token: $.token
      user_id: $.user.id
      active: $.user.active
      ratio: $.user.ratio
      session: {header: X-Session}
  - name: use them
    request:
      method: PUT
      url: "/users/{{ user_id }}"
      headers:
        Authorization: "Bearer {{ token }}"
        X-Session: "{{ session }}"
      query:
        page: 2
        tag: [a, b]
        who: "{{ token }}"
      json:
        id: "{{ user_id }}"
        active: "{{ active }}"
        ratio: "{{ ratio }}"
        label: "user-{{ user_id }}"
        nested: {list: ["{{ user_id }}", "x{{ active }}"]}
    expect:
      status: 200
      json:
        $.path: /users/42
"#,
    );
    ws.run_against("captures.yaml", &server.base_url(), &[])
        .expect_code(0);

    let login = server.requests_to("/login");
    assert_eq!(login.len(), 1);
    assert_eq!(login[0].body_json(), json!({"user": "alice"}));
    let used = server.requests_to("/users/42");
    assert_eq!(used.len(), 1, "requests: {:?}", server.requests());
    let r = &used[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.header("authorization"), Some("Bearer tok-123"));
    assert_eq!(r.header("x-session"), Some("sess-9"));
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "a json body sets the content type"
    );
    let pairs = r.query_pairs();
    let expected: Vec<(String, String)> = [
        ("page", "2"),
        ("tag", "a"),
        ("tag", "b"),
        ("who", "tok-123"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(pairs, expected);
    // A string that is exactly one template of a captured number or boolean keeps its type.
    assert_eq!(
        r.body_json(),
        json!({
            "id": 42,
            "active": true,
            "ratio": 1.5,
            "label": "user-42",
            "nested": {"list": [42, "xtrue"]}
        })
    );
}

#[test]
fn status_codes_lists_and_classes_pass() {
    let server = TestServer::start(|r| {
        let code = r
            .path
            .strip_prefix("/status/")
            .and_then(|c| c.parse().ok())
            .unwrap_or(418);
        Reply::json(code, json!({"code": code}))
    });
    let ws = Workspace::new();
    ws.write(
        "statuses.yaml",
        r#"name: statuses
steps:
  - request: {url: /status/200}
    expect: {status: 200}
  - request: {url: /status/201}
    expect: {status: [200, 201]}
  - request: {url: /status/204}
    expect: {status: 2xx}
  - request: {url: /status/404}
    expect: {status: 4xx}
  - request: {url: /status/409}
    expect: {status: [200, 4xx]}
  - request: {url: /status/503}
    expect: {status: 503}
"#,
    );
    let out = ws.run_against("statuses.yaml", &server.base_url(), &[]);
    out.expect_code(0);
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/status/200",
            "/status/201",
            "/status/204",
            "/status/404",
            "/status/409",
            "/status/503"
        ],
        "each step once, in order; an expected 503 is not retried"
    );
}

#[test]
fn status_mismatches_fail_and_say_expected_and_actual() {
    let server = TestServer::start(|r| {
        let code = r
            .path
            .strip_prefix("/status/")
            .and_then(|c| c.parse().ok())
            .unwrap_or(418);
        Reply::json(code, json!({"code": code}))
    });
    let ws = Workspace::new();
    ws.write(
        "mismatch.yaml",
        r#"scenarios:
  - name: one code
    steps:
      - request: {url: /status/404}
        expect: {status: 200}
  - name: a list
    steps:
      - request: {url: /status/202}
        expect: {status: [200, 201]}
  - name: a class
    steps:
      - request: {url: /status/404}
        expect: {status: 2xx}
"#,
    );
    let out = ws.run_against("mismatch.yaml", &server.base_url(), &["--jobs", "1"]);
    out.expect_code(1);
    out.stdout_has("expected status 200, got 404")
        .stdout_has("expected status one of 200, 201, got 202")
        .stdout_has("expected status 2xx, got 404");
    assert!(
        out.last_line().starts_with("0 passed, 3 failed"),
        "last line: {:?}",
        out.last_line()
    );
}

#[test]
fn an_undefined_variable_exits_2_with_file_and_line_and_sends_nothing() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "suite/ok.yaml",
        "name: fine on its own\nsteps:\n  - request: {url: /fine}\n",
    );
    ws.write(
        "suite/undefined.yaml",
        r#"name: undefined
steps:
  - name: first
    request:
      url: /first
  - name: second
    request:
      url: "/items/{{ item_id }}"
"#,
    );
    let out = ws.run_against("suite", &server.base_url(), &[]);
    out.expect_code(2);
    out.stderr_has("undefined variable `item_id`")
        .stderr_has("undefined.yaml:8:");
    assert!(
        server.requests().is_empty(),
        "nothing may be sent when a file is wrong; got {:?}",
        server.requests()
    );
}

#[test]
fn a_failing_status_exits_1_and_console_and_junit_name_step_expected_and_actual() {
    let server = TestServer::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/users") => Reply::json(400, json!({"error": "name is required"})),
        _ => Reply::json(200, json!([])),
    });
    let ws = Workspace::new();
    ws.write(
        "users.yaml",
        r#"name: create a user
steps:
  - name: list users
    request: {url: /users}
    expect: {status: 200}
  - name: create user
    request:
      method: POST
      url: /users
      json: {}
    expect:
      status: 201
  - name: never reached
    request: {url: /after}
"#,
    );
    let out = ws.run_against("users.yaml", &server.base_url(), &["--junit", "report.xml"]);
    out.expect_code(1);
    let url = server.url("/users");
    let fail_line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("FAIL"))
        .unwrap_or_else(|| panic!("no FAIL line:\n{}", out.stdout));
    assert!(fail_line.contains("create a user"), "{fail_line}");
    assert!(fail_line.contains("users.yaml"), "{fail_line}");
    out.stdout_has(&format!("step 2 \"create user\"  POST {url}"))
        .stdout_has("expected status 201, got 400")
        .stdout_has(r#"body: {"error":"name is required"}"#);
    assert!(
        out.last_line().starts_with("0 passed, 1 failed"),
        "last line: {:?}",
        out.last_line()
    );
    assert!(
        server.requests_to("/after").is_empty(),
        "steps after a failure do not run"
    );

    let junit = junit_check::check(&ws.path("report.xml"));
    let case = junit.case("create a user");
    let failure = case
        .child("failure")
        .unwrap_or_else(|| panic!("no <failure> in {case:?}"));
    let message = failure.req("message");
    assert!(message.contains("step 2 \"create user\""), "{message}");
    assert!(message.contains("201"), "{message}");
    assert!(message.contains("400"), "{message}");
    assert!(
        failure.text.contains(&format!("POST {url}")),
        "{}",
        failure.text
    );
    assert!(
        failure.text.contains("name is required"),
        "{}",
        failure.text
    );
}

#[test]
fn finally_steps_run_after_a_failure_and_see_earlier_captures() {
    let server = TestServer::start(|r| match (r.method.as_str(), r.path.as_str()) {
        ("POST", "/things") => Reply::json(201, json!({"id": "t-7"})),
        ("GET", "/things/t-7") => Reply::json(404, json!({"error": "not yet"})),
        ("DELETE", "/things/t-7") => Reply::empty(204),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    ws.write(
        "cleanup.yaml",
        r#"name: cleanup
steps:
  - name: create
    request: {method: POST, url: /things}
    expect: {status: 201}
    capture: {thing_id: $.id}
  - name: check it
    request: {url: "/things/{{ thing_id }}"}
    expect: {status: 200}
  - name: start job
    request: {method: POST, url: "/things/{{ thing_id }}/jobs"}
    capture: {job_id: $.jobId}
finally:
  - name: cancel job
    request: {method: POST, url: "/jobs/{{ job_id }}/cancel"}
  - name: delete thing
    request: {method: DELETE, url: "/things/{{ thing_id }}"}
    expect: {status: 204}
"#,
    );
    let out = ws.run_against("cleanup.yaml", &server.base_url(), &[]);
    out.expect_code(1);
    let sent: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        sent,
        ["POST /things", "GET /things/t-7", "DELETE /things/t-7"],
        "the failed step stops the main steps; finally runs with the capture it has"
    );
    out.stdout_has("finally \"cancel job\": it needs job_id, which was never captured");
}

#[test]
fn scenario_headers_go_with_every_step_and_a_steps_own_header_wins() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "headers.yaml",
        r#"name: headers
headers:
  X-Team: qa
  X-Env: staging
steps:
  - name: one
    request: {url: /one}
  - name: two
    request:
      url: /two
      headers:
        x-env: prod
"#,
    );
    ws.run_against("headers.yaml", &server.base_url(), &[])
        .expect_code(0);
    let one = &server.requests_to("/one")[0];
    assert_eq!(one.header_values("x-team"), ["qa"]);
    assert_eq!(one.header_values("x-env"), ["staging"]);
    let two = &server.requests_to("/two")[0];
    assert_eq!(two.header_values("x-team"), ["qa"]);
    assert_eq!(
        two.header_values("x-env"),
        ["prod"],
        "the step's header replaces the scenario's"
    );
}

#[test]
fn cli_vars_win_over_file_vars_and_env_is_readable() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "vars.yaml",
        r#"name: vars
vars:
  who: file
  greeting: "hello {{ who }}"
steps:
  - request:
      url: /vars
      query:
        who: "{{ who }}"
        greeting: "{{ greeting }}"
        home: "{{ env.FT_RUNNER_TEST_PLACE }}"
"#,
    );
    ws.runner()
        .args(["vars.yaml"])
        .base_url(&server.base_url())
        .env("FT_RUNNER_TEST_PLACE", "/over/there")
        .run()
        .expect_code(0);
    ws.runner()
        .args([
            "vars.yaml",
            "--base-url",
            &server.base_url(),
            "--var",
            "who=cli",
        ])
        .env("FT_RUNNER_TEST_PLACE", "/over/there")
        .run()
        .expect_code(0);
    let seen: Vec<Vec<(String, String)>> = server
        .requests_to("/vars")
        .iter()
        .map(|r| r.query_pairs())
        .collect();
    let q = |who: &str, greeting: &str| {
        vec![
            ("who".to_string(), who.to_string()),
            ("greeting".to_string(), greeting.to_string()),
            ("home".to_string(), "/over/there".to_string()),
        ]
    };
    assert_eq!(seen, [q("file", "hello file"), q("cli", "hello cli")]);
}

#[test]
fn a_vars_file_sets_typed_variables_that_var_overrides_and_masks_its_secrets() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "typed.yaml",
        r#"name: typed
vars:
  region: from-the-scenario
steps:
  - request:
      method: POST
      url: /typed
      headers: { Authorization: "Bearer {{ STAGING_TOKEN }}" }
      json:
        region: "{{ region }}"
        limit: "{{ limit }}"
        dry: "{{ dry }}"
        tags: "{{ tags }}"
"#,
    );
    ws.write(
        "staging.yaml",
        "# the staging environment\nregion: eu-west\nlimit: 25\ndry: true\ntags: [smoke, eu]\nSTAGING_TOKEN: stg-0123456789abcdef\n",
    );
    ws.write("override.yaml", "limit: 50\n");
    // Without the file, `limit` is undefined: refused before anything is sent.
    ws.runner()
        .args(["validate", "typed.yaml"])
        .run()
        .expect_code(2)
        .stderr_has("limit");
    ws.runner()
        .args(["validate", "typed.yaml", "--vars-file", "staging.yaml"])
        .run()
        .expect_code(0);
    let out = ws
        .runner()
        .args([
            "typed.yaml",
            "--base-url",
            &server.base_url(),
            "--vars-file",
            "staging.yaml",
            "--vars-file",
            "override.yaml",
            "--var",
            "region=us-east",
            "-vv",
            "--junit",
            "report.xml",
        ])
        .run();
    out.expect_code(0);
    let sent = &server.requests_to("/typed")[0];
    assert_eq!(
        sent.body_json(),
        json!({"region": "us-east", "limit": 50, "dry": true, "tags": ["smoke", "eu"]}),
        "file values keep their YAML types; a later file and --var win"
    );
    assert_eq!(
        sent.header("authorization"),
        Some("Bearer stg-0123456789abcdef")
    );
    let report = ws.read("report.xml");
    for text in [out.all(), report] {
        assert!(
            !text.contains("stg-0123456789abcdef"),
            "a *_TOKEN from a vars file is a secret: {text}"
        );
    }
    // A broken vars file is a usage error, pointed at.
    ws.write("broken.yaml", "limit: [1\n");
    ws.runner()
        .args(["typed.yaml", "--vars-file", "broken.yaml"])
        .run()
        .expect_code(2)
        .stderr_has("broken.yaml:");
}

#[test]
fn fail_fast_starts_no_scenario_after_a_failure_but_lets_finally_run() {
    let server = TestServer::start(|req| match req.path.as_str() {
        "/broken" => Reply::json(500, json!({"error": "down"})),
        _ => Reply::json(200, json!({"ok": true})),
    });
    let ws = Workspace::new();
    let mut files = Vec::new();
    for (i, path) in ["/a", "/broken", "/c", "/d"].iter().enumerate() {
        let name = format!("s{i}.yaml");
        ws.write(
            &name,
            &format!(
                "name: scenario {i}\nsteps:\n  - request: {{ url: \"{path}\" }}\nfinally:\n  - request: {{ url: /cleanup-{i} }}\n"
            ),
        );
        files.push(name);
    }
    let mut args: Vec<&str> = files.iter().map(String::as_str).collect();
    let base = server.base_url();
    args.extend([
        "--base-url",
        &base,
        "--jobs",
        "1",
        "--fail-fast",
        "--junit",
        "report.xml",
        "--retries",
        "0",
    ]);
    let out = ws.runner().args(&args).run();
    out.expect_code(1)
        .stdout_has("--fail-fast: `scenario 1` did not pass");
    assert_eq!(server.requests_to("/a").len(), 1);
    assert_eq!(server.requests_to("/broken").len(), 1);
    assert_eq!(
        server.requests_to("/cleanup-1").len(),
        1,
        "the failed scenario's finally ran"
    );
    assert!(server.requests_to("/c").is_empty(), "{}", out.all());
    assert!(server.requests_to("/d").is_empty(), "{}", out.all());
    let junit = junit_check::check(&ws.path("report.xml"));
    let skipped = junit.case("scenario 2").child("skipped").expect("skipped");
    assert!(
        skipped
            .attr("message")
            .is_some_and(|m| m.contains("--fail-fast")),
        "{skipped:?}"
    );
    assert!(junit.case("scenario 3").has_child("skipped"));
    assert!(junit.case("scenario 1").has_child("failure"));
    // Without the flag every scenario runs.
    let all: Vec<&str> = args
        .iter()
        .copied()
        .filter(|a| *a != "--fail-fast")
        .collect();
    ws.runner().args(&all).run().expect_code(1);
    assert_eq!(server.requests_to("/d").len(), 1);
}

#[test]
fn uuid_now_and_timestamp_render_fresh_values() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "functions.yaml",
        r#"name: functions
steps:
  - request:
      url: /fns
      headers:
        X-Id: "{{ uuid() }}"
      query:
        at: "{{ now() }}"
        ts: "{{ timestamp() }}"
  - request:
      url: /fns
      headers:
        X-Id: "{{ uuid() }}"
"#,
    );
    let before = chrono::Utc::now().timestamp();
    ws.run_against("functions.yaml", &server.base_url(), &[])
        .expect_code(0);
    let after = chrono::Utc::now().timestamp();
    let reqs = server.requests_to("/fns");
    assert_eq!(reqs.len(), 2);
    let ids: Vec<uuid::Uuid> = reqs
        .iter()
        .map(|r| {
            let v = r.header("x-id").unwrap_or_default();
            uuid::Uuid::parse_str(v).unwrap_or_else(|e| panic!("{v:?} is not a UUID: {e}"))
        })
        .collect();
    assert!(ids.iter().all(|u| u.get_version_num() == 4), "{ids:?}");
    assert_ne!(ids[0], ids[1], "each call gives a new UUID");
    let q = reqs[0].query_pairs();
    let at = &q.iter().find(|(k, _)| k == "at").expect("at").1;
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .unwrap_or_else(|e| panic!("now() gave {at:?}, not RFC 3339: {e}"))
        .timestamp();
    let ts: i64 = q
        .iter()
        .find(|(k, _)| k == "ts")
        .and_then(|(_, v)| v.parse().ok())
        .expect("timestamp() is a whole number");
    for t in [at, ts] {
        assert!(
            (before - 1..=after + 1).contains(&t),
            "{t} outside {before}..{after}"
        );
    }
}

#[test]
fn raw_bodies_and_absolute_urls_are_sent_as_written() {
    let server = TestServer::echo();
    let other = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "shapes.yaml",
        r#"name: request shapes
vars:
  n: 5
steps:
  - name: raw
    request:
      method: POST
      url: /raw
      headers: {Content-Type: text/plain}
      body: "line one {{ n }}\nline two"
  - name: absolute
    request:
      url: "http://127.0.0.1:{{ other_port }}/elsewhere?x=1"
"#,
    );
    let port = other.port().to_string();
    ws.run_against(
        "shapes.yaml",
        &server.base_url(),
        &["--var", &format!("other_port={port}")],
    )
    .expect_code(0);
    let raw = server.requests_to("/raw");
    assert_eq!(raw.len(), 1);
    assert_eq!(raw[0].body_text(), "line one 5\nline two");
    assert_eq!(raw[0].header("content-type"), Some("text/plain"));
    assert!(server.requests_to("/elsewhere").is_empty());
    let abs = other.requests_to("/elsewhere");
    assert_eq!(abs.len(), 1, "an absolute URL ignores the base URL");
    assert_eq!(abs[0].query.as_deref(), Some("x=1"));
}

#[test]
fn a_capture_that_finds_nothing_fails_naming_the_path_and_showing_the_body() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/thing" => Reply::json(200, json!({"data": {"name": "widget"}})),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    ws.write(
        "capture.yaml",
        r#"name: missing capture
steps:
  - name: get thing
    request: {url: /thing}
    expect: {status: 200}
    capture:
      thing_id: $.data.id
  - name: use it
    request: {url: "/things/{{ thing_id }}"}
"#,
    );
    let out = ws.run_against("capture.yaml", &server.base_url(), &[]);
    out.expect_code(1);
    out.stdout_has("step 1 \"get thing\"")
        .stdout_has("capture thing_id")
        .stdout_has("$.data.id")
        .stdout_has("widget");
    assert_eq!(
        server.requests().len(),
        1,
        "the step that needs the capture is not sent"
    );
}

#[test]
fn a_step_that_times_out_is_an_error_not_a_hang() {
    let server = TestServer::start(|r| Reply::echo(r).delay(Duration::from_secs(20)));
    let ws = Workspace::new();
    ws.write(
        "slow.yaml",
        r#"name: slow
steps:
  - name: wait forever
    request: {url: /slow}
    timeout: 300ms
"#,
    );
    let out = ws.run_against("slow.yaml", &server.base_url(), &["--retries", "0"]);
    out.expect_code(1);
    out.stdout_has("ERROR").stdout_has("timed out");
}

#[test]
fn captured_booleans_null_and_lists_read_as_json_inside_text() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/flags" => Reply::json(
            200,
            json!({"on": true, "off": false, "nothing": null, "count": 3, "tags": ["a", true]}),
        ),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    ws.write(
        "text.yaml",
        r#"name: text rendering
steps:
  - name: get flags
    request: {url: /flags}
    capture:
      on: $.on
      off: $.off
      nothing: $.nothing
      count: $.count
      tags: $.tags
  - name: use them
    request:
      method: POST
      url: "/use/{{ on }}/{{ off }}/{{ count }}"
      headers:
        X-Flags: "{{ on }},{{ off }},{{ nothing }}"
      query:
        q: "on={{ on }}"
      body: "{{ tags }} {{ nothing }}"
"#,
    );
    ws.run_against("text.yaml", &server.base_url(), &[])
        .expect_code(0);
    let used = server.requests_to("/use/true/false/3");
    assert_eq!(used.len(), 1, "requests: {:?}", server.requests());
    assert_eq!(used[0].header("x-flags"), Some("true,false,null"));
    assert_eq!(
        used[0].query_pairs(),
        [("q".to_string(), "on=true".to_string())]
    );
    assert_eq!(used[0].body_text(), r#"["a",true] null"#);
}

#[test]
fn matrix_names_show_booleans_as_written() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "matrix.yaml",
        r#"name: "flag {{ flag }}"
matrix:
  flag: [true, false]
steps:
  - request: {url: "/m/{{ flag }}"}
"#,
    );
    let out = ws.run_against("matrix.yaml", &server.base_url(), &["--jobs", "1"]);
    out.expect_code(0);
    out.stdout_has("PASS  flag true")
        .stdout_has("PASS  flag false");
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/m/true", "/m/false"]);
}

#[test]
fn an_undefined_value_in_a_json_body_query_or_var_is_an_error_not_null() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/user" => Reply::json(200, json!({"user": {"id": 1}})),
        _ => Reply::echo(r),
    });
    let ws = Workspace::new();
    ws.write(
        "undefined_at_run_time.yaml",
        r#"scenarios:
  - name: json body
    steps:
      - request: {url: /user}
        capture: {user: $.user}
      - name: post it
        request: {method: POST, url: /json, json: {id: "{{ user.idd }}"}}
  - name: query
    vars: {nothing: {}}
    steps:
      - name: query it
        request: {url: /query, query: {home: "{{ nothing.FT_RUNNER_SURELY_UNSET_VAR }}"}}
  - name: var
    vars: {nothing: {}, v: "{{ nothing.FT_RUNNER_SURELY_UNSET_VAR }}"}
    steps:
      - request: {url: "/var/{{ v }}"}
  - name: default still works
    vars: {v: "{{ env.FT_RUNNER_SURELY_UNSET_VAR | default('fallback') }}"}
    steps:
      - request: {method: POST, url: "/default/{{ v }}", json: {v: "{{ v }}"}}
"#,
    );
    let out = ws.run_against(
        "undefined_at_run_time.yaml",
        &server.base_url(),
        &["--jobs", "1"],
    );
    out.expect_code(1);
    out.stdout_has("undefined variable `user.idd`")
        .stdout_has("undefined variable `nothing.FT_RUNNER_SURELY_UNSET_VAR`");
    let errors = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("ERROR"))
        .count();
    assert_eq!(errors, 3, "{}", out.stdout);
    let sent: Vec<String> = server.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        sent,
        ["/user", "/default/fallback"],
        "nothing is sent with a null in place of a missing value"
    );
    assert_eq!(
        server.requests_to("/default/fallback")[0].body_json(),
        json!({"v": "fallback"})
    );
}

#[test]
fn a_step_without_expected_status_fails_on_an_error_status() {
    let server = TestServer::start(|r| {
        if r.path == "/missing" {
            Reply::json(404, json!({"error": "not found"}))
        } else {
            Reply::json(200, json!({}))
        }
    });
    let ws = Workspace::new();
    ws.write(
        "implicit.yaml",
        "name: implicit status\nsteps:\n  - name: fine\n    request: { url: /ok }\n  - name: gone\n    request: { url: /missing }\n",
    );
    let out = ws.run_at(&server.base_url(), ["implicit.yaml"]);
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    out.stdout_has("step 2 \"gone\"");
    assert!(out.stdout.contains("a success (2xx"), "{}", out.stdout);
    out.stdout_has("got 404");
}
