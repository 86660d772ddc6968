//! Shared helpers for the mock's integration tests: a started mock plus a small client.

#![allow(dead_code)]

use std::time::Duration;

use layers_mock::{DEMO_KEY, MockConfig, MockServer};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// A second well-formed key (distinct key id) for per-key bucket tests.
pub const OTHER_KEY: &str = "lp_live_01JOTHERKEY00000_c2Vjb25kLWtleS1mb3ItdGVzdHMtb25seS0xMjM0NTY";

/// Config with short jobs so lifecycle tests finish quickly.
pub fn fast_config() -> MockConfig {
    MockConfig {
        job_duration: Duration::from_millis(200),
        scrape_after: Duration::from_millis(50),
        ..MockConfig::default()
    }
}

/// One HTTP exchange.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    /// `jobId` of a 202 that started a job.
    pub fn job_id(&self) -> String {
        self.body["jobId"]
            .as_str()
            .unwrap_or_else(|| panic!("no jobId in {}", self.text))
            .to_string()
    }

    /// A response header as a string ("" when absent).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts the error envelope and its code; returns `error.details`.
    pub fn assert_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        let error = &self.body["error"];
        assert_eq!(error["code"], code, "body: {}", self.text);
        assert!(error["message"].is_string(), "body: {}", self.text);
        assert_eq!(
            error["requestId"],
            self.header("x-request-id"),
            "body: {}",
            self.text
        );
        assert!(error["details"].is_object(), "body: {}", self.text);
        &error["details"]
    }
}

/// A running mock and a client that talks to it on 127.0.0.1.
pub struct Mock {
    pub server: MockServer,
    pub client: reqwest::Client,
}

impl Mock {
    /// Starts a mock on a free loopback port.
    pub async fn start(config: MockConfig) -> Mock {
        let server = MockServer::start(config, "127.0.0.1:0".parse().unwrap())
            .await
            .expect("mock starts");
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Mock { server, client }
    }

    /// Absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.base_url())
    }

    /// Sends a request with the demo key.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Reply {
        self.call_as(DEMO_KEY, method, path, body, idempotency_key)
            .await
    }

    /// Sends a request with `key` in `X-Api-Key`.
    pub async fn call_as(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotency_key: Option<&str>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header("x-api-key", key);
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        reply(request.send().await.expect("request reaches the mock")).await
    }

    /// GET with the demo key.
    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, None, None).await
    }

    /// POST a JSON body with the demo key.
    pub async fn post(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::POST, path, Some(body), None).await
    }

    /// PATCH a JSON body with the demo key.
    pub async fn patch(&self, path: &str, body: &Value) -> Reply {
        self.call(Method::PATCH, path, Some(body), None).await
    }

    /// Sends a request a test built itself (other headers, a raw body, no key).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        reply(request.send().await.expect("request reaches the mock")).await
    }

    /// Starts an ingest job (`source`: appstore, github or website) on `project`.
    pub async fn ingest(&self, project: &str, source: &str, body: &Value) -> Reply {
        self.post(&format!("/v1/projects/{project}/ingest/{source}"), body)
            .await
    }

    /// Asserts each `(method, path, body, status, code)` is refused with that error
    /// envelope; a failure names the row.
    pub async fn assert_refused(&self, rows: &[(Method, String, Option<Value>, u16, &str)]) {
        for (method, path, body, status, code) in rows {
            let got = self.call(method.clone(), path, body.as_ref(), None).await;
            assert_eq!(
                (got.status.as_u16(), got.body["error"]["code"].as_str()),
                (*status, Some(*code)),
                "{method} {path} {body:?}: {}",
                got.text
            );
            got.assert_error(*status, code);
        }
    }

    /// How many projects `GET /v1/projects` lists on its first page.
    pub async fn project_count(&self) -> usize {
        let listed = self.get("/v1/projects").await;
        listed.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items in {}", listed.text))
            .len()
    }

    /// The side-effect ledger.
    pub async fn ledger(&self) -> Value {
        let response = self
            .client
            .get(self.url("/_mock/ledger"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Creates a project and returns its id.
    pub async fn project(&self, name: &str) -> String {
        let reply = self
            .post(
                "/v1/projects",
                &serde_json::json!({ "name": name, "timezone": "UTC" }),
            )
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text);
        reply.body["id"].as_str().unwrap().to_string()
    }

    /// Polls a job until it is terminal; returns every body seen, in order.
    pub async fn poll_job(&self, job_id: &str) -> Vec<Value> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let reply = self.get(&format!("/v1/jobs/{job_id}")).await;
            assert_eq!(reply.status, 200, "{}", reply.text);
            let done = reply.body["status"] != "running";
            seen.push(reply.body);
            if done {
                return seen;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job {job_id} never finished"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Reads a response fully.
pub async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        body,
    }
}

/// Asserts `req_` + a 26-char Crockford ULID.
pub fn assert_request_id(id: &str) {
    let ulid = id
        .strip_prefix("req_")
        .unwrap_or_else(|| panic!("bad request id {id:?}"));
    assert_eq!(ulid.len(), 26, "bad request id {id:?}");
    assert!(ulid.parse::<ulid::Ulid>().is_ok(), "bad request id {id:?}");
}
