//! `runner list` and `--shard K/N`: what a run would execute, and a suite split
//! across CI machines so that together they run every scenario exactly once.

#[path = "support/dx.rs"]
mod dx;
#[path = "support/http_server.rs"]
mod http_server;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use http_server::{Reply, TestServer};
use serde_json::json;

const LIMIT: Duration = Duration::from_secs(120);

/// A suite of 13 scenarios over four files, with tags, `scenarios:` lists, a
/// matrix and a skipped scenario. Every scenario requests `/hit/<its own id>`.
fn write_suite(dir: &Path) {
    let files = [
        (
            "suite/accounts.yaml",
            r#"
tags: [accounts]
scenarios:
  - name: sign up
    tags: [smoke]
    steps:
      - request: { url: /hit/sign-up }
  - name: sign in
    steps:
      - request: { url: /hit/sign-in }
  - name: sign out
    steps:
      - request: { url: /hit/sign-out }
  - name: reset password
    tags: [slow]
    steps:
      - request: { url: /hit/reset-password }
"#,
        ),
        (
            "suite/orders/matrix.yaml",
            r#"
name: "order {{ item }} as {{ plan }}"
tags: [orders]
matrix:
  item: [book, pen, lamp]
  plan: [free, pro]
steps:
  - request: { url: "/hit/order-{{ item }}-{{ plan }}" }
"#,
        ),
        (
            "suite/orders/refund.yaml",
            r#"
name: refund
tags: [orders, smoke]
steps:
  - request: { url: /hit/refund }
"#,
        ),
        (
            "suite/zz-last.yml",
            r#"
scenarios:
  - name: health
    tags: [smoke]
    steps:
      - request: { url: /hit/health }
  - name: version
    steps:
      - request: { url: /hit/version }
"#,
        ),
    ];
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("a folder")).expect("mkdir");
        std::fs::write(p, text.trim_start()).expect("write");
    }
}

const ALL: usize = 13;

/// `runner list ARGS` in `dir`: its lines (exit 0 expected).
fn list(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut full = vec!["list"];
    full.extend_from_slice(args);
    let out = dx::run_with_limit(dir, &full, &[], LIMIT);
    assert_eq!(out.code, Some(0), "list {args:?}: {}", out.stderr);
    out.stdout.lines().map(str::to_string).collect()
}

#[test]
fn list_prints_file_name_and_tags_of_each_scenario_in_run_order() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_suite(tmp.path());
    let out = dx::run_with_limit(tmp.path(), &["list", "suite"], &[], LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), ALL, "{}", out.stdout);
    assert_eq!(lines[0], "suite/accounts.yaml  sign up  [accounts, smoke]");
    assert_eq!(
        lines[3],
        "suite/accounts.yaml  reset password  [accounts, slow]"
    );
    assert_eq!(
        lines[4],
        "suite/orders/matrix.yaml  order book as free  [orders]"
    );
    assert_eq!(lines[12], "suite/zz-last.yml  version");
    assert!(out.stderr.contains("13 of 13 scenarios"), "{}", out.stderr);
    // Nothing is sent: there is no server at all.
    assert!(!out.stderr.contains("mock"), "{}", out.stderr);
}

#[test]
fn list_applies_the_filters_of_run() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_suite(tmp.path());
    let smoke = list(tmp.path(), &["suite", "--tag", "smoke"]);
    assert_eq!(
        smoke,
        [
            "suite/accounts.yaml  sign up  [accounts, smoke]",
            "suite/orders/refund.yaml  refund  [orders, smoke]",
            "suite/zz-last.yml  health  [smoke]",
        ]
    );
    let not_slow = list(
        tmp.path(),
        &["suite", "--tag", "accounts", "--skip-tag", "slow"],
    );
    assert_eq!(not_slow.len(), 3, "{not_slow:?}");
    let pens = list(tmp.path(), &["suite", "--filter", "PEN"]);
    assert_eq!(pens.len(), 2, "{pens:?}");
    let out = dx::run_with_limit(tmp.path(), &["list", "suite", "--tag", "nope"], &[], LIMIT);
    assert_eq!(
        out.code,
        Some(2),
        "a selection that keeps nothing is an error"
    );
    assert!(out.stderr.contains("no scenario matches"), "{}", out.stderr);
}

#[test]
fn list_knows_variables_given_with_var() {
    let tmp = tempfile::tempdir().expect("tmp");
    std::fs::write(
        tmp.path().join("region.yaml"),
        "name: regional\nsteps:\n  - request: { url: \"/{{ region }}/health\" }\n",
    )
    .expect("write");
    let out = dx::run_with_limit(tmp.path(), &["list", "region.yaml"], &[], LIMIT);
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("undefined variable `region`"));
    let lines = list(tmp.path(), &["region.yaml", "--var", "region=eu"]);
    assert_eq!(lines, ["region.yaml  regional"]);
}

/// Shards as sets of list lines.
fn shards(dir: &Path, n: usize, extra: &[&str]) -> Vec<Vec<String>> {
    (1..=n)
        .map(|k| {
            let spec = format!("{k}/{n}");
            let mut args = vec!["suite", "--shard", spec.as_str()];
            args.extend_from_slice(extra);
            list(dir, &args)
        })
        .collect()
}

#[test]
fn shards_together_list_every_scenario_exactly_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_suite(tmp.path());
    let all: BTreeSet<String> = list(tmp.path(), &["suite"]).into_iter().collect();
    assert_eq!(all.len(), ALL);
    for n in [1, 2, 3, 4, 13, 20] {
        let parts = shards(tmp.path(), n, &[]);
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        for part in &parts {
            for line in part {
                *seen.entry(line.clone()).or_default() += 1;
            }
        }
        assert_eq!(
            seen.keys().cloned().collect::<BTreeSet<_>>(),
            all,
            "{n} shards"
        );
        assert!(seen.values().all(|c| *c == 1), "{n} shards: {seen:?}");
        let sizes: Vec<usize> = parts.iter().map(Vec::len).collect();
        let (min, max) = (
            sizes.iter().min().copied().unwrap_or(0),
            sizes.iter().max().copied().unwrap_or(0),
        );
        assert!(max - min <= 1, "{n} shards are uneven: {sizes:?}");
    }
    // With filters, the shards split what the filters keep.
    let smoke: BTreeSet<String> = list(tmp.path(), &["suite", "--tag", "orders"])
        .into_iter()
        .collect();
    let parts = shards(tmp.path(), 2, &["--tag", "orders"]);
    let union: BTreeSet<String> = parts.iter().flatten().cloned().collect();
    assert_eq!(union, smoke);
    assert_eq!(parts.iter().map(Vec::len).sum::<usize>(), smoke.len());
}

#[test]
fn a_shard_does_not_depend_on_the_order_paths_are_given_in() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_suite(tmp.path());
    let one = list(
        tmp.path(),
        &[
            "suite/accounts.yaml",
            "suite/orders",
            "suite/zz-last.yml",
            "--shard",
            "2/3",
        ],
    );
    let other = list(
        tmp.path(),
        &[
            "suite/zz-last.yml",
            "suite/orders",
            "suite/accounts.yaml",
            "--shard",
            "2/3",
        ],
    );
    let a: BTreeSet<_> = one.into_iter().collect();
    let b: BTreeSet<_> = other.into_iter().collect();
    assert_eq!(a, b);
}

#[test]
fn shards_together_run_every_scenario_exactly_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_suite(tmp.path());
    let server = TestServer::start(|_| Reply::json(200, json!({"ok": true})));
    let base = server.base_url();
    let mut testcases = 0;
    for k in 1..=3 {
        let spec = format!("{k}/3");
        let junit = format!("junit-{k}.xml");
        let out = dx::run_with_limit(
            tmp.path(),
            &[
                "run",
                "suite",
                "--base-url",
                &base,
                "--shard",
                &spec,
                "--junit",
                &junit,
            ],
            &[],
            LIMIT,
        );
        assert_eq!(
            out.code,
            Some(0),
            "shard {spec}: {}{}",
            out.stdout,
            out.stderr
        );
        let xml =
            std::fs::read_to_string(tmp.path().join(&junit)).expect("each shard writes its JUnit");
        testcases += xml.matches("<testcase ").count();
    }
    let mut hits: BTreeMap<String, usize> = BTreeMap::new();
    for r in server.requests() {
        *hits.entry(r.path.clone()).or_default() += 1;
    }
    assert_eq!(hits.len(), ALL, "{hits:?}");
    assert!(hits.values().all(|c| *c == 1), "{hits:?}");
    assert!(hits.contains_key("/hit/order-lamp-pro"), "{hits:?}");
    assert_eq!(
        testcases, ALL,
        "the shards' JUnit files hold every scenario once"
    );
}

#[test]
fn an_empty_shard_is_not_an_error_and_still_writes_its_report() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_suite(tmp.path());
    let server = TestServer::start(|_| Reply::json(200, json!({})));
    let out = dx::run_with_limit(
        tmp.path(),
        &[
            "run",
            "suite/orders/refund.yaml",
            "--base-url",
            &server.base_url(),
            "--shard",
            "2/2",
            "--junit",
            "empty.xml",
        ],
        &[],
        LIMIT,
    );
    assert_eq!(out.code, Some(0), "{}{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains("nothing to run in this shard"),
        "{}",
        out.stderr
    );
    let xml = std::fs::read_to_string(tmp.path().join("empty.xml")).expect("a report");
    assert!(xml.contains("tests=\"0\""), "{xml}");
    assert!(server.requests().is_empty());
}

#[test]
fn a_bad_shard_is_refused_with_a_clear_message() {
    let tmp = tempfile::tempdir().expect("tmp");
    write_suite(tmp.path());
    for bad in ["0/3", "4/3", "1/0", "one/3", "3"] {
        let out = dx::run_with_limit(tmp.path(), &["list", "suite", "--shard", bad], &[], LIMIT);
        assert_eq!(out.code, Some(2), "--shard {bad}: {}", out.stderr);
        assert!(
            out.stderr.contains("--shard"),
            "--shard {bad}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("panicked"));
    }
}
