//! The fault matrix: one run per server misbehaviour, each run holding the faulty
//! scenario (whose `finally` step talks to a healthy server) and a healthy
//! scenario. For every fault: the right step fails or errors with a message a
//! person understands, the healthy scenario passes, `finally` runs, the JUnit and
//! JSON reports are complete and valid, the exit code is 1, and the process
//! neither panics nor hangs.

#[path = "support/faulty_server.rs"]
mod faulty_server;
#[path = "support/junit_check.rs"]
mod junit_check;
#[path = "support/process.rs"]
mod process;
#[path = "support/table.rs"]
mod table;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use faulty_server::{Canned, Fault, FaultyServer, refused_url};
use quick_xml::events::Event as X;
use serde_json::Value;

/// Far beyond any case's worst time: a run still going then has hung.
const HANG_LIMIT: Duration = Duration::from_secs(90);

/// What one run of the runner left behind.
struct Run {
    code: i32,
    stderr: String,
    stdout: String,
    junit: String,
    json: Value,
    /// The runner's peak resident memory (VmHWM) as last seen while it ran, in kB.
    peak_rss_kb: u64,
    _dir: tempfile::TempDir,
}

/// How the faulty scenario is written.
struct Case {
    /// The faulty server's base URL.
    base: String,
    /// Extra top-level YAML for the faulty scenario (retries, step_timeout, ...).
    settings: &'static str,
    /// The probe step's `expect:` block (indented for a step).
    expect: &'static str,
    /// The probe step's `capture:` block.
    capture: &'static str,
    /// Extra command-line arguments.
    args: Vec<&'static str>,
}

impl Case {
    fn new(base: String) -> Case {
        Case {
            base,
            settings: "step_timeout: 2s\nretries: 0\n",
            expect: "      status: 200\n",
            capture: "      id: $.id\n",
            args: Vec::new(),
        }
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// Run the faulty scenario (file a) and a healthy one (file b) together.
fn run_case(case: &Case, healthy: &FaultyServer) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let h = healthy.url();
    write(
        dir.path(),
        "a_faulty.yaml",
        &format!(
            "name: faulty\nbase_url: \"{base}\"\n{settings}steps:\n  - name: probe\n    request:\n      method: GET\n      url: /probe\n    expect:\n{expect}    capture:\n{capture}  - name: after\n    request:\n      url: \"{h}/after\"\nfinally:\n  - name: cleanup\n    request:\n      method: POST\n      url: \"{h}/cleanup\"\n    expect:\n      status: 200\n",
            base = case.base,
            settings = case.settings,
            expect = case.expect,
            capture = case.capture,
        ),
    );
    write(
        dir.path(),
        "b_healthy.yaml",
        &format!(
            "name: healthy\nbase_url: \"{h}\"\nsteps:\n  - name: ok\n    request:\n      url: /ok\n    expect:\n      status: 200\n      json:\n        $.ok: true\n    capture:\n      id: $.id\n  - name: use\n    request:\n      url: \"/items/{{{{ id }}}}\"\n    expect:\n      status: 200\n"
        ),
    );
    let junit = dir.path().join("out/junit.xml");
    let json = dir.path().join("out/report.json");
    let peak = Arc::new(AtomicU64::new(0));
    let sampled = peak.clone();
    let done = process::Run::new()
        .arg("run")
        .arg(dir.path())
        .arg("--junit")
        .arg(&junit)
        .arg("--report-json")
        .arg(&json)
        .args(&case.args)
        .env("NO_COLOR", "1")
        .limit(HANG_LIMIT)
        .watch(move |pid| {
            sampled.fetch_max(vm_hwm_kb(pid).unwrap_or(0), Ordering::SeqCst);
        })
        .output();
    let peak_rss_kb = peak.load(Ordering::SeqCst);
    let status = done.status;
    let (stdout, stderr) = (done.stdout, done.stderr);
    let junit_text = std::fs::read_to_string(&junit)
        .unwrap_or_else(|e| panic!("no JUnit report ({e}); stderr:\n{stderr}\nstdout:\n{stdout}"));
    // The schema (with xmllint, when installed), well-formedness and counts.
    junit_check::check(&junit);
    let json_text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{stderr}"));
    let json: Value = serde_json::from_str(&json_text)
        .unwrap_or_else(|e| panic!("the JSON report is not JSON: {e}\n{json_text}"));
    Run {
        code: status.code().unwrap_or(-1),
        stderr,
        stdout,
        junit: junit_text,
        json,
        peak_rss_kb,
        _dir: dir,
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A `<testcase>` as read back from the JUnit file.
#[derive(Debug, Default)]
struct Case1 {
    name: String,
    /// `failure`, `error` or `skipped`, with its message attribute.
    result: Option<(String, String)>,
    has_system_out: bool,
}

#[derive(Debug, Default)]
struct Suite1 {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
    cases: Vec<Case1>,
}

fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).unwrap().map(|a| {
        a.normalized_value(quick_xml::XmlVersion::Explicit1_0)
            .unwrap()
            .into_owned()
    })
}

fn count(e: &quick_xml::events::BytesStart<'_>, name: &str) -> usize {
    attr(e, name).map_or(0, |v| v.parse().unwrap())
}

/// Parse the whole report (any malformation fails the test) and check that
/// every count attribute agrees with the testcases.
fn parse_junit(xml: &str) -> Vec<Case1> {
    let mut reader = quick_xml::Reader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut top: Option<(usize, usize, usize)> = None;
    let mut suites: Vec<Suite1> = Vec::new();
    let mut depth_case = false;
    loop {
        let ev = reader
            .read_event()
            .unwrap_or_else(|e| panic!("the JUnit report is not well-formed XML: {e}\n{xml}"));
        let (e, empty) = match &ev {
            X::Start(e) => (e.clone(), false),
            X::Empty(e) => (e.clone(), true),
            X::End(e) => {
                if e.name().as_ref() == b"testcase" {
                    depth_case = false;
                }
                continue;
            }
            X::Eof => break,
            _ => continue,
        };
        match e.name().as_ref() {
            b"testsuites" => {
                top = Some((
                    count(&e, "tests"),
                    count(&e, "failures"),
                    count(&e, "errors"),
                ))
            }
            b"testsuite" => suites.push(Suite1 {
                tests: count(&e, "tests"),
                failures: count(&e, "failures"),
                errors: count(&e, "errors"),
                skipped: count(&e, "skipped"),
                cases: Vec::new(),
            }),
            b"testcase" => {
                let s = suites.last_mut().expect("testcase outside a testsuite");
                s.cases.push(Case1 {
                    name: attr(&e, "name").expect("testcase without a name"),
                    ..Case1::default()
                });
                depth_case = !empty;
            }
            kind @ (b"failure" | b"error" | b"skipped") if depth_case => {
                let c = suites.last_mut().unwrap().cases.last_mut().unwrap();
                assert!(c.result.is_none(), "two results in one testcase");
                c.result = Some((
                    String::from_utf8_lossy(kind).into_owned(),
                    attr(&e, "message").unwrap_or_default(),
                ));
            }
            b"system-out" if depth_case => {
                suites
                    .last_mut()
                    .unwrap()
                    .cases
                    .last_mut()
                    .unwrap()
                    .has_system_out = true
            }
            _ => {}
        }
    }
    let (tests, failures, errors) = top.expect("no <testsuites> element");
    let mut all = Vec::new();
    let (mut t, mut f, mut e) = (0, 0, 0);
    for s in suites {
        let kinds = |k: &str| {
            s.cases
                .iter()
                .filter(|c| c.result.as_ref().is_some_and(|(r, _)| r == k))
                .count()
        };
        assert_eq!(s.tests, s.cases.len(), "suite tests count");
        assert_eq!(s.failures, kinds("failure"), "suite failures count");
        assert_eq!(s.errors, kinds("error"), "suite errors count");
        assert_eq!(s.skipped, kinds("skipped"), "suite skipped count");
        t += s.tests;
        f += s.failures;
        e += s.errors;
        all.extend(s.cases);
    }
    assert_eq!((tests, failures, errors), (t, f, e), "testsuites counts");
    all
}

/// Every sentence the report holds about a step: its message and failures.
fn problem_text(step: &Value) -> String {
    let mut out = step["message"].as_str().unwrap_or_default().to_string();
    for f in step["failures"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n{}: expected {}, got {}",
            f["subject"].as_str().unwrap_or_default(),
            f["expected"].as_str().unwrap_or_default(),
            f["actual"].as_str().unwrap_or_default()
        ));
    }
    out
}

/// What a case must show.
struct Expected {
    /// `error` (no usable response) or `failed` (a response that broke an assertion).
    outcome: &'static str,
    /// Phrases the probe step's message must hold (case-insensitive), all of them.
    says: &'static [&'static str],
}

/// Run `case` and check everything the fault matrix promises; returns the run
/// for case-specific checks.
fn check(case: Case, expected: Expected) -> (Run, Value) {
    let healthy = FaultyServer::start(Fault::Healthy);
    let run = run_case(&case, &healthy);
    let ctx = format!(
        "exit {}\nstderr:\n{}\nstdout:\n{}",
        run.code, run.stderr, run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{ctx}");
    assert_eq!(run.code, 1, "a failed run exits 1\n{ctx}");

    // The healthy scenario ran fully; the faulty one stopped at its probe, and its
    // `finally` still ran.
    let seen = healthy.requests();
    assert!(seen.contains(&"GET /ok".to_string()), "{seen:?}\n{ctx}");
    assert!(seen.contains(&"GET /items/id-1".to_string()), "{seen:?}");
    assert!(seen.contains(&"POST /cleanup".to_string()), "{seen:?}");
    assert!(!seen.contains(&"GET /after".to_string()), "{seen:?}");

    // The JSON report.
    let j = &run.json;
    assert_eq!(j["summary"]["total"], 2, "{j:#}");
    assert_eq!(j["summary"]["passed"], 1, "{j:#}");
    let scenarios = j["scenarios"].as_array().unwrap();
    let faulty = &scenarios[0];
    let good = &scenarios[1];
    assert_eq!(faulty["name"], "faulty");
    assert_eq!(faulty["outcome"], expected.outcome, "{faulty:#}");
    assert_eq!(good["name"], "healthy");
    assert_eq!(good["outcome"], "passed", "{good:#}");
    let steps = faulty["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "probe, after, cleanup: {faulty:#}");
    let probe = &steps[0];
    assert_eq!(probe["outcome"], expected.outcome, "{probe:#}");
    assert_eq!(steps[1]["outcome"], "skipped");
    assert_eq!(steps[2]["phase"], "finally");
    assert_eq!(steps[2]["outcome"], "passed", "{:#}", steps[2]);
    let said = problem_text(probe);
    for phrase in expected.says {
        assert!(
            said.to_lowercase().contains(&phrase.to_lowercase()),
            "the probe step should say {phrase:?}; it said:\n{said}"
        );
    }
    assert!(
        !said.to_lowercase().contains("hyper::")
            && !said.contains("reqwest::")
            && !said.contains("Kind("),
        "a message for people, not a debug dump: {said}"
    );

    // The JUnit report: valid, counts right, the faulty case says the same thing.
    let cases = parse_junit(&run.junit);
    assert_eq!(cases.len(), 2, "{}", run.junit);
    let f = cases.iter().find(|c| c.name == "faulty").unwrap();
    let g = cases.iter().find(|c| c.name == "healthy").unwrap();
    assert!(g.result.is_none(), "{g:?}");
    let kind = if expected.outcome == "failed" {
        "failure"
    } else {
        "error"
    };
    let (got_kind, message) = f.result.clone().expect("the faulty case has a result");
    assert_eq!(got_kind, kind, "{}", run.junit);
    assert!(
        message
            .to_lowercase()
            .contains(&expected.says[0].to_lowercase()),
        "JUnit message {message:?} should say {:?}",
        expected.says[0]
    );
    assert!(f.has_system_out && g.has_system_out, "{}", run.junit);
    let probe = probe.clone();
    (run, probe)
}

/// One row of the matrix: a misbehaviour, how the faulty scenario meets it, and what
/// the runner must say.
struct Row {
    name: &'static str,
    /// Where the probe goes.
    target: Target,
    settings: &'static str,
    expect: &'static str,
    capture: &'static str,
    args: &'static [&'static str],
    outcome: &'static str,
    says: &'static [&'static str],
    /// Checks of this row only, after the ones every row gets.
    also: fn(&Seen<'_>),
}

enum Target {
    /// A port where nothing listens.
    Refused,
    /// A server with this fault, over plain HTTP.
    Http(Fault),
    /// A server with this fault, addressed with `https://`.
    Https(Fault),
}

/// What a row's own checks look at.
struct Seen<'a> {
    run: &'a Run,
    probe: &'a Value,
    /// The misbehaving server (none for `Target::Refused`).
    bad: Option<&'a FaultyServer>,
}

impl Row {
    fn new(
        name: &'static str,
        target: Target,
        outcome: &'static str,
        says: &'static [&'static str],
    ) -> Row {
        Row {
            name,
            target,
            settings: "step_timeout: 2s\nretries: 0\n",
            expect: "      status: 200\n",
            capture: "      id: $.id\n",
            args: &[],
            outcome,
            says,
            also: |_| {},
        }
    }

    fn settings(self, settings: &'static str) -> Row {
        Row { settings, ..self }
    }

    fn expect(self, expect: &'static str) -> Row {
        Row { expect, ..self }
    }

    fn capture(self, capture: &'static str) -> Row {
        Row { capture, ..self }
    }

    fn args(self, args: &'static [&'static str]) -> Row {
        Row { args, ..self }
    }

    fn also(self, also: fn(&Seen<'_>)) -> Row {
        Row { also, ..self }
    }
}

fn canned(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Target {
    Target::Http(Fault::Canned(Canned::new(status, content_type, body)))
}

fn attempts(probe: &Value, n: u64) {
    assert_eq!(probe["attempts"], n, "{probe:#}");
}

/// The first failed attempt's note holds `text`.
fn first_attempt_says(probe: &Value, text: &str) {
    let note = probe["failed_attempts"][0].as_str().unwrap_or_default();
    assert!(note.contains(text), "{probe:#}");
}

fn rows() -> Vec<Row> {
    use Target::{Http, Https, Refused};
    let mut invalid_utf8 = b"\xff\xfe hello \xc3\x28 world \x80".to_vec();
    invalid_utf8.extend_from_slice(b"]]> <&> \x00\x1b[31m");
    vec![
        Row::new(
            "connection_refused",
            Refused,
            "error",
            &["connection refused", "cannot connect to 127.0.0.1:"],
        ),
        Row::new(
            "connection_refused_is_retried_then_reported",
            Refused,
            "error",
            &["connection refused"],
        )
        .settings("step_timeout: 2s\nretries: 1\n")
        .also(|s| {
            attempts(s.probe, 2);
            first_attempt_says(s.probe, "retried after");
        }),
        Row::new(
            "accept_then_close",
            Http(Fault::AcceptThenClose),
            "error",
            &["closed the connection without a complete response"],
        )
        .also(|s| assert!(!s.bad.expect("a server").requests().is_empty())),
        Row::new(
            "reset_in_the_middle_of_the_body",
            Http(Fault::ResetMidBody),
            "error",
            &[
                "reading the response body",
                "100 of 1000 bytes read",
                "the server reset the connection",
            ],
        ),
        Row::new(
            "close_in_the_middle_of_the_body",
            Http(Fault::CloseMidBody),
            "error",
            &[
                "reading the response body",
                "100 of 1000 bytes read",
                "closed the connection before the body was complete",
            ],
        ),
        Row::new(
            "silence_before_any_response_hits_the_step_timeout",
            Http(Fault::Silence),
            "error",
            &[
                "timed out",
                "no complete response within 1s",
                "no response headers came",
            ],
        )
        .settings("step_timeout: 1s\nretries: 0\n"),
        // A timeout is not retried: the step's time limit is the whole budget.
        Row::new(
            "headers_then_silence_hits_the_step_timeout",
            Http(Fault::HeadersThenSilence),
            "error",
            &[
                "timed out",
                "no complete response within 1s",
                "HTTP 200 headers came, then 0 of 100 body bytes",
            ],
        )
        .settings("step_timeout: 1s\nretries: 2\n")
        .also(|s| attempts(s.probe, 1)),
        Row::new(
            "a_body_that_never_ends_hits_the_step_timeout",
            Http(Fault::EndlessBody),
            "error",
            &[
                "timed out",
                "no complete response within 1.5s",
                "HTTP 200 headers came, then",
            ],
        )
        .settings("step_timeout: 1500ms\nretries: 0\n"),
        Row::new(
            "a_one_gigabyte_body_is_cut_at_the_cap",
            Http(Fault::HugeBody(1 << 30)),
            "failed",
            &["capture id", "8MB", "--max-body"],
        )
        .also(|s| {
            let response = &s.probe["response"];
            assert_eq!(response["truncated"], true, "{:#}", s.probe);
            assert_eq!(response["status"], 200);
            assert_eq!(response["body_bytes"], 8 * 1024 * 1024);
            // The report keeps an excerpt, not the 8 MB.
            assert!(response["body"].as_str().unwrap().len() < 64 * 1024);
            // Memory stays near the cap, far from the gigabyte.
            assert!(
                s.run.peak_rss_kb < 256 * 1024,
                "peak RSS {} kB while reading a 1 GB body",
                s.run.peak_rss_kb
            );
        }),
        Row::new(
            "the_body_cap_is_configurable",
            Http(Fault::HugeBody(1 << 30)),
            "failed",
            &["capture id", "64KB"],
        )
        .args(&["--max-body", "64KB"])
        .also(|s| assert_eq!(s.probe["response"]["body_bytes"], 64 * 1024)),
        Row::new(
            "invalid_json_where_a_capture_expects_json",
            canned(200, "application/json", r#"{"id": "abc", "#),
            "failed",
            &["capture id", "not JSON", "EOF"],
        ),
        Row::new(
            "an_html_page_where_json_was_expected_names_the_content_type",
            canned(
                200,
                "text/html; charset=utf-8",
                "<html><body><h1>502 Bad Gateway</h1></body></html>",
            ),
            "failed",
            &["capture id", "not JSON", "text/html"],
        ),
        // The body is JSON, so the capture worked despite the header.
        Row::new(
            "a_wrong_content_type_fails_the_header_assertion_only",
            canned(200, "text/plain", r#"{"id":"x"}"#),
            "failed",
            &["header Content-Type", "application/json", "text/plain"],
        )
        .expect("      status: 200\n      headers:\n        Content-Type: application/json\n")
        .also(|s| {
            assert_eq!(
                s.probe["failures"].as_array().unwrap().len(),
                1,
                "{:#}",
                s.probe
            )
        }),
        Row::new(
            "invalid_utf8_is_reported_readably",
            canned(200, "text/plain", invalid_utf8),
            "failed",
            &["body", "goodbye", "hello"],
        )
        .expect("      status: 200\n      body:\n        contains: goodbye\n")
        .capture("      greeting:\n        regex: \"h(e)llo\"\n")
        .also(|s| {
            // The capture's match holds no byte that could not be read: taken.
            assert_eq!(
                s.probe["failures"].as_array().unwrap().len(),
                1,
                "{:#}",
                s.probe
            );
            let body = s.probe["response"]["body"].as_str().unwrap();
            assert!(body.contains('\u{FFFD}'), "{:#}", s.probe);
            assert!(!s.run.junit.contains('\u{0}') && !s.run.junit.contains('\u{1b}'));
        }),
        Row::new(
            "status_500",
            canned(
                500,
                "application/json",
                r#"{"error":{"code":"INTERNAL","message":"boom"}}"#,
            ),
            "failed",
            &["status: expected 200, got 500"],
        ),
        Row::new(
            "status_503_is_retried_then_reported",
            canned(503, "text/plain", "down for maintenance"),
            "failed",
            &["status: expected 200, got 503"],
        )
        .settings("step_timeout: 2s\nretries: 2\n")
        .also(|s| {
            attempts(s.probe, 3);
            assert_eq!(s.bad.expect("a server").requests().len(), 3);
            first_attempt_says(s.probe, "HTTP 503");
        }),
        Row::new(
            "status_429_with_retry_after_waits_as_told",
            Http(Fault::Canned(
                Canned::new(
                    429,
                    "application/json",
                    r#"{"error":{"code":"RATE_LIMITED"}}"#,
                )
                .header("Retry-After", "1"),
            )),
            "failed",
            &["status: expected 200, got 429"],
        )
        .settings("step_timeout: 2s\nretries: 1\n")
        .also(|s| {
            attempts(s.probe, 2);
            first_attempt_says(s.probe, "HTTP 429");
            first_attempt_says(s.probe, "retried after 1s");
        }),
        Row::new(
            "status_429_without_retry_after_backs_off",
            canned(
                429,
                "application/json",
                r#"{"error":{"code":"RATE_LIMITED"}}"#,
            ),
            "failed",
            &["status: expected 200, got 429"],
        )
        .settings("step_timeout: 2s\nretries: 1\n")
        .also(|s| {
            attempts(s.probe, 2);
            first_attempt_says(s.probe, "HTTP 429");
        }),
        Row::new(
            "status_429_with_a_retry_after_too_long_to_wait_says_so",
            Http(Fault::Canned(
                Canned::new(429, "application/json", "{}").header("Retry-After", "3600"),
            )),
            "failed",
            &["status: expected 200, got 429", "Retry-After"],
        )
        .settings("step_timeout: 2s\nretries: 3\n")
        .also(|s| attempts(s.probe, 1)),
        Row::new(
            "a_redirect_loop",
            Http(Fault::RedirectLoop),
            "error",
            &["too many redirects"],
        )
        .settings("step_timeout: 2s\nretries: 0\nfollow_redirects: true\n"),
        Row::new(
            "broken_chunked_encoding",
            Http(Fault::BrokenChunked),
            "error",
            &["reading the response body", "chunked encoding is broken"],
        ),
        Row::new(
            "a_tls_handshake_against_a_plain_http_port",
            Https(Fault::Healthy),
            "error",
            &["TLS handshake", "not TLS", "plain HTTP", "http://"],
        ),
    ]
}

/// Every row: the right step fails or errors and says so, and everything around it
/// (healthy scenario, `finally`, both reports, exit code) holds.
#[test]
fn every_fault_is_reported_and_the_rest_of_the_run_holds() {
    table::run_rows(
        &rows(),
        |r| r.name,
        |row| {
            let bad = match &row.target {
                Target::Refused => None,
                Target::Http(f) | Target::Https(f) => Some(FaultyServer::start(f.clone())),
            };
            let base = match (&row.target, &bad) {
                (Target::Https(_), Some(b)) => b.https_url(),
                (_, Some(b)) => b.url(),
                (_, None) => refused_url(),
            };
            let case = Case {
                base,
                settings: row.settings,
                expect: row.expect,
                capture: row.capture,
                args: row.args.to_vec(),
            };
            let (run, probe) = check(
                case,
                Expected {
                    outcome: row.outcome,
                    says: row.says,
                },
            );
            (row.also)(&Seen {
                run: &run,
                probe: &probe,
                bad: bad.as_ref(),
            });
        },
    );
}

#[test]
fn status_429_then_success_passes_as_flaky() {
    let bad = FaultyServer::start(Fault::Sequence(vec![
        Fault::Canned(Canned::new(429, "application/json", "{}").header("Retry-After", "0")),
        Fault::Healthy,
    ]));
    let healthy = FaultyServer::start(Fault::Healthy);
    let mut case = Case::new(bad.url());
    case.settings = "step_timeout: 2s\nretries: 1\n";
    let run = run_case(&case, &healthy);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // The faulty scenario passes its probe, but the `after` step goes to
    // /after on the healthy server and passes too: the whole run passes.
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.stdout);
    assert_eq!(run.json["summary"]["flaky"], 1, "{:#}", run.json);
    let cases = parse_junit(&run.junit);
    assert_eq!(cases.len(), 2);
    assert!(run.junit.contains("flakyFailure"), "{}", run.junit);
}

#[test]
fn many_faults_in_one_run_leave_every_report_complete() {
    // Several misbehaving servers at once, each in its own scenario, plus
    // healthy ones: every scenario is reported, in order, with the right outcome.
    let healthy = FaultyServer::start(Fault::Healthy);
    let faults = [
        FaultyServer::start(Fault::ResetMidBody),
        FaultyServer::start(Fault::HeadersThenSilence),
        FaultyServer::start(Fault::RedirectLoop),
        FaultyServer::start(Fault::BrokenChunked),
        FaultyServer::start(Fault::HugeBody(64 << 20)),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for (i, f) in faults.iter().enumerate() {
        let name = format!("f{i}");
        write(
            dir.path(),
            &format!("{name}.yaml"),
            &format!(
                "name: {name}\nbase_url: \"{}\"\nstep_timeout: 1s\nretries: 0\nsteps:\n  - request:\n      url: /x\n    expect:\n      status: 200\n    capture:\n      id: $.id\nfinally:\n  - request:\n      method: POST\n      url: \"{}/cleanup\"\n",
                f.url(),
                healthy.url()
            ),
        );
        names.push(name);
        let ok = format!("ok{i}");
        write(
            dir.path(),
            &format!("{ok}.yaml"),
            &format!(
                "name: {ok}\nbase_url: \"{}\"\nsteps:\n  - request:\n      url: /ok\n    expect:\n      status: 200\n",
                healthy.url()
            ),
        );
    }
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let out = process::Run::new()
        .arg(dir.path())
        .arg("--junit")
        .arg(&junit)
        .arg("--report-json")
        .arg(&json)
        .arg("--junit-granularity")
        .arg("step")
        .limit(HANG_LIMIT)
        .output();
    let stderr = &out.stderr;
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.code(), Some(1), "{stderr}");
    junit_check::check(&junit);
    let cases = parse_junit(&std::fs::read_to_string(&junit).unwrap());
    // Faulty scenarios have a main and a finally step, healthy ones one step:
    // one testcase per step.
    assert_eq!(cases.len(), 15);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["summary"]["total"], 10);
    assert_eq!(report["summary"]["passed"], 5);
    let cleanups = healthy
        .requests()
        .iter()
        .filter(|r| *r == "POST /cleanup")
        .count();
    assert_eq!(cleanups, 5);
}
