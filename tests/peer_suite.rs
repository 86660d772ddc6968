//! The peer suite (`tests/peer_suite/`): scenarios modelled on Hurl's integration
//! tests, run with the built binary against their own server on 127.0.0.1
//! (`tests/support/peer_server.rs`). Every scenario must pass, and a wrong expected
//! value in a scenario must make it fail: the suite checks the oracle both ways.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/peer_server.rs"]
mod peer_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::path::{Path, PathBuf};

use peer_server::PeerServer;
use runner_cli::{Output, Workspace};
use serde_json::Value;

fn suite_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peer_suite")
}

/// Runs `target` (a file or folder) against the suite's server with a JSON report.
fn run_suite(ws: &Workspace, server: &PeerServer, target: &Path) -> (Output, Value) {
    let out = ws
        .runner()
        .arg(target)
        .args(server.args())
        .args(["--report-json", "report.json"])
        .run();
    let report = std::fs::read_to_string(ws.path("report.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| {
            panic!(
                "no JSON report from `{}`\n--- stdout:\n{}\n--- stderr:\n{}",
                out.command, out.stdout, out.stderr
            )
        });
    (out, report)
}

fn scenarios(report: &Value) -> Vec<&Value> {
    report["scenarios"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

fn file_name(scenario: &Value) -> String {
    let file = scenario["file"].as_str().unwrap_or("");
    Path::new(file)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A scenario that did not pass, in a line with its failures.
fn describe(scenario: &Value) -> String {
    let mut out = format!(
        "{} ({}): {}",
        scenario["name"].as_str().unwrap_or("?"),
        file_name(scenario),
        scenario["outcome"].as_str().unwrap_or("?")
    );
    for step in scenario["steps"].as_array().into_iter().flatten() {
        if step["outcome"] == "passed" {
            continue;
        }
        out.push_str(&format!(
            "\n    step {} {:?}: {} {}",
            step["number"],
            step["name"].as_str().unwrap_or(""),
            step["outcome"].as_str().unwrap_or(""),
            step["message"].as_str().unwrap_or("")
        ));
        for f in step["failures"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "\n      {}: expected {}, got {}",
                f["subject"].as_str().unwrap_or(""),
                f["expected"].as_str().unwrap_or(""),
                f["actual"].as_str().unwrap_or("")
            ));
        }
    }
    out
}

/// The topics the suite must cover, by file.
const FILES: [&str; 13] = [
    "body.yaml",
    "captures.yaml",
    "charsets.yaml",
    "compressed.yaml",
    "cookies.yaml",
    "forms.yaml",
    "headers.yaml",
    "json.yaml",
    "match.yaml",
    "methods.yaml",
    "multipart.yaml",
    "redirects.yaml",
    "status.yaml",
];

#[test]
fn every_scenario_of_the_peer_suite_passes() {
    let server = PeerServer::start();
    let ws = Workspace::new();
    let (out, report) = run_suite(&ws, &server, &suite_dir());
    let all = scenarios(&report);
    let not_passed: Vec<String> = all
        .iter()
        .filter(|s| s["outcome"] != "passed")
        .map(|s| describe(s))
        .collect();
    assert!(
        not_passed.is_empty(),
        "{} of {} scenarios did not pass:\n{}\n--- stdout:\n{}\n--- stderr:\n{}",
        not_passed.len(),
        all.len(),
        not_passed.join("\n"),
        out.stdout,
        out.stderr
    );
    out.expect_code(0);
    assert!(
        all.len() >= 40,
        "the suite has {} scenarios, fewer than 40",
        all.len()
    );
    for file in FILES {
        let n = all.iter().filter(|s| file_name(s) == file).count();
        assert!(n >= 1, "no scenario of {file} ran");
    }
    // `validate` finds nothing to say either (the two origins are `--var`s).
    let mut validate = ws.runner().arg("validate").arg(suite_dir());
    for a in server.args().iter().skip(2) {
        validate = validate.arg(a);
    }
    validate.run().expect_code(0);
    // The scenarios reached the routes that check what they were sent, on both origins.
    assert_eq!(
        server
            .other
            .requests_to("/followed-redirect-basic-auth")
            .len(),
        1,
        "the cross-origin hop reached the second origin once"
    );
    for path in [
        "/captures-json-check",
        "/multipart-form-data",
        "/form-params",
        "/cookies/set-multiple-request-cookies",
        "/post-bytes",
    ] {
        assert!(
            !server.main.requests_to(path).is_empty(),
            "nothing was sent to {path}"
        );
    }
}

/// One wrong expected value: in `file`, the only occurrence of `from` becomes `to`,
/// and the scenario `scenario` must then fail while the others of the file pass.
struct Mutation {
    file: &'static str,
    scenario: &'static str,
    from: &'static str,
    to: &'static str,
}

const MUTATIONS: &[Mutation] = &[
    Mutation {
        file: "status.yaml",
        scenario: "status - an exact code",
        from: "expect: { status: 201 }",
        to: "expect: { status: 200 }",
    },
    Mutation {
        file: "json.yaml",
        scenario: "json - numbers",
        from: "$.count: { equals: 7,",
        to: "$.count: { equals: 8,",
    },
    Mutation {
        file: "json.yaml",
        scenario: "json - wildcards, unions, slices and filters",
        from: "\"$..id\": { length: 3, equals: [e-1, e-2, f-1] }",
        to: "\"$..id\": { length: 3, equals: [e-1, f-1, e-2] }",
    },
    Mutation {
        file: "json.yaml",
        scenario: "json - decimals",
        from: "$[4]: { equals: 0.333,",
        to: "$[4]: { equals: 0.3333,",
    },
    Mutation {
        file: "headers.yaml",
        scenario: "headers - single response headers",
        from: "ETag: '\"33a64df551425fcc55e4d42a148795d9f25f89d4\"'",
        to: "ETag: '33a64df551425fcc55e4d42a148795d9f25f89d4'",
    },
    Mutation {
        file: "headers.yaml",
        scenario: "headers - request headers sent as written",
        from: "Beverage: café",
        to: "Beverage: cafe",
    },
    Mutation {
        file: "body.yaml",
        scenario: "body - a text body compared whole",
        from: "equals: \"line1\\nline2\\r\\nline3\\n\"",
        to: "equals: \"line1\\nline2\\nline3\\n\"",
    },
    Mutation {
        file: "body.yaml",
        scenario: "bytes - a binary response",
        from: "equals: \"\\x01\\x02\\x03\"",
        to: "equals: \"\\x01\\x02\\x04\"",
    },
    Mutation {
        file: "captures.yaml",
        scenario: "captures - JSON values keep their types",
        from: "label: \"{{ a_string }}-{{ an_integer }}\"",
        to: "label: \"{{ a_string }}-{{ a_float }}\"",
    },
    Mutation {
        file: "cookies.yaml",
        scenario: "cookies - a request cookie is sent and not kept",
        from: "cookies: { cookie1: valueA }",
        to: "cookies: { cookie1: valueB }",
    },
    Mutation {
        file: "cookies.yaml",
        scenario: "cookies - attributes on the wire, and what the jar makes of them",
        from: "$.names: { equals: [SSID] }",
        to: "$.names: { equals: [HSID, SSID] }",
    },
    Mutation {
        file: "redirects.yaml",
        scenario: "redirects - a chain followed to the end",
        from: "          redirects: 2\n",
        to: "          redirects: 1\n",
    },
    Mutation {
        file: "redirects.yaml",
        scenario: "redirects - credentials stay with their origin",
        from: "url: \"{{ other }}/followed-redirect-basic-auth\"",
        to: "url: \"{{ base }}/followed-redirect-basic-auth\"",
    },
    Mutation {
        file: "compressed.yaml",
        scenario: "compressed - brotli",
        from: "headers: { Content-Encoding: br, Content-Length: 16 }",
        to: "headers: { Content-Encoding: br, Content-Length: 12 }",
    },
    Mutation {
        file: "charsets.yaml",
        scenario: "charsets - gb2312",
        from: "body: { equals: <p>你好世界</p>, contains: 你好 }",
        to: "body: { equals: <p>你好世界!</p>, contains: 你好 }",
    },
    Mutation {
        file: "charsets.yaml",
        scenario: "charsets - latin1",
        from: "body: { equals: <p>café</p>, length: 11 }",
        to: "body: { equals: <p>cafe</p>, length: 11 }",
    },
    Mutation {
        file: "forms.yaml",
        scenario: "forms - fields are encoded",
        from: "param3: a=b\n            param4: a%3db",
        to: "param3: a=c\n            param4: a%3db",
    },
    Mutation {
        file: "multipart.yaml",
        scenario: "multipart - fields and files",
        from: "upload3: { file: files/data.txt, content_type: text/html }",
        to: "upload3: { file: files/data.txt, content_type: text/plain }",
    },
    Mutation {
        file: "json.yaml",
        scenario: "json - filters over nested values",
        from: "\"$.fruit[?(@.price.US==100)].name\": { equals: [apple] }",
        to: "\"$.fruit[?(@.price.US==100)].name\": { equals: [grape] }",
    },
    Mutation {
        file: "match.yaml",
        scenario: "match - regexes over JSON values",
        from: "equals: 'aa\\bb' }",
        to: "equals: 'aa\\\\bb' }",
    },
    Mutation {
        file: "headers.yaml",
        scenario: "headers - the default request headers, and overriding them",
        from: "User-Agent: qa-suite/1.0",
        to: "User-Agent: qa-suite/2.0",
    },
    Mutation {
        file: "cookies.yaml",
        scenario: "cookies - a request cookie wins over the jar's of the same name",
        from: "cookies: { cookie2: valueB }",
        to: "cookies: { cookie2: valueC }",
    },
    Mutation {
        file: "redirects.yaml",
        scenario: "redirects - 307 keeps the method and the JSON body",
        from: "json: { amount: 12.5 }",
        to: "json: { amount: 12.6 }",
    },
    Mutation {
        file: "redirects.yaml",
        scenario: "redirects - a chain followed to the end",
        from: "body: { equals: Followed redirect! }\n\n  - name: redirects - a POST",
        to: "body: { equals: Followed redirect }\n\n  - name: redirects - a POST",
    },
    Mutation {
        file: "compressed.yaml",
        scenario: "compressed - zstd",
        from: "Content-Length: 25 }\n          body: { equals: Hello World! }",
        to: "Content-Length: 25 }\n          body: { equals: Hello World }",
    },
    Mutation {
        file: "charsets.yaml",
        scenario: "charsets - cp1256",
        from: "body: { equals: <p>مرحبا بالعالم</p> }",
        to: "body: { equals: <p>مرحبا</p> }",
    },
    Mutation {
        file: "forms.yaml",
        scenario: "forms - query parameters",
        from: "size: [40, 41]",
        to: "size: [41, 40]",
    },
    Mutation {
        file: "methods.yaml",
        scenario: "unicode - JSON text both ways",
        from: "$.word: café ☕ 日本",
        to: "$.word: café ☕ 日",
    },
];

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from)
        .expect("read the suite folder")
        .flatten()
    {
        let p = entry.path();
        let dest = to.join(entry.file_name());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).expect("copy a suite file");
        }
    }
}

#[test]
fn a_wrong_expected_value_fails_its_scenario() {
    let server = PeerServer::start();
    let mut problems = Vec::new();
    for m in MUTATIONS {
        let ws = Workspace::new();
        let copy = ws.path("suite");
        copy_dir(&suite_dir(), &copy);
        let path = copy.join(m.file);
        let text = std::fs::read_to_string(&path).expect("read a suite file");
        assert_eq!(
            text.matches(m.from).count(),
            1,
            "{}: the mutation's text {:?} must occur exactly once",
            m.file,
            m.from
        );
        std::fs::write(&path, text.replacen(m.from, m.to, 1)).expect("write the mutant");
        let (out, report) = run_suite(&ws, &server, &path);
        let all = scenarios(&report);
        let target: Vec<&&Value> = all.iter().filter(|s| s["name"] == m.scenario).collect();
        if target.len() != 1 {
            problems.push(format!(
                "{}: no single scenario named {:?}",
                m.file, m.scenario
            ));
            continue;
        }
        if target[0]["outcome"] != "failed" {
            problems.push(format!(
                "{}: {:?} -> {:?} did not fail {:?}: {}",
                m.file,
                m.from,
                m.to,
                m.scenario,
                describe(target[0])
            ));
        }
        for s in all.iter().filter(|s| s["name"] != m.scenario) {
            if s["outcome"] != "passed" {
                problems.push(format!(
                    "{}: a mutation of another scenario broke this one: {}",
                    m.file,
                    describe(s)
                ));
            }
        }
        if out.code != Some(1) {
            problems.push(format!(
                "{}: the mutant run exited {:?}, not 1\n{}",
                m.file, out.code, out.stderr
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The suite is written as users write files, so the JSON Schema editors read must
/// accept every file of it too (the schema and the loader agree on real files).
#[test]
fn the_suite_files_satisfy_the_json_schema() {
    let schema: Value =
        serde_json::from_str(&runner::schema::scenario_schema_json()).expect("the schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let mut checked = 0;
    for file in FILES {
        let text = std::fs::read_to_string(suite_dir().join(file)).expect("read a suite file");
        // YAML read as the runner reads it: `yes` and `no` are text.
        let options = serde_saphyr::options! { strict_booleans: true };
        let doc: Value = serde_saphyr::from_str_with_options(&text, options)
            .unwrap_or_else(|e| panic!("{file} is not YAML: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(&doc)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{file}:\n{}", errors.join("\n"));
        checked += 1;
    }
    assert_eq!(checked, FILES.len());
    let mut on_disk: Vec<String> = std::fs::read_dir(suite_dir())
        .expect("read the suite folder")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk, FILES,
        "FILES lists every scenario file of the suite"
    );
}

/// Answers the runner must not pass, each failing for its own reason (after Hurl's
/// `tests_failed`): (scenario, what its failure must say).
const MUST_FAIL: &str = r#"
scenarios:
  - name: a body that is not UTF-8
    steps:
      - request: { url: /non-utf8 }
        expect: { body: { contains: A } }
  - name: a charset that lies
    steps:
      - request: { url: /charset/lie }
        expect: { body: { equals: café } }
  - name: a coding the runner does not know
    steps:
      - request: { url: /compressed/unknown }
        expect: { body: { equals: Hello World! } }
  - name: a gzip body that is not gzip
    steps:
      - request: { url: /compressed/corrupt-gzip }
        expect: { body: { contains: gzip } }
  - name: a redirect that never ends
    steps:
      - request: { url: /redirect-loop, follow_redirects: true }
  - name: a redirect not followed is not a success
    steps:
      - request: { url: /redirect-3 }
  - name: a number is not its text
    steps:
      - request: { url: /assert-json }
        expect: { json: { $.count: "7" } }
  - name: a list is not its first item
    steps:
      - request: { url: /assert-json }
        expect: { json: { "$.errors[*].id": e-1 } }
"#;

#[test]
fn answers_that_must_fail_fail_and_say_why() {
    let server = PeerServer::start();
    let ws = Workspace::new();
    let file = ws.write("must_fail.yaml", MUST_FAIL);
    let (out, report) = run_suite(&ws, &server, &file);
    assert_eq!(out.code, Some(1), "{}\n{}", out.stdout, out.stderr);
    let expected: [(&str, &str); 8] = [
        ("a body that is not UTF-8", "not valid UTF-8"),
        (
            "a charset that lies",
            "not valid UTF-8 (the charset declared)",
        ),
        ("a coding the runner does not know", "`compress`"),
        ("a gzip body that is not gzip", "not valid gzip"),
        ("a redirect that never ends", "more than 10"),
        ("a redirect not followed is not a success", "got 302"),
        ("a number is not its text", "$.count: expected \"7\""),
        (
            "a list is not its first item",
            "$.errors[*].id: expected \"e-1\"",
        ),
    ];
    let all = scenarios(&report);
    assert_eq!(all.len(), expected.len());
    for (name, says) in expected {
        let s = all
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no scenario {name:?}"));
        let text = describe(s);
        assert_ne!(s["outcome"], "passed", "{text}");
        assert!(text.contains(says), "{name}: {says:?} not in\n{text}");
    }
}
