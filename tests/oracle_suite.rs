//! The oracle suite (tests/oracle_suite/README.md): every scenario of
//! `pass/` passes and every scenario of `must_fail/` fails, against the
//! httpbin-like server on 127.0.0.1.

#[path = "support/runner_cli.rs"]
mod runner_cli;
#[path = "support/language_server.rs"]
mod server;

use server::LanguageServer;

fn run(folder: &str) -> runner_cli::Output {
    let srv = LanguageServer::start();
    runner_cli::Runner::new(std::path::Path::new(env!("CARGO_MANIFEST_DIR")))
        .arg(format!("tests/oracle_suite/{folder}"))
        .arg("--base-url")
        .arg(&srv.base_url)
        .run()
}

fn count(out: &runner_cli::Output, prefix: &str) -> usize {
    out.stdout.lines().filter(|l| l.starts_with(prefix)).count()
}

#[test]
fn every_scenario_of_the_pass_folder_passes() {
    let out = run("pass");
    out.expect_code(0);
    assert!(count(&out, "PASS") >= 30, "{}", out.stdout);
    assert_eq!(count(&out, "FAIL"), 0, "{}", out.stdout);
}

#[test]
fn every_scenario_of_the_must_fail_folder_fails() {
    let out = run("must_fail");
    out.expect_code(1);
    assert_eq!(
        count(&out, "PASS"),
        0,
        "a wrong answer passed:\n{}",
        out.stdout
    );
    assert_eq!(count(&out, "FAIL"), 12, "{}", out.stdout);
}
