//! Parallel with controls: `locks:` keeps scenarios that share a lock apart at the
//! server while the others still run alongside; `--max-rps` spaces each host's requests.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/runner_cli.rs"]
mod runner_cli;

use std::time::{Duration, Instant};

use http_server::{Recorded, Reply, TestServer};
use runner_cli::Workspace;

/// A file of `n` scenarios named `{prefix}{i}`, each sending `/begin` (slow) then
/// `/end`, tagged with its name in `X-Scenario`; `locks` goes into each scenario.
fn scenarios(prefix: &str, n: usize, locks: &str) -> String {
    let mut out = String::from("scenarios:\n");
    for i in 0..n {
        out.push_str(&format!(
            "  - name: {prefix}{i}\n    {locks}\n    headers:\n      X-Scenario: {prefix}{i}\n    steps:\n      - request: {{ url: /begin }}\n        expect: {{ status: 200 }}\n      - request: {{ url: /end }}\n        expect: {{ status: 200 }}\n"
        ));
    }
    out
}

/// Each scenario's time at the server: from its first request's arrival to its
/// last reply.
fn spans(requests: &[Recorded], prefix: &str) -> Vec<(String, Instant, Instant)> {
    let mut by_name: std::collections::BTreeMap<String, (Instant, Instant)> = Default::default();
    for r in requests {
        let Some(name) = r.header("x-scenario").filter(|n| n.starts_with(prefix)) else {
            continue;
        };
        let end = r.finished.expect("every reply was handed back");
        let e = by_name.entry(name.to_string()).or_insert((r.arrived, end));
        e.0 = e.0.min(r.arrived);
        e.1 = e.1.max(end);
    }
    by_name.into_iter().map(|(n, (a, b))| (n, a, b)).collect()
}

fn overlapping(spans: &[(String, Instant, Instant)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.1 < b.2 && b.1 < a.2 {
                out.push((a.0.clone(), b.0.clone()));
            }
        }
    }
    out
}

#[test]
fn scenarios_sharing_a_lock_never_overlap_at_the_server() {
    // The same suite with and without the lock: without it the server sees the
    // scenarios overlap, so the check below can tell the difference.
    for (locks, expect_overlap) in [("locks: [account]", false), ("tags: [x]", true)] {
        let server = TestServer::start(|r| {
            let reply = Reply::json(200, serde_json::json!({"ok": true}));
            if r.path == "/begin" {
                reply.delay(Duration::from_millis(60))
            } else {
                reply
            }
        });
        let ws = Workspace::new();
        ws.write("locked.yaml", &scenarios("locked-", 5, locks));
        // Scenarios with no lock: they must still run beside the locked ones.
        ws.write("free.yaml", &scenarios("free-", 5, "tags: [free]"));
        let out = ws
            .runner()
            .arg(".")
            .arg("--base-url")
            .arg(server.base_url())
            .args(["--jobs", "8"])
            .run();
        assert_eq!(out.code, Some(0), "{}", out.all());
        let requests = server.requests();
        assert_eq!(requests.len(), 20, "every scenario ran once");
        let locked = spans(&requests, "locked-");
        assert_eq!(locked.len(), 5);
        let clash = overlapping(&locked);
        assert_eq!(!clash.is_empty(), expect_overlap, "{locks}: {clash:?}");
        if !expect_overlap {
            // --jobs still applies to the rest: a free scenario ran while a locked one did.
            let free = spans(&requests, "free-");
            let beside = free
                .iter()
                .any(|f| locked.iter().any(|l| f.1 < l.2 && l.1 < f.2));
            assert!(beside, "no free scenario ran beside a locked one");
        }
    }
}

#[test]
fn a_file_level_lock_applies_to_each_of_its_scenarios() {
    let server = TestServer::start(|r| {
        let reply = Reply::json(200, serde_json::json!({"ok": true}));
        if r.path == "/begin" {
            reply.delay(Duration::from_millis(40))
        } else {
            reply
        }
    });
    let ws = Workspace::new();
    let text = scenarios("locked-", 4, "tags: [x]")
        .replace("scenarios:\n", "locks: [shared]\nscenarios:\n");
    ws.write("file.yaml", &text);
    let out = ws
        .runner()
        .arg("file.yaml")
        .arg("--base-url")
        .arg(server.base_url())
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let locked = spans(&server.requests(), "locked-");
    assert_eq!(locked.len(), 4);
    assert_eq!(overlapping(&locked), Vec::<(String, String)>::new());
}

#[test]
fn max_rps_spaces_the_requests_to_a_host() {
    let server = TestServer::start(|_| Reply::json(200, serde_json::json!({"ok": true})));
    let ws = Workspace::new();
    let mut text = String::from("scenarios:\n");
    for i in 0..5 {
        text.push_str(&format!(
            "  - name: s{i}\n    steps:\n      - request: {{ url: /x }}\n        expect: {{ status: 200 }}\n"
        ));
    }
    ws.write("rps.yaml", &text);
    let out = ws
        .runner()
        .arg("rps.yaml")
        .arg("--base-url")
        .arg(server.base_url())
        .args(["--jobs", "5", "--max-rps", "10"])
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    let mut arrivals: Vec<Instant> = server.requests().iter().map(|r| r.arrived).collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), 5);
    // 10 per second: 100 ms apart when they leave; a little less may show at the
    // server if one request's trip was slower than the next one's.
    for pair in arrivals.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(80), "requests {gap:?} apart");
    }
}

#[test]
fn max_rps_must_be_a_positive_rate() {
    let ws = Workspace::new();
    ws.write("a.yaml", "name: a\nsteps:\n  - request: { url: /x }\n");
    for bad in ["0", "-3", "fast", "inf"] {
        let out = ws
            .runner()
            .args(["a.yaml", "--base-url", "http://127.0.0.1:9"])
            .arg(format!("--max-rps={bad}"))
            .run();
        assert_eq!(out.code, Some(2), "{bad}: {}", out.all());
        assert!(out.stderr.contains("--max-rps"), "{bad}: {}", out.stderr);
    }
}
