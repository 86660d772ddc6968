//! The runner against a server it was not written with: httpbin (PyPI `httpbin`,
//! served by `gunicorn`) on 127.0.0.1. Redirects followed and not, cookies set on a
//! redirect, content codings, UTF-8 text, repeated response headers, basic auth and
//! the echo of forms and multipart bodies, as httpbin really answers them.
//!
//! Needs `python3 -m pip install httpbin gunicorn` (`.ci/run` installs pinned versions).

#[path = "support/external_server.rs"]
mod external_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use external_server::{External, free_port};

use std::process::Command;

use runner_cli::Workspace;
use serde_json::Value;

const INSTALL: &str = "python3 -m pip install httpbin gunicorn";

/// httpbin under gunicorn with two workers.
fn start_httpbin() -> External {
    let probe = Command::new("python3")
        .args(["-c", "import httpbin, gunicorn"])
        .output();
    match probe {
        Ok(o) if o.status.success() => {}
        Ok(o) => panic!(
            "httpbin or gunicorn is missing ({}); install them with\n\n    {INSTALL}\n",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => panic!("python3 cannot be run ({e}); install it, then\n\n    {INSTALL}\n"),
    }
    let port = free_port();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "gunicorn", "httpbin:app", "-b"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--workers", "2", "--log-level", "warning"]);
    // gunicorn 23+ opens a control socket in the home folder; two test runs at once
    // would share it. Older versions do not know the flag.
    if gunicorn_help().contains("--no-control-socket") {
        cmd.arg("--no-control-socket");
    }
    External::start("httpbin", INSTALL, cmd, port, "/status/200")
}

fn gunicorn_help() -> String {
    Command::new("python3")
        .args(["-m", "gunicorn", "--help"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// The scenarios, one per behaviour; `{{ base }}` is httpbin's origin.
const SCENARIOS: &str = r#"
scenarios:
  - name: a redirect is not followed unless asked
    steps:
      - request: { url: /redirect/2 }
        expect:
          status: 302
          redirects: 0
          headers: { Location: /relative-redirect/1 }

  - name: relative redirects followed hop by hop
    steps:
      - request: { url: /redirect/3, follow_redirects: true }
        expect:
          status: 200
          redirects: 3
          url: "{{ base }}/get"
          json: { $.url: "{{ base }}/get" }

  - name: absolute redirects followed
    follow_redirects: true
    steps:
      - request: { url: /absolute-redirect/2 }
        expect: { status: 200, redirects: 2, url: "{{ base }}/get" }

  - name: redirect-to keeps the method of a 307
    steps:
      - request:
          method: POST
          url: /redirect-to
          query: { url: /post, status_code: 307 }
          json: { kept: true }
          follow_redirects: true
        expect:
          status: 200
          redirects: 1
          url: "{{ base }}/post"
          json: { $.json.kept: true }

  - name: cookies set on a followed redirect are sent after it
    steps:
      - request:
          url: /cookies/set
          query: { flavour: oat, shape: round }
          follow_redirects: true
        expect:
          redirects: 1
          url: "{{ base }}/cookies"
          json: { $.cookies.flavour: oat, $.cookies.shape: round }
      - request: { url: /cookies }
        expect:
          json: { $.cookies: { equals: { flavour: oat, shape: round } } }
      - name: a deleted cookie leaves the jar
        request: { url: "/cookies/delete?flavour", follow_redirects: true }
        expect:
          json: { $.cookies: { equals: { shape: round } } }

  - name: cookies set on a redirect not followed
    steps:
      - request: { url: "/cookies/set?flavour=oat" }
        expect:
          status: 302
          headers: { Set-Cookie: { contains: flavour=oat } }
      - request: { url: /cookies, cookies: { extra: "1" } }
        expect:
          json: { $.cookies: { equals: { flavour: oat, extra: "1" } } }

  - name: gzip, deflate and brotli bodies are decoded
    steps:
      - request: { url: /gzip }
        expect:
          headers: { Content-Encoding: gzip, Content-Length: { exists: true } }
          json: { $.gzipped: true, $.method: GET }
      - request: { url: /deflate }
        expect:
          headers: { Content-Encoding: deflate }
          json: { $.deflated: true }
      - request: { url: /brotli }
        expect:
          headers: { Content-Encoding: br }
          json: { $.brotli: true }

  - name: a UTF-8 page
    steps:
      - request: { url: /encoding/utf8 }
        expect:
          headers: { Content-Type: text/html; charset=utf-8 }
          body: { contains: "∮ E⋅da = Q,  n → ∞, ∑ f(i) = ∏ g(i)" }

  - name: repeated response headers
    steps:
      - request: { url: "/response-headers?X-Fruit=apple&X-Fruit=pear" }
        expect:
          headers: { X-Fruit: { contains: pear } }
          json: { "$['X-Fruit']": { equals: [apple, pear] } }

  - name: basic authentication
    steps:
      - request:
          url: /basic-auth/ann/s3cret
          headers: { Authorization: "Basic {{ 'ann:s3cret' | b64encode }}" }
        expect:
          json: { $.authenticated: true, $.user: ann }
      - request:
          url: /basic-auth/ann/s3cret
          headers: { Authorization: "Basic {{ 'ann:wrong' | b64encode }}" }
        expect: { status: 401 }

  - name: forms, multipart and JSON echoed by /anything
    steps:
      - request:
          method: POST
          url: /anything
          form: { city: Zürich, sum: "1+1=2 & more" }
        expect:
          json:
            $.form: { equals: { city: Zürich, sum: "1+1=2 & more" } }
            "$.headers['Content-Type']": application/x-www-form-urlencoded
      - request:
          method: POST
          url: /anything
          multipart:
            title: my upload
            upload: { file: upload.txt, content_type: text/plain }
        expect:
          json:
            $.form.title: my upload
            $.files.upload: "Hello from a file\n"
            "$.headers['Content-Type']": { matches: "^multipart/form-data; boundary=" }
      - request:
          method: PUT
          url: /anything/items/7
          query: { tag: [a, b] }
          json: { n: 7, word: café }
        expect:
          json:
            $.method: PUT
            $.args.tag: { equals: [a, b] }
            $.json: { equals: { n: 7, word: café } }
            $.url: "{{ base }}/anything/items/7?tag=a&tag=b"

  - name: status codes and a fixed body
    steps:
      - request: { url: /status/418 }
        expect: { status: 418, body: { contains: teapot } }
      - request: { url: /base64/SFRUUEJJTiBpcyBhd2Vzb21l }
        expect: { body: { equals: HTTPBIN is awesome } }
"#;

fn run(ws: &Workspace, server: &External, file: &str) -> (runner_cli::Output, Value) {
    let out = ws
        .runner()
        .arg(file)
        .arg("--base-url")
        .arg(server.base_url())
        .arg("--var")
        .arg(format!("base={}", server.base_url()))
        .args(["--report-json", "report.json"])
        .run();
    let report = std::fs::read_to_string(ws.path("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null);
    (out, report)
}

fn failures(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for s in report["scenarios"].as_array().into_iter().flatten() {
        if s["outcome"] == "passed" {
            continue;
        }
        out.push(format!("{}: {}", s["name"], s["outcome"]));
        for step in s["steps"].as_array().into_iter().flatten() {
            for f in step["failures"].as_array().into_iter().flatten() {
                out.push(format!(
                    "    {}: expected {}, got {}",
                    f["subject"], f["expected"], f["actual"]
                ));
            }
            if step["outcome"] == "error" {
                out.push(format!("    {}", step["message"]));
            }
        }
    }
    out
}

#[test]
fn httpbin_answers_as_the_scenarios_expect() {
    let server = start_httpbin();
    let ws = Workspace::new();
    ws.write("upload.txt", "Hello from a file\n");
    ws.write("httpbin.yaml", SCENARIOS);
    let (out, report) = run(&ws, &server, "httpbin.yaml");
    let failed = failures(&report);
    assert!(
        failed.is_empty() && out.code == Some(0),
        "against httpbin:\n{}\n--- stdout:\n{}\n--- stderr:\n{}",
        failed.join("\n"),
        out.stdout,
        out.stderr
    );
    let n = report["scenarios"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(n, 12, "every scenario ran");

    // The same oracle fails a wrong answer from the real server.
    for (from, to) in [
        ("json: { $.gzipped: true,", "json: { $.gzipped: false,"),
        ("redirects: 3", "redirects: 2"),
        (
            "$.cookies: { equals: { flavour: oat, shape: round } }",
            "$.cookies: { equals: { flavour: oat } }",
        ),
        ("X-Fruit: { contains: pear }", "X-Fruit: { contains: plum }"),
        ("n → ∞", "n → 0"),
    ] {
        assert_eq!(SCENARIOS.matches(from).count(), 1, "{from:?} occurs once");
        ws.write("mutant.yaml", &SCENARIOS.replacen(from, to, 1));
        let (out, report) = run(&ws, &server, "mutant.yaml");
        assert_eq!(
            out.code,
            Some(1),
            "{from:?} -> {to:?} must fail\n{}",
            out.stdout
        );
        let failed = report["scenarios"]
            .as_array()
            .map(|a| a.iter().filter(|s| s["outcome"] != "passed").count())
            .unwrap_or(0);
        assert_eq!(failed, 1, "one scenario fails: {:?}", failures(&report));
    }
}
