//! A small httpbin-like server on 127.0.0.1 for the scenario-language tests and the
//! docs examples, plus helpers to run the built `runner` binary and read its JUnit.
//!
//! Routes (any method unless said):
//! - `/anything[/...]`: echoes the request as JSON: `method`, `path`, `args`, `headers`
//!   (lower-case names), `cookies`, `data` (the body as text), `json`, `form`, `files`.
//! - `/json`: a fixed document (see [`JSON_DOC`]) with `X-Request-Id` and `Cache-Control` headers.
//! - `/text`: a plain-text body.
//! - `/status/{code}`: answers with that status and `{"status": code}`.
//! - `/response-headers?Name=Value`: answers with those headers.
//! - `/cookies/set?name=value`: sets cookies (`Path=/`); `/cookies`: the cookies received.
//! - `/delay/{ms}`: answers after `ms` milliseconds.
//! - `/flaky/{key}?failures=N&status=503&retry_after=S`: the first N requests of `key` get
//!   `status` (with `Retry-After: S` when given); the next ones 201 and the echo.
//! - `/poll/{key}?after=N`: `{"status": "running"}` for the first N requests of `key`,
//!   then `{"status": "completed"}`; `attempt` counts the requests.
//!
//! Every request to `/flaky/{key}` and `/poll/{key}` is recorded under `key`:
//! [`LanguageServer::requests`] returns them.

#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};

// Each helper brings the runner core along, so a test can take any of them alone.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;
use process::{Finished, Run};

#[allow(clippy::duplicate_mod)]
#[path = "http_server.rs"]
mod http_server;
use http_server::Served;

/// The body of `GET /json`.
pub const JSON_DOC: &str = r#"{
  "killSwitch": false,
  "organizationId": "0b0e3f5c-2d4e-4b8a-9c1d-3e5f7a9b1c2d",
  "name": "Layers",
  "plan": "pro",
  "creditBalance": 120,
  "ratio": 0.5,
  "scopes": [],
  "nothing": null,
  "items": [
    { "id": 1, "status": "active", "tags": ["a"] },
    { "id": 2, "status": "archived", "tags": [] }
  ]
}"#;

pub use http_server::Recorded;

#[derive(Default)]
struct Shared {
    log: Mutex<HashMap<String, Vec<Recorded>>>,
}

/// The running server; it stops when the test process ends.
pub struct LanguageServer {
    pub base_url: String,
    shared: Arc<Shared>,
    served: Served,
}

impl LanguageServer {
    pub fn start() -> LanguageServer {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/anything", any(anything))
            .route("/anything/{*rest}", any(anything))
            .route("/json", any(json_doc))
            .route("/text", any(text))
            .route("/status/{code}", any(status))
            .route("/response-headers", any(response_headers))
            .route("/cookies", any(cookies))
            .route("/cookies/set", any(set_cookies))
            .route("/delay/{ms}", any(delay))
            .route("/flaky/{key}", any(flaky))
            .route("/poll/{key}", any(poll))
            .route("/redirect-to", any(redirect_to))
            .route("/redirect/{n}", any(redirect_n))
            .route("/gzip", any(gzip_doc))
            .route("/latin1", any(latin1))
            .route("/numbers", any(numbers))
            .route("/bytes", any(bytes_route))
            .with_state(shared.clone());
        let served = Served::start(app);
        LanguageServer {
            base_url: served.base_url(),
            shared,
            served,
        }
    }

    /// The requests recorded under `key`, in arrival order.
    pub fn requests(&self, key: &str) -> Vec<Recorded> {
        self.shared
            .log
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .unwrap_or_default()
    }
}

fn record(
    shared: &Shared,
    key: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> usize {
    let mut log = shared.log.lock().unwrap();
    let list = log.entry(key.to_string()).or_default();
    list.push(Recorded::from_parts(method, uri, headers, body.to_vec()));
    list.len()
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Pairs as a JSON object; a repeated name becomes a list.
fn pairs_object(pairs: Vec<(String, String)>) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        match m.get_mut(&k) {
            Some(Value::Array(items)) => items.push(Value::String(v)),
            Some(existing) => {
                let first = existing.take();
                *existing = Value::Array(vec![first, Value::String(v)]);
            }
            None => {
                m.insert(k, Value::String(v));
            }
        }
    }
    Value::Object(m)
}

fn cookie_object(headers: &HeaderMap) -> Value {
    let mut m = Map::new();
    for v in headers.get_all("cookie") {
        for pair in String::from_utf8_lossy(v.as_bytes()).split(';') {
            if let Some((k, v)) = pair.trim().split_once('=') {
                m.insert(k.to_string(), Value::String(v.to_string()));
            }
        }
    }
    Value::Object(m)
}

fn echo(method: &Method, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Value {
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = String::from_utf8_lossy(body).into_owned();
    let mut form = Value::Object(Map::new());
    let mut files = Value::Object(Map::new());
    if content_type.starts_with("application/x-www-form-urlencoded") {
        form = pairs_object(query_pairs(Some(&text)));
    } else if let Some(boundary) = content_type.split("boundary=").nth(1) {
        let (fields, parts) = parse_multipart(body, boundary.trim_matches('"'));
        form = Value::Object(fields);
        files = Value::Object(parts);
    }
    let mut hs = Map::new();
    for (k, v) in headers {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        hs.insert(k.as_str().to_string(), Value::String(v));
    }
    json!({
        "method": method.as_str(),
        "path": uri.path(),
        "args": pairs_object(query_pairs(uri.query())),
        "headers": hs,
        "cookies": cookie_object(headers),
        "data": text,
        "json": serde_json::from_slice::<Value>(body).unwrap_or(Value::Null),
        "form": form,
        "files": files,
    })
}

/// Text fields and file parts (`{filename, content_type, content}`) of a multipart body.
fn parse_multipart(body: &[u8], boundary: &str) -> (Map<String, Value>, Map<String, Value>) {
    let mut fields = Map::new();
    let mut files = Map::new();
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    for chunk in text.split(delimiter.as_str()) {
        let chunk = chunk.strip_prefix("\r\n").unwrap_or(chunk);
        let Some((head, content)) = chunk.split_once("\r\n\r\n") else {
            continue;
        };
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                for attr in line.split(';') {
                    let attr = attr.trim();
                    if let Some(v) = attr.strip_prefix("name=") {
                        name = Some(v.trim_matches('"').to_string());
                    } else if let Some(v) = attr.strip_prefix("filename=") {
                        filename = Some(v.trim_matches('"').to_string());
                    }
                }
            } else if lower.starts_with("content-type:") {
                content_type = Some(line["content-type:".len()..].trim().to_string());
            }
        }
        let Some(name) = name else { continue };
        match filename {
            Some(f) => {
                files.insert(
                    name,
                    json!({ "filename": f, "content_type": content_type, "content": content }),
                );
            }
            None => {
                fields.insert(name, Value::String(content.to_string()));
            }
        }
    }
    (fields, files)
}

async fn anything(method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    axum::Json(echo(&method, &uri, &headers, &body)).into_response()
}

async fn json_doc() -> Response {
    (
        [
            ("content-type", "application/json"),
            ("x-request-id", "req_0123456789"),
            ("cache-control", "no-store"),
        ],
        JSON_DOC,
    )
        .into_response()
}

/// Numbers a 64-bit float cannot tell apart, as the server wrote them.
async fn numbers() -> Response {
    (
        [("content-type", "application/json")],
        r#"{"id": 9007199254740993, "big": 1000000000000000000001, "price": 19.990, "count": 3}"#,
    )
        .into_response()
}

/// The request body back as it came; without one, the 8 bytes that start a PNG.
async fn bytes_route(body: Bytes) -> Response {
    let out = if body.is_empty() {
        Bytes::from_static(&[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a])
    } else {
        body
    };
    ([("content-type", "application/octet-stream")], out).into_response()
}

async fn text() -> Response {
    (
        [("content-type", "text/plain; charset=utf-8")],
        "order 42 confirmed; token=abc123; total=19.99",
    )
        .into_response()
}

async fn status(UrlPath(code): UrlPath<u16>) -> Response {
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    (code, axum::Json(json!({ "status": code.as_u16() }))).into_response()
}

async fn response_headers(RawQuery(q): RawQuery) -> Response {
    let mut headers = HeaderMap::new();
    for (k, v) in query_pairs(q.as_deref()) {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&v),
        ) {
            headers.append(k, v);
        }
    }
    (headers, axum::Json(json!({}))).into_response()
}

async fn cookies(headers: HeaderMap) -> Response {
    axum::Json(json!({ "cookies": cookie_object(&headers) })).into_response()
}

async fn set_cookies(RawQuery(q): RawQuery, headers: HeaderMap) -> Response {
    let mut out = HeaderMap::new();
    let mut all = match cookie_object(&headers) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    for (k, v) in query_pairs(q.as_deref()) {
        if let Ok(h) = HeaderValue::from_str(&format!("{k}={v}; Path=/")) {
            out.append("set-cookie", h);
        }
        all.insert(k, Value::String(v));
    }
    (out, axum::Json(json!({ "cookies": all }))).into_response()
}

/// httpbin's `/redirect-to?url=...&status_code=...`.
async fn redirect_to(RawQuery(q): RawQuery) -> Response {
    let pairs = query_pairs(q.as_deref());
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let code = get("status_code")
        .and_then(|c| c.parse::<u16>().ok())
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::FOUND);
    let to = get("url").unwrap_or_else(|| "/json".into());
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&to) {
        headers.insert("location", v);
    }
    (code, headers).into_response()
}

/// httpbin's `/redirect/n`: n hops of 302, then `/json`.
async fn redirect_n(UrlPath(n): UrlPath<u32>) -> Response {
    let to = if n <= 1 {
        "/json".to_string()
    } else {
        format!("/redirect/{}", n - 1)
    };
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(&to) {
        headers.insert("location", v);
    }
    (StatusCode::FOUND, headers).into_response()
}

/// The `/json` document, gzip-coded on the wire.
async fn gzip_doc() -> Response {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(JSON_DOC.as_bytes());
    let body = e.finish().unwrap_or_default();
    (
        [
            ("content-type", "application/json"),
            ("content-encoding", "gzip"),
        ],
        body,
    )
        .into_response()
}

/// `café crème` in ISO-8859-1, declared as such.
async fn latin1() -> Response {
    (
        [("content-type", "text/plain; charset=ISO-8859-1")],
        b"caf\xe9 cr\xe8me".to_vec(),
    )
        .into_response()
}

async fn delay(UrlPath(ms): UrlPath<u64>) -> Response {
    tokio::time::sleep(Duration::from_millis(ms.min(60_000))).await;
    axum::Json(json!({ "delayed": ms })).into_response()
}

async fn flaky(
    State(shared): State<Arc<Shared>>,
    UrlPath(key): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = record(&shared, &key, &method, &uri, &headers, &body);
    let q = query_pairs(uri.query());
    let get = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let failures: usize = get("failures").and_then(|v| v.parse().ok()).unwrap_or(1);
    if n <= failures {
        let code = get("status")
            .and_then(|v| v.parse().ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut out = HeaderMap::new();
        if let Some(ra) = get("retry_after").and_then(|v| HeaderValue::from_str(&v).ok()) {
            out.insert("retry-after", ra);
        }
        return (
            code,
            out,
            axum::Json(json!({ "attempt": n, "error": "try again" })),
        )
            .into_response();
    }
    let mut doc = echo(&method, &uri, &headers, &body);
    doc["attempt"] = json!(n);
    (StatusCode::CREATED, axum::Json(doc)).into_response()
}

async fn poll(
    State(shared): State<Arc<Shared>>,
    UrlPath(key): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let n = record(&shared, &key, &method, &uri, &headers, &body);
    let after: usize = query_pairs(uri.query())
        .into_iter()
        .find(|(k, _)| k == "after")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(2);
    let status = if n <= after { "running" } else { "completed" };
    axum::Json(json!({ "status": status, "attempt": n })).into_response()
}

// --- running the binary --------------------------------------------------------------

/// What one run of the binary left behind.
#[derive(Debug)]
pub struct RunOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The JUnit report, as text, when one was written.
    pub junit: Option<String>,
}

impl RunOutput {
    /// Assert the exit code, showing everything the run printed when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{}", self.all());
        self
    }

    /// stdout and stderr together, for messages wherever they were printed.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// The JUnit report, parsed.
    pub fn report(&self) -> quick_junit::Report {
        let xml = self.junit.as_deref().expect("a JUnit report was written");
        quick_junit::Report::deserialize_from_str(xml)
            .unwrap_or_else(|e| panic!("the JUnit report does not parse: {e}\n{xml}"))
    }

    /// Every testcase of the report.
    pub fn cases(&self) -> Vec<quick_junit::TestCase> {
        self.report()
            .test_suites
            .into_iter()
            .flat_map(|s| s.test_cases)
            .collect()
    }

    /// The testcase named `name`.
    pub fn case(&self, name: &str) -> quick_junit::TestCase {
        let cases = self.cases();
        let names: Vec<String> = cases.iter().map(|c| c.name.to_string()).collect();
        cases
            .into_iter()
            .find(|c| c.name.as_str() == name)
            .unwrap_or_else(|| panic!("no testcase {name:?}; have {names:?}"))
    }
}

/// A folder of scenario files for one test.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Write `text` at `rel` (folders created); returns the full path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Run the binary with `args` (in this folder), writing a JUnit report.
    pub fn run(&self, args: &[&str]) -> RunOutput {
        run_in(self.dir.path(), args, &[])
    }

    /// Like [`Workspace::run`], with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
        run_in(self.dir.path(), args, env)
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Self::new()
    }
}

/// Run the runner in `dir` with `args` plus `--junit <dir>/junit.xml`.
pub fn run_in(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    let junit = dir.join("junit.xml");
    let _ = std::fs::remove_file(&junit);
    let mut run = Run::new().current_dir(dir).args(args);
    // Only `run` (the default command) writes reports.
    if !matches!(args.first(), Some(&("list" | "validate" | "mock"))) {
        run = run.arg("--junit").arg(&junit);
    }
    let done = run
        .env_remove("RUNNER_BASE_URL")
        .env_remove("LAYERS_API_KEY")
        .env("NO_COLOR", "1")
        .env("CI", "1")
        .envs(env)
        .output();
    RunOutput {
        code: done.code().unwrap_or(-1),
        stdout: done.stdout,
        stderr: done.stderr,
        junit: std::fs::read_to_string(&junit).ok(),
    }
}

/// Run `cmd`, killing it when it takes longer than `limit` (a hang is a failure, not a wait).
pub fn run_with_timeout(cmd: Command, limit: Duration) -> Finished {
    Run::command(cmd).limit(limit).output()
}

/// The failure (or error) message and description of a testcase, joined.
pub fn failure_text(case: &quick_junit::TestCase) -> String {
    use quick_junit::TestCaseStatus;
    match &case.status {
        TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } => format!(
            "{}\n{}",
            message.as_ref().map(|m| m.as_str()).unwrap_or(""),
            description.as_ref().map(|m| m.as_str()).unwrap_or("")
        ),
        other => panic!("testcase {} did not fail: {other:?}", case.name.as_str()),
    }
}
