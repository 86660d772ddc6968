//! What a run prints and writes: plain stable lines when piped or in CI, the
//! requests and responses with -v / -vv (secrets masked), and the JSON report.

#[path = "support/dx.rs"]
mod dx;
#[path = "support/http_server.rs"]
mod http_server;

use std::path::Path;
use std::time::Duration;

use http_server::{Reply, TestServer};
use serde_json::{Value, json};

const LIMIT: Duration = Duration::from_secs(120);

/// A Layers-shaped test key: `lp_test_<key id>_<secret>`.
const KEY: &str = "lp_test_01HX9Y6K7EJ4T2AB_4QZpNbT0w5yqL9cVf3sXo2hR8mJd6kEaUuWiZgPnBtC";
const KEY_SHOWN: &str = "lp_test_01HX9Y6K7EJ4T2AB_***";

/// The server answers `/echo` with the request it got, `/slow/{ms}` after a
/// pause, and anything else with a small JSON document.
fn server() -> TestServer {
    TestServer::start(|req| {
        if req.path == "/echo" {
            return Reply::echo(req);
        }
        if let Some(ms) = req.path.strip_prefix("/slow/") {
            let ms: u64 = ms.parse().unwrap_or(0);
            return Reply::json(200, json!({"slow": ms})).delay(Duration::from_millis(ms));
        }
        Reply::json(200, json!({"id": "prj_1", "status": "active"})).header("X-Trace", "t-123")
    })
}

fn write(dir: &Path, rel: &str, text: &str) {
    std::fs::write(dir.join(rel), text.trim_start()).expect("write");
}

/// Three scenarios that finish in the opposite order to the file's.
const SUITE: &str = r#"
scenarios:
  - name: first, slowest
    steps:
      - request: { url: /slow/600 }
  - name: second
    steps:
      - request: { url: /slow/300 }
  - name: third, fastest
    steps:
      - request: { url: /project }
        expect:
          json: { $.status: active }
"#;

fn strip_timings(text: &str) -> String {
    let re = regex::Regex::new(r"\d+ ms|\(\d+\.\d+s\)").expect("regex");
    re.replace_all(text, "T").into_owned()
}

#[test]
fn piped_output_is_plain_ordered_and_the_same_on_every_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), "suite.yaml", SUITE);
    let srv = server();
    let base = srv.base_url();
    let mut outputs = Vec::new();
    for env in [vec![], vec![("CI", "true")], vec![("NO_COLOR", "1")]] {
        let out = dx::run_with_limit(
            tmp.path(),
            &["suite.yaml", "--base-url", &base],
            &env,
            LIMIT,
        );
        assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
        for stream in [&out.stdout, &out.stderr] {
            assert!(!stream.contains('\u{1b}'), "escape codes in {stream:?}");
            assert!(!stream.contains('\r'), "a progress bar in {stream:?}");
        }
        let lines: Vec<&str> = out.stdout.lines().collect();
        assert!(
            lines[0].starts_with("PASS  first, slowest  suite.yaml  "),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("PASS  second  suite.yaml  "),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("PASS  third, fastest  suite.yaml  "),
            "{lines:?}"
        );
        assert!(lines[3].starts_with("3 passed, 0 failed  ("), "{lines:?}");
        outputs.push(strip_timings(&out.stdout));
    }
    assert!(
        outputs.windows(2).all(|w| w[0] == w[1]),
        "the output changed between runs: {outputs:#?}"
    );
}

#[test]
fn failures_say_what_was_expected_and_what_came() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        "fail.yaml",
        r#"
name: wrong status
steps:
  - name: read the project
    request: { url: /project }
    expect:
      status: 201
      json: { $.status: archived }
"#,
    );
    let srv = server();
    let out = dx::run_with_limit(
        tmp.path(),
        &["fail.yaml", "--base-url", &srv.base_url()],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains("FAIL  wrong status  fail.yaml"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("step 1 \"read the project\""),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("expected status 201, got 200"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("$.status: expected \"archived\", got \"active\""),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("0 passed, 1 failed"), "{}", out.stdout);
}

const ECHO: &str = r#"
name: echo
headers:
  X-Api-Key: "{{ env.LAYERS_API_KEY }}"
steps:
  - name: send a body
    request:
      method: POST
      url: /echo
      json: { name: smoke, key_copy: "{{ env.LAYERS_API_KEY }}" }
"#;

fn verbose(flag: &str) -> (String, TestServer) {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), "echo.yaml", ECHO);
    let srv = server();
    let out = dx::run_with_limit(
        tmp.path(),
        &["echo.yaml", "--base-url", &srv.base_url(), flag],
        &[("LAYERS_API_KEY", KEY)],
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(!all.contains(KEY), "the key leaked with {flag}:\n{all}");
    assert!(
        !all.contains("4QZpNbT0w5yqL9cVf3sXo2hR8mJd6kEaUuWiZgPnBtC"),
        "the key's secret part leaked with {flag}:\n{all}"
    );
    (all, srv)
}

#[test]
fn v_prints_request_and_response_lines_with_headers_and_masks_the_key() {
    let (out, srv) = verbose("-v");
    let url = format!("> POST {}/echo", srv.base_url());
    assert!(out.contains(&url), "{out}");
    assert!(out.contains(&format!("> X-Api-Key: {KEY_SHOWN}")), "{out}");
    assert!(out.contains("> Content-Type: application/json"), "{out}");
    assert!(out.contains("< HTTP/1.1 200"), "{out}");
    assert!(out.contains("< content-type: application/json"), "{out}");
    // No bodies at -v.
    assert!(!out.contains("\"name\":\"smoke\""), "{out}");
    assert!(!out.contains("\"path\":\"/echo\""), "{out}");
    // The server did get the real key.
    let got = srv.requests();
    assert_eq!(got[0].header("X-Api-Key"), Some(KEY));
}

#[test]
fn vv_adds_bodies_with_secrets_masked_in_them() {
    let (out, _srv) = verbose("-vv");
    assert!(
        out.contains("> {\"key_copy\":\"lp_test_01HX9Y6K7EJ4T2AB_***\""),
        "{out}"
    );
    // The echoed response body holds the key twice (header and body): masked both times.
    let response_body = out
        .lines()
        .find(|l| l.contains("< {") && l.contains("\"path\":\"/echo\""))
        .unwrap_or_else(|| panic!("no response body line:\n{out}"));
    assert!(
        response_body.matches(KEY_SHOWN).count() >= 2,
        "{response_body}"
    );
}

#[test]
fn the_json_report_describes_the_whole_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(tmp.path(), "suite.yaml", SUITE);
    write(
        tmp.path(),
        "fail.yaml",
        r#"
name: wrong status
tags: [smoke]
headers:
  X-Api-Key: "{{ env.LAYERS_API_KEY }}"
steps:
  - name: read the project
    request: { url: /project }
    expect:
      status: 201
      headers: { X-Trace: { exists: true } }
"#,
    );
    let srv = server();
    let out = dx::run_with_limit(
        tmp.path(),
        &[
            "suite.yaml",
            "fail.yaml",
            "--base-url",
            &srv.base_url(),
            "--report-json",
            "out/report.json",
        ],
        &[("LAYERS_API_KEY", KEY)],
        LIMIT,
    );
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);
    let text = std::fs::read_to_string(tmp.path().join("out/report.json")).expect("a report");
    assert!(!text.contains(KEY), "the key leaked into the report");
    let r: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(r["format_version"], 2);
    assert!(r["runner_version"].is_string());
    assert_eq!(r["run"]["total"], 4);
    assert!(
        r["run"]["target"]
            .as_str()
            .is_some_and(|t| t.contains("127.0.0.1")),
        "{}",
        r["run"]
    );
    let s = &r["summary"];
    assert_eq!(
        (s["total"].clone(), s["passed"].clone(), s["failed"].clone()),
        (json!(4), json!(3), json!(1))
    );
    assert!(s["duration"].as_f64().is_some_and(|d| d > 0.0));
    let scenarios = r["scenarios"].as_array().expect("scenarios");
    let names: Vec<&str> = scenarios
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["first, slowest", "second", "third, fastest", "wrong status"]
    );
    let failed = &scenarios[3];
    assert_eq!(failed["outcome"], "failed");
    assert_eq!(failed["file"], "fail.yaml");
    assert_eq!(failed["tags"], json!(["smoke"]));
    assert!(failed["duration"].as_f64().is_some());
    assert!(
        failed["started_at"]
            .as_str()
            .is_some_and(|t| t.contains('T'))
    );
    let step = &failed["steps"][0];
    assert_eq!(step["name"], "read the project");
    assert_eq!(step["phase"], "main");
    assert_eq!(step["number"], 1);
    assert_eq!(step["location"], "fail.yaml:6");
    assert_eq!(step["outcome"], "failed");
    assert_eq!(step["attempts"], 1);
    assert_eq!(step["assertions"], 2, "status and one header were checked");
    assert_eq!(
        step["failures"],
        json!([{"subject": "status", "expected": "201", "actual": "200"}])
    );
    assert_eq!(
        step["passed"],
        json!([{"subject": "header X-Trace", "expected": "to exist", "actual": "\"t-123\""}])
    );
    assert_eq!(step["request"]["method"], "GET");
    assert!(
        step["request"]["url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/project"))
    );
    assert!(
        step["request"]["headers"]
            .as_array()
            .expect("headers")
            .contains(&json!(["X-Api-Key", KEY_SHOWN])),
        "{}",
        step["request"]
    );
    assert_eq!(step["response"]["status"], 200);
    assert!(step["response"]["time_ms"].as_u64().is_some());
    assert_eq!(
        serde_json::from_str::<Value>(step["response"]["body"].as_str().expect("body"))
            .expect("JSON body"),
        json!({"id": "prj_1", "status": "active"})
    );
    assert!(
        step["response"]["headers"]
            .as_array()
            .expect("headers")
            .contains(&json!(["x-trace", "t-123"])),
        "{}",
        step["response"]
    );
}

#[test]
fn the_json_report_lists_every_assertion_that_held() {
    let tmp = tempfile::tempdir().expect("tmp");
    write(
        tmp.path(),
        "held.yaml",
        r#"
name: all hold
vars:
  wanted: active
steps:
  - name: read the project
    request: { url: /project }
    expect:
      json:
        $.id: { type: string, length: { gt: 2 }, not: { equals: prj_2 } }
        $.status: "{{ wanted }}"
      schema: { type: object, required: [id] }
"#,
    );
    let srv = server();
    let out = dx::run_with_limit(
        tmp.path(),
        &[
            "held.yaml",
            "--base-url",
            &srv.base_url(),
            "--report-json",
            "report.json",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    let text = std::fs::read_to_string(tmp.path().join("report.json")).expect("a report");
    let r: Value = serde_json::from_str(&text).expect("JSON");
    let step = &r["scenarios"][0]["steps"][0];
    assert_eq!(step["failures"], json!([]));
    assert_eq!(
        step["passed"],
        json!([
            {"subject": "$.id", "expected": "type string", "actual": "\"prj_1\""},
            {"subject": "$.id", "expected": "length > 2", "actual": "length 5: \"prj_1\""},
            {"subject": "$.id", "expected": "not \"prj_2\"", "actual": "\"prj_1\""},
            {"subject": "$.status", "expected": "\"active\"", "actual": "\"active\""},
            {"subject": "schema", "expected": "the body to match the schema", "actual": "it does"},
            {"subject": "status", "expected": "a success (2xx; write `expect: status:` to accept others)", "actual": "200"},
        ])
    );
    assert_eq!(
        step["assertions"].as_u64(),
        Some(6),
        "`length` counts as the check it holds: {}",
        step["passed"]
    );
}
