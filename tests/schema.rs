//! The JSON Schema of scenario files: the committed copy is current, `runner
//! schema` prints it, it accepts every shipped scenario and rejects typos.

#[path = "support/dx.rs"]
mod dx;

use std::path::{Path, PathBuf};
use std::time::Duration;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn validator() -> jsonschema::Validator {
    let schema: serde_json::Value =
        serde_json::from_str(&runner::schema::scenario_schema_json()).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// YAML read as the runner and editors read it: `yes` and `no` are text.
fn yaml_to_json(text: &str) -> serde_json::Value {
    let options = serde_saphyr::options! { strict_booleans: true };
    serde_saphyr::from_str_with_options::<serde_json::Value>(text, options)
        .expect("the YAML parses")
}

/// Every YAML file below `dir`, sorted.
fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(yaml_files(&p));
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Scenario files people are meant to copy: the shipped suite. Included step
/// files (a bare list of steps) are not scenarios and have no modeline.
fn shipped_scenarios() -> Vec<PathBuf> {
    yaml_files(&root().join("scenarios"))
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            !text
                .lines()
                .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .is_some_and(|l| l.starts_with("- "))
        })
        .collect()
}

#[test]
fn the_committed_schema_is_current() {
    let path = root().join(runner::schema::SCHEMA_PATH);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = runner::schema::scenario_schema_json();
    assert!(
        committed == generated,
        "{} is stale: the scenario types changed. Regenerate it with\n\n    cargo run -- schema > schemas/scenario.schema.json\n\nand commit the result.",
        path.display()
    );
}

#[test]
fn runner_schema_prints_the_schema() {
    let out = dx::run_with_limit(&root(), &["schema"], &[], Duration::from_secs(60));
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    assert_eq!(out.stdout, runner::schema::scenario_schema_json());
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["title"], "runner scenario file");
}

/// Every property in the schema says what it is for and shows an example.
#[test]
fn every_field_has_a_description_and_an_example() {
    let schema: serde_json::Value =
        serde_json::from_str(&runner::schema::scenario_schema_json()).expect("JSON");
    let mut missing = Vec::new();
    let mut objects = vec![("(root)".to_string(), &schema)];
    if let Some(defs) = schema["definitions"].as_object() {
        objects.extend(defs.iter().map(|(k, v)| (k.clone(), v)));
    }
    let mut fields = 0;
    for (owner, obj) in objects {
        let Some(props) = obj["properties"].as_object() else {
            continue;
        };
        for (name, prop) in props {
            fields += 1;
            if prop["description"].as_str().is_none_or(str::is_empty) {
                missing.push(format!("{owner}.{name}: no description"));
            }
            if prop["examples"].as_array().is_none_or(Vec::is_empty) {
                missing.push(format!("{owner}.{name}: no example"));
            }
        }
    }
    assert!(fields > 50, "only {fields} fields found");
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn shipped_scenarios_start_with_the_schema_modeline_and_satisfy_it() {
    let files = shipped_scenarios();
    assert!(!files.is_empty(), "no shipped scenarios found");
    let v = validator();
    let schema_file = root().join(runner::schema::SCHEMA_PATH);
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let first = text.lines().next().unwrap_or("");
        let target = first
            .strip_prefix("# yaml-language-server: $schema=")
            .unwrap_or_else(|| panic!("{} does not start with the modeline", f.display()));
        let resolved = f.parent().expect("a folder").join(target);
        assert_eq!(
            resolved.canonicalize().ok(),
            schema_file.canonicalize().ok(),
            "{}: the modeline points at {target}",
            f.display()
        );
        let doc = yaml_to_json(&text);
        let errors: Vec<String> = v
            .iter_errors(&doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{}:\n{}", f.display(), errors.join("\n"));
    }
}

/// The runnable examples of the docs (```yaml blocks starting with `# example:`),
/// except those meant to be refused (`# expect-exit: 2`): (where, text).
fn docs_examples() -> Vec<(String, String)> {
    let mut docs = vec![root().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        docs.extend(
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "md")),
        );
    }
    docs.sort();
    let mut out = Vec::new();
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap_or_default();
        let mut lines = text.lines().enumerate();
        while let Some((n, line)) = lines.next() {
            if line.trim_start() != "```yaml" {
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            let mut body = String::new();
            for (_, l) in lines.by_ref() {
                if l.trim_start().starts_with("```") {
                    break;
                }
                body.push_str(
                    l.get(indent.min(l.len() - l.trim_start().len())..)
                        .unwrap_or(""),
                );
                body.push('\n');
            }
            let header: Vec<&str> = body.lines().take_while(|l| l.starts_with('#')).collect();
            let is_example = header.first().is_some_and(|l| l.starts_with("# example:"));
            let refused = header
                .iter()
                .any(|l| l.replace(' ', "") == "#expect-exit:2");
            if is_example && !refused {
                out.push((format!("{}:{}", doc.display(), n + 1), body));
            }
        }
    }
    out
}

#[test]
fn the_docs_examples_satisfy_the_schema() {
    let examples = docs_examples();
    assert!(
        examples.len() >= 20,
        "only {} examples found",
        examples.len()
    );
    let v = validator();
    let mut problems = Vec::new();
    for (at, text) in examples {
        let doc = yaml_to_json(&text);
        for e in v.iter_errors(&doc) {
            problems.push(format!("{at}: {e} at {}", e.instance_path()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_feature_of_the_format_is_accepted() {
    let doc = yaml_to_json(
        r#"
name: all the keys
description: every key of the format once
base_url: http://127.0.0.1:8080
vars: { limit: 10, nested: { a: [1, 2] } }
headers: { X-Api-Key: "{{ env.LAYERS_API_KEY }}", X-Count: 3 }
secrets: [api_key]
tags: [smoke]
allow_cost: [ingest]
timeout: 2m
step_timeout: 10s
retries: 1
matrix: { plan: [free, pro] }
steps:
  - name: every request body kind
    request:
      method: post
      url: /v1/things
      headers: { Idempotency-Key: "{{ uuid() }}" }
      query: { limit: "{{ limit }}" }
      json: { name: x, list: [1, true, null] }
    expect:
      status: [200, "2xx"]
      json:
        $.id: { exists: true, type: string, matches: "^t_" }
        $.items: { length: { gte: 1 }, each: { type: object } }
        $.name: smoke
        $.tags: { contains: a, not: { one_of: [b, c] } }
        $.n: { lt: 5, lte: 5, gt: 0, gte: 0, equals: 3 }
      headers: { Content-Type: { contains: json } }
      body: { contains: "{" }
      time_ms: { lt: 2000 }
      schema: schemas/thing.json
    capture:
      id: $.id
      loc: { header: Location }
      tok: { regex: "t=([a-z]+)" }
      code: { status: true }
      all: { body: true }
      j: { json: $.a }
    retry: { until: { status: 200 }, attempts: 3, interval: 1s, backoff: 2 }
    retries: 0
    timeout: 5s
    delay: 100ms
  - request: { url: /a, body: text }
    skip: not today
  - request: { url: /a, form: { a: b } }
  - request: { url: /a, multipart: { t: text, f: { file: a.png, filename: a.png, content_type: image/png } } }
  - request: { url: /a, body_file: data.json }
  - include: shared.yaml
    with: { a: 1 }
  - wait_webhook: { event: job.completed, within: 30s, secret: s3cr3t }
finally:
  - request: { method: DELETE, url: "/a/{{ id }}" }
"#,
    );
    let errors: Vec<String> = validator()
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn typos_and_wrong_types_are_rejected() {
    let v = validator();
    let smoke = std::fs::read_to_string(root().join("scenarios/smoke.yaml")).expect("smoke");
    assert!(v.is_valid(&yaml_to_json(&smoke)));
    for (from, to) in [
        ("status:", "stauts:"),
        ("steps:", "stpes:"),
        ("request:", "reqest:"),
        ("url:", "ulr:"),
        ("capture:", "captrue:"),
        ("project_id: $.id", "project_id: id"),
        ("status: 202", "status: ok"),
    ] {
        let broken = smoke.replacen(from, to, 1);
        assert_ne!(broken, smoke, "{from} not found in smoke.yaml");
        assert!(
            !v.is_valid(&yaml_to_json(&broken)),
            "the schema accepts `{to}` in place of `{from}`"
        );
    }
    // The same corpus files the runner refuses for their shape.
    let corpus = root().join("tests/corpus/invalid");
    for name in [
        "typo-name.yaml",
        "typo-steps.yaml",
        "typo-vars.yaml",
        "typo-headers.yaml",
        "typo-finally.yaml",
        "typo-request.yaml",
        "typo-url.yaml",
        "typo-method.yaml",
        "typo-expect.yaml",
        "typo-status.yaml",
        "typo-capture.yaml",
        "typo-retry.yaml",
        "typo-wait-webhook.yaml",
        "typo-matcher.yaml",
        "typo-capture-kind.yaml",
        "typo-multipart-file.yaml",
        "typo-tags.yaml",
        "typo-description.yaml",
        "typo-json-in-expect.yaml",
        "typo-query.yaml",
        "typo-step-timeout.yaml",
        "typo-request-headers.yaml",
        "request-as-text.yaml",
        "missing-space-after-colon.yaml",
        "wrong-type-retries.yaml",
        "wrong-type-steps.yaml",
        "wrong-type-headers.yaml",
        "wrong-type-status.yaml",
        "bad-duration.yaml",
        "bad-backoff-type.yaml",
        "exists-not-bool.yaml",
        "unknown-json-type.yaml",
        "unknown-method.yaml",
        "missing-url.yaml",
        "jsonpath-without-dollar.yaml",
    ] {
        let text = std::fs::read_to_string(corpus.join(name)).expect(name);
        assert!(
            !v.is_valid(&yaml_to_json(&text)),
            "the schema accepts {name}"
        );
    }
}
