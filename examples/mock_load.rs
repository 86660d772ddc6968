//! Rough throughput check of the in-process mock (client and server share the machine):
//! `cargo run --release --example mock_load -- [seconds] [concurrency]`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use layers_mock::{DEMO_KEY, MockConfig, MockServer, Tier};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    let concurrency: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(64);
    let config = MockConfig {
        tier: Tier::Unlimited,
        ..MockConfig::default()
    };
    let server = MockServer::start(config, "127.0.0.1:0".parse()?).await?;
    let client = reqwest::Client::builder().no_proxy().build()?;
    let base = server.base_url().to_string();
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..concurrency {
        let (client, base, done, errors) =
            (client.clone(), base.clone(), done.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                // A mix like a smoke run: a read, a create, an ingest, a cancel.
                let ok = async {
                    client.get(format!("{base}/v1/whoami")).header("x-api-key", DEMO_KEY).send().await?;
                    let project: serde_json::Value = client
                        .post(format!("{base}/v1/projects"))
                        .header("x-api-key", DEMO_KEY)
                        .header("idempotency-key", format!("w{worker}-{n}"))
                        .json(&serde_json::json!({"name": "load", "timezone": "UTC", "customerExternalId": format!("w{worker}-{n}")}))
                        .send()
                        .await?
                        .json()
                        .await?;
                    let id = project["id"].as_str().unwrap_or_default();
                    let job: serde_json::Value = client
                        .post(format!("{base}/v1/projects/{id}/ingest/appstore"))
                        .header("x-api-key", DEMO_KEY)
                        .json(&serde_json::json!({"iosBundleId": "com.example.load"}))
                        .send()
                        .await?
                        .json()
                        .await?;
                    let job = job["jobId"].as_str().unwrap_or_default();
                    client
                        .post(format!("{base}/v1/jobs/{job}/cancel"))
                        .header("x-api-key", DEMO_KEY)
                        .send()
                        .await?;
                    Ok::<_, reqwest::Error>(())
                }
                .await;
                match ok {
                    Ok(()) => done.fetch_add(4, Ordering::Relaxed),
                    Err(_) => errors.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let total = done.load(Ordering::Relaxed);
    println!(
        "{total} requests in {elapsed:.1}s = {:.0} req/s ({} failed sequences)",
        total as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
    server.shutdown().await;
    Ok(())
}
