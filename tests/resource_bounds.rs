//! A run stays bounded whatever a file sends: matrix cases in all, rendered template
//! text in all; and the smaller file and command-line mistakes of issue 12 end in a
//! clear exit 2 rather than retries or a wrong message.

#[path = "support/safety.rs"]
mod safety;

use safety::{Recorder, run, write};

/// A file whose matrix has 100 × 100 cases.
fn big_matrix(i: usize) -> String {
    let values: Vec<String> = (0..100).map(|n| n.to_string()).collect();
    format!(
        "name: m{i}\nmatrix:\n  a: [{0}]\n  b: [{0}]\nsteps:\n  - request: {{ url: /v1/whoami }}\n",
        values.join(", ")
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_matrix_cases_of_a_run_are_capped_in_all() {
    let dir = tempfile::tempdir().unwrap();
    // 6 × 10 000 cases: each matrix is under its own cap, together they are not.
    for i in 0..6 {
        write(dir.path(), &format!("m{i}.yaml"), &big_matrix(i));
    }
    let folder = dir.path().to_str().unwrap();
    let ran = run(&["validate", folder], &[]).await;
    ran.expect_code(2);
    ran.stderr_has("the matrices of this run expand to more than 50000 cases in all");
    // Names a file and the line of its scenario.
    assert!(
        (0..6).any(|i| ran.stderr.contains(&format!("m{i}.yaml:1:"))),
        "{}",
        ran.stderr
    );
    // Five of them fit.
    std::fs::remove_file(dir.path().join("m5.yaml")).unwrap();
    let ran = run(&["validate", folder], &[]).await;
    ran.expect_code(0);
    let _ = Recorder::ok;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_cannot_be_built_is_a_clear_error_never_retried() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    // Known in the file: refused before anything is sent, by validate and run.
    let literal = [
        (
            "header.yaml",
            "name: h\nsteps:\n  - request:\n      url: /x\n      headers: { X-Note: \"a\\r\\nX-Forged: 1\" }\n",
            "holds a line break",
        ),
        (
            "name.yaml",
            "name: n\nsteps:\n  - request:\n      url: /x\n      headers: { \"X Note\": v }\n",
            "is not a valid header name",
        ),
        (
            "ftp.yaml",
            "name: f\nsteps:\n  - request: { url: \"ftp://example.com/x\" }\n",
            "`ftp://` URLs cannot be sent",
        ),
        (
            "ctype.yaml",
            "name: c\nsteps:\n  - request:\n      method: POST\n      url: /x\n      multipart:\n        f: { file: a.bin, content_type: \"not a type\" }\n",
            "`not a type` is not a content type",
        ),
        (
            "zero.yaml",
            "name: z\nsteps:\n  - request: { url: /x }\n    timeout: 0ms\n",
            "`timeout` of 0 lets no request through",
        ),
    ];
    for (name, text, says) in literal {
        let file = write(dir.path(), name, text);
        for args in [
            vec!["validate", &file],
            vec!["run", &file, "--base-url", &server.base_url],
        ] {
            let ran = run(&args, &[]).await;
            assert_eq!(ran.code(), Some(2), "{name} {args:?}\n{}", ran.both());
            assert!(ran.stderr.contains(says), "{name}\n{}", ran.stderr);
        }
    }
    // Known only once rendered: the step errors at once, unsent and not retried.
    let file = write(
        dir.path(),
        "rendered.yaml",
        "name: r\nsteps:\n  - request: { url: /v1/whoami }\n    capture: { note: $.note }\n  - request:\n      url: /x\n      headers: { X-Note: \"{{ note }}\" }\n",
    );
    let echo = Recorder::start(std::sync::Arc::new(|_| {
        (
            200,
            vec![("Content-Type".into(), "application/json".into())],
            br#"{"note":"a\r\nX-Forged: 1"}"#.to_vec(),
        )
    }))
    .await;
    let ran = run(
        &["run", &file, "--base-url", &echo.base_url, "--retries", "3"],
        &[],
    )
    .await;
    ran.expect_code(1);
    ran.stdout_has("holds a line break");
    ran.stdout_has("not sent");
    assert!(!ran.stdout.contains("retried"), "{}", ran.stdout);
    assert_eq!(echo.requests().len(), 1, "only the first step went out");
    // A base URL of another scheme is refused up front.
    let ok = write(
        dir.path(),
        "ok.yaml",
        "name: ok\nsteps:\n  - request: { url: /x }\n",
    );
    let ran = run(&["run", &ok, "--base-url", "ftp://example.com"], &[]).await;
    ran.expect_code(2);
    ran.stderr_has("http:// and https:// only");
    assert_eq!(server.connection_count(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zero_timeout_is_refused_in_any_unit() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "ok.yaml",
        "name: ok\nsteps:\n  - request: { url: /x }\n",
    );
    for zero in ["0s", "0ms", "0m", "0.0001ms"] {
        let ran = run(
            &[
                "run",
                &file,
                "--base-url",
                "http://127.0.0.1:9",
                "--timeout",
                zero,
            ],
            &[],
        )
        .await;
        assert_eq!(ran.code(), Some(2), "{zero}\n{}", ran.both());
        ran.stderr_has("lets no request through");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn macros_and_recursive_loops_work_in_templates() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "macros.yaml",
        r#"name: macros
vars:
  tree: [{ name: a, children: [{ name: b, children: [] }] }]
steps:
  - request:
      url: "/x/{% macro seg(v) %}{{ v | upper }}{% endmacro %}{{ seg('a') }}"
      headers:
        X-Tree: "{% for n in tree recursive %}{{ n.name }}{{ loop(n.children) }}{% endfor %}"
"#,
    );
    let ran = run(&["validate", &file], &[]).await;
    ran.expect_code(0);
    let ran = run(&["run", &file, "--base-url", &server.base_url], &[]).await;
    ran.expect_code(0);
    let got = server.requests();
    assert_eq!(got.len(), 1);
    assert!(
        got[0].request_line().starts_with("GET /x/A "),
        "{}",
        got[0].head
    );
    assert!(
        got[0].head.to_lowercase().contains("x-tree: ab"),
        "{}",
        got[0].head
    );
    // A macro that calls itself forever ends in a step error, not a crash.
    let endless = write(
        dir.path(),
        "endless.yaml",
        "name: endless\nsteps:\n  - request: { url: \"/x/{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}\" }\n",
    );
    let ran = run(&["run", &endless, "--base-url", &server.base_url], &[]).await;
    ran.expect_code(1);
    ran.stdout_has("recursion limit");
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_output_shows_line_breaks_escaped() {
    let server = Recorder::start(std::sync::Arc::new(|_| (500, Vec::new(), b"no".to_vec()))).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "v.yaml",
        "name: v\nsteps:\n  - name: \"real\\r\\n      step 9 \\\"forged\\\"\"\n    request: { url: /x }\n    retries: 0\n",
    );
    let ran = run(&["run", &file, "--base-url", &server.base_url, "-v"], &[]).await;
    ran.expect_code(1);
    assert!(
        !ran.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("step 9")),
        "{}",
        ran.stdout
    );
    ran.stdout_has(r#"real\r\n      step 9"#);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_text_templates_render_is_bounded_per_run() {
    let server = Recorder::ok().await;
    let dir = tempfile::tempdir().unwrap();
    // Each var renders 1 MB (within the fuel of one template); five of them 5 MB.
    let mut text = String::from("name: big\nvars:\n");
    for i in 0..5 {
        text.push_str(&format!(
            "  v{i}: \"{{% for i in range(100000) %}}0123456789{{% endfor %}}\"\n"
        ));
    }
    text.push_str("steps:\n  - request: { url: /x }\n");
    let file = write(dir.path(), "big.yaml", &text);
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            &server.base_url,
            "--max-rendered",
            "3MB",
        ],
        &[],
    )
    .await;
    ran.expect_code(1);
    assert!(
        ran.stdout.contains("var `v3`") && ran.stdout.contains("more than 3MB"),
        "{}",
        ran.stdout
    );
    assert!(server.requests().is_empty());
    // Under the limit, the same file runs.
    let ran = run(
        &[
            "run",
            &file,
            "--base-url",
            &server.base_url,
            "--max-rendered",
            "6MB",
        ],
        &[],
    )
    .await;
    ran.expect_code(0);
}
