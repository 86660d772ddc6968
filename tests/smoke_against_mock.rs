//! The shipped smoke scenario passes against the mock run as its own process
//! (`runner mock`) and against the in-process mock, and spends nothing.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_runner");

/// A `runner mock --port 0` process, killed on drop.
struct MockProcess {
    child: Child,
    base_url: String,
}

impl Drop for MockProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_mock_process() -> MockProcess {
    let mut child = Command::new(BIN)
        .args(["mock", "--port", "0", "--host", "127.0.0.1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("runner mock starts");
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("mock prints its address");
    let base_url = line
        .trim()
        .rsplit(' ')
        .next()
        .filter(|u| u.starts_with("http://127.0.0.1:"))
        .unwrap_or_else(|| panic!("unexpected first line from runner mock: {line:?}"))
        .to_string();
    MockProcess { child, base_url }
}

fn ledger(base: &str) -> serde_json::Value {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        reqwest::get(format!("{base}/_mock/ledger"))
            .await
            .expect("ledger answers")
            .json()
            .await
            .expect("ledger is JSON")
    })
}

fn smoke(extra: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .arg("scenarios/smoke.yaml")
        .args(extra)
        .env_remove("LAYERS_API_KEY")
        .env_remove("RUNNER_BASE_URL")
        .env_remove("GITHUB_RUN_ID")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runner runs")
}

#[test]
fn smoke_passes_against_runner_mock_process_and_spends_nothing() {
    let mock = start_mock_process();
    let out = smoke(&["--base-url", &mock.base_url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("PASS") && stdout.contains("ci smoke"),
        "{stdout}"
    );
    // Let a job that was not cancelled reach its scrape: a cancelled one never will.
    std::thread::sleep(Duration::from_millis(1500));
    let l = ledger(&mock.base_url);
    assert_eq!(l["creditsSpent"], 0, "{l}");
    assert_eq!(l["scraperCalls"], 0, "{l}");
    assert_eq!(l["jobs"]["running"], 0, "{l}");
    assert_eq!(l["jobs"]["started"], 1, "{l}");
    assert_eq!(l["jobs"]["canceled"], 1, "{l}");
}

#[test]
fn smoke_passes_against_the_in_process_mock_and_reports_zero_spend() {
    let out = smoke(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(
        stderr.contains("embedded Layers mock at http://127.0.0.1:"),
        "{stderr}"
    );
    assert!(
        stdout.contains("0 credits, 0 scraper calls, 0 agent runs, 0 pull requests, 0 posts, 0 jobs left running"),
        "{stdout}"
    );
    assert!(stdout.contains("1 passed, 0 failed"), "{stdout}");
}

#[test]
fn rerunning_with_the_same_run_id_hits_the_existing_project() {
    let mock = start_mock_process();
    for _ in 0..2 {
        let out = Command::new(BIN)
            .args(["scenarios/smoke.yaml", "--base-url", &mock.base_url])
            .env("GITHUB_RUN_ID", "4242")
            .env_remove("LAYERS_API_KEY")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("runner runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let list: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .get(format!(
                "{}/v1/projects?customerExternalId=ci-4242",
                mock.base_url
            ))
            .header("X-Api-Key", layers_mock::DEMO_KEY)
            .send()
            .await
            .expect("list answers")
            .json()
            .await
            .expect("JSON")
    });
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list}");
}
