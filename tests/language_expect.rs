//! The scenario language, end to end: `expect` (status, json matchers, headers, body,
//! time_ms, schema), captures and templates, run by the built binary against a test
//! server on 127.0.0.1.

#[path = "support/language_server.rs"]
mod server;

use serde_json::{Value, json};
use server::{LanguageServer, Workspace, failure_text};

fn body_json(r: &server::Recorded) -> Value {
    serde_json::from_slice(&r.body).unwrap_or_else(|e| {
        panic!(
            "recorded body is not JSON ({e}): {}",
            String::from_utf8_lossy(&r.body)
        )
    })
}

#[test]
fn every_matcher_holds_on_a_matching_response() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "schemas/doc.json",
        r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "required": ["organizationId", "items"],
  "properties": {
    "organizationId": { "type": "string" },
    "items": { "type": "array", "items": { "required": ["id", "status"] } }
  }
}"#,
    );
    ws.write(
        "suite/matchers.yaml",
        r#"
name: every matcher holds
steps:
  - name: read the document
    request:
      url: /json
    expect:
      status: 200
      json:
        $.killSwitch: false
        $.organizationId: { type: string, matches: "^[0-9a-f-]{36}$" }
        $.creditBalance: { type: integer, gte: 0, lte: 120, gt: 119, lt: 121 }
        $.ratio: { type: number, equals: 0.5 }
        $.scopes: { length: 0, type: array }
        $.items: { length: { gte: 2 }, each: { type: object } }
        $.items[*].status: { each: { one_of: [active, archived] } }
        $.items[0].tags: { contains: a }
        $.items[0]: { equals: { id: 1, status: active, tags: [a] } }
        $.name: { contains: Lay, not: Acme }
        $.plan: { not: { one_of: [free, team] } }
        $.missing: { exists: false }
        $.nothing: { exists: true, type: null }
      headers:
        content-type: { contains: application/json }
        X-Request-Id: { exists: true, matches: "^req_" }
        Cache-Control: no-store
        X-Not-Sent: { exists: false }
      body: { contains: organizationId }
      time_ms: { lt: 600000 }
      schema: ../schemas/doc.json
  - name: inline 2020-12 schema and status forms
    request:
      url: /json
    expect:
      status: 2xx
      schema:
        $schema: https://json-schema.org/draft/2020-12/schema
        type: object
        properties:
          items:
            type: array
            prefixItems: [{ properties: { id: { const: 1 } } }]
  - name: a list of codes
    request:
      url: /status/204
    expect:
      status: [200, 204]
"#,
    );
    let out = ws.run(&["suite/matchers.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("PASS  every matcher holds"),
        "{}",
        out.all()
    );
    let case = out.case("every matcher holds");
    assert!(
        matches!(case.status, quick_junit::TestCaseStatus::Success { .. }),
        "{case:?}"
    );
    // 1 status + 23 json checks + 6 header checks + body + time + schema, then 2 + 1.
    assert!(case.assertions.unwrap_or(0) >= 35, "{case:?}");
}

/// One failing assertion of every kind in one step: each is evaluated and each
/// failure reported with its path, expected and actual value, in the console and JUnit.
#[test]
fn every_failing_assertion_is_reported_with_path_expected_and_actual() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "fail.yaml",
        r#"
name: every kind fails
steps:
  - name: read
    request:
      url: /json
    expect:
      status: 201
      json:
        $.killSwitch: true
        $.plan: { not: pro }
        $.missing: { exists: true }
        $.missing_count: { gte: 1, one_of: [1, 2] }
        $.name: { exists: false }
        $.creditBalance: { type: string }
        $.scopes: { length: 2 }
        $.items: { length: { gte: 3 } }
        $.organizationId: { contains: Acme, matches: "^org_" }
        $.ratio: { one_of: [1, 2] }
        $.items[*].status: { each: { equals: active } }
        $.items[0].id: { lt: 1, lte: 0, gt: 1, gte: 2 }
      headers:
        Content-Type: { contains: text/html }
        X-Missing: { exists: true }
      body: { contains: nonexistent }
      time_ms: { lt: 0 }
      schema:
        type: object
        required: [id]
        properties:
          plan: { type: integer }
  - name: never runs
    request:
      url: /json
"#,
    );
    let out = ws.run(&["fail.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    let expected = [
        "status: expected 201, got 200",
        "$.killSwitch: expected true, got false",
        "$.plan: expected not \"pro\", got \"pro\"",
        "$.missing: expected to exist, got nothing (not found)",
        "$.missing_count: expected >= 1, got nothing (not found)",
        "$.missing_count: expected one of [1, 2], got nothing (not found)",
        "$.name: expected not to exist, got \"Layers\"",
        "$.creditBalance: expected type string, got integer (120)",
        "$.scopes: expected length 2, got length 0: []",
        "$.items: expected length >= 3, got length 2: [{\"id\":1",
        "$.organizationId: expected to contain \"Acme\", got \"0b0e3f5c-2d4e-4b8a-9c1d-3e5f7a9b1c2d\"",
        "$.organizationId: expected to match /^org_/, got \"0b0e3f5c-2d4e-4b8a-9c1d-3e5f7a9b1c2d\"",
        "$.ratio: expected one of [1, 2], got 0.5",
        "$.items[1].status: expected \"active\", got \"archived\"",
        "$.items[0].id: expected < 1, got 1",
        "$.items[0].id: expected <= 0, got 1",
        "$.items[0].id: expected > 1, got 1",
        "$.items[0].id: expected >= 2, got 1",
        "header Content-Type: expected to contain \"text/html\", got \"application/json\"",
        "header X-Missing: expected to exist, got nothing (not found)",
        "body: expected to contain \"nonexistent\", got {   \"killSwitch\": false,",
        "time_ms: expected < 0, got ",
        "schema at /: expected required [\"id\"] (schema rule /required), got no property \"id\"",
        "schema at /plan: expected type \"integer\" (schema rule /properties/plan/type), got \"pro\"",
    ];
    let junit = failure_text(&out.case("every kind fails"));
    for line in expected {
        let console_line = match line.strip_prefix("status: expected") {
            Some(rest) => format!("expected status{rest}"),
            None => line.to_string(),
        };
        assert!(
            out.stdout.contains(&console_line),
            "console lacks {console_line:?}:\n{}",
            out.stdout
        );
        assert!(junit.contains(line), "JUnit lacks {line:?}:\n{junit}");
    }
    // The element that holds is not reported.
    assert!(!out.stdout.contains("$.items[0].status"), "{}", out.stdout);
    assert!(
        junit.starts_with("step 1 \"read\": status: expected 201, got 200 (and 23 more)"),
        "{junit}"
    );
    assert!(
        junit.contains("step 2 \"never runs\"")
            && junit.contains("not run: an earlier step did not pass"),
        "{junit}"
    );
}

#[test]
fn status_forms_fail_with_what_was_accepted() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "status.yaml",
        r#"
scenarios:
  - name: a list
    steps:
      - request: { url: /status/200 }
        expect: { status: [201, 202] }
  - name: a class
    steps:
      - request: { url: /status/200 }
        expect: { status: 4xx }
  - name: a quoted code
    steps:
      - request: { url: /status/418 }
        expect: { status: "418" }
"#,
    );
    let out = ws.run(&["status.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    assert!(
        out.stdout
            .contains("expected status one of 201, 202, got 200"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("expected status 4xx, got 200"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("PASS  a quoted code"), "{}", out.stdout);
    assert!(
        failure_text(&out.case("a class")).contains("status: expected 4xx, got 200"),
        "{:?}",
        out.case("a class")
    );
}

#[test]
fn schema_failures_name_the_instance_path_and_the_rule_in_both_drafts() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "schemas/draft7.json",
        r#"{
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "items": { "type": "array", "items": [ { "type": "string" } ] },
    "creditBalance": { "maximum": 100 }
  },
  "additionalProperties": { "not": { "type": "null" } }
}"#,
    );
    ws.write(
        "schema.yaml",
        r#"
scenarios:
  - name: draft 7 from a file
    steps:
      - request: { url: /json }
        expect:
          schema: schemas/draft7.json
  - name: draft 2020-12 inline
    steps:
      - request: { url: /json }
        expect:
          schema:
            $schema: https://json-schema.org/draft/2020-12/schema
            type: object
            properties:
              items:
                items:
                  properties:
                    status: { enum: [active] }
                    tags: { minItems: 1 }
  - name: a body that is not JSON
    steps:
      - request: { url: /text }
        expect:
          schema: { type: object }
"#,
    );
    let out = ws.run(&["schema.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    let draft7 = failure_text(&out.case("draft 7 from a file"));
    for line in [
        "schema at /items/0: expected type \"string\" (schema rule /properties/items/items/0/type), got {\"id\":1",
        "schema at /creditBalance: expected maximum 100 (schema rule /properties/creditBalance/maximum), got 120",
        "schema at /nothing: expected not {\"type\":\"null\"} (schema rule /additionalProperties/not), got ",
    ] {
        assert!(draft7.contains(line), "lacks {line:?}:\n{draft7}");
        assert!(out.stdout.contains(line), "console lacks {line:?}");
    }
    let d2020 = failure_text(&out.case("draft 2020-12 inline"));
    for line in [
        "schema at /items/1/status: expected enum [\"active\"] (schema rule /properties/items/items/properties/status/enum), got \"archived\"",
        "schema at /items/1/tags: expected minItems 1 (schema rule /properties/items/items/properties/tags/minItems), got ",
    ] {
        assert!(d2020.contains(line), "lacks {line:?}:\n{d2020}");
    }
    assert!(!d2020.contains("/items/0/status"), "{d2020}");
    let text = failure_text(&out.case("a body that is not JSON"));
    assert!(
        text.contains("schema: expected a JSON body, got the body is not JSON"),
        "{text}"
    );
}

#[test]
fn matcher_values_are_templates_with_their_json_type() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "typed.yaml",
        r#"
name: templated expectations
vars:
  plan: pro
  floor: 100
  allowed: [active, archived]
steps:
  - request: { url: /json }
    expect:
      json:
        $.plan: "{{ plan }}"
        $.creditBalance: { gte: "{{ floor }}", lt: "{{ floor * 2 }}" }
        $.items[*].status: { each: { one_of: "{{ allowed }}" } }
        $.items[0].status: { one_of: ["{{ allowed[0] }}"] }
  - request: { url: /json }
    expect:
      json:
        $.creditBalance: { gt: "{{ floor * 2 }}" }
"#,
    );
    let out = ws.run(&["typed.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    assert!(
        out.stdout
            .contains("$.creditBalance: expected > 200, got 120"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("step 1 "),
        "the first step holds:\n{}",
        out.stdout
    );
}

// --- captures -----------------------------------------------------------------------------

#[test]
fn captures_keep_their_json_type() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "captures.yaml",
        r#"
name: captures keep their type
steps:
  - name: read the document
    request: { url: /json }
    capture:
      org: $.organizationId
      balance: $.creditBalance
      ratio: $.ratio
      kill: $.killSwitch
      nothing: $.nothing
      statuses: $.items[*].status
      first_item: $.items[0]
      request_id: { header: x-request-id }
      code: { status: true }
      doc: { body: true }
      org_again: { json: $.organizationId }
  - name: read text
    request: { url: /text }
    capture:
      order: { regex: "order (\\d+) confirmed" }
      whole_match: { regex: "token=\\w+" }
      text: { body: true }
  - name: send them back
    request:
      method: POST
      url: /flaky/captures?failures=0
      json:
        org: "{{ org }}"
        balance: "{{ balance }}"
        ratio: "{{ ratio }}"
        kill: "{{ kill }}"
        nothing: "{{ nothing }}"
        statuses: "{{ statuses }}"
        first_item: "{{ first_item }}"
        request_id: "{{ request_id }}"
        code: "{{ code }}"
        doc_plan: "{{ doc.plan }}"
        doc_items: "{{ doc['items'] | length }}"
        org_again: "{{ org_again }}"
        order: "{{ order }}"
        whole_match: "{{ whole_match }}"
        text: "{{ text }}"
        mixed: "code-{{ code }}"
        arithmetic: "{{ balance + code }}"
    expect:
      status: 201
"#,
    );
    let out = ws.run(&["captures.yaml", "--base-url", &srv.base_url]);
    out.expect_code(0);
    let sent = srv.requests("captures");
    assert_eq!(sent.len(), 1);
    let got = body_json(&sent[0]);
    assert_eq!(
        got,
        json!({
            "org": "0b0e3f5c-2d4e-4b8a-9c1d-3e5f7a9b1c2d",
            "balance": 120,
            "ratio": 0.5,
            "kill": false,
            "nothing": null,
            "statuses": ["active", "archived"],
            "first_item": { "id": 1, "status": "active", "tags": ["a"] },
            "request_id": "req_0123456789",
            "code": 200,
            "doc_plan": "pro",
            "doc_items": 2,
            "org_again": "0b0e3f5c-2d4e-4b8a-9c1d-3e5f7a9b1c2d",
            "order": "42",
            "whole_match": "token=abc123",
            "text": "order 42 confirmed; token=abc123; total=19.99",
            "mixed": "code-200",
            "arithmetic": 320,
        })
    );
}

#[test]
fn a_capture_that_finds_nothing_fails_the_step_naming_its_source() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "missing.yaml",
        r#"
name: captures that miss
steps:
  - name: read
    request: { url: /json }
    capture:
      a: $.nope
      b: { header: X-Nope }
      c: { regex: "zzz(\\d+)" }
  - name: read text
    request: { url: /text }
    capture:
      d: $.id
"#,
    );
    let out = ws.run(&["missing.yaml", "--base-url", &srv.base_url]);
    out.expect_code(1);
    let junit = failure_text(&out.case("captures that miss"));
    for line in [
        "capture a: expected a value at $.nope, got nothing; body: {",
        "capture b: expected header X-Nope, got no such header",
        "capture c: expected a match of /zzz(\\d+)/, got nothing; body: {",
    ] {
        assert!(junit.contains(line), "JUnit lacks {line:?}:\n{junit}");
        assert!(out.stdout.contains(line), "console lacks {line:?}");
    }
    // The second step never ran: the first did not pass.
    assert!(!junit.contains("capture d"), "{junit}");
}

// --- templates ----------------------------------------------------------------------------

#[test]
fn template_scope_functions_and_filters() {
    let srv = LanguageServer::start();
    let ws = Workspace::new();
    ws.write(
        "filters.yaml",
        r#"
name: filters
vars:
  user: ann
  password: s3cret
  payload: { a: 1, b: [true, null] }
  greeting: "hello {{ user }}"
steps:
  - request:
      method: POST
      url: /flaky/filters?failures=0
      headers:
        Authorization: "Basic {{ (user ~ ':' ~ password) | b64encode }}"
      query:
        q: "{{ 'a b&c' }}"
      json:
        b64: "{{ 'hello' | b64encode }}"
        unb64: "{{ 'aGVsbG8=' | b64decode }}"
        url: "{{ 'a b&c=d/é' | urlencode }}"
        json_text: "{{ payload | tojson }}"
        sha: "{{ 'abc' | sha256 }}"
        hmac: "{{ 'what do ya want for nothing?' | hmac_sha256('Jefe') }}"
        fallback: "{{ region | default('eu-west') }}"
        env_value: "{{ env.RUNNER_LANGUAGE_TEST }}"
        from_cli: "{{ from_cli }}"
        cli_number: "{{ from_cli | int }}"
        vars_map: "{{ vars.user }}"
        greeting: "{{ greeting }}"
        uuid: "{{ uuid() }}"
        now: "{{ now() }}"
        ts: "{{ timestamp() }}"
        upper: "{{ user | upper }}"
        quoted_number: "{{ '007' }}"
    expect:
      status: 201
"#,
    );
    let out = ws.run_env(
        &[
            "filters.yaml",
            "--base-url",
            &srv.base_url,
            "--var",
            "from_cli=42",
        ],
        &[("RUNNER_LANGUAGE_TEST", "from-the-environment")],
    );
    out.expect_code(0);
    let sent = srv.requests("filters");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].header("authorization"),
        Some("Basic YW5uOnMzY3JldA==")
    );
    let got = body_json(&sent[0]);
    assert_eq!(got["b64"], "aGVsbG8=");
    assert_eq!(got["unb64"], "hello");
    // minijinja's urlencode, like Jinja's, keeps `/`.
    assert_eq!(got["url"], "a%20b%26c%3Dd/%C3%A9");
    let json_text = got["json_text"].as_str().unwrap_or("");
    assert_eq!(
        serde_json::from_str::<Value>(json_text).ok(),
        Some(json!({"a": 1, "b": [true, null]})),
        "tojson gives JSON text: {json_text}"
    );
    assert_eq!(
        got["sha"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        got["hmac"],
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
    assert_eq!(got["fallback"], "eu-west");
    assert_eq!(got["env_value"], "from-the-environment");
    assert_eq!(got["from_cli"], "42", "--var values are text");
    assert_eq!(got["cli_number"], 42);
    assert_eq!(got["vars_map"], "ann");
    assert_eq!(got["greeting"], "hello ann");
    assert!(
        uuid::Uuid::parse_str(got["uuid"].as_str().unwrap_or("")).is_ok(),
        "{got}"
    );
    assert!(
        chrono::DateTime::parse_from_rfc3339(got["now"].as_str().unwrap_or("")).is_ok(),
        "{got}"
    );
    assert!(
        got["ts"].as_i64().is_some_and(|t| t > 1_700_000_000),
        "{got}"
    );
    assert_eq!(got["upper"], "ANN");
    assert_eq!(got["quoted_number"], "007");
}
