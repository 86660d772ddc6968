//! `--dry-run`: every request rendered and printed (masked), nothing sent; values
//! that would be captured show as placeholders.

#[path = "support/safety.rs"]
mod safety;

use safety::{Recorder, run, write};

const KEY: &str = "lp_test_01HX9Y6K7EJ4T2AB_4QZpNbT0w5yqL9cVf3sXo2hR8mJd6kEaUuWiZgPn-tC";

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_renders_everything_and_sends_nothing() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let smoke = safety::repo().join("scenarios/smoke.yaml");
    let ran = run(
        &[
            "run",
            smoke.to_str().unwrap(),
            "--dry-run",
            "--base-url",
            &server.base_url,
            "--junit",
            junit.to_str().unwrap(),
        ],
        &[("LAYERS_API_KEY", KEY), ("GITHUB_RUN_ID", "4242")],
    )
    .await;
    ran.expect_code(0);
    assert_eq!(server.connection_count(), 0, "a dry run sent something");
    let out = &ran.stdout;
    // Every request, with its headers and body, the key masked.
    assert!(out.contains("> GET "), "{out}");
    assert!(out.contains("/v1/whoami"), "{out}");
    assert!(out.contains("\"customerExternalId\":\"ci-4242\""), "{out}");
    assert!(
        out.contains("X-Api-Key: lp_test_01HX9Y6K7EJ4T2AB_***"),
        "{out}"
    );
    assert!(!out.contains(&KEY[25..]), "{out}");
    // Captures the run would take show as readable placeholders, also in URLs.
    assert!(
        out.contains("/v1/projects/<project_id: captured at run time>/ingest/appstore"),
        "{out}"
    );
    assert!(
        out.contains("/v1/jobs/<job_id: captured at run time>/cancel"),
        "{out}"
    );
    assert!(out.contains("dry run: not sent"), "{out}");
    // The report calls the scenario skipped (nothing was checked).
    let counts = safety::check_junit(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(counts.skipped, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_without_a_base_url_starts_no_mock() {
    let smoke = safety::repo().join("scenarios/smoke.yaml");
    let ran = run(&["run", smoke.to_str().unwrap(), "--dry-run"], &[]).await;
    ran.expect_code(0);
    assert!(
        !ran.stderr.contains("embedded Layers mock at"),
        "{}",
        ran.stderr
    );
    assert!(!ran.stdout.contains("spend"), "{}", ran.stdout);
    assert!(
        ran.stdout
            .contains("/v1/jobs/<job_id: captured at run time>/cancel")
    );
}

/// A dry run shows what a real run would refuse, and still renders it.
#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_tells_what_a_real_run_would_refuse() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "costly.yaml",
        "name: costly\nsteps:\n  - name: publish\n    request: { method: POST, url: /v1/content/cnt_1/publish, json: { targets: [] } }\n",
    );
    let ran = run(
        &["run", &file, "--dry-run", "--base-url", &server.base_url],
        &[],
    )
    .await;
    ran.expect_code(0);
    assert_eq!(server.connection_count(), 0);
    ran.stderr_has("a real run would refuse 1 step");
    ran.stderr_has("costs post");
    ran.stdout_has("> POST ");
    ran.stdout_has("a real run would refuse it");
}
