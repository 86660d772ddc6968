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
    assert_eq!(ran.code(), Some(1), "{}", ran.both());

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
    assert!(ran.stdout.contains(PUBLIC), "{}", ran.stdout);
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
        assert_eq!(ran.code(), Some(2), "{}", ran.both());
        assert!(ran.stderr.contains("stauts"), "{}", ran.stderr);
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
    assert_eq!(ran.code(), Some(1), "{}", ran.both());
    let received: String = server.requests().iter().map(|r| r.text()).collect();
    assert!(received.contains(SESSION), "{received}");
    assert_clean("stdout", &ran.stdout);
    assert_clean("stderr", &ran.stderr);
    assert!(ran.stdout.contains("t=***"), "{}", ran.stdout);
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
    assert_eq!(ran.code(), Some(2), "{}", ran.both());
    assert!(ran.stderr.contains("bob:***@"), "{}", ran.stderr);
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
    assert_eq!(ran.code(), Some(0), "{}", ran.both());
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
