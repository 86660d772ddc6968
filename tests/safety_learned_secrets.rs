//! Secrets the runner learns on its own: a credential a server hands out (the
//! Layers API's key rotation answers with the new key), and the values of headers
//! whose names say they carry one (`Proxy-Authorization`, `X-Auth-Token`), are
//! masked in every output, in a run that passes and in one that fails.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use http_server::{Reply, TestServer};
use runner_cli::{Output, Workspace};

const REPORTS: [&str; 3] = ["junit.xml", "report.json", "report/index.html"];

/// Run `file` with every output on (`-vv`, JUnit, JSON, HTML) and `env` set:
/// how it ended, and everything it wrote, in one text.
fn run_all(
    ws: &Workspace,
    file: &str,
    base: Option<&str>,
    env: &[(&str, &str)],
) -> (Output, String) {
    let mut r = ws
        .runner()
        .arg(file)
        .args([
            "-vv",
            "--junit",
            "junit.xml",
            "--report-json",
            "report.json",
        ])
        .args(["--report-html", "report"]);
    for (k, v) in env {
        r = r.env(k, v);
    }
    if let Some(b) = base {
        r = r.base_url(b);
    }
    let out = r.run();
    let mut all = out.all();
    for f in REPORTS {
        all.push_str(&ws.read(f));
    }
    (out, all)
}

/// The secret parts of Layers keys in `text` (`lp_test_<id>_<secret>`), unmasked.
fn layers_secrets(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"lp_(test|live)_[0-9A-Z]{16}_([A-Za-z0-9_-]{8,})")
        .unwrap_or_else(|e| panic!("{e}"));
    re.captures_iter(text).map(|c| c[2].to_string()).collect()
}

#[test]
fn a_key_the_mock_hands_out_on_rotation_is_masked_everywhere() {
    let ws = Workspace::new();
    for (file, last) in [("pass.yaml", "200"), ("fail.yaml", "418")] {
        ws.write(
            file,
            &format!(
                r#"name: rotate a key ({file})
allow_cost: [api_keys]
headers:
  X-Api-Key: "{{{{ env.LAYERS_API_KEY }}}}"
steps:
  - request: {{ url: /v1/whoami }}
    capture: {{ kid: $.apiKeyId }}
  - request:
      method: POST
      url: "/v1/api-keys/{{{{ kid }}}}/rotate"
      json: {{}}
    expect: {{ status: {last} }}
"#
            ),
        );
        let (out, all) = run_all(
            &ws,
            file,
            None,
            &[("LAYERS_API_KEY", layers_mock::DEMO_KEY)],
        );
        let want = if last == "200" { 0 } else { 1 };
        assert_eq!(out.code, Some(want), "{file}\n{}", out.all());
        // The new key was in the rotation's response: its public part shows.
        assert!(
            all.matches("_***").count() >= 2,
            "{file}: the keys show as their public parts\n{all}"
        );
        assert_eq!(layers_secrets(&all), Vec::<String>::new(), "{file}\n{all}");
    }
}

#[test]
fn credential_headers_named_as_such_and_shaped_values_in_bodies_are_masked() {
    const PROXY_PASSWORD: &str = "ProxyPwLiteral99";
    const TOKEN: &str = "XAuthTokenLiteral4242";
    const PRIVATE: &str = "glpat-PrivateTokenLit77";
    const JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJydW5uZXIifQ.c2lnbmF0dXJlLXZhbHVlLTEyMw";
    let server = TestServer::start(|_| {
        Reply::json(
            200,
            serde_json::json!({ "issued": { "access_token": JWT, "note": "keep it" } }),
        )
    });
    let basic = base64_of(&format!("dave:{PROXY_PASSWORD}"));
    let ws = Workspace::new();
    ws.write(
        "h.yaml",
        &format!(
            r#"name: credential headers
steps:
  - request:
      url: /anything
      headers:
        Proxy-Authorization: "Basic {basic}"
        X-Auth-Token: "{TOKEN}"
        Private-Token: "{PRIVATE}"
    expect: {{ json: {{ $.issued.note: "not what it says" }} }}
"#
        ),
    );
    let (out, all) = run_all(&ws, "h.yaml", Some(&server.base_url()), &[]);
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(
        all.contains("keep it"),
        "the text beside the secrets shows:\n{all}"
    );
    for secret in [PROXY_PASSWORD, basic.as_str(), TOKEN, PRIVATE, JWT] {
        assert!(!all.contains(secret), "{secret} shows:\n{all}");
    }
}

fn base64_of(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A long line quoted by a file problem is cut to fit: the cut must not leave a
/// piece of a secret too short to be known for one (it is masked whole first).
#[test]
fn a_quoted_line_cut_to_fit_shows_no_piece_of_a_secret() {
    const SECRET: &str = "Qz7xWv3kPm9sTb2LrY5n";
    let ws = Workspace::new();
    for pad in [12, 20, 24, 28, 40] {
        let dashes = "-".repeat(pad);
        ws.write(
            "s.yaml",
            &format!(
                "name: cut\nsteps:\n  - request:\n      url: \"/a/very/long/path/that/goes/on/and/on/{SECRET}{dashes}{{{{ nope }}}}\"\n"
            ),
        );
        let out = ws
            .runner()
            .env("MY_TOKEN", SECRET)
            .args(["validate", "s.yaml"])
            .run();
        assert_eq!(out.code, Some(2), "{}", out.all());
        assert!(out.all().contains("nope"), "{}", out.all());
        let shown = out.all();
        for len in 4..=SECRET.len() {
            for piece in SECRET.as_bytes().windows(len) {
                let piece = std::str::from_utf8(piece).unwrap_or_default();
                assert!(
                    !shown.contains(piece),
                    "pad {pad}: `{piece}` shows:\n{shown}"
                );
            }
        }
    }
}

/// A body with a NUL between each byte of a secret: JUnit cannot hold a NUL, and
/// dropping them joined the secret back together, so the leak scan refused the
/// report (exit 3, no report). They are replaced instead: the report is written,
/// and holds no secret.
#[test]
fn characters_junit_cannot_hold_do_not_join_a_secret_back_together() {
    const SECRET: &str = "NulSplitSecret77";
    let spread: Vec<u8> = SECRET.bytes().flat_map(|b| [b, 0]).collect();
    let server = TestServer::start(move |_| Reply::bytes(200, "text/plain", spread.clone()));
    let ws = Workspace::new();
    ws.write(
        "n.yaml",
        "name: nuls\nsteps:\n  - request: { url: /x }\n    expect: { status: 201 }\n",
    );
    let out = ws
        .runner()
        .env("MY_TOKEN", SECRET)
        .args(["n.yaml", "-vv", "--junit", "junit.xml"])
        .base_url(&server.base_url())
        .run();
    assert_eq!(out.code, Some(1), "{}", out.all());
    let junit = ws.read("junit.xml");
    assert!(junit.contains("status"), "{junit}");
    assert!(!junit.contains(SECRET), "{junit}");
}

/// A template that makes something of a secret (upper case, a slice, reversed,
/// spelled out letter by letter) makes a secret: it is masked in every output. A
/// count or a flag made of one (`| length`, `is defined`) is no secret.
#[test]
fn what_a_template_makes_of_a_secret_is_masked_everywhere() {
    const KEY: &str = "k3yMaterialQz7xWv3kPm9sTb2L";
    let server = TestServer::start(|r| Reply::json(200, r.body_json()));
    let ws = Workspace::new();
    ws.write(
        "t.yaml",
        r#"name: transforms
steps:
  - request:
      method: POST
      url: /echo
      headers:
        X-Upper: "{{ env.MY_API_KEY | upper }}"
        X-Slice: "{{ env.MY_API_KEY[3:15] }}"
      json:
        reversed: "{{ env.MY_API_KEY | reverse }}"
        spelled: "{{ env.MY_API_KEY | list | join(' ') }}"
        length: "{{ env.MY_API_KEY | length }}"
        flag: "{{ env.MY_API_KEY is defined }}"
    expect: { status: 201 }
"#,
    );
    let (out, all) = run_all(
        &ws,
        "t.yaml",
        Some(&server.base_url()),
        &[("MY_API_KEY", KEY)],
    );
    assert_eq!(out.code, Some(1), "{}", out.all());
    let upper = KEY.to_uppercase();
    let reversed: String = KEY.chars().rev().collect();
    let spelled = KEY.chars().map(String::from).collect::<Vec<_>>().join(" ");
    for form in [
        KEY,
        upper.as_str(),
        &KEY[3..15],
        reversed.as_str(),
        spelled.as_str(),
    ] {
        assert!(!all.contains(form), "`{form}` shows:\n{all}");
    }
    assert!(
        all.contains(&KEY.len().to_string()),
        "the length is no secret:\n{all}"
    );
}

/// The learning stays narrow: a transformed secret in `vars:` or beside the
/// secret itself is masked, while the text around it, the values a secret only
/// chooses between, a variable whose name merely ends in `_key`, and response
/// headers that only talk about credentials stay readable.
#[test]
fn what_is_learnt_is_the_secret_s_own_pieces_and_nothing_around_them() {
    const KEY: &str = "abcdefghij0123xyz";
    let server = TestServer::start(|r| {
        Reply::json(
            200,
            serde_json::json!({ "path": r.path, "active": true, "name": "the-object-key-1" }),
        )
        .header("Access-Control-Allow-Credentials", "true")
        .header("X-OAuth-Scopes", "repo")
        .header("X-Token-Expires-In", "3600")
    });
    let ws = Workspace::new();
    ws.write(
        "n.yaml",
        r#"name: narrow learning
vars:
  up: "{{ env.MY_API_KEY | upper }}"
  sort_key: created_at
  api_key: "{{ env.MY_API_KEY }}"
steps:
  - name: first
    request:
      url: "/items?order={{ sort_key }}&mode={{ 'production' if env.MY_API_KEY else 'sandbox' }}&k={{ env.MY_API_KEY }}&r={{ env.MY_API_KEY | reverse }}&u={{ up }}"
      headers: { X-Through-Var: "{{ api_key | title }}" }
    expect: { status: 200 }
    capture: { idempotency_key: $.name, object_key: $.name }
  - name: second repo 3600 true
    request:
      url: "/anything/repo/created_at/production/{{ object_key }}"
      headers: { Idempotency-Key: "{{ idempotency_key }}" }
    expect: { json: { $.active: false } }
"#,
    );
    let (out, all) = run_all(
        &ws,
        "n.yaml",
        Some(&server.base_url()),
        &[("MY_API_KEY", KEY)],
    );
    assert_eq!(out.code, Some(1), "{}", out.all());
    let upper = KEY.to_uppercase();
    let reversed: String = KEY.chars().rev().collect();
    let titled = format!("{}{}", &KEY[..1].to_uppercase(), &KEY[1..]);
    for form in [KEY, upper.as_str(), reversed.as_str(), titled.as_str()] {
        assert!(!all.contains(form), "`{form}` shows:\n{all}");
    }
    for readable in [
        "the-object-key-1",
        "order=created_at",
        "mode=production",
        "second repo 3600 true",
        "/anything/repo/created_at/production",
        "expected false, got true",
    ] {
        assert!(all.contains(readable), "`{readable}` is masked:\n{all}");
    }
}

/// An expected value made of a secret shows in a failure as "expected ...": it
/// is learnt before the request goes out, as the request's own values are.
#[test]
fn an_expected_value_made_of_a_secret_is_masked_in_the_failure() {
    const KEY: &str = "abcdefghij0123xyz";
    let server = TestServer::start(|_| Reply::json(200, serde_json::json!({ "ok": true })));
    let ws = Workspace::new();
    ws.write(
        "e.yaml",
        r#"name: expected
steps:
  - request: { url: /x }
    expect:
      headers: { X-Nope: "{{ env.MY_API_KEY | upper }}" }
      json: { $.ok: { not: "{{ env.MY_API_KEY[2:14] }}" } }
"#,
    );
    let (out, all) = run_all(
        &ws,
        "e.yaml",
        Some(&server.base_url()),
        &[("MY_API_KEY", KEY)],
    );
    assert_eq!(out.code, Some(1), "{}", out.all());
    assert!(all.contains("header X-Nope"), "{all}");
    for form in [KEY.to_uppercase().as_str(), &KEY[2..14]] {
        assert!(!all.contains(form), "`{form}` shows:\n{all}");
    }
}
