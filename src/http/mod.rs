//! The HTTP layer: one connection pool for the run, requests with a time limit,
//! response bodies read up to a cap, transport failures explained in words.

pub mod decode;
pub mod pace;
pub mod tls;
pub mod wire;

use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// A request with every template already rendered: what goes on the wire, and
/// what an identical retry sends again.
#[derive(Debug, Clone)]
pub struct PreparedRequest {
    pub method: reqwest::Method,
    pub url: url::Url,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

#[derive(Debug, Clone)]
pub enum Body {
    Empty,
    Bytes(Bytes),
    Multipart(Vec<Part>),
}

/// One part of a multipart body, kept as bytes so a retry can rebuild the form.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub value: Bytes,
    pub filename: Option<String>,
    pub content_type: Option<String>,
}

impl PreparedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_bytes(&self) -> Option<&Bytes> {
        match &self.body {
            Body::Bytes(b) => Some(b),
            _ => None,
        }
    }
}

/// What came back.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub version: String,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    /// The body was longer than the cap and was cut.
    pub truncated: bool,
    pub elapsed: Duration,
    /// Why the body is not what the server meant (a coding that could not be
    /// undone: the body is then the bytes as they came).
    pub body_problem: Option<String>,
    /// How many body bytes came on the wire (before any coding was undone).
    pub wire_bytes: usize,
}

impl Response {
    /// A header's value; several values of one name are joined with ", ".
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// The body as text in its declared charset (UTF-8 when none is declared).
    pub fn text(&self) -> String {
        decode::text(&self.body, self.header("content-type").as_deref()).0
    }

    /// The text, and why it is not exactly the body (bytes not valid in the
    /// charset, or a coding that could not be undone), when that is so.
    pub fn text_and_problem(&self) -> (String, Option<String>) {
        let (text, note) = decode::text(&self.body, self.header("content-type").as_deref());
        (text, self.body_problem.clone().or(note))
    }
}

/// Why a request got no complete response. The step's retry policy branches on the
/// kind, so it is typed; its text is what the reports show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// Could not connect at all; safe to retry any request.
    #[error("{0}")]
    Connect(String),
    /// The time limit passed; `progress` says how far the response had come.
    #[error("no complete response within {} ({progress})", fmt_duration(*limit))]
    Timeout { limit: Duration, progress: String },
    /// Anything after the request started going out.
    #[error("{0}")]
    Broken(String),
    /// The request could not be built (bad URL, bad header).
    #[error("{0}")]
    Invalid(String),
}

impl TransportError {
    /// Whether the request may not have reached the server (a retry cannot duplicate it).
    pub fn never_sent(&self) -> bool {
        matches!(self, TransportError::Connect(_))
    }
}

/// `1.5s`, `250ms`: how durations are shown to people.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// `8MB`, `64KB`, `1500 bytes`: how sizes are shown to people (the units `--max-body` takes).
pub fn fmt_size(bytes: usize) -> String {
    const KB: usize = 1024;
    const MB: usize = 1024 * KB;
    const GB: usize = 1024 * MB;
    match bytes {
        b if b >= GB && b.is_multiple_of(GB) => format!("{}GB", b / GB),
        b if b >= MB && b.is_multiple_of(MB) => format!("{}MB", b / MB),
        b if b >= KB && b.is_multiple_of(KB) => format!("{}KB", b / KB),
        b => format!("{b} bytes"),
    }
}

/// How far a response had come when its time ran out.
#[derive(Default)]
struct Progress {
    status: Option<u16>,
    expected: Option<u64>,
    body: usize,
}

impl Progress {
    fn describe(&self) -> String {
        match self.status {
            None => "no response headers came".into(),
            Some(status) => {
                let of = self
                    .expected
                    .map_or_else(String::new, |n| format!(" of {n}"));
                format!(
                    "HTTP {status} headers came, then {}{of} body bytes",
                    self.body
                )
            }
        }
    }
}

/// The run's HTTP client.
#[derive(Clone)]
pub struct HttpClient {
    /// Honours the `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` / `NO_PROXY` variables.
    client: reqwest::Client,
    /// For loopback addresses (the embedded mock, the webhook receiver, a local
    /// service): never through a proxy, whatever `NO_PROXY` says. The same client
    /// as `client` when no proxy is set.
    direct: reqwest::Client,
    body_cap: usize,
    /// `--max-rps`: every request (each retry and poll too) waits for its turn.
    pacer: Option<std::sync::Arc<pace::Pacer>>,
}

/// How the runner names itself to servers.
pub const USER_AGENT: &str = concat!("runner/", env!("CARGO_PKG_VERSION"));

/// Headers every request carries unless its step sets them: they are put in the
/// request itself, not left to the HTTP library, so that `-v` shows them.
pub const DEFAULT_HEADERS: [(&str, &str); 3] = [
    ("User-Agent", USER_AGENT),
    ("Accept", "*/*"),
    ("Accept-Encoding", decode::ACCEPTED_CODINGS),
];

/// Environment variables that make reqwest send requests through a proxy.
pub const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// A client builder with the project's TLS set-up: the system's roots are read only
/// when a certificate is checked, so a client that talks plain HTTP (to the mock's
/// ledger, to a webhook receiver) never reads them. Every client of the project
/// starts here.
pub fn client_builder(tls: &tls::TlsOptions) -> Result<reqwest::ClientBuilder, String> {
    Ok(reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .tls_backend_preconfigured(tls::client_config(tls)?))
}

impl HttpClient {
    pub fn new(pool_size: usize, body_cap: usize, tls: &tls::TlsOptions) -> Result<Self, String> {
        let build = |proxied: bool| -> Result<reqwest::Client, String> {
            let mut b = client_builder(tls)?
                .pool_max_idle_per_host(pool_size.max(1))
                .pool_idle_timeout(Duration::from_secs(30))
                .tcp_nodelay(true)
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(10));
            if !proxied {
                b = b.no_proxy();
            }
            b.build()
                .map_err(|e| format!("cannot set up the HTTP client: {e}"))
        };
        let client = build(true)?;
        let proxy_set = PROXY_VARS
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()));
        let direct = if proxy_set {
            build(false)?
        } else {
            client.clone()
        };
        Ok(HttpClient {
            client,
            direct,
            body_cap,
            pacer: None,
        })
    }

    /// Space the requests to each host (`--max-rps`).
    pub fn with_pacer(mut self, pacer: Option<pace::Pacer>) -> Self {
        self.pacer = pacer.map(std::sync::Arc::new);
        self
    }

    pub fn body_cap(&self) -> usize {
        self.body_cap
    }

    /// Send and read the response, all within `limit`.
    pub async fn send(
        &self,
        req: &PreparedRequest,
        limit: Duration,
    ) -> Result<Response, TransportError> {
        // Waiting for a turn is not the server's time: the limit starts after it.
        if let Some(p) = &self.pacer {
            p.wait(&req.url).await;
        }
        let started = Instant::now();
        let mut progress = Progress::default();
        match tokio::time::timeout(limit, self.send_inner(req, started, &mut progress)).await {
            Ok(r) => r,
            Err(_) => Err(TransportError::Timeout {
                limit,
                progress: progress.describe(),
            }),
        }
    }

    async fn send_inner(
        &self,
        req: &PreparedRequest,
        started: Instant,
        progress: &mut Progress,
    ) -> Result<Response, TransportError> {
        let mut headers = HeaderMap::with_capacity(req.headers.len());
        for (k, v) in &req.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                TransportError::Invalid(format!("`{k}` is not a valid header name"))
            })?;
            let value = HeaderValue::from_str(v).map_err(|_| {
                TransportError::Invalid(format!(
                    "the value of header `{k}` holds characters HTTP does not allow"
                ))
            })?;
            headers.append(name, value);
        }
        let client = if is_loopback(&req.url) {
            &self.direct
        } else {
            &self.client
        };
        let mut builder = client
            .request(req.method.clone(), req.url.clone())
            .headers(headers);
        match &req.body {
            Body::Empty => {}
            Body::Bytes(b) => builder = builder.body(b.clone()),
            Body::Multipart(parts) => {
                let mut form = reqwest::multipart::Form::new();
                for p in parts {
                    let mut part = reqwest::multipart::Part::bytes(p.value.to_vec());
                    if let Some(f) = &p.filename {
                        part = part.file_name(f.clone());
                    }
                    if let Some(ct) = &p.content_type {
                        part = part.mime_str(ct).map_err(|_| {
                            TransportError::Invalid(format!("`{ct}` is not a content type"))
                        })?;
                    }
                    form = form.part(p.name.clone(), part);
                }
                builder = builder.multipart(form);
            }
        }
        let mut resp = builder.send().await.map_err(|e| classify(&e, &req.url))?;
        let status = resp.status().as_u16();
        let version = version_name(resp.version());
        let headers: Vec<(String, String)> = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    header_text(k.as_str(), v.as_bytes()),
                )
            })
            .collect();
        let expected_len = resp.content_length();
        progress.status = Some(status);
        progress.expected = expected_len;
        // Most bodies come in one chunk: that chunk is kept as it is, and bytes are
        // copied into `more` only once a second chunk comes.
        let mut first: Option<Bytes> = None;
        let mut more: Vec<u8> = Vec::new();
        let mut read = 0usize;
        let mut truncated = false;
        loop {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = self.body_cap.saturating_sub(read);
                    let chunk = if chunk.len() > room {
                        truncated = true;
                        chunk.slice(..room)
                    } else {
                        chunk
                    };
                    read += chunk.len();
                    progress.body = read;
                    match first.take() {
                        None if more.is_empty() => first = Some(chunk),
                        None => more.extend_from_slice(&chunk),
                        Some(f) => {
                            more.reserve(f.len() + chunk.len());
                            more.extend_from_slice(&f);
                            more.extend_from_slice(&chunk);
                        }
                    }
                    if truncated {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let of = expected_len.map_or_else(String::new, |n| format!(" of {n}"));
                    return Err(TransportError::Broken(format!(
                        "the connection broke while reading the response body (HTTP {status}, {read}{of} bytes read): {}",
                        body_failure(&root_cause(&e))
                    )));
                }
            }
        }
        let body = match first {
            Some(f) => f,
            None => Bytes::from(more),
        };
        let wire_bytes = body.len();
        let codings: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("content-encoding"))
            .map(|(_, v)| v.as_str())
            .collect();
        // Only `chunked` is undone on the way in; any other transfer coding
        // (`gzip, chunked`) leaves bytes that are not the body.
        let transfer_codings: Vec<&str> = headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
            .flat_map(|(_, v)| v.split(','))
            .map(str::trim)
            .filter(|c| {
                !(c.is_empty()
                    || c.eq_ignore_ascii_case("chunked")
                    || c.eq_ignore_ascii_case("identity"))
            })
            .collect();
        // A HEAD, a 204 or a 304 names the coding of a body it does not carry.
        let (body, truncated, body_problem) = if !transfer_codings.is_empty() && !body.is_empty() {
            let problem = format!(
                "the body has Transfer-Encoding `{}`, which the runner does not undo (it undoes chunked)",
                transfer_codings.join(", ")
            );
            (body, truncated, Some(problem))
        } else if codings.is_empty() || body.is_empty() {
            (body, truncated, None)
        } else {
            match decode::decode_body(&codings, &body, self.body_cap, truncated) {
                Ok(d) => (Bytes::from(d.body), truncated || d.truncated, None),
                Err(why) => (body, truncated, Some(why)),
            }
        };
        Ok(Response {
            status,
            version,
            headers,
            body,
            truncated,
            elapsed: started.elapsed(),
            body_problem,
            wire_bytes,
        })
    }
}

/// A header value as text, losing no byte: UTF-8 when it is UTF-8; else each
/// byte is the ISO-8859-1 character of that value (as browsers read such headers),
/// so that an assertion never compares a U+FFFD that stood for any byte. In a
/// `Location`, such bytes are percent-encoded instead, as curl and browsers send
/// them on: `/caf\xE9` is followed to `/caf%E9`.
pub fn header_text(name: &str, bytes: &[u8]) -> String {
    if let Ok(text) = std::str::from_utf8(bytes) {
        return text.to_string();
    }
    if name.eq_ignore_ascii_case("location") {
        return bytes
            .iter()
            .map(|&b| {
                if b.is_ascii() {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
    }
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// `HTTP/1.1`: as `Debug` prints it, without a formatter per response.
fn version_name(v: reqwest::Version) -> String {
    let known = [
        (reqwest::Version::HTTP_09, "HTTP/0.9"),
        (reqwest::Version::HTTP_10, "HTTP/1.0"),
        (reqwest::Version::HTTP_11, "HTTP/1.1"),
        (reqwest::Version::HTTP_2, "HTTP/2.0"),
        (reqwest::Version::HTTP_3, "HTTP/3.0"),
    ];
    match known.iter().find(|(k, _)| *k == v) {
        Some((_, name)) => (*name).to_string(),
        None => format!("{v:?}"),
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur: &dyn std::error::Error = e;
    let mut last = cur.to_string();
    while let Some(next) = cur.source() {
        last = next.to_string();
        cur = next;
    }
    last
}

/// Why a body stopped short, in words (the library's own words kept when no
/// better ones are known).
fn body_failure(cause: &str) -> String {
    let lower = cause.to_lowercase();
    if lower.contains("reset") {
        "the server reset the connection".into()
    } else if lower.contains("end of file") || lower.contains("incomplete") {
        "the server closed the connection before the body was complete".into()
    } else if lower.contains("chunk") {
        format!("the chunked encoding is broken ({cause})")
    } else {
        cause.into()
    }
}

/// Put a transport failure in words a person acts on.
/// `127.0.0.0/8`, `::1`, `localhost` and `*.localhost`.
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    }
}

fn classify(e: &reqwest::Error, url: &url::Url) -> TransportError {
    let host = format!(
        "{}:{}",
        url.host_str().unwrap_or("?"),
        url.port_or_known_default()
            .map_or_else(String::new, |p| p.to_string())
    );
    let cause = root_cause(e);
    let lower = cause.to_lowercase();
    if e.is_timeout() {
        return TransportError::Broken(format!("timed out talking to {host}: {cause}"));
    }
    let tls = lower.contains("tls")
        || lower.contains("certificate")
        || lower.contains("handshake")
        || lower.contains("corrupt message")
        || lower.contains("invalidcontenttype");
    if tls {
        let not_tls = lower.contains("invalidcontenttype") || lower.contains("corrupt message");
        let hint = if lower.contains("certificate") {
            " (to trust the server's CA, pass its certificate with --cacert FILE; for a test server only, --insecure)"
        } else if url.scheme() == "https" {
            " (does the server speak plain HTTP? then use http://)"
        } else {
            ""
        };
        let cause = if not_tls {
            "the server's answer is not TLS"
        } else {
            cause.as_str()
        };
        return TransportError::Connect(format!("TLS handshake with {host} failed: {cause}{hint}"));
    }
    if e.is_connect() {
        let what = if lower.contains("refused") {
            "connection refused".to_string()
        } else if lower.contains("dns") || lower.contains("resolve") || lower.contains("lookup") {
            format!("cannot resolve the host name: {cause}")
        } else {
            cause.clone()
        };
        return TransportError::Connect(format!("cannot connect to {host}: {what}"));
    }
    if e.is_builder() {
        return TransportError::Invalid(format!("cannot build the request: {cause}"));
    }
    if lower.contains("connection closed before message completed")
        || lower.contains("incomplete message")
    {
        return TransportError::Broken(format!(
            "{host} closed the connection without a complete response"
        ));
    }
    if lower.contains("reset") {
        return TransportError::Broken(format!("{host} reset the connection: {cause}"));
    }
    TransportError::Broken(format!("request to {host} failed: {cause}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_the_max_body_flag() {
        assert_eq!(fmt_size(8 * 1024 * 1024), "8MB");
        assert_eq!(fmt_size(64 * 1024), "64KB");
        assert_eq!(fmt_size(2 * 1024 * 1024 * 1024), "2GB");
        assert_eq!(fmt_size(1500), "1500 bytes");
        assert_eq!(fmt_size(0), "0 bytes");
    }

    #[test]
    fn transport_errors_read_as_their_message() {
        let table = [
            (
                TransportError::Connect("connection refused".into()),
                "connection refused",
            ),
            (TransportError::Broken("reset".into()), "reset"),
            (
                TransportError::Invalid("`a b` is not a valid header name".into()),
                "`a b` is not a valid header name",
            ),
            (
                TransportError::Timeout {
                    limit: Duration::from_millis(1500),
                    progress: "no headers yet".into(),
                },
                "no complete response within 1.5s (no headers yet)",
            ),
        ];
        for (e, text) in table {
            assert_eq!(e.to_string(), text);
            let _: &dyn std::error::Error = &e;
        }
    }
}
