//! The Layers scenario library (`scenarios/`): one scenario per area the docs call
//! safe; each passes against the mock, spends nothing, cleans up what it creates,
//! and may be pointed at the live API (the cost guard lets every file through).

#[path = "support/safety.rs"]
mod safety;

use safety::{count, ledger, repo, run};

const AREAS: [&str; 8] = [
    "whoami",
    "projects",
    "idempotency",
    "jobs",
    "content",
    "metrics",
    "influencers",
    "errors",
];

/// The names the library gives the projects it creates.
const PROJECT_NAMES: [&str; 8] = [
    "ci-smoke",
    "ci-projects",
    "ci-projects-renamed",
    "ci-idempotency",
    "ci-jobs",
    "ci-content",
    "ci-metrics",
    "ci-influencers",
];

#[test]
fn every_area_has_its_file() {
    for area in AREAS {
        let path = repo().join(format!("scenarios/{area}.yaml"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schemas/scenario.schema.json"),
            "{area}: the schema modeline comes first"
        );
        // Files that create a project (and capture its id).
        if text.contains("project_id: $.id") {
            assert!(
                text.contains("\"ci-{{ run_id }}-"),
                "{area}: customerExternalId keyed to the run"
            );
            assert!(text.contains("finally:"), "{area}: cleans up in finally");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_library_passes_against_the_embedded_mock_and_spends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let json = dir.path().join("report.json");
    let ran = run(
        &[
            "run",
            "scenarios/",
            "--max-credits",
            "0",
            "--junit",
            junit.to_str().unwrap(),
            "--report-json",
            json.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    ran.expect_code(0);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let names: Vec<&str> = report["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap())
        .collect();
    for area in AREAS {
        assert!(
            names.iter().any(|f| f.ends_with(&format!("{area}.yaml"))),
            "{area} did not run: {names:?}"
        );
    }
    let spend = &report["summary"]["spend"];
    for field in [
        "credits",
        "scraper_calls",
        "agent_runs",
        "pull_requests",
        "posts",
        "ad_spend",
        "jobs_left_running",
    ] {
        assert_eq!(spend[field], 0, "{field}: {spend}");
    }
    let counts = safety::check_junit(&std::fs::read_to_string(&junit).unwrap());
    assert_eq!(counts.failures + counts.errors, 0);
    safety::xmllint_if_available(&junit);
}

/// Aimed at a server that is not the embedded mock (here a mock the test runs, as
/// if it were the live API), the guard refuses nothing, and afterwards no job runs,
/// nothing was spent, and every project the library created is archived.
#[tokio::test(flavor = "multi_thread")]
async fn the_library_is_safe_to_point_at_a_real_server() {
    let validated = run(&["validate", "scenarios/"], &[]).await;
    validated.expect_code(0);

    let mock = layers_mock::MockServer::start(
        layers_mock::MockConfig::default(),
        ([127, 0, 0, 1], 0).into(),
    )
    .await
    .unwrap();
    let ran = run(&["run", "scenarios/", "--base-url", mock.base_url()], &[]).await;
    ran.expect_code(0);
    let l = ledger(mock.base_url()).await;
    for pointer in [
        "/creditsSpent",
        "/scraperCalls",
        "/agentRuns",
        "/pullRequests",
        "/posts",
        "/jobs/running",
    ] {
        assert_eq!(count(&l, pointer), 0, "{pointer}: {l}");
    }
    let active: serde_json::Value = reqwest::Client::new()
        .get(format!(
            "{}/v1/projects?status=active&limit=200",
            mock.base_url()
        ))
        .header("X-Api-Key", layers_mock::DEMO_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let left: Vec<&str> = active["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .filter(|n| PROJECT_NAMES.contains(n))
        .collect();
    assert!(left.is_empty(), "projects left active: {left:?}");
}
