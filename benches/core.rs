//! Micro-benchmarks of the runner's own work per scenario: loading files,
//! rendering templates, JSONPath queries, assertion evaluation and JUnit writing.
//! Run with `cargo bench --bench core`; see docs/performance.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use runner::diagnostic::Loc;
use runner::engine::assert::{Observed, evaluate};
use runner::engine::capture;
use runner::events::{Outcome, Phase, RequestRecord, ResponseRecord, ScenarioReport, StepReport};
use runner::http::Response;
use runner::report::junit::{Granularity, render};
use runner::scenario::values::JsonPathSpec;
use runner::scenario::{Action, Scenario};
use runner::template::{Scope, Templates};

/// The 4-request smoke flow of bench/smoke.yaml, with more to check (the JSON,
/// regex and header assertions the `assert` group measures) and a templated
/// variable; a file of its own for that reason.
fn smoke_yaml(i: usize) -> String {
    format!(
        r#"name: smoke {i}
allow_cost: [scrape]
headers:
  X-Api-Key: "lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA"
vars:
  run_id: "{{{{ timestamp() }}}}"
steps:
  - name: whoami
    request:
      method: GET
      url: /v1/whoami
    expect:
      status: 200
      json:
        $.plan: pro
        $.scopes:
          contains: projects:write
      headers:
        Content-Type:
          contains: json
  - name: create throwaway project
    request:
      method: POST
      url: /v1/projects
      headers:
        Idempotency-Key: "{{{{ uuid() }}}}"
      json:
        name: ci-smoke
        customerExternalId: "ci-{{{{ run_id }}}}"
        timezone: UTC
        primaryLanguage: en
    expect:
      status: [200, 201]
      json:
        $.id:
          matches: "^prj_"
        $.timezone: UTC
    capture:
      project_id: $.id
  - name: start App Store ingest
    request:
      method: POST
      url: "/v1/projects/{{{{ project_id }}}}/ingest/appstore"
      headers:
        Idempotency-Key: "{{{{ uuid() }}}}"
      json:
        iosBundleId: com.example.doesnotexist
    expect:
      status: 202
    capture:
      job_id: $.jobId
finally:
  - name: cancel the ingest
    request:
      method: POST
      url: "/v1/jobs/{{{{ job_id }}}}/cancel"
      headers:
        Idempotency-Key: "{{{{ uuid() }}}}"
    expect:
      status: [200, 202, 409]
"#
    )
}

fn write_suite(dir: &Path, n: usize) -> PathBuf {
    let d = dir.join(format!("suite-{n}"));
    std::fs::create_dir_all(&d).unwrap();
    for i in 0..n {
        std::fs::write(d.join(format!("s{i:05}.yaml")), smoke_yaml(i)).unwrap();
    }
    d
}

fn load(dir: &Path) -> (Vec<Scenario>, Templates) {
    match runner::scenario::load::load_suite(&[dir.to_path_buf()], &[]) {
        Ok(x) => x,
        Err(d) => panic!("the bench suite does not load:\n{}", d.render()),
    }
}

fn response(status: u16, body: &str) -> Response {
    Response {
        status,
        version: "HTTP/1.1".into(),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-request-id".into(), "req_01JBENCH".into()),
        ],
        body: Bytes::from(body.to_string()),
        truncated: false,
        elapsed: Duration::from_millis(1),
        body_problem: None,
        wire_bytes: body.len(),
    }
}

const WHOAMI: &str = r#"{"keyId":"01JMOCKDEM0KEY00","orgId":"org_bench","plan":"pro","scopes":["projects:write","ingest:write"]}"#;
const PROJECT: &str = r#"{"id":"prj_01JBENCH0000000000000000","name":"ci-smoke","timezone":"UTC","primaryLanguage":"en"}"#;

fn bench_loading(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("load");
    for n in [1usize, 100, 1000] {
        let dir = write_suite(tmp.path(), n);
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(if n >= 1000 { 10 } else { 30 });
        g.bench_function(format!("{n} files (parse, check, compile)"), |b| {
            b.iter(|| black_box(load(&dir)))
        });
    }
    g.finish();
}

/// A loaded scenario and a scope with its captures, as the engine has them.
fn loaded(tmp: &Path) -> (Scenario, Templates, Arc<Scope>) {
    let dir = write_suite(tmp, 1);
    let (mut scenarios, templates) = load(&dir);
    let s = scenarios.remove(0);
    let mut scope = Scope::default();
    scope
        .vars
        .insert("run_id".into(), minijinja::Value::from("1700000000"));
    scope.captures.insert(
        "project_id".into(),
        minijinja::Value::from("prj_01JBENCH0000000000000000"),
    );
    scope
        .captures
        .insert("job_id".into(), minijinja::Value::from("job_01JBENCH"));
    (s, templates, Arc::new(scope))
}

fn request_of(s: &Scenario, i: usize) -> &runner::scenario::model::RequestDoc {
    match &s.steps[i].action {
        Action::Request(r) => r,
        _ => panic!("not a request step"),
    }
}

fn bench_templates(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let (s, templates, scope) = loaded(tmp.path());
    let scope_value = scope.to_value();
    let mut g = c.benchmark_group("template");
    let url = &request_of(&s, 2).url;
    g.bench_function("url with a capture", |b| {
        b.iter(|| black_box(templates.render_str(url, &scope_value).unwrap()))
    });
    let key = &request_of(&s, 1).headers["Idempotency-Key"][0];
    g.bench_function("uuid() header", |b| {
        b.iter(|| black_box(templates.render_str(key, &scope_value).unwrap()))
    });
    let json = request_of(&s, 1).json.as_ref().unwrap();
    g.bench_function("JSON body with a var", |b| {
        b.iter(|| black_box(templates.render_json(json, &scope_value).unwrap()))
    });
    let headers: Vec<(String, &runner::scenario::values::Tpl)> = s
        .headers
        .iter()
        .flat_map(|(k, vs)| vs.iter().map(move |v| (k.clone(), v)))
        .collect();
    let req = request_of(&s, 1);
    g.bench_function("whole request (prepare)", |b| {
        b.iter(|| {
            let render = runner::engine::request::Render {
                templates: &templates,
                scope: &scope_value,
                secrets: None,
            };
            black_box(
                runner::engine::request::prepare(
                    &render,
                    Some("http://127.0.0.1:8080"),
                    &headers,
                    req,
                    &s.file,
                )
                .ok(),
            )
        })
    });
    g.finish();
}

fn bench_jsonpath(c: &mut Criterion) {
    let mut g = c.benchmark_group("jsonpath");
    let simple = JsonPathSpec::parse("$.id".into(), Loc::UNKNOWN);
    let deep = JsonPathSpec::parse("$.data[*].owner.name".into(), Loc::UNKNOWN);
    let filter = JsonPathSpec::parse("$.data[?@.score > 50].id".into(), Loc::UNKNOWN);
    let small: serde_json::Value = serde_json::from_str(PROJECT).unwrap();
    let items: Vec<serde_json::Value> = (0..100)
        .map(|i| serde_json::json!({"id": format!("c_{i}"), "score": i, "owner": {"name": format!("o{i}")}}))
        .collect();
    let big = serde_json::json!({ "data": items, "nextCursor": null });
    g.bench_function("parse $.data[?@.score > 50].id", |b| {
        b.iter(|| black_box(serde_json_path::JsonPath::parse("$.data[?@.score > 50].id").ok()))
    });
    let q = |p: &JsonPathSpec, v: &serde_json::Value| p.path.as_ref().unwrap().query(v).all().len();
    g.bench_function("$.id on a project", |b| {
        b.iter(|| black_box(q(&simple, &small)))
    });
    g.bench_function("$.data[*].owner.name on 100 items", |b| {
        b.iter(|| black_box(q(&deep, &big)))
    });
    g.bench_function("filter on 100 items", |b| {
        b.iter(|| black_box(q(&filter, &big)))
    });
    g.finish();
}

fn bench_assertions(c: &mut Criterion) {
    let tmp = tempfile::tempdir().unwrap();
    let (s, templates, scope) = loaded(tmp.path());
    let scope_value = scope.to_value();
    let mut g = c.benchmark_group("assert");
    let whoami = response(200, WHOAMI);
    let project = response(201, PROJECT);
    g.bench_function("observe (parse the body once)", |b| {
        b.iter(|| black_box(Observed::new(&project).json.is_ok()))
    });
    let obs_w = Observed::new(&whoami);
    g.bench_function("whoami: status, 2 JSON, 1 header", |b| {
        b.iter(|| {
            black_box(evaluate(
                &s.steps[0].expect,
                &obs_w,
                &templates,
                &scope_value,
                false,
            ))
        })
    });
    let obs_p = Observed::new(&project);
    g.bench_function("project: status, regex, equality", |b| {
        b.iter(|| {
            black_box(evaluate(
                &s.steps[1].expect,
                &obs_p,
                &templates,
                &scope_value,
                false,
            ))
        })
    });
    let (name, cap) = &s.steps[1].capture[0];
    g.bench_function("capture $.id", |b| {
        b.iter(|| black_box(capture::take(name, cap, &obs_p).is_ok()))
    });
    g.finish();
}

fn step_report(number: usize, outcome: Outcome) -> StepReport {
    StepReport {
        name: format!("step {number}"),
        phase: if number == 4 {
            Phase::Finally
        } else {
            Phase::Main
        },
        number,
        location: "bench/s00001.yaml:10".into(),
        outcome,
        message: None,
        failures: Vec::new(),
        passed: Vec::new(),
        redirects: Vec::new(),
        delivery: None,
        request: Some(RequestRecord {
            method: "POST".into(),
            url: "http://127.0.0.1:8080/v1/projects/prj_01JBENCH/ingest/appstore".into(),
            headers: vec![(
                "Idempotency-Key".into(),
                "6f1c0b2e-0000-4000-8000-000000000000".into(),
            )],
            body: Some(r#"{"iosBundleId":"com.example.doesnotexist"}"#.into()),
        }),
        response: Some(ResponseRecord {
            status: 202,
            version: "HTTP/1.1".into(),
            headers: vec![("content-type".into(), "application/json".into())],
            body: r#"{"jobId":"job_01JBENCH","status":"queued"}"#.into(),
            body_bytes: 41,
            truncated: false,
            time_ms: 1,
        }),
        failed_attempts: Vec::new(),
        attempts: 1,
        duration: Duration::from_micros(300),
        assertions: 1,
    }
}

fn scenario_reports(n: usize) -> Vec<ScenarioReport> {
    (0..n)
        .map(|i| ScenarioReport {
            index: i,
            name: format!("smoke {i}"),
            file: format!("bench/s{i:05}.yaml"),
            line: 1,
            flaky: false,
            previous_attempts: Vec::new(),
            classname: format!("bench.s{i:05}"),
            tags: vec!["smoke".into()],
            outcome: Outcome::Passed,
            message: None,
            interrupted: false,
            started_at: "2026-01-01T00:00:00Z".into(),
            duration: Duration::from_millis(2),
            steps: (1..=4).map(|k| step_report(k, Outcome::Passed)).collect(),
            masked_with: None,
        })
        .collect()
}

fn bench_junit(c: &mut Criterion) {
    let mut g = c.benchmark_group("junit");
    for n in [500usize, 5000] {
        let reports = scenario_reports(n);
        g.throughput(Throughput::Elements(n as u64));
        g.sample_size(if n >= 5000 { 10 } else { 30 });
        g.bench_function(format!("{n} scenarios"), |b| {
            b.iter_batched(
                || (),
                |_| {
                    black_box(
                        render(&reports, Granularity::Scenario, Duration::from_secs(1))
                            .unwrap()
                            .len(),
                    )
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_loading,
    bench_templates,
    bench_jsonpath,
    bench_assertions,
    bench_junit
);
criterion_main!(benches);
