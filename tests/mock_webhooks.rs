//! Webhook endpoints and the signed `test.ping` delivery.

mod support;

use std::time::Duration;

use axum::body::Bytes;
use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use support::{Mock, fast_config};
use tokio::sync::mpsc;

/// A webhook receiver on 127.0.0.1:0 that forwards every request it gets.
async fn listener() -> (String, mpsc::UnboundedReceiver<(HeaderMap, Bytes)>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send((headers, body));
                "ok"
            }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await });
    (url, rx)
}

/// Recomputes `v1` from the secret and checks the header against it.
fn verify_signature(header: &str, secret: &str, body: &[u8]) {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = Some(t.to_string()),
            Some(("v1", v)) => signatures.push(v.to_string()),
            _ => panic!("unexpected signature part {part:?}"),
        }
    }
    let timestamp = timestamp.expect("t= present");
    let t: i64 = timestamp.parse().expect("t is unix seconds");
    assert!(
        (chrono::Utc::now().timestamp() - t).abs() < 300,
        "timestamp within 5 minutes"
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    assert!(
        signatures.contains(&expected),
        "no v1 matches {expected}: {header}"
    );
}

async fn create_endpoint(mock: &Mock, url: &str) -> Value {
    let created = mock
        .post(
            "/v1/webhook-endpoints",
            &json!({"url": url, "events": ["job.completed"], "description": "ci"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body
}

#[tokio::test]
async fn test_ping_is_delivered_signed_to_a_local_listener() {
    let mock = Mock::start(fast_config()).await;
    let (url, mut received) = listener().await;
    let created = create_endpoint(&mock, &url).await;
    let secret = created["signingSecret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let endpoint = &created["endpoint"];
    assert_eq!(endpoint["url"], url.as_str());
    assert_eq!(endpoint["events"], json!(["job.completed"]));
    assert_eq!(endpoint["status"], "active");
    assert!(endpoint.get("signingSecret").is_none());
    let id = endpoint["id"].as_str().unwrap();

    let test = mock
        .post(&format!("/v1/webhook-endpoints/{id}/test"), &json!({}))
        .await;
    assert_eq!(test.status, 200, "{}", test.text);
    let event_id = test.body["eventId"].as_str().unwrap();
    assert!(event_id.starts_with("evt_") && event_id.len() == 30);
    assert!(uuid::Uuid::parse_str(test.body["deliveryId"].as_str().unwrap()).is_ok());

    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .expect("delivered in time")
        .expect("listener alive");
    let header = |name: &str| headers[name].to_str().unwrap().to_string();
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(header("x-layers-event-id"), event_id);
    verify_signature(&header("x-layers-signature"), secret, &body);
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["id"], event_id);
    assert_eq!(payload["type"], "test.ping");
    assert!(payload["createdAt"].is_string());
    assert_eq!(payload["data"]["endpointId"], id);
    assert!(payload["data"]["message"].is_string());
    assert_eq!(
        payload["data"]["organizationId"],
        endpoint["organizationId"]
    );

    assert_eq!(mock.ledger().await["webhookDeliveries"], 1);
    let deliveries = wait_for_delivery_status(&mock, id).await;
    assert_eq!(deliveries["status"], "delivered");
    assert_eq!(deliveries["lastResponseStatus"], 200);
    assert_eq!(deliveries["eventType"], "test.ping");
}

/// Waits until the newest delivery of `endpoint` is no longer pending.
async fn wait_for_delivery_status(mock: &Mock, endpoint: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let list = mock
            .get(&format!("/v1/webhook-endpoints/{endpoint}/deliveries"))
            .await;
        assert_eq!(list.status, 200, "{}", list.text);
        let newest = list.body["items"][0].clone();
        if newest["status"] != "pending" {
            return newest;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "delivery stayed pending"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn test_payload_replaces_data() {
    let mock = Mock::start(fast_config()).await;
    let (url, mut received) = listener().await;
    let created = create_endpoint(&mock, &url).await;
    let id = created["endpoint"]["id"].as_str().unwrap();
    let test = mock
        .post(
            &format!("/v1/webhook-endpoints/{id}/test"),
            &json!({"payload": {"hello": "world"}}),
        )
        .await;
    assert_eq!(test.status, 200);
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), received.recv())
        .await
        .unwrap()
        .unwrap();
    verify_signature(
        headers["x-layers-signature"].to_str().unwrap(),
        created["signingSecret"].as_str().unwrap(),
        &body,
    );
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["data"], json!({"hello": "world"}));
}

#[tokio::test]
async fn non_loopback_endpoints_are_never_called() {
    let mock = Mock::start(fast_config()).await;
    let created = create_endpoint(&mock, "https://hooks.example.com/layers").await;
    let id = created["endpoint"]["id"].as_str().unwrap();
    let test = mock
        .post(&format!("/v1/webhook-endpoints/{id}/test"), &json!({}))
        .await;
    assert_eq!(test.status, 200);
    let delivery = wait_for_delivery_status(&mock, id).await;
    assert_eq!(delivery["status"], "failed");
    assert!(
        delivery["lastResponseStatus"].is_null(),
        "no request was made"
    );
    assert!(
        delivery["lastErrorMessage"]
            .as_str()
            .unwrap()
            .contains("loopback")
    );
    assert_eq!(mock.ledger().await["webhookDeliveries"], 1);
}

#[tokio::test]
async fn endpoint_validation() {
    let mock = Mock::start(fast_config()).await;
    let cases = [
        json!({"url": "http://hooks.example.com/x", "events": ["job.completed"]}),
        json!({"url": "not a url", "events": ["job.completed"]}),
        json!({"url": "https://hooks.example.com/x", "events": []}),
        json!({"url": "https://hooks.example.com/x", "events": ["job.exploded"]}),
        json!({"url": "https://hooks.example.com/x"}),
        json!({"events": ["test.ping"]}),
        json!({"url": "https://hooks.example.com/x", "events": ["test.ping"], "projectId": "00000000-0000-4000-8000-000000000000"}),
    ];
    for body in cases {
        let reply = mock.post("/v1/webhook-endpoints", &body).await;
        reply.assert_error(422, "VALIDATION");
    }
    for url in [
        "http://localhost:9/x",
        "http://127.0.0.1:9/x",
        "http://[::1]:9/x",
    ] {
        let reply = mock
            .post(
                "/v1/webhook-endpoints",
                &json!({"url": url, "events": ["test.ping"]}),
            )
            .await;
        assert_eq!(reply.status, 201, "{url}: {}", reply.text);
    }
}

#[tokio::test]
async fn endpoints_list_and_delete() {
    let mock = Mock::start(fast_config()).await;
    let a = create_endpoint(&mock, "https://a.example.com/h").await;
    let b = create_endpoint(&mock, "https://b.example.com/h").await;
    let list = mock.get("/v1/webhook-endpoints").await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], b["endpoint"]["id"], "newest first");
    assert!(items.iter().all(|e| e.get("signingSecret").is_none()));

    let id = a["endpoint"]["id"].as_str().unwrap();
    let path = format!("/v1/webhook-endpoints/{id}");
    let deleted = mock.call(Method::DELETE, &path, None, None).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body, json!({"id": id, "deleted": true}));
    mock.call(Method::DELETE, &path, None, None)
        .await
        .assert_error(404, "NOT_FOUND");
    mock.post(&format!("{path}/test"), &json!({}))
        .await
        .assert_error(404, "NOT_FOUND");
    assert_eq!(
        mock.get("/v1/webhook-endpoints").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(mock.ledger().await["webhookDeliveries"], 0);
}

#[tokio::test]
async fn jobs_tell_subscribed_endpoints_how_they_ended() {
    let mock = Mock::start(fast_config()).await;
    let (url, mut received) = listener().await;
    let created = mock
        .post(
            "/v1/webhook-endpoints",
            &json!({"url": url, "events": ["job.completed", "job.canceled"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let secret = created.body["signingSecret"].as_str().unwrap().to_string();
    // Subscribed to failures only: hears nothing of this test.
    let (other_url, mut other) = listener().await;
    let other_created = mock
        .post(
            "/v1/webhook-endpoints",
            &json!({"url": other_url, "events": ["job.failed"]}),
        )
        .await;
    assert_eq!(other_created.status, 201);
    let project = mock
        .post("/v1/projects", &json!({"name": "hooks", "timezone": "UTC"}))
        .await;
    let project_id = project.body["id"].as_str().unwrap().to_string();
    let ingest = |bundle: &'static str| {
        let path = format!("/v1/projects/{project_id}/ingest/appstore");
        let mock = &mock;
        async move {
            let r = mock.post(&path, &json!({"iosBundleId": bundle})).await;
            assert_eq!(r.status, 202, "{}", r.text);
            r.body["jobId"].as_str().unwrap().to_string()
        }
    };
    let finished = ingest("com.example.finishes").await;
    let (headers, event, raw) = next_delivery(&mut received).await;
    verify_signature(
        headers["x-layers-signature"].to_str().unwrap(),
        &secret,
        &raw,
    );
    assert_eq!(event["type"], "job.completed", "{event}");
    assert_eq!(event["data"]["jobId"], finished.as_str());
    assert_eq!(event["data"]["kind"], "ingest_appstore");
    assert_eq!(event["data"]["projectId"], project_id.as_str());
    assert!(event["data"].get("result").is_some(), "{event}");
    assert_eq!(
        headers["x-layers-event-id"].to_str().unwrap(),
        event["id"].as_str().unwrap()
    );

    let cancelled = ingest("com.example.cancelled").await;
    let cancel = mock
        .post(&format!("/v1/jobs/{cancelled}/cancel"), &json!({}))
        .await;
    assert_eq!(cancel.status, 202, "{}", cancel.text);
    let (_, event, _) = next_delivery(&mut received).await;
    assert_eq!(event["type"], "job.canceled", "{event}");
    assert_eq!(event["data"]["jobId"], cancelled.as_str());
    // The cancelled job does not also complete later.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(received.try_recv().is_err(), "one event per job");
    assert!(other.try_recv().is_err(), "not subscribed to these events");
    assert_eq!(mock.ledger().await["webhookDeliveries"], 2);
}

/// The next delivery to a listener: headers, parsed payload, raw body.
async fn next_delivery(
    rx: &mut mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
) -> (HeaderMap, Value, Bytes) {
    let (headers, body) = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("a delivery in time")
        .expect("listener alive");
    let payload = serde_json::from_slice::<Value>(&body).expect("a JSON payload");
    (headers, payload, body)
}

#[tokio::test]
async fn a_finished_generation_announces_its_content() {
    let mock = Mock::start(fast_config()).await;
    let (url, mut received) = listener().await;
    let created = mock
        .post(
            "/v1/webhook-endpoints",
            &json!({"url": url, "events": ["content.generated"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let project = mock
        .post("/v1/projects", &json!({"name": "gen", "timezone": "UTC"}))
        .await;
    let project_id = project.body["id"].as_str().unwrap().to_string();
    let started = mock
        .post(
            &format!("/v1/projects/{project_id}/content"),
            &json!({"format": "slideshow_remix"}),
        )
        .await;
    assert_eq!(started.status, 202, "{}", started.text);
    let container = started.body["containerId"].as_str().unwrap().to_string();
    let (_, event, _) = next_delivery(&mut received).await;
    assert_eq!(event["type"], "content.generated", "{event}");
    assert_eq!(event["data"]["id"], container.as_str());
    assert_eq!(event["data"]["projectId"], project_id.as_str());
    assert!(event["data"]["assets"].is_array(), "{event}");
}

#[tokio::test]
async fn an_endpoint_is_patched_and_a_paused_one_hears_nothing() {
    let mock = Mock::start(fast_config()).await;
    let (url, mut received) = listener().await;
    let created = mock
        .post(
            "/v1/webhook-endpoints",
            &json!({"url": url, "events": ["job.completed"], "description": "ci"}),
        )
        .await;
    let id = created.body["endpoint"]["id"].as_str().unwrap().to_string();
    let patch = |body: Value| {
        let path = format!("/v1/webhook-endpoints/{id}");
        let mock = &mock;
        async move { mock.call(Method::PATCH, &path, Some(&body), None).await }
    };
    let paused =
        patch(json!({"status": "paused", "events": ["job.canceled"], "description": null})).await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    assert_eq!(paused.body["status"], "paused");
    assert_eq!(paused.body["events"], json!(["job.canceled"]));
    assert_eq!(paused.body["description"], Value::Null);
    let listed = mock.get("/v1/webhook-endpoints?status=paused").await;
    assert_eq!(
        listed.body["items"][0]["id"],
        id.as_str(),
        "{}",
        listed.text
    );
    assert_eq!(
        mock.get("/v1/webhook-endpoints?status=active").await.body["items"],
        json!([])
    );
    patch(json!({"status": "auto_paused"}))
        .await
        .assert_error(422, "VALIDATION");
    patch(json!({})).await.assert_error(422, "VALIDATION");
    patch(json!({"events": ["job.exploded"]}))
        .await
        .assert_error(422, "VALIDATION");
    mock.call(
        Method::PATCH,
        "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000000",
        Some(&json!({"status": "active"})),
        None,
    )
    .await
    .assert_error(404, "NOT_FOUND");

    // Paused: a cancelled job is not announced.
    let project = mock
        .post("/v1/projects", &json!({"name": "p", "timezone": "UTC"}))
        .await;
    let project_id = project.body["id"].as_str().unwrap().to_string();
    let job = mock
        .post(
            &format!("/v1/projects/{project_id}/ingest/appstore"),
            &json!({"iosBundleId": "com.example.a"}),
        )
        .await;
    let job_id = job.body["jobId"].as_str().unwrap().to_string();
    mock.post(&format!("/v1/jobs/{job_id}/cancel"), &json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        received.try_recv().is_err(),
        "a paused endpoint heard an event"
    );
    // Active again: the next one is.
    let active = patch(json!({"status": "active"})).await;
    assert_eq!(active.body["status"], "active");
    let job = mock
        .post(
            &format!("/v1/projects/{project_id}/ingest/appstore"),
            &json!({"iosBundleId": "com.example.b"}),
        )
        .await;
    let job_id = job.body["jobId"].as_str().unwrap().to_string();
    mock.post(&format!("/v1/jobs/{job_id}/cancel"), &json!({}))
        .await;
    let (_, event, _) = next_delivery(&mut received).await;
    assert_eq!(event["type"], "job.canceled");
    assert_eq!(event["data"]["jobId"], job_id.as_str());
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_previous_one() {
    let mock = Mock::start(fast_config()).await;
    let (url, mut received) = listener().await;
    let created = create_endpoint(&mock, &url).await;
    let old_secret = created["signingSecret"].as_str().unwrap().to_string();
    let id = created["endpoint"]["id"].as_str().unwrap().to_string();
    let rotated = mock
        .post(
            &format!("/v1/webhook-endpoints/{id}/rotate-secret"),
            &json!({}),
        )
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_secret = rotated.body["signingSecret"].as_str().unwrap().to_string();
    assert!(new_secret.starts_with("whsec_"));
    assert_ne!(new_secret, old_secret);
    assert_eq!(rotated.body["endpointId"], id.as_str());
    assert!(rotated.body["previousSecretExpiresAt"].is_string());
    mock.post(&format!("/v1/webhook-endpoints/{id}/test"), &json!({}))
        .await;
    let (headers, _, raw) = next_delivery(&mut received).await;
    let header = headers["x-layers-signature"].to_str().unwrap();
    assert_eq!(header.matches("v1=").count(), 2, "{header}");
    verify_signature(header, &new_secret, &raw);
    verify_signature(header, &old_secret, &raw);
    mock.post(
        "/v1/webhook-endpoints/00000000-0000-4000-8000-000000000000/rotate-secret",
        &json!({}),
    )
    .await
    .assert_error(404, "NOT_FOUND");
}

#[tokio::test]
async fn a_failed_job_says_why() {
    let mock = Mock::start(layers_mock::MockConfig {
        job_fail_rate: 1.0,
        ..fast_config()
    })
    .await;
    let (url, mut received) = listener().await;
    let created = mock
        .post(
            "/v1/webhook-endpoints",
            &json!({"url": url, "events": ["job.failed"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let project = mock
        .post("/v1/projects", &json!({"name": "f", "timezone": "UTC"}))
        .await;
    let project_id = project.body["id"].as_str().unwrap().to_string();
    let job = mock
        .post(
            &format!("/v1/projects/{project_id}/ingest/website"),
            &json!({"url": "https://example.com"}),
        )
        .await;
    assert_eq!(job.status, 202, "{}", job.text);
    let (_, event, _) = next_delivery(&mut received).await;
    assert_eq!(event["type"], "job.failed", "{event}");
    assert_eq!(event["data"]["jobId"], job.body["jobId"]);
    assert!(event["data"]["error"].is_object(), "{event}");
}
