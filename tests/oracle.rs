//! The test oracle never passes a wrong answer (issue 11): exact numbers, unknown
//! matchers as file errors, repeated headers and cookies, bytes, templates where
//! users put them. Each test runs the built binary against a server it starts on
//! 127.0.0.1.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use http_server::{Reply, TestServer};
use runner_cli::{Output, Workspace};

/// Run `yaml` (written as `t.yaml`) against `server`, with extra arguments.
fn run(server: &TestServer, yaml: &str, extra: &[&str]) -> (Workspace, Output) {
    let ws = Workspace::new();
    ws.write("t.yaml", yaml);
    let out = ws
        .runner()
        .arg("t.yaml")
        .arg("--base-url")
        .arg(server.base_url())
        .args(extra)
        .run();
    (ws, out)
}

fn validate(yaml: &str) -> Output {
    let ws = Workspace::new();
    ws.write("t.yaml", yaml);
    ws.runner().arg("validate").arg("t.yaml").run()
}

/// A server whose `/raw` answers this JSON text byte for byte.
fn raw_json(body: &'static str) -> TestServer {
    TestServer::start(move |_| Reply::bytes(200, "application/json", body.as_bytes().to_vec()))
}

fn one_assert(path: &str, matcher: &str) -> String {
    format!(
        "name: n\nsteps:\n  - request:\n      url: /raw\n    expect:\n      json:\n        {path}: {matcher}\n"
    )
}

#[test]
fn numbers_are_compared_exactly() {
    // (body, JSONPath, matcher, passes?)
    let table: [(&'static str, &str, &str, bool); 16] = [
        (
            r#"{"id": 9007199254740993}"#,
            "$.id",
            "9007199254740992",
            false,
        ),
        (
            r#"{"id": 9007199254740993}"#,
            "$.id",
            "9007199254740993",
            true,
        ),
        (
            r#"{"n": 10000000000000000365}"#,
            "$.n",
            "10000000000000000000",
            false,
        ),
        (r#"{"n": 1000000000000000000001}"#, "$.n", "1e21", false),
        (
            r#"{"n": 1000000000000000000001}"#,
            "$.n",
            "{ gt: 1e21 }",
            true,
        ),
        (
            r#"{"n": 1000000000000000000001}"#,
            "$.n",
            "{ lte: 1e21 }",
            false,
        ),
        (
            r#"{"n": 1000000000000000000001}"#,
            "$.n",
            r#"{ matches: "^1000000000000000000001$" }"#,
            true,
        ),
        (
            r#"{"n": 1000000000000000000001}"#,
            "$.n",
            "{ type: integer }",
            true,
        ),
        (r#"{"p": 0.10000000000000001}"#, "$.p", "0.1", false),
        (r#"{"p": 0.1}"#, "$.p", "0.1", true),
        (r#"{"p": 1.0}"#, "$.p", "1", true),
        (r#"{"p": 100}"#, "$.p", "1e2", true),
        (
            r#"{"a": [1, 1000000000000000000001]}"#,
            "$.a",
            "{ contains: 1e21 }",
            false,
        ),
        (
            r#"{"a": [{"v": 1000000000000000000001}]}"#,
            "$.a[*].v",
            "{ each: { gt: 1e21 } }",
            true,
        ),
        (
            r#"{"o": {"v": 9007199254740993}}"#,
            "$.o",
            "{ equals: { v: 9007199254740992 } }",
            false,
        ),
        (
            r#"{"n": 9007199254740993}"#,
            "$.n",
            "{ one_of: [9007199254740992, 1] }",
            false,
        ),
    ];
    for (body, path, matcher, passes) in table {
        let server = raw_json(body);
        let (_ws, out) = run(&server, &one_assert(path, matcher), &[]);
        let want = if passes { 0 } else { 1 };
        assert_eq!(
            out.code,
            Some(want),
            "{body} with {path}: {matcher} should {}\n{}",
            if passes { "pass" } else { "fail" },
            out.all()
        );
    }
}

#[test]
fn a_number_literal_a_float_cannot_hold_is_a_file_error() {
    for literal in ["1000000000000000000001", "0.10000000000000001"] {
        let yaml = one_assert("$.n", literal);
        let out = validate(&yaml);
        out.expect_code(2);
        assert!(
            out.all()
                .contains("more digits than a scenario file can hold exactly"),
            "{}",
            out.all()
        );
        let server = raw_json(r#"{"n": 1}"#);
        let (_ws, out) = run(&server, &yaml, &[]);
        out.expect_code(2);
        assert!(server.requests().is_empty(), "nothing is sent");
    }
}

#[test]
fn unknown_matchers_are_file_errors_with_a_suggestion() {
    // (matcher, words the message must hold)
    let table = [
        ("{ not: { includes: test } }", "did you mean `contains`?"),
        ("{ not: { startsWith: application } }", "matches"),
        ("{ isInteger: true }", "`type: integer`"),
        ("{ contians: x }", "did you mean `contains`?"),
        ("{ id: 1, name: x }", "write `equals: {...}`"),
        ("{}", "equals: {}"),
        ("{ count: 2 }", "`count` counts the values of a header"),
    ];
    for (matcher, words) in table {
        let yaml = one_assert("$.tags", matcher);
        let out = validate(&yaml);
        out.expect_code(2);
        assert!(out.all().contains(words), "{matcher}: {}", out.all());
        let server = raw_json(r#"{"tags": ["test"]}"#);
        let (_ws, out) = run(&server, &yaml, &[]);
        out.expect_code(2);
        assert!(server.requests().is_empty(), "{matcher}: nothing is sent");
    }
}

#[test]
fn a_header_startswith_typo_under_not_no_longer_passes() {
    let server = raw_json("{}");
    let yaml = "name: n\nsteps:\n  - request:\n      url: /raw\n    expect:\n      headers:\n        Content-Type: { not: { startsWith: application } }\n";
    let (_ws, out) = run(&server, yaml, &[]);
    out.expect_code(2);
    assert!(server.requests().is_empty());
}

#[test]
fn equals_expects_a_literal_object() {
    let server = raw_json(r#"{"o": {"id": 1, "tags": ["a"]}, "e": {}}"#);
    let yaml = "name: n\nsteps:\n  - request:\n      url: /raw\n    expect:\n      json:\n        $.o: { equals: { id: 1.0, tags: [a] } }\n        $.e: { equals: {} }\n        $: { not: { equals: { o: 1 } } }\n";
    let (_ws, out) = run(&server, yaml, &[]);
    out.expect_code(0);
    let yaml = "name: n\nsteps:\n  - request:\n      url: /raw\n    expect:\n      json:\n        $.o: { equals: { id: 2, tags: [a] } }\n";
    let (_ws, out) = run(&server, yaml, &[]);
    out.expect_code(1);
}

#[test]
fn an_object_expected_of_a_header_or_the_body_text_is_a_file_error() {
    let table = [
        "headers:\n        Content-Type: { equals: { a: 1 } }",
        "headers:\n        Content-Type: { not: { contains: [a] } }",
        "headers:\n        Content-Type: { one_of: [[a], b] }",
        "body: { equals: { a: 1 } }",
        "body: { not: { equals: [1] } }",
    ];
    for expect in table {
        let yaml = format!(
            "name: n\nsteps:\n  - request:\n      url: /raw\n    expect:\n      {expect}\n"
        );
        let out = validate(&yaml);
        out.expect_code(2);
        assert!(
            out.all().contains("can never match"),
            "{expect}: {}",
            out.all()
        );
    }
}

#[test]
fn not_does_not_turn_an_unrendered_value_into_a_pass() {
    let server = raw_json(r#"{"a": 1}"#);
    let yaml = "name: n\nsteps:\n  - request:\n      url: /raw\n    expect:\n      json:\n        $.a: { not: { equals: \"{{ 1 / 0 }}\" } }\n";
    let (_ws, out) = run(&server, yaml, &[]);
    out.expect_code(1);
}

fn repeated_headers() -> TestServer {
    TestServer::start(|_| {
        Reply::json(200, serde_json::json!({}))
            .header("X-Tag", "alpha")
            .header("X-Tag", "beta")
            .header(
                "Set-Cookie",
                "sid=abc; Path=/; HttpOnly; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
            )
            .header("Set-Cookie", "theme=dark; Max-Age=60; Secure; SameSite=Lax")
    })
}

#[test]
fn repeated_headers_can_be_asserted_one_all_or_counted() {
    // (header matcher, passes?)
    let table = [
        ("X-Tag: { any: { equals: beta } }", true),
        ("X-Tag: { any: { equals: gamma } }", false),
        ("X-Tag: { each: { matches: \"^[a-z]+$\" } }", true),
        ("X-Tag: { each: { equals: alpha } }", false),
        ("X-Tag: { count: 2 }", true),
        (
            "X-Tag: { count: 2, any: { equals: beta }, each: { contains: a } }",
            true,
        ),
        ("X-Tag: { count: { gt: 2 } }", false),
        ("X-Missing: { count: 0 }", true),
        ("X-Tag: \"alpha, beta\"", true),
        ("Set-Cookie: { count: 2 }", true),
        (
            "Set-Cookie: { any: { contains: \"Expires=Wed, 21 Oct 2037\" } }",
            true,
        ),
        (
            "Set-Cookie: { any: { equals: \"theme=dark; Max-Age=60; Secure; SameSite=Lax\" } }",
            true,
        ),
        // Joined, the two cookies would hold this text; they are never joined.
        ("Set-Cookie: { contains: \"GMT, theme\" }", false),
        ("Set-Cookie: { not: { contains: \"GMT, theme\" } }", true),
        (
            "Set-Cookie: { contains: \"theme=dark\", not: { contains: \"sid=\" } }",
            false,
        ),
        ("Set-Cookie: { exists: true }", true),
    ];
    for (matcher, passes) in table {
        let server = repeated_headers();
        let yaml = format!(
            "name: n\nsteps:\n  - request:\n      url: /h\n    expect:\n      headers:\n        {matcher}\n"
        );
        let (_ws, out) = run(&server, &yaml, &[]);
        expect_verdict(&out, passes, matcher);
    }
}

const BINARY: [u8; 8] = [0x89, b'P', b'N', b'G', 0x00, 0xff, 0xfe, 0x0a];

fn binary_server() -> TestServer {
    TestServer::start(|r| match r.path.as_str() {
        "/bin" => Reply::bytes(200, "image/png", BINARY.to_vec()),
        _ => Reply::echo(r),
    })
}

#[test]
fn the_body_bytes_can_be_asserted() {
    use sha2::Digest as _;
    let sha = hex::encode(sha2::Sha256::digest(BINARY));
    let md5 = hex::encode(md5::Md5::digest(BINARY));
    let mut other = BINARY;
    other[5] = 0x00;
    // (bytes checks, passes?)
    let table = [
        ("length: 8".to_string(), true),
        ("length: { gt: 8 }".to_string(), false),
        (format!("sha256: {sha}"), true),
        (format!("sha256: {}", sha.to_uppercase()), true),
        (
            format!("sha256: {}", hex::encode(sha2::Sha256::digest(b"x"))),
            false,
        ),
        (format!("md5: {md5}"), true),
        ("md5: 00000000000000000000000000000000".to_string(), false),
        ("file: same.png".to_string(), true),
        ("file: other.png".to_string(), false),
    ];
    for (check, passes) in table {
        let server = binary_server();
        let ws = Workspace::new();
        std::fs::write(ws.path("same.png"), BINARY).unwrap();
        std::fs::write(ws.path("other.png"), other).unwrap();
        ws.write(
            "t.yaml",
            &format!("name: n\nsteps:\n  - request:\n      url: /bin\n    expect:\n      bytes:\n        {check}\n"),
        );
        let out = ws
            .runner()
            .arg("t.yaml")
            .arg("--base-url")
            .arg(server.base_url())
            .run();
        expect_verdict(&out, passes, &check);
        if check == "file: other.png" {
            assert!(
                out.all()
                    .contains("differing from byte 5 on (0xff where the file has 0x00)"),
                "{}",
                out.all()
            );
        }
    }
}

#[test]
fn a_bad_digest_or_a_missing_file_is_a_file_error() {
    for check in ["sha256: abc", "md5: not-hex", "file: nowhere.bin"] {
        let out = validate(&format!(
            "name: n\nsteps:\n  - request:\n      url: /bin\n    expect:\n      bytes:\n        {check}\n"
        ));
        out.expect_code(2);
    }
}

#[test]
fn binary_request_bodies_are_sent_as_bytes() {
    let table = [
        (
            "body_base64: iVBORw0KGgo=",
            vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a],
        ),
        ("body_base64: \"{{ b64 }}\"", vec![0x00, 0xff]),
        ("body_hex: \"00 ff fe 80\"", vec![0x00, 0xff, 0xfe, 0x80]),
    ];
    for (body, sent) in table {
        let server = binary_server();
        let yaml = format!(
            "name: n\nvars:\n  b64: AP8=\nsteps:\n  - request:\n      method: POST\n      url: /upload\n      headers: {{ Content-Type: application/octet-stream }}\n      {body}\n"
        );
        let (_ws, out) = run(&server, &yaml, &[]);
        out.expect_code(0);
        let got = server.requests_to("/upload");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, sent, "{body}");
    }
    for body in ["body_base64: \"not base64!\"", "body_hex: 0xZZ"] {
        let server = binary_server();
        let yaml = format!(
            "name: n\nsteps:\n  - request:\n      method: POST\n      url: /upload\n      {body}\n"
        );
        let (_ws, out) = run(&server, &yaml, &[]);
        out.expect_code(2);
        assert!(server.requests().is_empty(), "{body}: nothing is sent");
    }
}

#[test]
fn cookies_are_asserted_with_their_attributes() {
    // (cookie checks, passes?)
    let table = [
        ("sid: abc", true),
        ("sid: { matches: \"^a\" }", true),
        ("sid: abd", false),
        ("nope: { exists: false }", true),
        ("nope: { exists: true }", false),
        (
            "sid: { value: abc, path: /, http_only: true, secure: false, expires: { contains: \"2037\" } }",
            true,
        ),
        ("sid: { http_only: false }", false),
        (
            "theme: { value: dark, max_age: 60, secure: true, same_site: Lax }",
            true,
        ),
        ("theme: { max_age: { gt: 60 } }", false),
        ("theme: { same_site: Strict }", false),
        ("theme: { path: { exists: false } }", true),
    ];
    for (check, passes) in table {
        let server = repeated_headers();
        let yaml = format!(
            "name: n\nsteps:\n  - request:\n      url: /h\n    expect:\n      cookies:\n        {check}\n"
        );
        let (_ws, out) = run(&server, &yaml, &[]);
        expect_verdict(&out, passes, check);
    }
    let out = validate(
        "name: n\nsteps:\n  - request:\n      url: /h\n    expect:\n      cookies:\n        sid: { value: a, httponly: true }\n",
    );
    out.expect_code(2);
    assert!(
        out.all().contains("did you mean `http_only`?"),
        "{}",
        out.all()
    );
}

#[test]
fn a_cookie_is_captured_from_set_cookie() {
    let server = TestServer::start(|r| match r.path.as_str() {
        "/login" => Reply::json(200, serde_json::json!({}))
            .header(
                "Set-Cookie",
                "other=1; Expires=Wed, 21 Oct 2037 07:28:00 GMT",
            )
            .header("Set-Cookie", "sid=s3cr3t-42; Path=/; HttpOnly"),
        _ => Reply::echo(r),
    });
    let yaml = "name: n\nsteps:\n  - request:\n      url: /login\n    capture:\n      sid: { cookie: sid }\n  - request:\n      url: /next\n      headers: { X-Sid: \"{{ sid }}\" }\n";
    let (_ws, out) = run(&server, yaml, &[]);
    out.expect_code(0);
    let next = server.requests_to("/next");
    assert_eq!(next[0].header("x-sid"), Some("s3cr3t-42"));
}

#[test]
fn a_line_indented_between_two_levels_is_reported_at_that_line() {
    // `request:` at 4, `method:` at 6, `url:` at 5: invalid YAML, not a missing `url`.
    let yaml = "name: n\nsteps:\n  - request:\n      method: GET\n     url: /x\n";
    let out = validate(yaml);
    out.expect_code(2);
    let all = out.all();
    assert!(all.contains("bad indentation"), "{all}");
    assert!(all.contains("t.yaml:5:6"), "{all}");
    assert!(!all.contains("missing key"), "{all}");
    let server = raw_json("{}");
    let (_ws, out) = run(&server, yaml, &[]);
    out.expect_code(2);
    assert!(out.all().contains("t.yaml:5:6"), "{}", out.all());
    assert!(server.requests().is_empty());
}

#[test]
fn an_unset_environment_variable_is_a_setup_error_before_anything_is_sent() {
    let yaml = "name: n\nheaders:\n  X-Api-Key: \"{{ env.FT_ORACLE_SURELY_UNSET }}\"\nsteps:\n  - request:\n      url: /x\n";
    let out = validate(yaml);
    out.expect_code(2);
    let all = out.all();
    assert!(
        all.contains("environment variable `FT_ORACLE_SURELY_UNSET` is not set"),
        "{all}"
    );
    assert!(all.contains("t.yaml:3:"), "the header's line: {all}");
    assert!(all.contains("export FT_ORACLE_SURELY_UNSET="), "{all}");
    let server = raw_json("{}");
    let (_ws, out) = run(&server, yaml, &[]);
    out.expect_code(2);
    assert!(server.requests().is_empty());
    // Set, or with a fallback, it runs.
    let ws = Workspace::new();
    ws.write("t.yaml", yaml);
    let out = ws
        .runner()
        .arg("t.yaml")
        .arg("--base-url")
        .arg(server.base_url())
        .env("FT_ORACLE_SURELY_UNSET", "k")
        .run();
    out.expect_code(0);
    let fallback = yaml.replace("UNSET }}", "UNSET | default('none') }}");
    let (_ws, out) = run(&server, &fallback, &[]);
    out.expect_code(0);
}

fn status_server(fixed: Option<u16>) -> TestServer {
    TestServer::start(move |r| {
        let code =
            fixed.unwrap_or_else(|| r.path.trim_start_matches("/status/").parse().unwrap_or(400));
        Reply::json(code, serde_json::json!({}))
    })
}

#[test]
fn status_may_be_a_template_and_default_step_names_render_theirs() {
    let yaml = "name: \"status {{ code }}\"\nmatrix:\n  code: [200, 404, \"2xx\"]\nsteps:\n  - request:\n      url: \"/status/{{ code }}\"\n    expect:\n      status: \"{{ code }}\"\n";
    let ws = Workspace::new();
    ws.write("t.yaml", &yaml.replace("\"2xx\"", "201"));
    let server = status_server(None);
    let out = ws
        .runner()
        .arg("t.yaml")
        .arg("--base-url")
        .arg(server.base_url())
        .run();
    out.expect_code(0);
    // The server answers 500 whatever the path: every expected status fails.
    let server = status_server(Some(500));
    let (_ws, out) = run(&server, yaml, &[]);
    out.expect_code(1);
    let all = out.all();
    assert!(all.contains("expected status 404, got 500"), "{all}");
    assert!(all.contains("expected status 2xx, got 500"), "{all}");
    assert!(
        all.contains("\"GET /status/404\""),
        "the step's name is rendered: {all}"
    );
    assert!(!all.contains("GET /status/{{ code }}"), "{all}");
    // A template that gives no status fails the step, never passes it.
    let bad = "name: n\nvars:\n  code: teapot\nsteps:\n  - request:\n      url: /status/200\n    expect:\n      status: \"{{ code }}\"\n";
    let server = status_server(None);
    let (_ws, out) = run(&server, bad, &[]);
    out.expect_code(1);
    assert!(
        out.all().contains("the template gave \"teapot\""),
        "{}",
        out.all()
    );
}

#[test]
fn regexes_and_jsonpaths_may_hold_templates() {
    let body = r#"{"date": "2026-11-29", "errors": [{"id": "e0"}, {"id": "e1"}, {"id": "e2"}]}"#;
    // (vars, json assertions, passes?)
    let table = [
        (
            "year: 2026\n  i: 2",
            "$.date: { matches: \"^{{ year }}-\" }\n        $.errors[{{ i }}].id: e2",
            true,
        ),
        (
            "year: 2025\n  i: 2",
            "$.date: { matches: \"^{{ year }}-\" }",
            false,
        ),
        ("year: 2026\n  i: 1", "$.errors[{{ i }}].id: e2", false),
        (
            "year: 2026\n  i: 1",
            "$.date: { not: { matches: \"^{{ year }}-\" } }",
            false,
        ),
        // A rendered regex that does not compile fails; under `not` too.
        (
            "year: \"(\"\n  i: 1",
            "$.date: { not: { matches: \"^{{ year }}\" } }",
            false,
        ),
        (
            "year: 2026\n  i: \"*\"",
            "$.errors[{{ i }}].id: { equals: [e0, e1, e2] }",
            true,
        ),
        ("year: 2026\n  i: \"?\"", "$.errors[{{ i }}].id: e0", false),
    ];
    for (vars, asserts, passes) in table {
        let server = raw_json(body);
        let yaml = format!(
            "name: n\nvars:\n  {vars}\nsteps:\n  - request:\n      url: /raw\n    expect:\n      json:\n        {asserts}\n"
        );
        let (_ws, out) = run(&server, &yaml, &[]);
        expect_verdict(&out, passes, &format!("{vars} / {asserts}"));
    }
    // validate still checks the template itself.
    let out = validate(
        "name: n\nsteps:\n  - request:\n      url: /raw\n    expect:\n      json:\n        $.errors[{{ nope }}].id: e2\n        $.date: { matches: \"^{{ year }}\" }\n",
    );
    out.expect_code(2);
    assert!(
        out.all().contains("undefined variable `nope`"),
        "{}",
        out.all()
    );
    assert!(
        out.all().contains("undefined variable `year`"),
        "{}",
        out.all()
    );
}

/// A status the step expects is its answer: never retried, whether the step wrote
/// it literally or as a template (a matrix value). A step expecting a success is
/// retried on the same 503, which shows the retries are on.
#[test]
fn an_expected_status_is_not_retried_even_from_a_template() {
    // (expect.status, matrix codes, requests per path)
    let table: [(&str, &[u16], usize); 3] = [
        ("\"{{ code }}\"", &[503, 429], 1),
        ("503", &[503], 1),
        ("200", &[503], 2),
    ];
    for (status, codes, per_path) in table {
        let list: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        let yaml = format!(
            "name: \"expects {{{{ code }}}}\"\nretries: 1\nmatrix:\n  code: [{}]\nsteps:\n  - request:\n      url: \"/status/{{{{ code }}}}\"\n    expect:\n      status: {status}\n",
            list.join(", ")
        );
        let server = status_server(None);
        let (_ws, out) = run(&server, &yaml, &[]);
        out.expect_code(if per_path == 1 { 0 } else { 1 });
        for code in codes {
            let sent = server.requests_to(&format!("/status/{code}")).len();
            assert_eq!(
                sent,
                per_path,
                "status: {status}, code {code}: {}",
                out.all()
            );
        }
    }
}

/// A file part without `content_type` says the type its name's extension tells
/// (what curl sends: `b.png` is `image/png`), `application/octet-stream` for an
/// extension that says nothing; a text field says nothing, as in curl.
#[test]
fn a_file_part_without_a_content_type_is_typed_by_its_extension() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    for file in ["data.bin", "b.png", "a.txt", "c.zzunknown", "noext"] {
        ws.write(file, "\u{1}\u{2}bytes");
    }
    ws.write(
        "t.yaml",
        "name: n\nsteps:\n  - request:\n      method: POST\n      url: /up\n      multipart:\n        note: hello\n        blob:\n          file: data.bin\n        png:\n          file: b.png\n        txt:\n          file: a.txt\n        odd:\n          file: c.zzunknown\n        bare:\n          file: noext\n        renamed:\n          file: a.txt\n          filename: shot.png\n        typed:\n          file: b.png\n          content_type: text/csv\n",
    );
    let out = ws.run_against("t.yaml", &server.base_url(), &[]);
    out.expect_code(0);
    let body = server.requests_to("/up")[0].body_text();
    // (part name, the Content-Type line of that part, or none)
    let table = [
        ("note", None),
        ("blob", Some("application/octet-stream")),
        ("png", Some("image/png")),
        ("txt", Some("text/plain")),
        ("odd", Some("application/octet-stream")),
        ("bare", Some("application/octet-stream")),
        ("renamed", Some("image/png")),
        ("typed", Some("text/csv")),
    ];
    for (name, want) in table {
        let part = body
            .split(&format!("name=\"{name}\""))
            .nth(1)
            .and_then(|rest| rest.split("\r\n\r\n").next())
            .unwrap_or_else(|| panic!("no part `{name}` in:\n{body}"));
        let got = part.lines().find_map(|l| {
            l.strip_prefix("content-type: ")
                .or(l.strip_prefix("Content-Type: "))
        });
        assert_eq!(got, want, "part `{name}`:\n{body}");
    }
}

/// A multipart text field written as a YAML number or boolean is sent as written,
/// as `form:` fields and headers are.
#[test]
fn a_multipart_text_field_is_sent_as_written() {
    let server = TestServer::echo();
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        "name: n\nsteps:\n  - request:\n      method: POST\n      url: /up\n      multipart:\n        dec: 2.10\n        oct: 0o17\n        yes: True\n        plain: hello\n",
    );
    let out = ws.run_against("t.yaml", &server.base_url(), &[]);
    out.expect_code(0);
    let body = server.requests_to("/up")[0].body_text();
    for (name, want) in [
        ("dec", "2.10"),
        ("oct", "0o17"),
        ("yes", "True"),
        ("plain", "hello"),
    ] {
        let value = body
            .split(&format!("name=\"{name}\"\r\n\r\n"))
            .nth(1)
            .and_then(|rest| rest.split("\r\n").next())
            .unwrap_or_else(|| panic!("no part `{name}` in:\n{body}"));
        assert_eq!(value, want, "part `{name}`:\n{body}");
    }
}

/// The body quoted under a failure counts the whole body, not the report's excerpt
/// it is cut from.
#[test]
fn the_body_excerpt_counts_the_whole_body() {
    let server = TestServer::start(|_| Reply::text(200, &"x".repeat(40_000)));
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        "name: n\nsteps:\n  - request:\n      url: /big\n    expect:\n      status: 201\n",
    );
    let out = ws.run_against("t.yaml", &server.base_url(), &["--report-json", "r.json"]);
    out.expect_code(1);
    let all = out.all();
    assert!(all.contains("… (40000 bytes in all)"), "{all}");
    assert!(!all.contains("bytes in all) bytes"), "{all}");
    assert!(ws.read("r.json").contains("… (40000 bytes in all)"));
}

/// A run exits 0 when the scenario should pass and 1 when it should fail; `what`
/// names the case in the failure message.
fn expect_verdict(out: &Output, passes: bool, what: &str) {
    assert_eq!(
        out.code,
        Some(if passes { 0 } else { 1 }),
        "{what}\n{}",
        out.all()
    );
}
