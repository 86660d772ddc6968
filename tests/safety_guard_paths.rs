//! The cost guard matches a step on the path as the server will see it (decoded,
//! dot segments resolved, slashes merged, any case), with every value known before
//! the run rendered in; what it can know before sending it refuses before sending
//! (exit 2), from `validate` and from `run` alike. And the cancel a costly start
//! needs must really cancel that job.

#[path = "support/safety.rs"]
mod safety;

use safety::{Recorder, run, write};

/// A scenario whose second step starts an App Store ingest through `url`, after a
/// harmless first step; it declares no cost, and cancels properly.
fn ingest_at(url: &str) -> String {
    format!(
        r#"name: sneaky ingest
vars:
  pid: p1
steps:
  - name: harmless first
    request: {{ url: /v1/whoami }}
  - name: start
    request: {{ method: POST, url: "{url}", json: {{ iosBundleId: com.example.app }} }}
    capture: {{ job_id: $.jobId }}
finally:
  - name: cancel
    request: {{ method: POST, url: "/v1/jobs/{{{{ job_id }}}}/cancel" }}
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_costly_path_written_differently_is_refused_before_anything_is_sent() {
    let forms = [
        "/v1/projects/{{ pid }}/ingest/app%73tore",
        "/v1/projects/{{ pid }}/ingest/APPSTORE",
        "/v1/projects/{{ pid }}/x/../ingest/appstore",
        "/v1/projects/{{ pid }}/x/%2e%2e/ingest/appstore",
        "/v1/projects/{{ pid }}/./ingest/appstore",
        "/v1/projects/{{ pid }}/ingest/./appstore",
        "/v1//projects/{{ pid }}//ingest/appstore",
        "/v1/projects/{{ pid }}/ingest%2Fappstore",
        "/v1/projects/{{ pid }}/ingest%252Fappstore",
        "/v1/projects/{{ pid }}/ingest/appstore;x=1",
        "/v1/projects/{{ pid }}/ingest\\\\appstore",
        "/v1/projects/p1/x%2F..%2Fingest/appstore",
    ];
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    for (i, url) in forms.iter().enumerate() {
        let file = write(dir.path(), &format!("f{i}.yaml"), &ingest_at(url));
        for args in [
            vec!["validate", &file],
            vec!["run", &file, "--base-url", &server.base_url],
        ] {
            let ran = run(&args, &[]).await;
            assert_eq!(ran.code(), Some(2), "{url} {args:?}\n{}", ran.both());
            assert!(ran.stderr.contains("costs scrape"), "{url}\n{}", ran.stderr);
            assert!(
                ran.stderr.contains("step \"start\""),
                "{url}\n{}",
                ran.stderr
            );
            assert!(
                ran.stderr.contains("nothing was sent"),
                "{url}\n{}",
                ran.stderr
            );
        }
    }
    assert_eq!(server.connection_count(), 0, "{:?}", server.requests());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_base_url_path_is_joined_before_matching() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "base.yaml",
        &ingest_at("/projects/{{ pid }}/ingest/appstore"),
    );
    let base = format!("{}/v1", server.base_url);
    let ran = run(&["run", &file, "--base-url", &base], &[]).await;
    ran.expect_code(2);
    ran.stderr_has("path /v1/projects/p1/ingest/appstore");
    // A file's own base_url counts the same, for `validate` too.
    let with_base = write(
        dir.path(),
        "file_base.yaml",
        &format!(
            "base_url: {base}\n{}",
            ingest_at("/projects/{{ pid }}/ingest/appstore")
        ),
    );
    let ran = run(&["validate", &with_base], &[]).await;
    ran.expect_code(2);
    let ran = run(&["run", &with_base], &[]).await;
    ran.expect_code(2);
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_encoded_slash_cannot_reach_a_costly_handler_of_a_decoding_server() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let catalog = write(
        dir.path(),
        "costs.yaml",
        "endpoints:\n  - endpoint: POST /status/{code}\n    costs: [teapot]\n",
    );
    let file = write(
        dir.path(),
        "s.yaml",
        "name: teapot\nsteps:\n  - name: brew\n    request: { method: POST, url: /status%2F418 }\n    expect: { status: 418 }\n",
    );
    for cmd in ["validate", "run"] {
        let ran = run(
            &[
                cmd,
                &file,
                "--cost-catalog",
                &catalog,
                "--base-url",
                &server.base_url,
            ][..if cmd == "validate" { 4 } else { 6 }],
            &[],
        )
        .await;
        assert_eq!(ran.code(), Some(2), "{cmd}\n{}", ran.both());
        ran.stderr_has("costs teapot");
    }
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_matrix_case_is_judged_by_its_own_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "m.yaml",
        r#"name: "ingest {{ source }}"
matrix:
  source: [appstore, github]
steps:
  - name: start
    request: { method: POST, url: "/v1/projects/p1/ingest/{{ source }}" }
    capture: { job_id: $.jobId }
finally:
  - name: cancel
    request: { method: POST, url: "/v1/jobs/{{ job_id }}/cancel" }
"#,
    );
    let ran = run(&["validate", &file], &[]).await;
    ran.expect_code(2);
    let refusals: Vec<&str> = ran
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(refusals.len(), 2, "{}", ran.stderr);
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("scenario `ingest appstore`") && l.contains("App Store ingest")),
        "{}",
        ran.stderr
    );
    assert!(
        refusals
            .iter()
            .any(|l| l.contains("scenario `ingest github`") && l.contains("GitHub ingest")),
        "{}",
        ran.stderr
    );
    // A case that names a harmless endpoint is not refused at all.
    let harmless = write(
        dir.path(),
        "h.yaml",
        "name: \"post {{ what }}\"\nmatrix:\n  what: [whoami, projects]\nsteps:\n  - request: { method: POST, url: \"/v1/{{ what }}\" }\n",
    );
    let ran = run(&["validate", &harmless], &[]).await;
    ran.expect_code(0);
}

/// The `finally` step must send the cancel with, in the place of the job id, what
/// the starting step captured, and must not be skipped.
#[tokio::test(flavor = "multi_thread")]
async fn only_a_cancel_of_the_started_job_satisfies_the_rule() {
    let start = r#"name: ingest
allow_cost: [scrape]
steps:
  - name: start
    request: { method: POST, url: /v1/projects/p1/ingest/appstore }
    capture: { job_id: $.jobId }
  - name: other
    request: { url: /v1/whoami }
    capture: { other_id: $.id }
finally:
"#;
    let cases: [(&str, &str, bool); 7] = [
        (
            "the captured id",
            "  - request: { method: POST, url: \"/v1/jobs/{{ job_id }}/cancel\" }\n",
            true,
        ),
        (
            "through an include",
            "  - include: cancel.yaml\n    with: { id: \"{{ job_id }}\" }\n",
            true,
        ),
        (
            "skipped",
            "  - request: { method: POST, url: \"/v1/jobs/{{ job_id }}/cancel\" }\n    skip: later\n",
            false,
        ),
        (
            "a literal id",
            "  - request: { method: POST, url: /v1/jobs/job_123/cancel }\n",
            false,
        ),
        (
            "another capture",
            "  - request: { method: POST, url: \"/v1/jobs/{{ other_id }}/cancel\" }\n",
            false,
        ),
        (
            "the id outside the path",
            "  - request: { method: POST, url: \"/v1/jobs/x/cancel?job={{ job_id }}\" }\n",
            false,
        ),
        (
            "not a cancel",
            "  - request: { method: GET, url: \"/v1/jobs/{{ job_id }}\" }\n",
            false,
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "cancel.yaml",
        "- request: { method: POST, url: \"/v1/jobs/{{ id }}/cancel\" }\n",
    );
    for (i, (what, finally, ok)) in cases.iter().enumerate() {
        let file = write(
            dir.path(),
            &format!("c{i}.yaml"),
            &format!("{start}{finally}"),
        );
        let ran = run(&["validate", &file], &[]).await;
        if *ok {
            assert_eq!(ran.code(), Some(0), "{what}\n{}", ran.both());
        } else {
            assert_eq!(ran.code(), Some(2), "{what}\n{}", ran.both());
            assert!(
                ran.stderr.contains("does not cancel it"),
                "{what}\n{}",
                ran.stderr
            );
        }
    }
    // A start that captures nothing cannot be cancelled.
    let file = write(
        dir.path(),
        "nocapture.yaml",
        &start
            .replace("    capture: { job_id: $.jobId }\n", "")
            .replace(
                "finally:\n",
                "finally:\n  - request: { method: POST, url: /v1/jobs/j1/cancel }\n",
            ),
    );
    let ran = run(&["validate", &file], &[]).await;
    ran.expect_code(2);
    ran.stderr_has("it captures nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_never_prints_a_secret_rendered_into_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "secret.yaml",
        &ingest_at("/v1/projects/{{ pid }}/ingest/app%73tore").replace(
            "  pid: p1\n",
            "  pid: prj-s3cr3t-0123456789\nsecrets: [pid]\n",
        ),
    );
    let ran = run(&["validate", &file], &[]).await;
    ran.expect_code(2);
    ran.stderr_has("costs scrape");
    assert!(!ran.stderr.contains("s3cr3t"), "{}", ran.stderr);
    // A `--var` named like a secret is masked in the path shown.
    let file = write(
        dir.path(),
        "var.yaml",
        &ingest_at("/v1/projects/{{ MY_TOKEN }}/ingest/app%73tore"),
    );
    let ran = run(
        &["validate", &file, "--var", "MY_TOKEN=tok-s3cr3t-0123456789"],
        &[],
    )
    .await;
    ran.expect_code(2);
    ran.stderr_has("path /v1/projects/***");
    assert!(!ran.stderr.contains("s3cr3t"), "{}", ran.stderr);
}
