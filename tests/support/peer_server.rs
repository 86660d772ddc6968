//! The server of the peer suite (`tests/peer_suite/`): routes that reproduce what
//! Hurl's integration server (Orange-OpenSource/hurl, `integration/hurl/tests_ok`)
//! lets its tests check, written anew for this project.
//!
//! Like Hurl's server, many routes check the request they receive: they answer 200
//! when it is what the scenario says it sends, and 400 with every difference in the
//! body otherwise. A scenario therefore fails when the runner sends something else
//! (a cookie too many, a header lost on a redirect, a form field encoded wrongly),
//! not only when it misreads a response.
//!
//! Two servers run on 127.0.0.1: `main`, where every scenario goes, and `other`, a
//! second origin (another port) that cross-origin redirects land on.

#![allow(dead_code)]

use std::io::Write;
use std::sync::{Arc, OnceLock};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::http_server::{Recorded, Reply, TestServer};

/// Both origins of the suite.
pub struct PeerServer {
    pub main: TestServer,
    pub other: TestServer,
}

impl PeerServer {
    pub fn start() -> PeerServer {
        let bodies = Arc::new(Bodies::new());
        let b = bodies.clone();
        let other = TestServer::start(move |r| {
            route(
                r,
                &Ctx {
                    base: "",
                    other: "",
                    on_other: true,
                    bodies: &b,
                },
            )
        });
        let other_base = other.base_url();
        // The main server's address is known once it listens; no request comes before.
        let main_base: Arc<OnceLock<String>> = Arc::new(OnceLock::new());
        let known = main_base.clone();
        let main = TestServer::start(move |r| {
            route(
                r,
                &Ctx {
                    base: known.get().map(String::as_str).unwrap_or(""),
                    other: &other_base,
                    on_other: false,
                    bodies: &bodies,
                },
            )
        });
        let _ = main_base.set(main.base_url());
        PeerServer { main, other }
    }

    /// The command-line arguments a run of the suite needs: the base URL, and the
    /// two origins as variables for the assertions on final URLs.
    pub fn args(&self) -> Vec<String> {
        vec![
            "--base-url".into(),
            self.main.base_url(),
            "--var".into(),
            format!("base={}", self.main.base_url()),
            "--var".into(),
            format!("other={}", self.other.base_url()),
        ]
    }
}

/// Bodies made once: coded bodies and the large one.
struct Bodies {
    hello_gzip: Vec<u8>,
    hello_zlib: Vec<u8>,
    hello_deflate: Vec<u8>,
    hello_br: Vec<u8>,
    hello_zstd: Vec<u8>,
    hello_gzip_br: Vec<u8>,
    json_gzip: Vec<u8>,
    large_text: Vec<u8>,
    large_br: Vec<u8>,
}

const HELLO: &[u8] = b"Hello World!";

/// A JSON document served gzip-coded.
const CODED_JSON: &str = r#"{"coding":"gzip","items":[1,2,3],"city":"Zürich"}"#;

impl Bodies {
    fn new() -> Bodies {
        let large_text = large_text();
        Bodies {
            hello_gzip: gzip(HELLO),
            hello_zlib: zlib(HELLO),
            hello_deflate: raw_deflate(HELLO),
            hello_br: brotli(HELLO),
            hello_zstd: zstd(HELLO),
            hello_gzip_br: brotli(&gzip(HELLO)),
            json_gzip: gzip(CODED_JSON.as_bytes()),
            large_br: brotli(&large_text),
            large_text,
        }
    }
}

/// 200 000 bytes of numbered lines, ending with a line the scenario looks for.
fn large_text() -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0u32;
    while out.len() < 199_980 {
        out.extend_from_slice(format!("line {i:06} of the large body\n").as_bytes());
        i += 1;
    }
    out.truncate(199_980);
    out.extend_from_slice(b"\nTHE END OF IT\n");
    out.resize(200_000, b'.');
    out
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
        let _ = w.write_all(data);
    }
    out
}

fn zstd(data: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
}

struct Ctx<'a> {
    /// This server's own origin, `http://127.0.0.1:PORT` (empty on `other`).
    base: &'a str,
    /// The second origin.
    other: &'a str,
    on_other: bool,
    bodies: &'a Bodies,
}

/// What the server found wrong with a request; 200 when nothing, else 400 listing it.
#[derive(Default)]
struct Checks(Vec<String>);

impl Checks {
    fn that(&mut self, ok: bool, problem: impl FnOnce() -> String) {
        if !ok {
            self.0.push(problem());
        }
    }

    fn eq<T: PartialEq + std::fmt::Debug + ?Sized>(&mut self, what: &str, got: &T, want: &T) {
        self.that(got == want, || {
            format!("{what}: expected {want:?}, got {got:?}")
        });
    }

    fn header(&mut self, r: &Recorded, name: &str, want: Option<&str>) {
        self.eq(&format!("header {name}"), &r.header(name), &want);
    }

    fn method(&mut self, r: &Recorded, want: &str) {
        self.eq("method", r.method.as_str(), want);
    }

    fn body(&mut self, r: &Recorded, want: &[u8]) {
        self.that(r.body == want, || {
            format!(
                "body: expected {:?}, got {:?}",
                String::from_utf8_lossy(want),
                String::from_utf8_lossy(&r.body)
            )
        });
    }

    fn no_query(&mut self, r: &Recorded) {
        self.eq("query string", &r.query, &None);
    }

    fn done(self, ok_body: &str) -> Reply {
        if self.0.is_empty() {
            Reply::text(200, ok_body)
        } else {
            Reply::text(
                400,
                &format!("the server's checks failed: {}", self.0.join("; ")),
            )
        }
    }
}

/// The request's cookies, in the order sent (one entry per `name=value`).
fn cookies(r: &Recorded) -> Vec<(String, String)> {
    r.header_values("cookie")
        .iter()
        .flat_map(|h| h.split(';'))
        .filter_map(|c| {
            let c = c.trim();
            c.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

fn cookie_values(r: &Recorded, name: &str) -> Vec<String> {
    cookies(r)
        .into_iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| v)
        .collect()
}

fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn redirect(status: u16, to: &str) -> Reply {
    Reply::text(status, "Redirecting...").header("Location", to)
}

fn coded(content_type: &str, coding: &str, data: &[u8]) -> Reply {
    Reply::bytes(200, content_type, data.to_vec()).header("Content-Encoding", coding)
}

fn accepts(r: &Recorded, coding: &str) -> bool {
    r.header("accept-encoding")
        .is_some_and(|a| a.split(',').any(|c| c.trim() == coding))
}

/// A coded body, only to a client that said it accepts the coding (as Hurl's server
/// checks: a client must not be sent a coding it did not ask for).
fn coded_if_accepted(r: &Recorded, coding: &str, data: &[u8]) -> Reply {
    let mut c = Checks::default();
    for one in coding
        .split(',')
        .map(str::trim)
        .filter(|c| *c != "identity")
    {
        c.that(accepts(r, one), || {
            format!(
                "Accept-Encoding {:?} does not list {one}",
                r.header("accept-encoding")
            )
        });
    }
    if c.0.is_empty() {
        coded("text/html; charset=utf-8", coding, data)
    } else {
        c.done("")
    }
}

fn charset_body(content_type: &str, text: &str, label: &str) -> Reply {
    let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    let (bytes, _, _) = encoding.encode(text);
    Reply::bytes(200, content_type, bytes.into_owned())
}

/// One part of a multipart body.
#[derive(Debug, PartialEq)]
struct Part {
    name: String,
    filename: Option<String>,
    content_type: Option<String>,
    data: Vec<u8>,
}

/// The parts of a `multipart/form-data` body. A test server's own small reader:
/// the project has no multipart parser among its dependencies, and this one works on
/// bytes so binary parts arrive exactly.
fn multipart(r: &Recorded) -> Result<Vec<Part>, String> {
    let ct = r.header("content-type").unwrap_or("");
    if !ct.starts_with("multipart/form-data") {
        return Err(format!("Content-Type is {ct:?}, not multipart/form-data"));
    }
    let boundary = ct
        .split(';')
        .filter_map(|p| p.trim().strip_prefix("boundary="))
        .next()
        .map(|b| b.trim_matches('"').to_string())
        .ok_or_else(|| format!("no boundary in {ct:?}"))?;
    let delimiter = format!("--{boundary}");
    let body = &r.body;
    let mut starts = Vec::new();
    let mut i = 0;
    while let Some(at) = find(&body[i..], delimiter.as_bytes()) {
        starts.push(i + at);
        i += at + delimiter.len();
    }
    let mut parts = Vec::new();
    for w in starts.windows(2) {
        let chunk = &body[w[0] + delimiter.len()..w[1]];
        let chunk = chunk
            .strip_prefix(b"\r\n")
            .ok_or("a delimiter not ended by CRLF")?;
        let chunk = chunk
            .strip_suffix(b"\r\n")
            .ok_or("a part not ended by CRLF")?;
        let split = find(chunk, b"\r\n\r\n").ok_or("a part without a blank line")?;
        let head = String::from_utf8_lossy(&chunk[..split]).into_owned();
        let data = chunk[split + 4..].to_vec();
        let mut part = Part {
            name: String::new(),
            filename: None,
            content_type: None,
            data,
        };
        for line in head.split("\r\n") {
            let (k, v) = line.split_once(':').ok_or("a part header without `:`")?;
            match k.trim().to_ascii_lowercase().as_str() {
                "content-disposition" => {
                    for attr in v.split(';').map(str::trim) {
                        if let Some(n) = attr.strip_prefix("name=") {
                            part.name = n.trim_matches('"').to_string();
                        } else if let Some(f) = attr.strip_prefix("filename=") {
                            part.filename = Some(f.trim_matches('"').to_string());
                        }
                    }
                }
                "content-type" => part.content_type = Some(v.trim().to_string()),
                _ => {}
            }
        }
        parts.push(part);
    }
    let last = starts.last().copied().unwrap_or(0);
    if !body[last..].starts_with(format!("{delimiter}--").as_bytes()) {
        return Err("the body does not end with the closing delimiter".into());
    }
    Ok(parts)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Bytes that are not UTF-8, for the binary request bodies.
pub const BINARY: &[u8] = &[0xff, 0x00, 0xfe, 0x01, 0x80, 0x7f, 0xc3, 0x28];

const ASSERT_JSON: &str = r#"{
  "count": 7,
  "success": false,
  "errors": [{"id": "e-1"}, {"id": "e-2"}],
  "failures": [{"id": "f-1"}],
  "warnings": [],
  "message": "Ann said \"hi\"",
  "duration": 2.5,
  "tags": ["beta"],
  "nullable": null,
  "order-id": "A-17",
  "uuid": "3f2c8a4e-9b1d-4c7e-8f60-1a2b3c4d5e6f",
  "empty": {}
}"#;

const FRUIT_JSON: &str = r#"{
  "fruit": [
    {"name": "apple", "price": {"US": 100, "EU": 90}, "countries": ["Chile", "New Zealand"]},
    {"name": "grape", "price": {"US": 200, "EU": 150}, "countries": ["France", "Italy"]},
    {"name": "orange", "countries": ["Spain"]},
    {"name": "kiwi", "countries": ["New Zealand", "Italy"]}
  ]
}"#;

const PARTS_JSON: &str = r#"{
  "main": {
    "items": [
      {"id": 1, "name": "car"},
      {"id": 2, "name": "bike", "items": [{"id": 4, "name": "wheel"}]},
      {"id": 3, "name": "plane"}
    ]
  },
  "more": {"items": [{"id": 5, "name": "scooter"}]}
}"#;

const FLOATS_JSON: &str = "[-2.2, 0.0, 0.0000000000000001, 0.000000000000001, 0.333, 0.3333333333333333, 1.0, 1.001, 1.07, 1.070, 1.1, 1.5]";

const CAPTURES_JSON: &str = r#"{"a_null":null,"an_object":{"id":"123"},"a_list":[1,2,3],"an_integer":1,"a_big_integer":10000000000000000365,"a_float":1.1,"a_bool":true,"a_string":"hello","a_date_like_string":"2012-04-23T18:25:43.511Z"}"#;

fn route(r: &Recorded, ctx: &Ctx<'_>) -> Reply {
    let path = r.path.as_str();
    if let Some(code) = path.strip_prefix("/status/") {
        return match code.parse::<u16>() {
            Ok(code) => Reply::text(code, &format!("status {code}")),
            Err(_) => Reply::text(404, "no such status"),
        };
    }
    if let Some(name) = path.strip_prefix("/method/") {
        let mut c = Checks::default();
        c.method(r, name);
        return c
            .done(&format!("method {name}"))
            .header("X-Method", &r.method);
    }
    if let Some(id) = path.strip_prefix("/items/") {
        return Reply::json(200, json!({ "id": id, "query": r.query }));
    }
    let mut c = Checks::default();
    match path {
        // --- JSON (assert_json, float, assert_match) -------------------------------
        "/assert-json" => Reply::bytes(200, "application/json", ASSERT_JSON.into()),
        "/assert-json/list" => Reply::json(
            200,
            json!([{"id": 1, "name": "Bob"}, {"id": 2, "name": "Bill"}]),
        ),
        "/assert-json/filter" => Reply::bytes(200, "application/json", FRUIT_JSON.into()),
        "/assert-json/filter-by-name" => {
            Reply::bytes(200, "application/json", PARTS_JSON.into())
        }
        "/assert-json/big-number" => Reply::bytes(
            200,
            "application/json",
            br#"{"big_integer": 1000000000000000000000}"#.to_vec(),
        ),
        "/assert-json/list-in-list" => Reply::json(
            200,
            json!({"list": [1, 2, 3], "list_in_list": [[1, 2, 3]]}),
        ),
        "/float" => Reply::bytes(200, "application/json", FLOATS_JSON.into()),
        "/assert-match" => Reply::bytes(
            200,
            "application/json",
            br#"{"date1": "2014-01-01", "date2": "x2014-01-01", "path1": "aa/bb", "path2": "aa\\bb", "path3": "Hello World!"}"#.to_vec(),
        ),
        "/assert-regex" => Reply::text(200, "Hello World! Your order 1234 has shipped."),
        "/unicode" => {
            // The client sends UTF-8 text in JSON; the reply writes it back escaped.
            let got: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            c.eq("JSON body", &got, &json!({"word": "café ☕ 日本"}));
            c.header(r, "content-type", Some("application/json"));
            if c.0.is_empty() {
                Reply::bytes(
                    200,
                    "application/json",
                    br#"{"word": "caf\u00e9 \u2615 \u65e5\u672c", "raw": "caf\u00c3\u00a9"}"#
                        .to_vec(),
                )
            } else {
                c.done("")
            }
        }

        // --- response headers (assert_header) ---------------------------------------
        "/assert-header" => Reply::text(200, "")
            .header("Header1", "value1")
            .header("ETag", "\"33a64df551425fcc55e4d42a148795d9f25f89d4\"")
            .header("Expires", "Wed, 21 Oct 2015 07:28:00 GMT")
            .header("X-Fruit", "Banana")
            .header("X-Fruit", "Lemon")
            .header("X-Fruit", "Grape")
            .header("X-Fruit", "Strawberry")
            .header("Set-Cookie", "cookie1=value1; Path=/")
            .header("Set-Cookie", "cookie2=value2; Path=/")
            .header("Set-Cookie", "cookie3=value3; Path=/"),
        "/location-http" => redirect(302, ctx.other),
        "/location-custom-scheme" => redirect(302, "market://details?id=com.example.package"),
        "/location-xxx" => redirect(302, "xxx"),

        // --- request headers (headers, empty_value_header) ---------------------------
        "/default-headers" => {
            let ua = r.header("user-agent").unwrap_or("");
            c.that(ua.starts_with("runner/"), || {
                format!("User-Agent {ua:?} is not the runner's")
            });
            c.header(r, "accept", Some("*/*"));
            c.header(r, "host", ctx.base.strip_prefix("http://"));
            c.header(r, "content-length", None);
            c.header(r, "content-type", None);
            c.done("")
        }
        "/overridden-headers" => {
            c.header(r, "user-agent", Some("qa-suite/1.0"));
            c.header(r, "accept", Some("text/plain"));
            c.eq("User-Agent headers", &r.header_values("user-agent").len(), &1);
            c.done("")
        }
        "/custom-headers" => {
            c.header(r, "color", Some("Green"));
            c.header(r, "beverage", Some("café"));
            c.header(r, "id", Some("#123"));
            c.header(r, "header1", Some("'"));
            c.header(r, "x-spaced", Some("a  b"));
            c.done("")
        }
        "/empty-value-header" => {
            c.header(r, "x-custom", Some(""));
            c.done("")
        }
        "/basic-authentication" => {
            // ann@example.com:s3cret
            c.header(
                r,
                "authorization",
                Some("Basic YW5uQGV4YW1wbGUuY29tOnMzY3JldA=="),
            );
            if c.0.is_empty() {
                Reply::text(200, "You are authenticated")
            } else {
                Reply::text(401, &c.0.join("; ")).header("WWW-Authenticate", "Basic")
            }
        }

        // --- bodies (assert_body, bytes, post_bytes) ---------------------------------
        "/assert-body" => Reply::text(200, "line1\nline2\nline3\n"),
        "/assert-body-with-crlf" => Reply::text(200, "line1\nline2\r\nline3\n"),
        "/empty" => Reply::text(200, ""),
        "/bytes" => Reply::bytes(200, "application/octet-stream", vec![1, 2, 3]),
        "/empty-bytes" => Reply::bytes(200, "application/octet-stream", Vec::new()),
        "/post-bytes" => {
            c.method(r, "POST");
            c.that(r.body == BINARY, || {
                format!("body: expected bytes {BINARY:02x?}, got {:02x?}", r.body)
            });
            c.done("")
        }
        "/post-nul" => {
            c.body(r, b"a\0b\x01c");
            c.done("")
        }
        "/head" => Reply::text(200, "a body that HEAD does not get"),

        // --- captures ---------------------------------------------------------------
        "/captures" => Reply::text(200, "Hello world!")
            .header("Header1", "value1")
            .header("Header2", "Hello Bob!"),
        "/captures-check" => {
            let q = r.query_pairs();
            c.eq(
                "query",
                &q,
                &pairs(&[
                    ("param1", "value1"),
                    ("param2", "Bob"),
                    ("body", "Hello world!"),
                    ("status", "200"),
                ]),
            );
            c.done("")
        }
        "/captures-json" => Reply::bytes(200, "application/json", CAPTURES_JSON.into()),
        "/captures-json-check" => {
            // Captured values keep their JSON type and numbers go out exactly as they
            // came: 10000000000000000365 fits a u64, so a float rounding would show.
            let got: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
            let all: Value = serde_json::from_str(CAPTURES_JSON).unwrap_or(Value::Null);
            let want = json!({
                "all": all,
                "an_integer": 1,
                "a_big_integer": 10000000000000000365u64,
                "a_float": 1.1,
                "a_bool": true,
                "a_null": null,
                "a_list": [1, 2, 3],
                "an_object": {"id": "123"},
                "a_string": "hello",
                "label": "hello-1",
            });
            c.eq("JSON body", &got, &want);
            c.done("")
        }

        // --- cookies (cookies, cookie_jar) ---------------------------------------------
        "/cookies/set-request-cookie1-valueA" => {
            c.header(r, "cookie", Some("cookie1=valueA"));
            c.done("")
        }
        "/cookies/assert-that-cookie1-is-not-in-session" => {
            c.header(r, "cookie", None);
            c.done("")
        }
        "/cookies/set-multiple-request-cookies" => {
            c.header(r, "cookie", Some("user1=Bob; user2=Bill; user3=Bruce"));
            c.done("")
        }
        "/cookies/set-session-cookie2-valueA" => {
            Reply::text(200, "").header("Set-Cookie", "cookie2=valueA; Path=/")
        }
        "/cookies/assert-that-cookie2-is-valueA" => {
            c.eq("cookie2", &cookie_values(r, "cookie2"), &vec!["valueA".to_string()]);
            c.done("")
        }
        "/cookies/assert-that-cookie2-is-valueB" => {
            // The request's own cookie wins over the jar's of the same name: only it is sent.
            c.eq("cookie2", &cookie_values(r, "cookie2"), &vec!["valueB".to_string()]);
            c.done("")
        }
        "/cookies/delete-cookie2" => Reply::text(200, "").header(
            "Set-Cookie",
            "cookie2=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/",
        ),
        "/cookies/assert-that-cookie2-is-not-in-session" => {
            c.eq("cookie2", &cookie_values(r, "cookie2"), &Vec::new());
            c.done("")
        }
        "/cookies/set" => Reply::text(200, "")
            .header(
                "Set-Cookie",
                "LSID=DQAAAKEaem_vYg; Expires=Wed, 13 Jan 2038 22:23:01 GMT; Secure; HttpOnly; Path=/accounts",
            )
            .header(
                "Set-Cookie",
                "HSID=AYQEVnDKrdst; Expires=Wed, 13 Jan 2021 22:23:01 GMT; HttpOnly; Path=/",
            )
            .header(
                "Set-Cookie",
                "SSID=Ap4PGTEq; Max-Age=3600; HttpOnly; Path=/; SameSite=Lax",
            ),
        "/cookies/attributes/caseinsensitive" => Reply::text(200, "")
            .header("Set-Cookie", "CAMELCASE=value; Max-Age=1000; Path=/accounts; HttpOnly; SameSite=Strict")
            .header("Set-Cookie", "LOWERCASE=value; max-age=1000; path=/accounts; httponly; samesite=Strict")
            .header("Set-Cookie", "UPPERCASE=value; MAX-AGE=1000; PATH=/accounts; HTTPONLY; SAMESITE=Strict"),
        "/cookies/echo" | "/accounts/echo" => {
            let mut names: Vec<String> = cookies(r).into_iter().map(|(k, _)| k).collect();
            names.sort();
            Reply::json(200, json!({ "names": names, "cookie": r.header("cookie") }))
        }
        "/cookies/set-and-redirect" => redirect(302, "/cookies/assert-that-cookie2-is-valueA")
            .header("Set-Cookie", "cookie2=valueA; Path=/"),

        // --- redirects (follow_redirect, assert_redirects) -----------------------------
        "/follow-redirect" => {
            c.header(r, "accept", Some("text/plain"));
            c.eq("query", &r.query.as_deref(), &Some("foo=bar"));
            if c.0.is_empty() {
                redirect(302, &format!("{}/following-redirect", ctx.base))
            } else {
                c.done("")
            }
        }
        "/following-redirect" => {
            c.header(r, "accept", Some("text/plain"));
            c.no_query(r);
            if c.0.is_empty() {
                // A lower-case `location`, and an HTML body, as some frameworks send.
                Reply::bytes(
                    302,
                    "text/html",
                    b"<!DOCTYPE html>\n<title>Redirecting...</title>\n".to_vec(),
                )
                .header("location", &format!("{}/followed-redirect", ctx.base))
            } else {
                c.done("")
            }
        }
        "/followed-redirect" => {
            c.header(r, "accept", Some("text/plain"));
            c.no_query(r);
            c.done("Followed redirect!")
        }
        "/follow-redirect-from-post" => {
            c.method(r, "POST");
            c.header(r, "accept", Some("text/plain"));
            c.body(r, b"Hello world!");
            if c.0.is_empty() {
                redirect(301, &format!("{}/followed-redirect-from-post", ctx.base))
            } else {
                c.done("")
            }
        }
        "/followed-redirect-from-post" => {
            // POST then 301: a GET without the body (and without its Content-Type).
            c.method(r, "GET");
            c.body(r, b"");
            c.header(r, "accept", Some("text/plain"));
            c.header(r, "content-type", None);
            c.done("Followed redirect!")
        }
        "/follow-redirect/relative/foo" => redirect(302, "../bar"),
        "/follow-redirect/bar" => {
            c.header(r, "accept", Some("text/plain"));
            c.done("Followed relative redirect!")
        }
        "/follow-redirect-basic-auth" => {
            c.header(r, "authorization", Some("Basic YW5uQGV4YW1wbGUuY29tOnMzY3JldA=="));
            c.eq("fruit cookie", &cookie_values(r, "fruit"), &vec!["lemon".to_string()]);
            let to = if r.query.as_deref() == Some("change_host=true") {
                ctx.other
            } else {
                ctx.base
            };
            if c.0.is_empty() {
                redirect(302, &format!("{to}/followed-redirect-basic-auth"))
            } else {
                c.done("")
            }
        }
        "/followed-redirect-basic-auth" => {
            if ctx.on_other {
                // Another origin: the credentials written for the first one stay behind.
                c.header(r, "authorization", None);
                c.header(r, "cookie", None);
                c.header(r, "x-api-key", None);
                c.header(r, "accept", Some("text/plain"));
                c.done("Followed redirect without Authorization header!")
            } else {
                c.header(r, "authorization", Some("Basic YW5uQGV4YW1wbGUuY29tOnMzY3JldA=="));
                c.header(r, "x-api-key", Some("k-123"));
                // The request's own cookies go on with it within the origin.
                c.eq("fruit cookie", &cookie_values(r, "fruit"), &vec!["lemon".to_string()]);
                c.done("Followed redirect with Authorization header!")
            }
        }
        "/follow-redirect-308" | "/followed-redirect-308" => {
            c.method(r, "POST");
            c.header(r, "content-type", Some("application/x-www-form-urlencoded"));
            c.eq(
                "form",
                &form_pairs(&r.body),
                &pairs(&[("user", "bob"), ("pass", "123")]),
            );
            if !c.0.is_empty() {
                c.done("")
            } else if path == "/follow-redirect-308" {
                redirect(308, &format!("{}/followed-redirect-308", ctx.base))
            } else {
                Reply::text(200, "Followed redirect 308!")
            }
        }
        "/follow-redirect-307" | "/followed-redirect-307" => {
            c.method(r, "PATCH");
            c.header(r, "content-type", Some("application/json"));
            c.body(r, br#"{"amount":12.5}"#);
            if !c.0.is_empty() {
                c.done("")
            } else if path == "/follow-redirect-307" {
                redirect(307, "/followed-redirect-307")
            } else {
                Reply::text(200, "Followed redirect 307!")
            }
        }
        "/follow-redirect-303" => {
            c.method(r, "PUT");
            if c.0.is_empty() {
                redirect(303, "/followed-redirect-303")
            } else {
                c.done("")
            }
        }
        "/followed-redirect-303" => {
            c.method(r, "GET");
            c.body(r, b"");
            c.done("Followed redirect 303!")
        }
        "/redirect-3" => redirect(302, &format!("{}/redirect-2", ctx.base)),
        "/redirect-2" => redirect(301, "/redirect-1"),
        "/redirect-1" => redirect(302, "redirected"),
        "/redirected" => Reply::text(200, "Redirected"),

        // --- compressed bodies (compressed, encoding) --------------------------------
        "/compressed/none" => Reply::bytes(200, "text/html; charset=utf-8", HELLO.to_vec()),
        "/compressed/gzip" => coded_if_accepted(r, "gzip", &ctx.bodies.hello_gzip),
        "/compressed/zlib" => coded_if_accepted(r, "deflate", &ctx.bodies.hello_zlib),
        "/compressed/deflate-raw" => coded_if_accepted(r, "deflate", &ctx.bodies.hello_deflate),
        "/compressed/brotli" => coded_if_accepted(r, "br", &ctx.bodies.hello_br),
        "/compressed/zstd" => coded_if_accepted(r, "zstd", &ctx.bodies.hello_zstd),
        "/compressed/gzip-br" => coded_if_accepted(r, "gzip, br", &ctx.bodies.hello_gzip_br),
        "/compressed/brotli-identity" => {
            coded_if_accepted(r, "br, identity", &ctx.bodies.hello_br)
        }
        "/compressed/brotli-large" => {
            coded("text/plain; charset=utf-8", "br", &ctx.bodies.large_br)
        }
        "/compressed/gzip-json" => coded("application/json", "gzip", &ctx.bodies.json_gzip),
        "/compressed/asked-gzip" => {
            c.header(r, "accept-encoding", Some("gzip"));
            if c.0.is_empty() {
                coded("text/plain; charset=utf-8", "gzip", &ctx.bodies.hello_gzip)
            } else {
                c.done("")
            }
        }
        // Not used by a scenario: the coded lengths, for whoever updates the
        // Content-Length values of compressed.yaml after an encoder upgrade.
        "/compressed/lengths" => {
            let len = |b: &Vec<u8>| b.len().to_string();
            Reply::json(
                200,
                json!({
                    "gzip": len(&ctx.bodies.hello_gzip),
                    "zlib": len(&ctx.bodies.hello_zlib),
                    "deflate": len(&ctx.bodies.hello_deflate),
                    "br": len(&ctx.bodies.hello_br),
                    "zstd": len(&ctx.bodies.hello_zstd),
                    "gzip_br": len(&ctx.bodies.hello_gzip_br),
                    "large": ctx.bodies.large_text.len(),
                    "large_br": len(&ctx.bodies.large_br),
                }),
            )
        }

        // --- charsets (charset, gb2312) -----------------------------------------------
        "/charset/default" => charset_body("text/html; charset=utf-8", "<p>café</p>", "utf-8"),
        "/charset/none" => charset_body("text/html", "<p>café</p>", "utf-8"),
        "/charset/latin1" => charset_body("text/html; charset=latin1", "<p>café</p>", "latin1"),
        "/charset/latin1/uppercase-key" => {
            charset_body("text/html; CHARSET=latin1", "<p>café</p>", "latin1")
        }
        "/charset/iso-8859-1/quoted" => charset_body(
            "text/plain; charset=\"ISO-8859-1\"",
            "crème brûlée",
            "iso-8859-1",
        ),
        "/charset/gb2312" => {
            charset_body("text/html; charset=gb2312", "<p>你好世界</p>", "gb2312")
        }
        "/charset/cp1256" => charset_body(
            "text/html; charset=cp1256",
            "<p>مرحبا بالعالم</p>",
            "windows-1256",
        ),
        "/charset/shift_jis" => {
            charset_body("text/plain; charset=Shift_JIS", "こんにちは世界", "shift_jis")
        }
        "/charset/utf8/uppercase-value" => {
            charset_body("text/html; charset=UTF-8", "<p>café</p>", "utf-8")
        }
        "/charset/utf8/many-keys" => charset_body(
            "text/plain; version=0.0.4; charset=utf-8; escaping=values",
            "<p>café</p>",
            "utf-8",
        ),
        "/charset/utf8-bom" => {
            let mut body = vec![0xef, 0xbb, 0xbf];
            body.extend_from_slice("<p>café</p>".as_bytes());
            Reply::bytes(200, "text/html; charset=utf-8", body)
        }

        // --- forms and query strings (form_params, querystring_params) ---------------
        "/form-params" => {
            c.method(r, "POST");
            c.header(r, "content-type", Some("application/x-www-form-urlencoded"));
            c.eq(
                "form",
                &form_pairs(&r.body),
                &pairs(&[
                    ("param1", "value1"),
                    ("param2", ""),
                    ("param3", "a=b"),
                    ("param4", "a%3db"),
                    ("values[0]", "0"),
                    ("values[1]", "1"),
                ]),
            );
            c.done("")
        }
        "/form-params-utf8" => {
            c.eq(
                "form",
                &form_pairs(&r.body),
                &pairs(&[
                    ("city", "Zürich"),
                    ("greeting", "こんにちは"),
                    ("sum", "1+1=2 & more"),
                ]),
            );
            c.eq(
                "raw body",
                r.body_text().as_str(),
                "city=Z%C3%BCrich&greeting=%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF&sum=1%2B1%3D2+%26+more",
            );
            c.done("")
        }
        "/querystring-params" => {
            c.eq(
                "query",
                &r.query_pairs(),
                &pairs(&[
                    ("param1", "value1"),
                    ("param2", ""),
                    ("param3", "a=b"),
                    ("param4", "1,2,3"),
                    ("size", "40"),
                    ("size", "41"),
                    ("slash", "/"),
                    ("city", "Zürich"),
                ]),
            );
            c.done("")
        }

        // --- multipart (multipart_form_data) -----------------------------------------
        "/multipart-form-data" => match multipart(r) {
            Err(e) => Reply::text(400, &format!("the server's checks failed: {e}")),
            Ok(parts) => {
                let got: Vec<(String, Option<String>, Option<String>, String)> = parts
                    .iter()
                    .map(|p| {
                        (
                            p.name.clone(),
                            p.filename.clone(),
                            p.content_type.clone(),
                            String::from_utf8_lossy(&p.data).into_owned(),
                        )
                    })
                    .collect();
                let s = |v: &str| Some(v.to_string());
                let want = vec![
                    ("key1".to_string(), None, None, "value1".to_string()),
                    (
                        "upload1".to_string(),
                        s("data.txt"),
                        s("text/plain"),
                        "Hello World!".to_string(),
                    ),
                    (
                        "upload2".to_string(),
                        s("data.html"),
                        s("text/html"),
                        "<div>Hello <b>World</b>!</div>".to_string(),
                    ),
                    (
                        "upload3".to_string(),
                        s("data.txt"),
                        s("text/html"),
                        "Hello World!".to_string(),
                    ),
                ];
                c.eq("parts", &got, &want);
                c.done("")
            }
        },
        "/multipart-bytes" => match multipart(r) {
            Err(e) => Reply::text(400, &format!("the server's checks failed: {e}")),
            Ok(parts) => {
                let file = parts.iter().find(|p| p.name == "blob");
                c.that(file.is_some(), || "no part named blob".into());
                if let Some(f) = file {
                    c.eq("blob filename", &f.filename.as_deref(), &Some("blob.bin"));
                    c.eq(
                        "blob content type",
                        &f.content_type.as_deref(),
                        &Some("application/octet-stream"),
                    );
                    c.eq("blob sha256", &sha256_hex(&f.data), &sha256_hex(BINARY));
                }
                c.done("")
            }
        },

        // --- answers the runner must not pass (after Hurl's tests_failed) ------------
        "/non-utf8" => Reply::bytes(200, "text/plain", vec![0x41, 0x0a, 0xe9, 0x0a, 0xaa]),
        "/charset/lie" => charset_body("text/plain; charset=utf-8", "café", "latin1"),
        "/redirect-loop" => redirect(302, "/redirect-loop"),
        "/compressed/unknown" => coded("text/plain", "compress", HELLO),
        "/compressed/corrupt-gzip" => coded("text/plain", "gzip", b"not gzip at all"),

        _ => Reply::text(404, &format!("no route {path}")),
    }
}
