//! Secrets never leave the process: a key planted in a header, a query string, a
//! JSON body, a Basic header and a cookie, and a server's echo of all of them, never
//! show in stdout, stderr, JUnit or the JSON report in any form.

#[path = "support/safety.rs"]
mod safety;

use std::sync::Arc;

use base64::Engine as _;
use safety::{Received, Recorder, Respond, leaked, run, secret_forms, write};

const KEY: &str = "lp_test_01HX9Y6K7EJ4T2AB_4QZpNbT0w5yqL9cVf3sXo2hR8mJd6kEaUuWiZgPn-tC";
const PUBLIC: &str = "lp_test_01HX9Y6K7EJ4T2AB_***";
/// Taken as a secret by its name's ending, and full of characters that encode.
const PASSWORD: &str = "s3cr3t/p@ss word+&\"<x>\"=long-enough";
/// Named with `--secret`.
const CRED: &str = "cust-cred-9f8e7d6c5b4a";
/// A file variable listed under `secrets:`.
const SESSION: &str = "sess-1a2b3c4d5e6f7a8b";

fn header<'a>(req: &'a Received, name: &str) -> Option<&'a str> {
    req.head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Echo every request back in several encodings, in the body and in headers.
fn echo() -> Respond {
    Arc::new(|req: &Received| {
        let text = req.text();
        let key = header(req, "x-api-key").unwrap_or("").to_string();
        let auth = header(req, "authorization").unwrap_or("").to_string();
        let mut headers = vec![
            ("Content-Type".to_string(), "application/json".to_string()),
            ("X-Echo-Key".to_string(), key.clone()),
            ("X-Echo-Authorization".to_string(), auth),
        ];
        if !key.is_empty() {
            headers.push(("Set-Cookie".into(), format!("sid={key}; Path=/; HttpOnly")));
        }
        if req.request_line().starts_with("GET /big") {
            // The key straddles the 16 KB cut of the report's body excerpt.
            let body = format!("{}{text}", "a".repeat(16 * 1024 - 40));
            let mut h = headers;
            h[0].1 = "text/plain".into();
            return (200, h, body.into_bytes());
        }
        let body = serde_json::json!({
            "echo": text,
            "b64": base64::engine::general_purpose::STANDARD.encode(&text),
            "urlenc": percent_encoding::utf8_percent_encode(&text, percent_encoding::NON_ALPHANUMERIC).to_string(),
            // Failure messages show a value cut at 300 characters: the key sits on the cut.
            "long": format!("{}{key}", "b".repeat(270)),
        });
        (200, headers, body.to_string().into_bytes())
    })
}

const SCENARIOS: &str = r#"
vars:
  session: "{{ env.SESSION_VALUE }}"
secrets: [session]
retries: 0
scenarios:
  - name: key in a header, a query string and a JSON body
    steps:
      - name: post everything
        request:
          method: POST
          url: /echo
          headers:
            X-Api-Key: "{{ env.LAYERS_API_KEY }}"
          query:
            api_key: "{{ env.LAYERS_API_KEY }}"
          json:
            key: "{{ env.LAYERS_API_KEY }}"
            nested: { list: ["k={{ env.LAYERS_API_KEY }}"] }
        expect:
          status: 201
          json:
            $.echo: nothing
            $.long: nothing
            $.b64: { matches: "^nothing$" }
        capture:
          echoed: $.echo
  - name: key in a Basic header and a cookie
    steps:
      - name: basic
        request:
          method: GET
          url: /echo
          headers:
            Authorization: "Basic {{ ('user:' ~ env.LAYERS_API_KEY) | b64encode }}"
            Cookie: "theme=dark; session={{ session }}"
        expect:
          json:
            $.b64: nothing
            $.urlenc: nothing
  - name: a long echo cut in the middle of the key
    steps:
      - name: big
        request:
          method: GET
          url: /big
          headers:
            X-Api-Key: "{{ env.LAYERS_API_KEY }}"
        expect:
          status: 201
  - name: other secrets
    steps:
      - name: password, credential and session
        request:
          method: POST
          url: /echo
          query:
            pw: "{{ env.OTHER_PASSWORD }}"
            cred: "{{ env.CUSTOMER_CRED }}"
          json:
            pw: "{{ env.OTHER_PASSWORD }}"
            session: "{{ session }}"
            cred: "{{ env.CUSTOMER_CRED }}"
        expect:
          json:
            $.echo: nothing
    finally:
      - name: cleanup that also echoes
        request:
          method: POST
          url: "/echo?pw={{ env.OTHER_PASSWORD | urlencode }}"
          body: "{{ env.OTHER_PASSWORD }} {{ env.CUSTOMER_CRED }}"
        expect:
          status: 500
  - name: an error message quoting the key
    steps:
      - name: nobody listens
        request:
          method: GET
          url: "http://127.0.0.1:1/x?k={{ env.LAYERS_API_KEY }}&pw={{ env.OTHER_PASSWORD | urlencode }}"
        expect:
          status: 200
"#;

fn all_forms() -> Vec<(&'static str, Vec<String>)> {
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{KEY}"));
    vec![
        // The key's secret part: its public part `lp_test_<key_id>_` may show.
        ("key", secret_forms(&KEY[25..], 12)),
        (
            "whole key",
            secret_forms(KEY, 12)
                .into_iter()
                .filter(|f| !PUBLIC.starts_with(f.as_str()) && !KEY[..25].contains(f.as_str()))
                .collect(),
        ),
        ("basic", secret_forms(&basic, 12)),
        ("password", secret_forms(PASSWORD, 12)),
        ("credential", secret_forms(CRED, 12)),
        ("session", secret_forms(SESSION, 12)),
    ]
}

fn assert_clean(what: &str, text: &str) {
    for (name, forms) in all_forms() {
        assert!(
            leaked(text, &forms).is_none(),
            "the {name} leaked into {what} as {}:\n{text}",
            leaked(text, &forms).unwrap_or_default()
        );
    }
}

async fn planted_run(granularity: &str) {
    let server = Recorder::start(echo()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "secrets.yaml", SCENARIOS);
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            &server.base_url,
            "-vv",
            "--secret",
            "CUSTOMER_CRED",
            "--junit",
            junit.to_str().unwrap(),
            "--junit-granularity",
            granularity,
            "--report-json",
            json.to_str().unwrap(),
        ],
        &[
            ("LAYERS_API_KEY", KEY),
            ("OTHER_PASSWORD", PASSWORD),
            ("CUSTOMER_CRED", CRED),
            ("SESSION_VALUE", SESSION),
        ],
    )
    .await;
    ran.expect_code(1);

    // The secrets really went out, in every planted place.
    let received: String = server.requests().iter().map(|r| r.text()).collect();
    assert!(
        received.contains(&format!("X-Api-Key: {KEY}"))
            || received.contains(&format!("x-api-key: {KEY}"))
    );
    assert!(received.contains(&format!("api_key={KEY}")), "{received}");
    assert!(
        received.contains(&format!("\"key\":\"{KEY}\"")),
        "{received}"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("user:{KEY}"));
    assert!(received.contains(&basic), "{received}");
    assert!(received.contains(SESSION) && received.contains(CRED));

    let junit_text = std::fs::read_to_string(&junit).expect("the JUnit report was written");
    let json_text = std::fs::read_to_string(&json).expect("the JSON report was written");
    safety::check_junit(&junit_text);
    let report: serde_json::Value = serde_json::from_str(&json_text).unwrap();

    assert_clean("stdout", &ran.stdout);
    assert_clean("stderr", &ran.stderr);
    assert_clean("the JUnit report", &junit_text);
    assert_clean("the JSON report", &json_text);

    // Masked, not dropped: the key shows by its public part.
    ran.stdout_has(PUBLIC);
    assert!(json_text.contains(PUBLIC), "{json_text}");
    let first_request = &report["scenarios"][0]["steps"][0]["request"];
    let sent_key = first_request["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h[0] == "X-Api-Key")
        .map(|h| h[1].clone());
    assert_eq!(sent_key, Some(serde_json::json!(PUBLIC)));
    // The failure messages are there, masked.
    assert!(
        junit_text.contains("$.echo: expected &quot;nothing&quot;"),
        "{junit_text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_never_show_in_any_output() {
    planted_run("scenario").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn planted_secrets_never_show_with_one_testcase_per_step() {
    planted_run("step").await;
}

/// A file problem quotes the source line; a key written in the file stays masked.
#[tokio::test(flavor = "multi_thread")]
async fn file_problems_quote_lines_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "broken.yaml",
        &format!(
            "name: broken\nheaders:\n  X-Api-Key: {KEY}\nsteps:\n  - request: {{ url: /v1/whoami }}\n    expect: {{ status: 200, stauts: 1, body: {{ contains: {KEY} }} }}\n"
        ),
    );
    for cmd in ["run", "validate"] {
        let ran = run(&[cmd, &file], &[("LAYERS_API_KEY", KEY)]).await;
        ran.expect_code(2);
        ran.stderr_has("stauts");
        assert_clean("stderr", &ran.stderr);
        assert_clean("stdout", &ran.stdout);
    }
}

/// `--secret NAME` masks a `--var` value, and a URL's password is masked too.
#[tokio::test(flavor = "multi_thread")]
async fn var_secrets_and_url_passwords() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "var.yaml",
        "name: var secret\nsteps:\n  - request: { url: \"/x?t={{ token }}\" }\n    expect: { status: 201 }\n",
    );
    let base = server
        .base_url
        .replace("http://", &format!("http://user:{CRED}@"));
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            &base,
            "--var",
            &format!("token={SESSION}"),
            "--secret",
            "token",
            "-v",
        ],
        &[],
    )
    .await;
    ran.expect_code(1);
    let received: String = server.requests().iter().map(|r| r.text()).collect();
    assert!(received.contains(SESSION), "{received}");
    assert_clean("stdout", &ran.stdout);
    assert_clean("stderr", &ran.stderr);
    ran.stdout_has("t=***");
}

/// A base URL too broken to parse is quoted in the error, its password masked.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_base_url_does_not_print_its_password() {
    let smoke = safety::repo().join("scenarios/whoami.yaml");
    let ran = run(
        &[
            "run",
            smoke.to_str().unwrap(),
            "--base-url",
            &format!("http://bob:{CRED}@127.0.0.1:99999"),
        ],
        &[],
    )
    .await;
    ran.expect_code(2);
    ran.stderr_has("bob:***@");
    assert_clean("stderr", &ran.stderr);
}

/// A secret first seen late (a header of a later scenario) is masked in the file
/// reports too, even in what an earlier scenario recorded before it was known.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_seen_late_is_masked_in_earlier_records() {
    let server = Recorder::start(Arc::new(|_req: &Received| {
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            format!("{{\"token\":\"{SESSION}\"}}").into_bytes(),
        )
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "late.yaml",
        r#"scenarios:
  - name: first sees the value in a body
    steps:
      - request: { url: /first }
  - name: then it is sent as a credential
    steps:
      - request: { url: /login }
        capture: { token: $.token }
      - request:
          url: /me
          headers: { Authorization: "Bearer {{ token }}" }
"#,
    );
    let json = dir.path().join("report.json");
    let junit = dir.path().join("junit.xml");
    let ran = run(
        &[
            "run",
            &file,
            "-j",
            "1",
            "--base-url",
            &server.base_url,
            "--report-json",
            json.to_str().unwrap(),
            "--junit",
            junit.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    ran.expect_code(0);
    let json_text = std::fs::read_to_string(&json).expect("the JSON report was written");
    let junit_text = std::fs::read_to_string(&junit).expect("the JUnit report was written");
    let forms = secret_forms(SESSION, 12);
    assert!(leaked(&json_text, &forms).is_none(), "{json_text}");
    assert!(leaked(&junit_text, &forms).is_none(), "{junit_text}");
    assert!(
        json_text.contains("{\\\"token\\\":\\\"***\\\"}"),
        "{json_text}"
    );
}

// ---- Issue 12: secrets that leaked, each through a whole run and every output ----

/// Taken as a secret by its name; minijinja's `tojson` writes it `pa\u003css...`.
const PW: &str = "pa<ss>wo&rd";
/// A password with spaces: its first word is no auth scheme.
const DB: &str = "correct horse battery staple";
/// Non-ASCII, echoed by a server as `\u00e9` and a surrogate pair.
const EMOJI: &str = "caf\u{e9}-\u{1F511}-key";
/// Echoed by a server as a response header name.
const HEADER_NAME: &str = "tok3n-abcdef-123456";
/// A numeric PIN under `secrets:`.
const PIN: &str = "4711";

/// Non-ASCII as `\uXXXX` (surrogate pairs for what is beyond the BMP), as
/// Python's `json.dumps` and httpbin write it.
fn ensure_ascii(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for unit in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    out
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// Base64 at 76 columns with CRLF, as MIME writes it.
fn mime(s: &str) -> String {
    b64(s)
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("\r\n")
}

/// The base64 characters that only the bytes of `secret` decide, where it sits
/// `offset` bytes into the encoded data: what must never show.
fn base64_core(secret: &str, offset: usize) -> String {
    let data = [vec![b'x'; offset], secret.as_bytes().to_vec()].concat();
    let enc = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&data);
    let first = (8 * offset).div_ceil(6);
    let end = 8 * data.len() / 6;
    enc[first..end].to_string()
}

fn issue12_echo() -> Respond {
    Arc::new(|req: &Received| {
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let echo = serde_json::json!({
            "echo": body,
            "ascii": ensure_ascii(&body),
            "basic": [b64("xann:hunt3r"), b64("xyann:hunt3r"), b64(&format!("user:{DB}"))],
            "mime": mime(&format!("xx{DB} and {PW} and {DB}{DB}")),
            "hex": hex::encode_upper(DB),
            "lower_hex": hex::encode(PW),
        });
        let text = serde_json::to_string(&echo).unwrap();
        (
            200,
            vec![
                ("Content-Type".into(), "application/json".into()),
                (HEADER_NAME.into(), "yes".into()),
            ],
            ensure_ascii(&text).into_bytes(),
        )
    })
}

const ISSUE12: &str = r#"
secrets: [pin]
vars:
  pin: 4711
name: issue 12 leaks
steps:
  - name: everything at once
    request:
      method: POST
      url: "/echo?pin={{ pin }}"
      headers:
        Authorization: "Basic {{ 'ann:hunt3r' | b64encode }}"
        Content-Type: application/json
      body: '{"pw": {{ env.PW_SECRET | tojson }}, "db": {{ env.DB_PASSWORD | tojson }}, "emoji": {{ env.EMOJI_SECRET | tojson }}, "pin": {{ pin }}}'
    expect:
      status: 299
"#;

fn issue12_forms() -> Vec<(&'static str, Vec<String>)> {
    let mut b64_cores = Vec::new();
    for secret in ["ann:hunt3r", "hunt3r", DB] {
        for offset in 0..3 {
            let core = base64_core(secret, offset);
            if core.len() >= 4 {
                b64_cores.push(core);
            }
        }
    }
    vec![
        ("PW_SECRET", vec![PW.to_string()]),
        ("DB_PASSWORD", vec![DB.to_string(), "correct".to_string()]),
        ("EMOJI_SECRET", vec![EMOJI.to_string()]),
        ("the header name", vec![HEADER_NAME.to_string()]),
        ("the PIN", vec![PIN.to_string()]),
        ("Basic's password", vec!["hunt3r".to_string()]),
        ("base64", b64_cores),
        (
            "hex",
            vec![
                hex::encode_upper(DB),
                hex::encode(DB),
                hex::encode(PW),
                hex::encode_upper(PW),
            ],
        ),
    ]
}

/// What `text` holds of the secrets of [`ISSUE12`], in any of the decodings.
fn issue12_leak(text: &str) -> Option<String> {
    // Line breaks and their escapes go: wrapped base64 shows as one run.
    let joined = text
        .replace("\\r\\n", "")
        .replace("\\n", "")
        .replace(['\r', '\n'], "")
        .replace("  ", "");
    for (name, forms) in issue12_forms() {
        for view in [text, &joined] {
            if let Some(how) = leaked(view, &forms) {
                return Some(format!("{name}: {how}"));
            }
            // `leaked` skips forms under 8 characters.
            for f in forms.iter().filter(|f| f.len() < 8) {
                let unescaped = safety::unicode_unescape(view);
                if view.contains(f.as_str()) || unescaped.contains(f.as_str()) {
                    return Some(format!("{name}: `{f}`"));
                }
            }
        }
    }
    None
}

/// Issue 12 items 2, 3, 5, 6, 8 and 10: `\uXXXX` escapes (`tojson`, a server's
/// echo of non-ASCII and emoji), a numeric PIN under `secrets:`, a password with
/// spaces, a secret echoed as a header name, Basic of a short password, MIME
/// base64 and upper-case hex: none shows in -vv, JUnit or the JSON report.
#[tokio::test(flavor = "multi_thread")]
async fn issue12_encodings_never_show_in_any_output() {
    let server = Recorder::start(issue12_echo()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "issue12.yaml", ISSUE12);
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            &server.base_url,
            "-vv",
            "--junit",
            junit.to_str().unwrap(),
            "--report-json",
            json.to_str().unwrap(),
        ],
        &[
            ("PW_SECRET", PW),
            ("DB_PASSWORD", DB),
            ("EMOJI_SECRET", EMOJI),
            ("HEADER_TOKEN", HEADER_NAME),
        ],
    )
    .await;
    ran.expect_code(1);
    // They were sent, and echoed.
    let received: String = server.requests().iter().map(|r| r.text()).collect();
    assert!(received.contains("pa\\u003css"), "{received}");
    assert!(
        received.contains(DB) && received.contains("pin=4711"),
        "{received}"
    );
    // The echo escaped as `\u00e9`/`\ud83d\udd11` is there, masked.
    ran.stdout_has("\"ascii\":\"{\\\"pw\\\": \\\"***\\\"");
    let junit_text = std::fs::read_to_string(&junit).expect("the JUnit report was written");
    let json_text = std::fs::read_to_string(&json).expect("the JSON report was written");
    for (what, text) in [
        ("stdout", &ran.stdout),
        ("stderr", &ran.stderr),
        ("the JUnit report", &junit_text),
        ("the JSON report", &json_text),
    ] {
        if let Some(leak) = issue12_leak(text) {
            panic!("{leak} leaked into {what}:\n{text}");
        }
    }
    // Masked, not dropped.
    ran.stdout_has("pin=***");
    ran.stdout_has("< ***: yes");
}

/// Issue 12 item 3 in a dry run: a numeric PIN under `secrets:` is masked.
#[tokio::test(flavor = "multi_thread")]
async fn issue12_numeric_secret_in_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "pin.yaml", ISSUE12);
    let ran = run(
        &[
            "run",
            &file,
            "--dry-run",
            "--base-url",
            "http://127.0.0.1:9",
        ],
        &[
            ("PW_SECRET", PW),
            ("DB_PASSWORD", DB),
            ("EMOJI_SECRET", EMOJI),
        ],
    )
    .await;
    ran.stdout_has("pin=***");
    assert!(issue12_leak(&ran.stdout).is_none(), "{}", ran.stdout);
}

/// Issue 12 item 4: a token captured in one step and sent as `Bearer` by a later
/// one is masked in the console from the step that captured it, even with -vv.
#[tokio::test(flavor = "multi_thread")]
async fn issue12_a_captured_token_is_masked_before_it_is_sent() {
    const TOKEN: &str = "tok-9d8c7b6a5f4e3d2c1b0a";
    let server = Recorder::start(Arc::new(|_req: &Received| {
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            format!("{{\"token\":\"{TOKEN}\",\"theme\":\"dark\"}}").into_bytes(),
        )
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "login.yaml",
        r#"name: login then use the token
steps:
  - name: login
    request: { method: POST, url: /login }
    capture: { token: $.token, theme: $.theme }
  - name: whoami
    # Long enough for the console to have printed the login step: the token must
    # be known as a secret before it is sent.
    delay: 300ms
    request:
      url: /me
      headers:
        Authorization: "Bearer {{ token }}"
        X-Theme: "{{ theme }}"
"#,
    );
    for verbosity in ["-v", "-vv"] {
        let ran = run(
            &["run", &file, "--base-url", &server.base_url, verbosity],
            &[],
        )
        .await;
        ran.expect_code(0);
        assert!(!ran.stdout.contains("tok-9d8c"), "{}", ran.stdout);
        ran.stdout_has("Authorization: Bearer ***");
        // A value that flows into no secret header is no secret.
        ran.stdout_has("X-Theme: dark");
        if verbosity == "-vv" {
            ran.stdout_has("{\"token\":\"***\"");
        }
    }
}

/// Issue 12 item 7: `--max-body` cutting a body in the middle of a key.
#[tokio::test(flavor = "multi_thread")]
async fn issue12_a_key_cut_by_max_body_is_masked() {
    let server = Recorder::start(Arc::new(|_req: &Received| {
        let body = format!("{}{KEY} trailing", "a".repeat(1000));
        (
            200,
            vec![("Content-Type".into(), "text/plain".into())],
            body.into_bytes(),
        )
    }))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "cut.yaml",
        "name: cut\nsteps:\n  - request: { url: /big }\n    expect: { status: 201 }\n",
    );
    // Cut inside the public part, just after it, and deep in the secret part.
    for shown in [10, 29, 40, 60] {
        let cut = format!("{}B", 1000 + shown);
        let ran = run(
            &[
                "run",
                &file,
                "--base-url",
                &server.base_url,
                "-vv",
                "--max-body",
                &cut,
            ],
            &[("LAYERS_API_KEY", KEY)],
        )
        .await;
        ran.expect_code(1);
        // At least 4 characters of the secret part show when the cut is past them.
        if shown >= 29 {
            let secret_shown = &KEY[25..shown];
            assert!(
                !ran.stdout.contains(secret_shown),
                "{shown}: {}",
                ran.stdout
            );
            assert!(ran.stdout.contains(PUBLIC), "{shown}: {}", ran.stdout);
        }
        assert!(!ran.stdout.contains("trailing"), "{}", ran.stdout);
    }
}

/// Issue 12 item 9: a `with:` parameter listed under `secrets:`, and a value under
/// 4 characters named with `--secret`.
#[tokio::test(flavor = "multi_thread")]
async fn issue12_with_parameters_and_short_named_secrets() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "login.yaml",
        "- name: log in\n  request: { url: \"/login?pw={{ password }}&pin={{ env.PIN }}\" }\n",
    );
    let file = write(
        dir.path(),
        "main.yaml",
        "name: include with a secret\nsecrets: [password]\nsteps:\n  - include: login.yaml\n    with: { password: \"hunter-2-with\" }\n",
    );
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            &server.base_url,
            "-v",
            "--secret",
            "PIN",
        ],
        &[("PIN", "427")],
    )
    .await;
    ran.expect_code(0);
    let received: String = server.requests().iter().map(|r| r.text()).collect();
    assert!(received.contains("pw=hunter-2-with&pin=427"), "{received}");
    ran.stdout_has("pw=***&pin=***");
    assert!(!ran.stdout.contains("hunter-2"), "{}", ran.stdout);
}

/// Issue 12 item 11: `runner list` masks scenario names: one holding an
/// environment secret, one built from a matrix value under `secrets:`.
#[tokio::test(flavor = "multi_thread")]
async fn issue12_list_masks_scenario_names() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "names.yaml",
        &format!(
            "scenarios:\n  - name: uses {KEY}\n    steps: [{{ request: {{ url: /x }} }}]\n  - name: \"region {{{{ region_key }}}}\"\n    secrets: [region_key]\n    matrix: {{ region_key: [eu-k3y-0123456789] }}\n    steps: [{{ request: {{ url: /x }} }}]\n"
        ),
    );
    let ran = run(&["list", &file], &[("LAYERS_API_KEY", KEY)]).await;
    ran.expect_code(0);
    ran.stdout_has(&format!("uses {PUBLIC}"));
    assert!(!ran.stdout.contains("eu-k3y"), "{}", ran.stdout);
    ran.stdout_has("region ***");
}
