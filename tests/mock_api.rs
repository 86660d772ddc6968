//! The mock's API rules: auth, plan gate, envelopes, projects, jobs, content, ledger.

mod support;

use std::collections::HashSet;

use layers_mock::{DEMO_KEY, MockConfig, Plan};
use reqwest::Method;
use serde_json::{Value, json};
use support::{Mock, OTHER_KEY, assert_request_id, fast_config, reply};

// --- auth -------------------------------------------------------------------------------

#[tokio::test]
async fn auth_accepts_x_api_key_and_bearer() {
    let mock = Mock::start(fast_config()).await;
    let via_header = mock.get("/v1/whoami").await;
    assert_eq!(via_header.status, 200, "{}", via_header.text);
    let via_bearer = mock
        .send(
            mock.client
                .get(mock.url("/v1/whoami"))
                .bearer_auth(DEMO_KEY),
        )
        .await;
    assert_eq!(via_bearer.status, 200, "{}", via_bearer.text);
    // Same key, same stable api key id, whichever header carried it.
    assert_eq!(via_header.body["apiKeyId"], via_bearer.body["apiKeyId"]);
    // A live key with another id authenticates too, as a different API key.
    let other = mock
        .call_as(OTHER_KEY, Method::GET, "/v1/whoami", None, None)
        .await;
    assert_eq!(other.status, 200);
    assert_ne!(other.body["apiKeyId"], via_header.body["apiKeyId"]);
    assert_eq!(
        other.body["organizationId"],
        via_header.body["organizationId"]
    );
}

#[tokio::test]
async fn auth_rejects_missing_and_malformed_keys() {
    let mock = Mock::start(fast_config()).await;
    let missing = mock.send(mock.client.get(mock.url("/v1/whoami"))).await;
    assert_eq!(
        missing.assert_error(401, "UNAUTHENTICATED")["reason"],
        "missing"
    );

    for bad in [
        "lp_live_short_secret",
        "lp_prod_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA",
        "lp_test_01jmockdem0key00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldDA",
        "lp_test_01JMOCKDEM0KEY00_bW9jay1vbmx5LWRlbW8ta2V5LW5vdC1hLXNlY3JldD",
        "",
    ] {
        let r = mock
            .call_as(bad, Method::GET, "/v1/whoami", None, None)
            .await;
        assert_eq!(
            r.assert_error(401, "UNAUTHENTICATED")["reason"],
            "malformed",
            "key {bad:?}"
        );
    }
    let basic = mock
        .send(
            mock.client
                .get(mock.url("/v1/projects"))
                .header("authorization", "Basic dXNlcjpwYXNz"),
        )
        .await;
    basic.assert_error(401, "UNAUTHENTICATED");
}

#[tokio::test]
async fn keys_file_restricts_who_authenticates() {
    let keys = layers_mock::parse_keys_file(&format!("# only the demo key\n{DEMO_KEY}\n")).unwrap();
    let mock = Mock::start(MockConfig {
        keys: Some(keys),
        ..fast_config()
    })
    .await;
    assert_eq!(mock.get("/v1/whoami").await.status, 200);
    let unknown = mock
        .call_as(OTHER_KEY, Method::GET, "/v1/whoami", None, None)
        .await;
    assert_eq!(
        unknown.assert_error(401, "UNAUTHENTICATED")["reason"],
        "unknown"
    );
}

#[tokio::test]
async fn a_killed_or_retired_key_gets_503_kill_switch_and_a_rotated_secret_401() {
    let mock = Mock::start(fast_config()).await;
    let other_id = mock
        .call_as(OTHER_KEY, Method::GET, "/v1/whoami", None, None)
        .await
        .body["apiKeyId"]
        .as_str()
        .expect("apiKeyId")
        .to_string();
    // Any key of the org may kill another; a second kill is a no-op.
    let killed = mock
        .post(&format!("/v1/api-keys/{other_id}/kill"), &json!({}))
        .await;
    assert_eq!(killed.status, 200, "{}", killed.text);
    assert_eq!(killed.body["killed"], true);
    assert_eq!(killed.body["apiKey"]["id"], other_id.as_str());
    assert_eq!(killed.body["apiKey"]["killSwitch"], true);
    assert_eq!(killed.body["apiKey"]["isActive"], false);
    let again = mock
        .post(&format!("/v1/api-keys/{other_id}/kill"), &json!({}))
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(
        again.body["apiKey"]["revokedAt"],
        killed.body["apiKey"]["revokedAt"]
    );
    let refused = mock
        .call_as(OTHER_KEY, Method::GET, "/v1/whoami", None, None)
        .await;
    assert_eq!(refused.assert_error(503, "KILL_SWITCH")["scope"], "key");
    assert_eq!(
        mock.get("/v1/whoami").await.status,
        200,
        "other keys still work"
    );

    // Rotation: a new prefix and secret, the kill switch cleared, the old key dead.
    let rotated = mock
        .post(&format!("/v1/api-keys/{other_id}/rotate"), &json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_key = rotated.body["secret"].as_str().expect("secret").to_string();
    assert!(new_key.starts_with("lp_live_"), "{new_key}");
    assert_ne!(new_key, OTHER_KEY);
    assert_eq!(rotated.body["apiKey"]["killSwitch"], false);
    assert_eq!(rotated.body["apiKey"]["isActive"], true);
    let old = mock
        .call_as(OTHER_KEY, Method::GET, "/v1/whoami", None, None)
        .await;
    assert_eq!(
        old.assert_error(401, "UNAUTHENTICATED")["reason"],
        "unknown"
    );
    let fresh = mock
        .call_as(&new_key, Method::GET, "/v1/whoami", None, None)
        .await;
    assert_eq!(fresh.status, 200, "{}", fresh.text);
    assert_eq!(
        fresh.body["apiKeyId"],
        other_id.as_str(),
        "the same key row"
    );

    // Retirement: inactive without the kill switch, refused the same way.
    let deleted = mock
        .send(
            mock.client
                .delete(mock.url(&format!("/v1/api-keys/{other_id}")))
                .header("x-api-key", DEMO_KEY),
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["deleted"], true);
    assert_eq!(deleted.body["apiKey"]["killSwitch"], false);
    let retired = mock
        .call_as(&new_key, Method::GET, "/v1/whoami", None, None)
        .await;
    retired.assert_error(503, "KILL_SWITCH");

    let unknown = mock
        .post(
            "/v1/api-keys/00000000-0000-4000-8000-000000000000/kill",
            &json!({}),
        )
        .await;
    unknown.assert_error(404, "NOT_FOUND");
    // A reset forgets all of it.
    assert_eq!(mock.post("/_mock/reset", &json!({})).await.status, 200);
    let back = mock
        .call_as(OTHER_KEY, Method::GET, "/v1/whoami", None, None)
        .await;
    assert_eq!(back.status, 200, "{}", back.text);
}

#[tokio::test]
async fn x_api_key_wins_over_bearer() {
    let mock = Mock::start(fast_config()).await;
    let whoami = |x_api_key: &'static str, bearer: &'static str| {
        let request = mock
            .client
            .get(mock.url("/v1/whoami"))
            .header("x-api-key", x_api_key)
            .bearer_auth(bearer);
        async move { reply(request.send().await.unwrap()).await }
    };
    let demo_id = mock.get("/v1/whoami").await.body["apiKeyId"].clone();
    // Both valid: the X-Api-Key identity is used.
    let both = whoami(DEMO_KEY, OTHER_KEY).await;
    assert_eq!(both.status, 200);
    assert_eq!(both.body["apiKeyId"], demo_id);
    // A malformed X-Api-Key is not rescued by a valid Bearer.
    whoami("nope", DEMO_KEY)
        .await
        .assert_error(401, "UNAUTHENTICATED");
    // A valid X-Api-Key ignores a malformed Bearer.
    assert_eq!(whoami(DEMO_KEY, "nope").await.status, 200);
}

// --- cross-cutting headers and envelopes -------------------------------------------------

#[tokio::test]
async fn every_response_carries_request_id_and_endpoint_class() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("headers").await;
    let cases = [
        (mock.get("/v1/whoami").await, "read-light"),
        (
            mock.post("/v1/projects", &json!({"name": "x", "timezone": "UTC"}))
                .await,
            "write-light",
        ),
        (
            mock.ingest(&project, "website", &json!({"url": "https://example.com"}))
                .await,
            "long-running",
        ),
        (
            mock.post("/v1/projects", &json!({"name": "x"})).await,
            "write-light",
        ),
        (mock.get("/v1/no-such-route").await, "read-light"),
    ];
    let mut ids = HashSet::new();
    for (reply, class) in &cases {
        assert_request_id(reply.header("x-request-id"));
        assert_eq!(
            reply.header("x-ratelimit-endpoint-class"),
            *class,
            "{}",
            reply.text
        );
        ids.insert(reply.header("x-request-id").to_string());
    }
    assert_eq!(ids.len(), cases.len(), "request ids are unique");
    let unauthenticated = mock.send(mock.client.get(mock.url("/v1/whoami"))).await;
    assert_request_id(unauthenticated.header("x-request-id"));
    assert_eq!(
        unauthenticated.header("x-ratelimit-endpoint-class"),
        "read-light"
    );
    let ledger = mock
        .client
        .get(mock.url("/_mock/ledger"))
        .send()
        .await
        .unwrap();
    assert_request_id(ledger.headers()["x-request-id"].to_str().unwrap());
}

#[tokio::test]
async fn unknown_routes_and_bad_json_use_the_envelope() {
    let mock = Mock::start(fast_config()).await;
    mock.get("/v1/nothing/here")
        .await
        .assert_error(404, "NOT_FOUND");
    mock.call(Method::PUT, "/v1/whoami", None, None)
        .await
        .assert_error(404, "NOT_FOUND");
    let malformed = mock
        .send(
            mock.client
                .post(mock.url("/v1/projects"))
                .header("x-api-key", DEMO_KEY)
                .header("content-type", "application/json")
                .body("{\"name\": "),
        )
        .await;
    malformed.assert_error(422, "VALIDATION");
    let not_object = mock.post("/v1/projects", &json!([1, 2])).await;
    not_object.assert_error(422, "VALIDATION");
}

// --- plan gate and whoami -----------------------------------------------------------------

#[tokio::test]
async fn plan_none_answers_402_on_every_partner_call() {
    let mock = Mock::start(MockConfig {
        plan: Plan::None,
        ..fast_config()
    })
    .await;
    let details = mock
        .get("/v1/whoami")
        .await
        .assert_error(402, "PAYMENT_REQUIRED")
        .clone();
    assert_eq!(details["feature"], "api_access");
    mock.post("/v1/projects", &json!({"name": "x", "timezone": "UTC"}))
        .await
        .assert_error(402, "PAYMENT_REQUIRED");
    mock.get("/v1/jobs/job_01HXA1NHKJZXPV8R7Q6WSM5BCD")
        .await
        .assert_error(402, "PAYMENT_REQUIRED");
    // Auth still comes first.
    let anonymous = mock.send(mock.client.get(mock.url("/v1/whoami"))).await;
    anonymous.assert_error(401, "UNAUTHENTICATED");
    // Nothing happened.
    assert_eq!(mock.ledger().await["jobs"]["started"], 0);
}

#[tokio::test]
async fn whoami_has_exactly_the_legacy_fields() {
    let mock = Mock::start(fast_config()).await;
    let whoami = mock.get("/v1/whoami").await;
    assert_eq!(whoami.status, 200);
    let fields: HashSet<&str> = whoami
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let expected: HashSet<&str> = [
        "organizationId",
        "workspaceId",
        "organizationName",
        "scopes",
        "rateLimitTier",
        "killSwitch",
        "apiAccessRevoked",
        "apiKeyId",
        "creditBalance",
    ]
    .into();
    assert_eq!(fields, expected);
    let body = &whoami.body;
    assert_eq!(body["workspaceId"], body["organizationId"]);
    assert_eq!(body["organizationName"], "Mock Org");
    assert_eq!(body["scopes"], json!([]));
    assert_eq!(body["rateLimitTier"], "partner");
    assert_eq!(body["killSwitch"], false);
    assert_eq!(body["apiAccessRevoked"], false);
    assert_eq!(body["creditBalance"], 6000);
    assert!(uuid::Uuid::parse_str(body["apiKeyId"].as_str().unwrap()).is_ok());
    let credits = mock.get("/v1/credits").await;
    assert_eq!(credits.body["balance"], 6000);
    assert_eq!(
        credits.body["estimatedCreditsPerFormat"]["slideshow_remix"],
        50
    );
}

// --- projects -----------------------------------------------------------------------------

#[tokio::test]
async fn project_create_validates_and_returns_the_full_row() {
    let mock = Mock::start(fast_config()).await;
    let no_name = mock.post("/v1/projects", &json!({"timezone": "UTC"})).await;
    assert_eq!(
        no_name.assert_error(422, "VALIDATION")["issues"][0]["path"],
        "name"
    );
    let no_tz = mock.post("/v1/projects", &json!({"name": "x"})).await;
    assert_eq!(
        no_tz.assert_error(422, "VALIDATION")["issues"][0]["path"],
        "timezone"
    );
    let wrong_type = mock
        .post("/v1/projects", &json!({"name": 5, "timezone": "UTC"}))
        .await;
    wrong_type.assert_error(422, "VALIDATION");

    let created = mock
        .post(
            "/v1/projects",
            &json!({"name": "Acme", "timezone": "UTC", "customerExternalId": "cust-1", "metadata": {"k": 1}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let p = &created.body;
    assert!(uuid::Uuid::parse_str(p["id"].as_str().unwrap()).is_ok());
    assert_eq!(p["status"], "active");
    assert_eq!(p["customerExternalId"], "cust-1");
    assert_eq!(p["timezone"], "UTC");
    assert_eq!(p["primaryLanguage"], "en");
    assert_eq!(p["brand"], Value::Null);
    assert_eq!(p["brandContext"], Value::Null);
    assert_eq!(
        p["ingestState"],
        json!({"github": null, "website": null, "appstore": null})
    );
    assert_eq!(p["metadata"], json!({"k": 1}));
    for field in ["organizationId", "ownerEmail", "createdAt", "updatedAt"] {
        assert!(p[field].is_string(), "{field}");
    }
}

#[tokio::test]
async fn project_create_with_known_external_id_returns_it_even_under_races() {
    let mock = Mock::start(fast_config()).await;
    let body = json!({"name": "ci-smoke", "customerExternalId": "ci-race", "timezone": "UTC"});
    let replies =
        futures::future::join_all((0..10).map(|_| mock.post("/v1/projects", &body))).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let existing = replies.iter().filter(|r| r.status == 200).count();
    assert_eq!((created, existing), (1, 9));
    let ids: HashSet<&str> = replies
        .iter()
        .map(|r| r.body["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1);
    let listed = mock.get("/v1/projects?customerExternalId=ci-race").await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(listed.body["nextCursor"], Value::Null);
    assert_eq!(mock.project_count().await, 1);
}

#[tokio::test]
async fn project_get_patch_archive() {
    let mock = Mock::start(fast_config()).await;
    let id = mock.project("p").await;
    mock.get("/v1/projects/00000000-0000-4000-8000-000000000000")
        .await
        .assert_error(404, "NOT_FOUND");
    mock.get("/v1/projects/not-a-uuid")
        .await
        .assert_error(422, "VALIDATION");
    let got = mock.get(&format!("/v1/projects/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["id"], id.as_str());
    assert_eq!(
        mock.get(&format!("/v1/projects/prj_{id}")).await.body["id"],
        id.as_str()
    );

    let path = format!("/v1/projects/{id}");
    let read_only = mock.patch(&path, &json!({"ingestState": {}})).await;
    read_only.assert_error(400, "VALIDATION");
    let patched = mock
        .patch(&path, &json!({"name": "renamed", "metadata": {"a": 2}}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["name"], "renamed");
    assert_eq!(patched.body["metadata"], json!({"a": 2}));

    for _ in 0..2 {
        let archived = mock.call(Method::DELETE, &path, None, None).await;
        assert_eq!(archived.status, 200, "{}", archived.text);
        assert_eq!(archived.body["id"], id.as_str());
        assert_eq!(archived.body["status"], "archived");
        assert_eq!(archived.body["canceledScheduledPosts"], 0);
        assert!(archived.body["archivedAt"].is_string());
    }
    assert_eq!(mock.get(&path).await.body["status"], "archived");
    let active = mock.get("/v1/projects?status=active").await;
    assert_eq!(active.body["items"], json!([]));
}

#[tokio::test]
async fn project_list_paginates_newest_first() {
    let mock = Mock::start(fast_config()).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(mock.project(&format!("project {i}")).await);
    }
    ids.reverse();
    let mut seen = Vec::new();
    let mut path = "/v1/projects?limit=2".to_string();
    loop {
        let page = mock.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.text);
        let items = page.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|p| p["id"].as_str().unwrap().to_string()));
        match page.body["nextCursor"].as_str() {
            Some(cursor) => path = format!("/v1/projects?limit=2&cursor={}", urlencode(cursor)),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    for bad in [
        "limit=0",
        "limit=201",
        "limit=abc",
        "cursor=%21%21not-base64",
    ] {
        mock.get(&format!("/v1/projects?{bad}"))
            .await
            .assert_error(422, "VALIDATION");
    }
    let search = mock.get("/v1/projects?search=PROJECT%203").await;
    assert_eq!(search.body["items"].as_array().unwrap().len(), 1);
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

// --- the CI smoke scenario ----------------------------------------------------------------

#[tokio::test]
async fn smoke_scenario_spends_nothing() {
    let mock = Mock::start(MockConfig::default()).await;
    assert_eq!(mock.get("/v1/whoami").await.status, 200);
    let body = json!({"name": "ci-smoke", "customerExternalId": "ci-run-42", "timezone": "UTC", "primaryLanguage": "en"});
    let created = mock
        .call(
            Method::POST,
            "/v1/projects",
            Some(&body),
            Some("smoke-create-42"),
        )
        .await;
    assert!(
        matches!(created.status.as_u16(), 200 | 201),
        "{}",
        created.text
    );
    let id = created.body["id"].as_str().unwrap().to_string();
    let ingest = mock
        .call(
            Method::POST,
            &format!("/v1/projects/{id}/ingest/appstore"),
            Some(&json!({"iosBundleId": "com.example.doesnotexist"})),
            Some("smoke-ingest-42"),
        )
        .await;
    assert_eq!(ingest.status, 202, "{}", ingest.text);
    let job_id = ingest.job_id();
    assert!(job_id.starts_with("job_") && job_id.len() == 30);
    assert_eq!(ingest.body["locationUrl"], format!("/v1/jobs/{job_id}"));
    assert_eq!(ingest.body["status"], "running");
    assert_eq!(ingest.body["kind"], "ingest_appstore");
    assert_eq!(ingest.body["projectId"], id.as_str());
    let cancel = mock
        .call(
            Method::POST,
            &format!("/v1/jobs/{job_id}/cancel"),
            None,
            Some("smoke-cancel-42"),
        )
        .await;
    assert!(
        matches!(cancel.status.as_u16(), 202 | 409),
        "{}",
        cancel.text
    );

    // A re-run with the same run id hits the existing project.
    let again = mock
        .call(
            Method::POST,
            "/v1/projects",
            Some(&body),
            Some("smoke-create-43"),
        )
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["id"], id.as_str());

    let ledger = mock.ledger().await;
    assert_eq!(ledger["creditsSpent"], 0);
    assert_eq!(ledger["scraperCalls"], 0);
    assert_eq!(ledger["jobs"]["running"], 0);
    assert_eq!(mock.get("/v1/whoami").await.body["creditBalance"], 6000);
}

// --- jobs ---------------------------------------------------------------------------------

#[tokio::test]
async fn job_canceled_at_once_never_scrapes() {
    // The scrape would start 1 s after the 202, so "at once" holds even on a slow machine.
    let mock = Mock::start(MockConfig {
        job_duration: std::time::Duration::from_secs(1),
        scrape_after: std::time::Duration::from_secs(1),
        ..MockConfig::default()
    })
    .await;
    let project = mock.project("cancel").await;
    let ingest = mock
        .ingest(
            &project,
            "appstore",
            &json!({"iosBundleId": "com.example.app"}),
        )
        .await;
    let job_id = ingest.job_id();
    let cancel = mock
        .post(&format!("/v1/jobs/{job_id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancel.status, 202, "{}", cancel.text);
    assert_eq!(cancel.body, json!({"jobId": job_id, "accepted": true}));

    let job = mock.get(&format!("/v1/jobs/{job_id}")).await;
    assert_eq!(job.body["status"], "canceled");
    assert!(job.body["finishedAt"].is_string());

    let again = mock
        .post(&format!("/v1/jobs/{job_id}/cancel"), &json!({}))
        .await;
    let details = again.assert_error(409, "CONFLICT");
    assert_eq!(details["reason"], "already_terminal");
    assert_eq!(details["jobId"], job_id.as_str());
    assert_eq!(details["status"], "canceled");

    // Well past the job's duration it is still canceled and never scraped.
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    assert_eq!(
        mock.get(&format!("/v1/jobs/{job_id}")).await.body["status"],
        "canceled"
    );
    let ledger = mock.ledger().await;
    assert_eq!(ledger["scraperCalls"], 0);
    assert_eq!(
        ledger["jobs"],
        json!({"started": 1, "running": 0, "completed": 0, "failed": 0, "canceled": 1})
    );
}

#[tokio::test]
async fn job_left_to_finish_scrapes_once() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("finish").await;
    let ingest = mock
        .ingest(
            &project,
            "appstore",
            &json!({"appStoreUrl": "https://apps.apple.com/us/app/acme/id123"}),
        )
        .await;
    assert_eq!(ingest.status, 202);
    let job_id = ingest.job_id();
    let seen = mock.poll_job(&job_id).await;
    let progress: Vec<f64> = seen
        .iter()
        .map(|j| j["progress"].as_f64().unwrap())
        .collect();
    assert!(
        progress.windows(2).all(|w| w[0] <= w[1]),
        "progress went back: {progress:?}"
    );
    assert!(progress.iter().all(|p| (0.0..=1.0).contains(p)));
    let last = seen.last().unwrap();
    assert_eq!(last["status"], "completed");
    assert_eq!(last["progress"], 1.0);
    assert!(last["result"].is_object());
    assert!(
        seen[..seen.len() - 1]
            .iter()
            .all(|j| j["status"] == "running")
    );

    // Terminal is final.
    assert_eq!(mock.get(&format!("/v1/jobs/{job_id}")).await.body, *last);
    let cancel = mock
        .post(&format!("/v1/jobs/{job_id}/cancel"), &json!({}))
        .await;
    assert_eq!(cancel.assert_error(409, "CONFLICT")["status"], "completed");

    let ledger = mock.ledger().await;
    assert_eq!(ledger["scraperCalls"], 1);
    assert_eq!(ledger["jobs"]["completed"], 1);
    assert_eq!(ledger["creditsSpent"], 0);
    let project = mock.get(&format!("/v1/projects/{project}")).await;
    assert_eq!(
        project.body["ingestState"]["appstore"]["status"],
        "completed"
    );
    assert_eq!(project.body["brandContext"]["appName"], "acme");
}

#[tokio::test]
async fn github_ingest_records_an_agent_run_and_a_pull_request() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("gh").await;
    let path = format!("/v1/projects/{project}/ingest/github");
    let with_pr = mock.post(&path, &json!({"repoFullName": "acme/app"})).await;
    let without_pr = mock
        .post(&path, &json!({"repoFullName": "acme/web", "openPR": false}))
        .await;
    assert_eq!(with_pr.body["kind"], "ingest_github");
    for job in [&with_pr, &without_pr] {
        let last = mock.poll_job(job.body["jobId"].as_str().unwrap()).await;
        assert_eq!(last.last().unwrap()["status"], "completed");
    }
    let ledger = mock.ledger().await;
    assert_eq!(
        (
            ledger["agentRuns"].as_u64(),
            ledger["pullRequests"].as_u64()
        ),
        (Some(2), Some(1))
    );
    assert_eq!(ledger["scraperCalls"], 0);
}

#[tokio::test]
async fn job_fail_rate_makes_jobs_fail() {
    let mock = Mock::start(MockConfig {
        job_fail_rate: 1.0,
        ..fast_config()
    })
    .await;
    let project = mock.project("fails").await;
    let ingest = mock
        .ingest(&project, "website", &json!({"url": "https://example.com"}))
        .await;
    let seen = mock.poll_job(ingest.body["jobId"].as_str().unwrap()).await;
    let last = seen.last().unwrap();
    assert_eq!(last["status"], "failed");
    assert_eq!(last["error"]["code"], "SCRAPE_FAILED");
    assert_eq!(mock.ledger().await["jobs"]["failed"], 1);
}

#[tokio::test]
async fn job_etag_answers_304_when_unchanged() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("etag").await;
    let ingest = mock
        .ingest(
            &project,
            "appstore",
            &json!({"androidPackage": "com.acme.app"}),
        )
        .await;
    let job_id = ingest.body["jobId"].as_str().unwrap();
    mock.poll_job(job_id).await;
    let first = mock.get(&format!("/v1/jobs/{job_id}")).await;
    let etag = first.header("etag").to_string();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let conditional = mock
        .client
        .get(mock.url(&format!("/v1/jobs/{job_id}")))
        .header("x-api-key", DEMO_KEY)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(conditional.status(), 304);
    assert_eq!(conditional.headers()["etag"].to_str().unwrap(), etag);
    assert!(conditional.bytes().await.unwrap().is_empty());
    let stale = mock
        .client
        .get(mock.url(&format!("/v1/jobs/{job_id}")))
        .header("x-api-key", DEMO_KEY)
        .header("if-none-match", "\"running-0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), 200);
}

#[tokio::test]
async fn ingest_validation_and_unknown_resources() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("v").await;
    let base = format!("/v1/projects/{project}/ingest");
    let (post, get) = (Method::POST, Method::GET);
    let job = "/v1/jobs/job_01HXA1NHKJZXPV8R7Q6WSM5BCD";
    let nobody = "/v1/projects/00000000-0000-4000-8000-000000000000";
    #[rustfmt::skip]
    mock.assert_refused(&[
        (post.clone(), format!("{base}/appstore"), Some(json!({"countryCode": "us"})), 422, "VALIDATION"),
        (post.clone(), format!("{base}/github"), Some(json!({"repoFullName": "not-a-repo"})), 422, "VALIDATION"),
        (post.clone(), format!("{base}/github"), Some(json!({})), 422, "VALIDATION"),
        (post.clone(), format!("{base}/website"), Some(json!({"url": "ftp://example.com"})), 422, "VALIDATION"),
        (post.clone(), format!("{base}/website"), Some(json!({"url": "https://example.com", "maxPages": 26})), 422, "VALIDATION"),
        (post.clone(), format!("{nobody}/ingest/appstore"), Some(json!({"iosBundleId": "com.acme"})), 404, "NOT_FOUND"),
        (get, job.to_string(), None, 404, "NOT_FOUND"),
        (post, format!("{job}/cancel"), Some(json!({})), 404, "NOT_FOUND"),
    ])
    .await;
    assert_eq!(mock.ledger().await["jobs"]["started"], 0);
}

// --- content ------------------------------------------------------------------------------

#[tokio::test]
async fn content_generation_spends_credits_and_shows_in_the_ledger() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("content").await;
    let created = mock
        .post(
            &format!("/v1/projects/{project}/content"),
            &json!({"format": "video_remix", "variantCount": 2, "brief": {"topic": "budgeting"}}),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    assert_eq!(created.body["kind"], "content_generate");
    assert_eq!(created.header("x-ratelimit-endpoint-class"), "long-running");
    let containers = created.body["containerIds"].as_array().unwrap().clone();
    assert_eq!(containers.len(), 2);
    assert_eq!(
        mock.get("/v1/whoami").await.body["creditBalance"],
        6000 - 240
    );
    assert_eq!(mock.ledger().await["creditsSpent"], 240);

    let container = containers[0].as_str().unwrap();
    let generating = mock.get(&format!("/v1/content/{container}")).await;
    assert_eq!(generating.status, 200);
    mock.poll_job(created.body["jobId"].as_str().unwrap()).await;
    let done = mock.get(&format!("/v1/content/{container}")).await;
    assert_eq!(done.body["status"], "completed");
    let assets = done.body["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 1);
    let asset_id = assets[0]["assetId"].as_str().unwrap();
    let asset = mock
        .get(&format!("/v1/content/{container}/assets/{asset_id}"))
        .await;
    assert_eq!(asset.status, 200);
    assert_eq!(asset.body["containerId"], container);
    assert_eq!(asset.body["kind"], "video");
    mock.get(&format!("/v1/content/{container}/assets/asset_nope"))
        .await
        .assert_error(404, "NOT_FOUND");
    let progress = mock.get(&format!("/v1/content/{container}/progress")).await;
    assert_eq!(progress.body["status"], "completed");
    let listed = mock
        .get(&format!("/v1/projects/{project}/content?limit=1"))
        .await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert!(listed.body["nextCursor"].is_string());

    // Regenerating costs the format price again.
    let regen = mock
        .post(&format!("/v1/content/{container}/regenerate"), &json!({}))
        .await;
    assert_eq!(regen.status, 202, "{}", regen.text);
    assert_eq!(
        mock.get("/v1/whoami").await.body["creditBalance"],
        6000 - 360
    );
    mock.poll_job(regen.body["jobId"].as_str().unwrap()).await;

    // Publishing records one post per target.
    let publish = mock
        .post(
            &format!("/v1/content/{container}/publish"),
            &json!({"targets": [{"socialAccountId": "sa_1", "mode": "direct_publish"}, {"socialAccountId": "sa_2", "mode": "draft_to_device"}]}),
        )
        .await;
    assert_eq!(publish.status, 202, "{}", publish.text);
    mock.post(
        &format!("/v1/content/{container}/publish"),
        &json!({"targets": []}),
    )
    .await
    .assert_error(422, "VALIDATION");
    let schedule = mock
        .post(
            &format!("/v1/content/{container}/schedule"),
            &json!({"scheduledFor": "2030-01-01T10:00:00Z", "targets": [{"socialAccountId": "sa_1", "mode": "direct_publish"}]}),
        )
        .await;
    assert_eq!(schedule.status, 202, "{}", schedule.text);
    let ledger = mock.ledger().await;
    assert_eq!(ledger["creditsSpent"], 360);
    assert_eq!(ledger["posts"], 3);
}

#[tokio::test]
async fn content_needs_credits_and_valid_input() {
    let mock = Mock::start(MockConfig {
        initial_credits: 100,
        // Generation outlasts the test, so "not completed yet" is certain.
        job_duration: std::time::Duration::from_secs(300),
        ..fast_config()
    })
    .await;
    let project = mock.project("poor").await;
    let path = format!("/v1/projects/{project}/content");
    let broke = mock.post(&path, &json!({"format": "auto"})).await;
    assert_eq!(broke.assert_error(402, "PAYMENT_REQUIRED")["required"], 120);
    let slideshow = mock
        .post(&path, &json!({"format": "slideshow_remix"}))
        .await;
    assert_eq!(slideshow.status, 202);
    assert_eq!(mock.get("/v1/whoami").await.body["creditBalance"], 50);
    mock.post(&path, &json!({"format": "hologram"}))
        .await
        .assert_error(422, "VALIDATION");
    mock.post(&path, &json!({"variantCount": 6}))
        .await
        .assert_error(422, "VALIDATION");
    mock.get("/v1/content/cnt_nope")
        .await
        .assert_error(404, "NOT_FOUND");
    // Publishing before generation completed is refused.
    let container = slideshow.body["containerIds"][0].as_str().unwrap();
    let early = mock
        .post(
            &format!("/v1/content/{container}/publish"),
            &json!({"targets": [{"socialAccountId": "sa_1", "mode": "direct_publish"}]}),
        )
        .await;
    assert_eq!(early.assert_error(409, "CONFLICT")["status"], "generating");
}

// --- influencers, metrics -----------------------------------------------------------------

#[tokio::test]
async fn influencers_lifecycle() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("inf").await;
    let path = format!("/v1/projects/{project}/influencers");
    mock.post(&path, &json!({"gender": "female"}))
        .await
        .assert_error(422, "VALIDATION");
    let created = mock
        .post(
            &path,
            &json!({"name": "Ava", "gender": "female", "ageRange": "25-34"}),
        )
        .await;
    assert_eq!(created.status, 202, "{}", created.text);
    assert_eq!(created.body["kind"], "influencer_create");
    let id = created.body["influencerId"].as_str().unwrap().to_string();
    assert!(id.starts_with("inf_"));
    mock.poll_job(created.body["jobId"].as_str().unwrap()).await;
    let got = mock.get(&format!("/v1/influencers/{id}")).await;
    assert_eq!(got.body["status"], "ready");
    assert_eq!(got.body["name"], "Ava");
    let list = mock.get(&path).await;
    assert_eq!(list.body["items"][0]["influencerId"], id.as_str());
    let patch_path = format!("/v1/influencers/{id}");
    mock.patch(&patch_path, &json!({"favouriteColour": "red"}))
        .await
        .assert_error(422, "VALIDATION");
    let patched = mock.patch(&patch_path, &json!({"vibe": "calm"})).await;
    assert_eq!(patched.body["vibe"], "calm");
    let deleted = mock.call(Method::DELETE, &patch_path, None, None).await;
    assert_eq!(deleted.body["status"], "deleted");
    mock.get(&patch_path).await.assert_error(404, "NOT_FOUND");
    assert_eq!(mock.get(&path).await.body["items"], json!([]));
    assert_eq!(mock.ledger().await["creditsSpent"], 0);
}

#[tokio::test]
async fn metrics_require_scope_and_id() {
    let mock = Mock::start(fast_config()).await;
    let project = mock.project("m").await;
    let base = format!("/v1/projects/{project}");
    mock.assert_refused(&[
        (
            Method::GET,
            format!("{base}/metrics"),
            None,
            422,
            "VALIDATION",
        ),
        (
            Method::GET,
            format!("{base}/metrics?scope=project"),
            None,
            422,
            "VALIDATION",
        ),
        (
            Method::GET,
            format!("{base}/metrics?scope=galaxy&id=x"),
            None,
            422,
            "VALIDATION",
        ),
    ])
    .await;
    let metrics = mock
        .get(&format!(
            "{base}/metrics?scope=project&id={project}&metrics[]=views&granularity=week"
        ))
        .await;
    assert_eq!(metrics.status, 200, "{}", metrics.text);
    assert_eq!(metrics.body["totals"], json!({"views": 0}));
    assert!(!metrics.body["series"].as_array().unwrap().is_empty());
    let ads = mock
        .get(&format!(
            "{base}/ads-metrics?scope=campaign&id=c1&platforms=meta_ads"
        ))
        .await;
    assert_eq!(ads.status, 200, "{}", ads.text);
    assert_eq!(ads.body["totals"]["spend"], 0);
    for list in ["ads/campaigns", "ads/ads"] {
        let page = mock.get(&format!("{base}/{list}?cursor=garbage")).await;
        assert_eq!(page.body, json!({"items": [], "nextCursor": null}));
    }
    mock.get("/v1/projects/00000000-0000-4000-8000-000000000000/metrics?scope=project&id=x")
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(mock.ledger().await["adSpend"], 0);
}

// --- ledger and reset ---------------------------------------------------------------------

#[tokio::test]
async fn ledger_has_exactly_the_documented_fields_and_reset_clears_state() {
    let mock = Mock::start(fast_config()).await;
    let ledger = mock.ledger().await;
    assert_eq!(
        ledger,
        json!({
            "creditsSpent": 0, "scraperCalls": 0, "agentRuns": 0, "pullRequests": 0, "posts": 0,
            "adSpend": 0, "webhookDeliveries": 0,
            "jobs": {"started": 0, "running": 0, "completed": 0, "failed": 0, "canceled": 0}
        })
    );
    let project = mock.project("reset").await;
    mock.post(&format!("/v1/projects/{project}/content"), &json!({}))
        .await;
    mock.ingest(&project, "appstore", &json!({"iosBundleId": "com.a.b"}))
        .await;
    let busy = mock.ledger().await;
    assert_eq!(busy["jobs"]["started"], 2);
    assert_eq!(busy["creditsSpent"], 120);

    let reset = mock
        .client
        .post(mock.url("/_mock/reset"))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(mock.ledger().await, ledger);
    assert_eq!(mock.get("/v1/projects").await.body["items"], json!([]));
    assert_eq!(mock.get("/v1/whoami").await.body["creditBalance"], 6000);
    mock.get(&format!("/v1/projects/{project}"))
        .await
        .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn project_patch_keeps_external_ids_unique() {
    let mock = Mock::start(fast_config()).await;
    let a = mock.project("a").await;
    let b = mock.project("b").await;
    let patched = mock
        .patch(
            &format!("/v1/projects/{a}"),
            &json!({"customerExternalId": "ext-1"}),
        )
        .await;
    assert_eq!(patched.body["customerExternalId"], "ext-1");
    let clash = mock
        .patch(
            &format!("/v1/projects/{b}"),
            &json!({"customerExternalId": "ext-1"}),
        )
        .await;
    clash.assert_error(409, "CONFLICT");
    // Creating with the patched-in id finds project a.
    let again = mock
        .post(
            "/v1/projects",
            &json!({"name": "dup", "timezone": "UTC", "customerExternalId": "ext-1"}),
        )
        .await;
    assert_eq!(
        (again.status.as_u16(), again.body["id"].as_str()),
        (200, Some(a.as_str()))
    );
    // Moving a to another id frees the old one.
    mock.patch(
        &format!("/v1/projects/{a}"),
        &json!({"customerExternalId": "ext-2"}),
    )
    .await;
    let fresh = mock
        .post(
            "/v1/projects",
            &json!({"name": "new", "timezone": "UTC", "customerExternalId": "ext-1"}),
        )
        .await;
    assert_eq!(fresh.status, 201);
}

// --- configuration ------------------------------------------------------------------------

#[derive(clap::Parser)]
struct Cli {
    #[command(flatten)]
    mock: layers_mock::MockArgs,
}

#[test]
fn mock_args_parse_into_a_config() {
    use clap::Parser;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.txt");
    std::fs::write(&keys, format!("# CI key\n{DEMO_KEY}\n\n")).unwrap();
    let cli = Cli::try_parse_from([
        "mock",
        "--port",
        "0",
        "--tier",
        "standard",
        "--plan",
        "none",
        "--job-duration",
        "250ms",
        "--scrape-after",
        "1m",
        "--throttle",
        "5/10s",
        "--fail-rate",
        "0.1",
        "--seed",
        "9",
        "--keys",
        keys.to_str().unwrap(),
    ])
    .unwrap();
    let config = cli.mock.to_config().unwrap();
    assert_eq!(config.tier, layers_mock::Tier::Standard);
    assert_eq!(config.plan, Plan::None);
    assert_eq!(config.job_duration, std::time::Duration::from_millis(250));
    assert_eq!(config.scrape_after, std::time::Duration::from_secs(60));
    assert_eq!(config.throttle.requests, 5);
    assert_eq!(config.fail_rate, 0.1);
    assert_eq!(config.seed, Some(9));
    assert_eq!(config.keys.unwrap().len(), 1);
    assert_eq!(cli.mock.addr().to_string(), "127.0.0.1:0");

    let defaults = Cli::try_parse_from(["mock"])
        .unwrap()
        .mock
        .to_config()
        .unwrap();
    let expected = MockConfig::default();
    assert_eq!(
        (
            defaults.tier,
            defaults.plan,
            defaults.initial_credits,
            defaults.job_duration,
            defaults.scrape_after
        ),
        (
            expected.tier,
            expected.plan,
            expected.initial_credits,
            expected.job_duration,
            expected.scrape_after
        )
    );
    assert!(defaults.keys.is_none());
    assert!(Cli::try_parse_from(["mock", "--fail-rate", "2"]).is_err());
    assert!(Cli::try_parse_from(["mock", "--job-duration", "soon"]).is_err());
    std::fs::write(&keys, "lp_live_bad\n").unwrap();
    let bad = Cli::try_parse_from(["mock", "--keys", keys.to_str().unwrap()]).unwrap();
    assert!(bad.mock.to_config().is_err());
}
