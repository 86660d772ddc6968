//! An interrupt while a slow main request is on the wire: the request gets a bounded
//! share of the grace period (half of it), then is abandoned, and `finally` runs
//! with the rest; the report says so.

#![cfg(unix)]

#[path = "support/safety.rs"]
mod safety;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use safety::{HANG_GUARD, write};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server that never answers `/slow` (within a test's time) and answers anything
/// else at once; it records each request line.
async fn slow_server() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).into_owned();
                let line = head.lines().next().unwrap_or("").to_string();
                seen.lock().unwrap().push(line.clone());
                if line.contains(" /slow ") {
                    tokio::time::sleep(Duration::from_secs(120)).await;
                }
                let _ = sock
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                    )
                    .await;
            });
        }
    });
    (base, lines)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_request_gets_half_the_grace_then_finally_runs() {
    let (base, lines) = slow_server().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "slow.yaml",
        "name: slow\nsteps:\n  - name: slow start\n    request: { method: POST, url: /slow }\n    timeout: 100s\nfinally:\n  - name: clean up\n    request: { method: POST, url: /cleanup }\n",
    );
    let json = dir.path().join("report.json");
    let child = safety::command(
        &[
            "run",
            &file,
            "--base-url",
            &base,
            "--grace",
            "4s",
            "--report-json",
            json.to_str().unwrap(),
        ],
        &[],
    )
    .spawn()
    .unwrap();
    let pid = child.id().unwrap();
    let deadline = tokio::time::Instant::now() + HANG_GUARD;
    while !lines.lock().unwrap().iter().any(|l| l.contains("/slow")) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow request never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = tokio::time::timeout(HANG_GUARD, child.wait_with_output())
        .await
        .expect("the runner did not stop")
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("gets the first 2s"), "{stderr}");
    // The cleanup went out although the slow request never answered.
    let seen = lines.lock().unwrap().clone();
    assert!(
        seen.iter().any(|l| l.starts_with("POST /cleanup ")),
        "{seen:?}"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let steps = report["scenarios"][0]["steps"].as_array().unwrap().clone();
    assert_eq!(steps[0]["outcome"], "error", "{steps:?}");
    assert!(
        steps[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("abandoned so that the `finally` steps could run"),
        "{steps:?}"
    );
    assert_eq!(steps[1]["name"], "clean up");
    assert_eq!(steps[1]["outcome"], "passed", "{steps:?}");
}
