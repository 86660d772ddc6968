//! Idempotency, rate limits, fault injection and seeded ids.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use layers_mock::{DEMO_KEY, MockConfig, Throttle, Tier};
use reqwest::Method;
use serde_json::json;
use support::{Mock, OTHER_KEY, fast_config, reply};

// --- idempotency ----------------------------------------------------------------------------

#[tokio::test]
async fn idempotent_replay_returns_the_first_response_exactly() {
    let mock = Mock::start(fast_config()).await;
    let body = json!({"name": "once", "timezone": "UTC"});
    let first = mock
        .call(Method::POST, "/v1/projects", Some(&body), Some("key-1"))
        .await;
    let second = mock
        .call(Method::POST, "/v1/projects", Some(&body), Some("key-1"))
        .await;
    assert_eq!(first.status, 201);
    assert_eq!(second.status, first.status);
    assert_eq!(second.text, first.text, "byte-identical body");
    assert_ne!(second.header("x-request-id"), first.header("x-request-id"));
    assert_eq!(mock.project_count().await, 1);

    // Errors replay too: the first answer is the answer.
    let invalid = json!({"name": "no timezone"});
    let bad1 = mock
        .call(Method::POST, "/v1/projects", Some(&invalid), Some("key-2"))
        .await;
    let bad2 = mock
        .call(Method::POST, "/v1/projects", Some(&invalid), Some("key-2"))
        .await;
    bad1.assert_error(422, "VALIDATION");
    assert_eq!((bad2.status, &bad2.text), (bad1.status, &bad1.text));

    // A job-starting replay returns the same job.
    let project = first.body["id"].as_str().unwrap();
    let path = format!("/v1/projects/{project}/ingest/appstore");
    let ingest = json!({"iosBundleId": "com.acme.app"});
    let a = mock
        .call(Method::POST, &path, Some(&ingest), Some("ingest-1"))
        .await;
    let b = mock
        .call(Method::POST, &path, Some(&ingest), Some("ingest-1"))
        .await;
    assert_eq!(a.status, 202);
    assert_eq!(a.body["jobId"], b.body["jobId"]);
    assert_eq!(mock.ledger().await["jobs"]["started"], 1);
}

#[tokio::test]
async fn idempotency_key_with_a_different_body_conflicts() {
    let mock = Mock::start(fast_config()).await;
    let first = mock
        .call(
            Method::POST,
            "/v1/projects",
            Some(&json!({"name": "a", "timezone": "UTC"})),
            Some("k"),
        )
        .await;
    assert_eq!(first.status, 201);
    let other = mock
        .call(
            Method::POST,
            "/v1/projects",
            Some(&json!({"name": "b", "timezone": "UTC"})),
            Some("k"),
        )
        .await;
    other.assert_error(409, "IDEMPOTENCY_CONFLICT");
    assert_eq!(mock.project_count().await, 1);
}

#[tokio::test]
async fn idempotency_is_scoped_by_api_key_and_endpoint() {
    let mock = Mock::start(fast_config()).await;
    let body = json!({"name": "scoped", "timezone": "UTC"});
    let mine = mock
        .call(Method::POST, "/v1/projects", Some(&body), Some("shared"))
        .await;
    let theirs = mock
        .call_as(
            OTHER_KEY,
            Method::POST,
            "/v1/projects",
            Some(&body),
            Some("shared"),
        )
        .await;
    assert_eq!((mine.status.as_u16(), theirs.status.as_u16()), (201, 201));
    assert_ne!(
        mine.body["id"], theirs.body["id"],
        "another key executes afresh"
    );
    // The same key value on another endpoint is independent as well.
    let project = mine.body["id"].as_str().unwrap();
    let ingest = mock
        .call(
            Method::POST,
            &format!("/v1/projects/{project}/ingest/website"),
            Some(&json!({"url": "https://example.com"})),
            Some("shared"),
        )
        .await;
    assert_eq!(ingest.status, 202, "{}", ingest.text);
}

#[tokio::test]
async fn concurrent_identical_requests_execute_once() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("race").await;
    let path = format!("/v1/projects/{project}/ingest/appstore");
    let body = json!({"iosBundleId": "com.acme.race"});
    let replies = futures::future::join_all(
        (0..20).map(|_| mock.call(Method::POST, &path, Some(&body), Some("one-execution"))),
    )
    .await;
    assert!(
        replies.iter().all(|r| r.status == 202),
        "all replay the 202"
    );
    let texts: HashSet<&str> = replies.iter().map(|r| r.text.as_str()).collect();
    assert_eq!(texts.len(), 1, "one body for all");
    assert_eq!(mock.ledger().await["jobs"]["started"], 1);

    // Content generation under the same race debits once.
    let content = format!("/v1/projects/{project}/content");
    let auto = json!({"format": "auto"});
    let replies = futures::future::join_all(
        (0..20).map(|_| mock.call(Method::POST, &content, Some(&auto), Some("gen-once"))),
    )
    .await;
    assert!(replies.iter().all(|r| r.status == 202));
    assert_eq!(mock.ledger().await["creditsSpent"], 120);
}

// --- rate limits ------------------------------------------------------------------------------

#[tokio::test]
async fn standard_tier_answers_429_with_retry_after() {
    let mock = Mock::start(MockConfig {
        tier: Tier::Standard,
        ..fast_config()
    })
    .await;
    assert_eq!(
        mock.get("/v1/whoami").await.body["rateLimitTier"],
        "standard"
    );
    let project = mock.project("limits").await;
    let path = format!("/v1/projects/{project}/ingest/website");
    let body = json!({"url": "https://example.com"});
    // long-running: 20 per minute on standard.
    for _ in 0..20 {
        assert_eq!(mock.post(&path, &body).await.status, 202);
    }
    let limited = mock.post(&path, &body).await;
    let details = limited.assert_error(429, "RATE_LIMITED").clone();
    let retry_after: u64 = limited
        .header("retry-after")
        .parse()
        .expect("integer Retry-After");
    assert!((1..=60).contains(&retry_after));
    assert_eq!(details["endpointClass"], "long-running");
    assert_eq!(details["limit"], 20);
    assert_eq!(details["retryAfterSeconds"], retry_after);
    assert_eq!(limited.header("x-ratelimit-endpoint-class"), "long-running");
    assert_eq!(mock.ledger().await["jobs"]["started"], 20);

    // Other classes and other keys have their own buckets.
    assert_eq!(mock.get("/v1/whoami").await.status, 200);
    let other = mock
        .call_as(OTHER_KEY, Method::POST, &path, Some(&body), None)
        .await;
    assert_eq!(other.status, 202);

    // read-light: 120 per minute.
    let mut statuses = Vec::new();
    for _ in 0..125 {
        statuses.push(mock.get("/v1/whoami").await.status.as_u16());
    }
    assert!(statuses.contains(&429));
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 120 - 2);
}

#[tokio::test]
async fn partner_tier_lets_hundreds_of_concurrent_smoke_runs_pass() {
    let mock = Mock::start(MockConfig::default()).await;
    let run = |n: usize| {
        let mock = &mock;
        async move {
            let body = json!({"name": "ci-smoke", "customerExternalId": format!("ci-{n}"), "timezone": "UTC", "primaryLanguage": "en"});
            let whoami = mock.get("/v1/whoami").await;
            let project = mock
                .call(
                    Method::POST,
                    "/v1/projects",
                    Some(&body),
                    Some(&format!("create-{n}")),
                )
                .await;
            let id = project.body["id"].as_str().unwrap_or_default().to_string();
            let ingest = mock
                .call(
                    Method::POST,
                    &format!("/v1/projects/{id}/ingest/appstore"),
                    Some(&json!({"iosBundleId": "com.example.doesnotexist"})),
                    Some(&format!("ingest-{n}")),
                )
                .await;
            let job = ingest.body["jobId"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let cancel = mock
                .call(
                    Method::POST,
                    &format!("/v1/jobs/{job}/cancel"),
                    None,
                    Some(&format!("cancel-{n}")),
                )
                .await;
            [
                whoami.status.as_u16(),
                project.status.as_u16(),
                ingest.status.as_u16(),
                cancel.status.as_u16(),
            ]
        }
    };
    let results = futures::future::join_all((0..200).map(run)).await;
    for statuses in &results {
        assert_eq!(statuses[0], 200);
        assert_eq!(statuses[1], 201);
        assert_eq!(statuses[2], 202);
        assert!(matches!(statuses[3], 202 | 409));
    }
    let ledger = mock.ledger().await;
    assert_eq!(ledger["jobs"]["started"], 200);
    assert_eq!(ledger["jobs"]["running"], 0);
    assert_eq!(ledger["creditsSpent"], 0);
}

// --- faults -----------------------------------------------------------------------------------

#[tokio::test]
async fn fail_rate_answers_500_but_mock_controls_still_work() {
    let mock = Mock::start(MockConfig {
        fail_rate: 1.0,
        ..fast_config()
    })
    .await;
    mock.get("/v1/whoami").await.assert_error(500, "INTERNAL");
    assert_eq!(mock.ledger().await["jobs"]["started"], 0);
}

#[tokio::test]
async fn throttle_answers_429_bursts_then_recovers() {
    let mock = Mock::start(MockConfig {
        throttle: Throttle::once(2),
        ..fast_config()
    })
    .await;
    for _ in 0..2 {
        let throttled = mock.get("/v1/whoami").await;
        throttled.assert_error(429, "RATE_LIMITED");
        assert_eq!(throttled.header("retry-after"), "1");
    }
    assert_eq!(mock.get("/v1/whoami").await.status, 200);
    // A reset re-arms the burst.
    mock.client
        .post(mock.url("/_mock/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(mock.get("/v1/whoami").await.status, 429);
}

#[tokio::test]
async fn drop_rate_cuts_connections_without_a_response() {
    let mock = Mock::start(MockConfig {
        drop_rate: 1.0,
        ..fast_config()
    })
    .await;
    let outcome = async {
        let response = mock
            .client
            .get(mock.url("/v1/whoami"))
            .header("x-api-key", DEMO_KEY)
            .send()
            .await?;
        response.bytes().await
    }
    .await;
    assert!(
        outcome.is_err(),
        "expected a broken connection, got {outcome:?}"
    );
    assert_eq!(mock.ledger().await["jobs"]["started"], 0);
}

#[tokio::test]
async fn latency_delays_every_partner_call() {
    let mock = Mock::start(MockConfig {
        latency: Duration::from_millis(150),
        ..fast_config()
    })
    .await;
    let started = Instant::now();
    assert_eq!(mock.get("/v1/whoami").await.status, 200);
    // A lower bound only: the mock must have waited at least the configured latency.
    assert!(started.elapsed() >= Duration::from_millis(150));
}

// --- seeds ------------------------------------------------------------------------------------

#[tokio::test]
async fn seed_makes_ids_reproducible() {
    let ids = |seed: u64| async move {
        let mock = Mock::start(MockConfig {
            seed: Some(seed),
            ..fast_config()
        })
        .await;
        let project = mock.project("seeded").await;
        let job = mock
            .post(
                &format!("/v1/projects/{project}/ingest/appstore"),
                &json!({"iosBundleId": "com.a.b"}),
            )
            .await;
        // After a reset the sequence starts over.
        mock.client
            .post(mock.url("/_mock/reset"))
            .send()
            .await
            .unwrap();
        let again = mock.project("seeded").await;
        (
            project,
            job.body["jobId"].as_str().unwrap().to_string(),
            again,
        )
    };
    let (p1, j1, again1) = ids(42).await;
    let (p2, j2, _) = ids(42).await;
    let (p3, _, _) = ids(7).await;
    assert_eq!((&p1, &j1), (&p2, &j2));
    assert_eq!(again1, p1);
    assert_ne!(p1, p3);
}

#[tokio::test]
async fn bearer_and_x_api_key_share_one_idempotency_scope() {
    // Bearer and X-Api-Key with the same key are the same API key: one scope.
    let mock = Mock::start(fast_config()).await;
    let body = json!({"name": "bearer", "timezone": "UTC"});
    let via_header = mock
        .call(Method::POST, "/v1/projects", Some(&body), Some("b-1"))
        .await;
    let via_bearer = reply(
        mock.client
            .post(mock.url("/v1/projects"))
            .bearer_auth(DEMO_KEY)
            .header("idempotency-key", "b-1")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(via_bearer.text, via_header.text);
}
