//! Template functions and filters called with the wrong number of arguments are
//! file errors: `validate` and `run` refuse the file (exit 2) at the template's
//! line, say how many arguments the function or filter takes, and send nothing.
//! The counts come from the tables in `template::functions`.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use http_server::{Reply, TestServer};
use runner::template::functions::{FILTERS, FUNCTIONS};
use runner_cli::{Output, Workspace};

fn scenario(template: &str) -> String {
    format!(
        "name: n\nsteps:\n  - request:\n      url: /anything\n      headers:\n        X-Value: \"{template}\"\n"
    )
}

fn args(n: usize) -> String {
    (0..n).map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
}

fn validate_and_run(yaml: &str) -> (Output, Output, usize) {
    let server = TestServer::start(|_| Reply::text(200, "ok"));
    let ws = Workspace::new();
    ws.write("t.yaml", yaml);
    let validated = ws.runner().arg("validate").arg("t.yaml").run();
    let ran = ws.run_against("t.yaml", &server.base_url(), &[]);
    (validated, ran, server.requests().len())
}

#[test]
fn a_wrong_argument_count_is_a_file_error_and_nothing_is_sent() {
    let mut cases: Vec<(String, String)> = Vec::new();
    for f in FUNCTIONS {
        let mut counts = vec![f.max_args + 1];
        counts.extend(f.min_args.checked_sub(1));
        for n in counts {
            cases.push((
                format!("{{{{ {}({}) }}}}", f.name, args(n)),
                format!("`{}()` takes", f.name),
            ));
        }
    }
    // Not a function at all: `env` is a mapping of variables.
    cases.push((
        "{{ env() }}".into(),
        "unknown template function `env`".into(),
    ));
    each_is_a_file_error_and_nothing_is_sent(cases);
}

#[test]
fn a_right_argument_count_is_sent() {
    for f in FUNCTIONS {
        for n in f.min_args..=f.max_args {
            let template = format!("{{{{ {}({}) }}}}", f.name, args(n));
            let (validated, ran, sent) = validate_and_run(&scenario(&template));
            validated.expect_code(0);
            ran.expect_code(0);
            assert_eq!(sent, 1, "{template}");
        }
    }
}

/// `'abc' | name` for no arguments, `'abc' | name('0', '1', ...)` otherwise.
fn filter_call(name: &str, n: usize) -> String {
    if n == 0 {
        format!("{{{{ 'abc' | {name} }}}}")
    } else {
        let args: Vec<String> = (0..n).map(|i| format!("'{i}'")).collect();
        format!("{{{{ 'abc' | {name}({}) }}}}", args.join(", "))
    }
}

#[test]
fn a_wrong_filter_argument_count_is_a_file_error_and_nothing_is_sent() {
    let mut cases: Vec<(String, String)> = Vec::new();
    for f in FILTERS {
        let mut counts = vec![f.max_args + 1];
        counts.extend(f.min_args.checked_sub(1));
        for n in counts {
            let takes = match f.max_args {
                0 => "no arguments".to_string(),
                1 => "1 argument".to_string(),
                m => format!("{m} arguments"),
            };
            cases.push((
                filter_call(f.name, n),
                format!("the filter `{}` takes {takes}", f.name),
            ));
        }
    }
    // The two from the issue, word for word.
    cases.push((
        "{{ 'x' | hmac_sha256 }}".into(),
        "the filter `hmac_sha256` takes 1 argument besides the value piped into it, but this call passes 0".into(),
    ));
    cases.push((
        "{{ 'x' | b64encode(1) }}".into(),
        "the filter `b64encode` takes no arguments besides the value piped into it, but this call passes 1".into(),
    ));
    each_is_a_file_error_and_nothing_is_sent(cases);
}

#[test]
fn a_right_filter_argument_count_is_sent() {
    for f in FILTERS {
        for n in f.min_args..=f.max_args {
            // b64decode needs base64 to decode; the others take any text.
            let template = if f.name == "b64decode" {
                "{{ 'YWJj' | b64decode }}".to_string()
            } else {
                filter_call(f.name, n)
            };
            let (validated, ran, sent) = validate_and_run(&scenario(&template));
            validated.expect_code(0);
            ran.expect_code(0);
            assert_eq!(sent, 1, "{template}");
        }
    }
}

/// Each (template, words) is refused by `validate` and by a run (exit 2) at the
/// template's line (the scenario's 6th) with those words, and nothing is sent.
fn each_is_a_file_error_and_nothing_is_sent(cases: Vec<(String, String)>) {
    for (template, words) in cases {
        let (validated, ran, sent) = validate_and_run(&scenario(&template));
        for out in [&validated, &ran] {
            out.expect_code(2);
            assert!(out.all().contains(&words), "{template}: {}", out.all());
            assert!(out.all().contains("t.yaml:6:"), "{template}: {}", out.all());
        }
        assert_eq!(sent, 0, "{template}: nothing is sent");
    }
}
