//! `--shard-timings`: a previous run's JSON report balances the shards by measured
//! duration, and the shards together still run every scenario exactly once.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::time::Duration;

use http_server::{Reply, TestServer};
use runner_cli::Workspace;

/// `slow` waits at the server; the eight others do not.
fn write_suite(ws: &Workspace) {
    ws.write(
        "suite/a.yaml",
        "name: slow\nsteps:\n  - request: { url: /slow }\n",
    );
    let mut quick = String::from("scenarios:\n");
    for i in 0..8 {
        quick.push_str(&format!(
            "  - name: quick {i}\n    steps:\n      - request: {{ url: /quick }}\n"
        ));
    }
    ws.write("suite/b.yaml", &quick);
}

fn listed(ws: &Workspace, args: &[&str]) -> Vec<String> {
    let out = ws.runner().arg("list").arg("suite").args(args).run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn a_previous_report_balances_the_shards_and_each_scenario_runs_once() {
    let server = TestServer::start(|r| {
        let reply = Reply::json(200, serde_json::json!({}));
        if r.path == "/slow" {
            reply.delay(Duration::from_millis(1000))
        } else {
            reply
        }
    });
    let ws = Workspace::new();
    write_suite(&ws);
    let out = ws
        .runner()
        .args(["suite", "--report-json", "run.json", "--base-url"])
        .arg(server.base_url())
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());

    // By name, `slow` shares the first shard with four quick scenarios.
    let by_name = listed(&ws, &["--shard", "1/2"]);
    assert!(by_name.iter().any(|l| l.ends_with("slow")), "{by_name:?}");
    assert_eq!(by_name.len(), 5, "{by_name:?}");

    let one = listed(&ws, &["--shard", "1/2", "--shard-timings", "run.json"]);
    let two = listed(&ws, &["--shard", "2/2", "--shard-timings", "run.json"]);
    assert_eq!(
        one,
        vec!["suite/a.yaml  slow".to_string()],
        "{two:?} {}",
        ws.read("run.json")
    );
    assert_eq!(two.len(), 8, "{two:?}");
    let mut all: Vec<String> = one.into_iter().chain(two).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 9, "every scenario exactly once: {all:?}");

    // A scenario added since the report was written is dealt by name, once.
    ws.write(
        "suite/c.yaml",
        "name: new one\nsteps:\n  - request: { url: /quick }\n",
    );
    let one = listed(&ws, &["--shard", "1/2", "--shard-timings", "run.json"]);
    let two = listed(&ws, &["--shard", "2/2", "--shard-timings", "run.json"]);
    let news = one
        .iter()
        .chain(&two)
        .filter(|l| l.ends_with("new one"))
        .count();
    assert_eq!(news, 1, "{one:?} {two:?}");
}

#[test]
fn a_bad_timings_file_is_a_usage_error() {
    let ws = Workspace::new();
    write_suite(&ws);
    ws.write("junit.xml", "<testsuites/>");
    let cases: &[(&[&str], &str)] = &[
        (
            &["--shard", "1/2", "--shard-timings", "missing.json"],
            "cannot read missing.json",
        ),
        (
            &["--shard", "1/2", "--shard-timings", "junit.xml"],
            "is not a JSON report",
        ),
        (&["--shard-timings", "junit.xml"], "--shard"),
    ];
    for (args, says) in cases {
        let out = ws.runner().arg("list").arg("suite").args(*args).run();
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.all());
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
}
