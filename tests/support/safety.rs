//! Helpers for the safety tests: running the built binary, a server that records
//! (and echoes) what it receives, a mock started in the test, JUnit checks, and the
//! forms a secret can take when written out.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use layers_mock::{MockConfig, MockServer};

// Each helper brings the cores it is built on, so a test can take any helper alone.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;
#[allow(clippy::duplicate_mod)]
#[path = "raw_server.rs"]
mod raw_server;
use process::Run;
use raw_server::{Incoming, RawServer};

/// Longest any runner process in these tests may take before it counts as hung.
pub const HANG_GUARD: Duration = Duration::from_secs(60);

pub fn runner_bin() -> &'static str {
    env!("CARGO_BIN_EXE_runner")
}

/// The repository root (for `scenarios/`).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// What a finished runner process left behind.
pub struct Ran {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Both streams, for assertion messages.
    pub fn both(&self) -> String {
        format!(
            "--- stdout ---\n{}\n--- stderr ---\n{}",
            self.stdout, self.stderr
        )
    }

    /// Assert the exit code, showing both streams when it differs.
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code(), Some(code), "{}", self.both());
        self
    }

    /// Assert `needle` appears in stdout.
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}\n{}",
            self.both()
        );
        self
    }

    /// Assert `needle` appears in stderr.
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{}",
            self.both()
        );
        self
    }
}

/// A runner command with a clean environment: no CI, no colour, no inherited secrets.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(runner_bin());
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_COLOR", "1")
        .current_dir(repo())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Run the binary to its end (or fail the test if it hangs), with the environment of
/// [`command`]. The wait happens off the runtime, so servers the test runs on it keep
/// answering.
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> Ran {
    let run = Run::new()
        .args(args)
        .env_clear()
        .env("NO_COLOR", "1")
        .envs(env)
        .current_dir(repo())
        .limit(HANG_GUARD);
    let done = tokio::task::spawn_blocking(move || run.output())
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    Ran {
        status: done.status,
        stdout: done.stdout,
        stderr: done.stderr,
    }
}

/// Write `text` to `dir/name` and return the path as a string.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

pub use raw_server::Received;

/// A plain HTTP/1.1 server on 127.0.0.1 that records every request and answers with
/// what `respond` makes of it: `(status, extra headers, body)`, one request per
/// connection. It stops when dropped.
pub struct Recorder {
    pub base_url: String,
    pub received: Arc<Mutex<Vec<Received>>>,
    pub connections: Arc<Mutex<usize>>,
    core: RawServer,
}

pub type Respond = Arc<dyn Fn(&Received) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync>;

impl Recorder {
    pub async fn start(respond: Respond) -> Recorder {
        let core = RawServer::start(move |conn| {
            let Incoming::Request(req) = conn.read_request() else {
                return;
            };
            let (status, headers, body) = respond(&req);
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            let _ = conn.stream.write_all(head.as_bytes());
            let _ = conn.stream.write_all(&body);
            let _ = conn.stream.shutdown(std::net::Shutdown::Write);
        });
        Recorder {
            base_url: core.url(),
            received: core.received.clone(),
            connections: core.connections.clone(),
            core,
        }
    }

    /// A server that answers every request `200 {}`.
    pub async fn ok() -> Recorder {
        Recorder::start(Arc::new(|_| {
            (
                200,
                vec![("Content-Type".into(), "application/json".into())],
                b"{}".to_vec(),
            )
        }))
        .await
    }

    pub fn requests(&self) -> Vec<Received> {
        self.core.requests()
    }

    pub fn connection_count(&self) -> usize {
        self.core.connection_count()
    }
}

/// A Layers mock in the test's own runtime, with long jobs (so a run can be
/// interrupted while one is running) whose scrape starts late.
pub async fn slow_job_mock() -> MockServer {
    let config = MockConfig {
        job_duration: Duration::from_secs(120),
        scrape_after: Duration::from_secs(60),
        ..MockConfig::default()
    };
    MockServer::start(config, ([127, 0, 0, 1], 0).into())
        .await
        .unwrap()
}

pub async fn ledger(base: &str) -> serde_json::Value {
    reqwest::get(format!("{base}/_mock/ledger"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The ledger field at `pointer`, as a number.
pub fn count(ledger: &serde_json::Value, pointer: &str) -> u64 {
    ledger
        .pointer(pointer)
        .and_then(|v| v.as_u64())
        .unwrap_or_else(|| panic!("no {pointer} in {ledger}"))
}

/// Counts a JUnit file declares and what its testcases actually hold.
#[derive(Debug, Default, PartialEq, Eq, Clone, Copy)]
pub struct Counts {
    pub tests: usize,
    pub failures: usize,
    pub errors: usize,
    pub skipped: usize,
}

/// Parse a JUnit report: well-formed XML, and for `<testsuites>` and every
/// `<testsuite>` the declared counts equal the testcases inside. Returns the totals.
pub fn check_junit(xml: &str) -> Counts {
    use quick_xml::Reader;
    use quick_xml::events::Event;
    let mut reader = Reader::from_str(xml);
    let mut declared_total: Option<Counts> = None;
    let mut declared_suite = Counts::default();
    let mut actual_suite = Counts::default();
    let mut actual_total = Counts::default();
    let mut in_case = false;
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &str| -> usize {
        e.attributes()
            .filter_map(Result::ok)
            .find(|a| a.key.as_ref() == name.as_bytes())
            .map(|a| String::from_utf8_lossy(&a.value).parse().unwrap_or(0))
            .unwrap_or(0)
    };
    let declared = |e: &quick_xml::events::BytesStart<'_>| Counts {
        tests: attr(e, "tests"),
        failures: attr(e, "failures"),
        errors: attr(e, "errors"),
        skipped: attr(e, "skipped"),
    };
    loop {
        let (e, empty) = match reader.read_event() {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) => (e.into_owned(), false),
            Ok(Event::Empty(e)) => (e.into_owned(), true),
            Ok(Event::End(e)) => {
                match e.name().as_ref() {
                    b"testcase" => in_case = false,
                    b"testsuite" => {
                        assert_eq!(declared_suite, actual_suite, "suite counts in\n{xml}");
                        add(&mut actual_total, actual_suite);
                    }
                    _ => {}
                }
                continue;
            }
            Ok(_) => continue,
            Err(e) => panic!("the JUnit file is not well-formed XML: {e}\n{xml}"),
        };
        match e.name().as_ref() {
            b"testsuites" => declared_total = Some(declared(&e)),
            b"testsuite" => {
                declared_suite = declared(&e);
                actual_suite = Counts::default();
                if empty {
                    assert_eq!(declared_suite, actual_suite, "suite counts in\n{xml}");
                }
            }
            b"testcase" => {
                actual_suite.tests += 1;
                in_case = !empty;
            }
            b"failure" if in_case => actual_suite.failures += 1,
            b"error" if in_case => actual_suite.errors += 1,
            b"skipped" if in_case => actual_suite.skipped += 1,
            _ => {}
        }
    }
    let declared_total = declared_total.expect("no <testsuites> element");
    assert_eq!(declared_total, actual_total, "testsuites counts in\n{xml}");
    actual_total
}

fn add(total: &mut Counts, c: Counts) {
    total.tests += c.tests;
    total.failures += c.failures;
    total.errors += c.errors;
    total.skipped += c.skipped;
}

/// Validate against the project's XSD with xmllint, when both are at hand.
pub fn xmllint_if_available(report: &Path) {
    let xsd = repo().join("tests/data/junit-10-relaxed.xsd");
    if !xsd.exists() {
        return;
    }
    let Ok(out) = std::process::Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(report)
        .output()
    else {
        return;
    };
    assert!(
        out.status.success(),
        "xmllint: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every form in which `secret` could be written out, computed here independently
/// of the runner's code: raw, URL-encoded (upper/lower hex, form), JSON- and
/// XML-escaped, base64 and base64url at each alignment (inside a longer text such as
/// `user:secret`), and every `window`-long piece of it.
pub fn secret_forms(secret: &str, window: usize) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    let pct_upper: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let pct_lower: String = secret
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02x}")
            }
        })
        .collect();
    out.push(pct_upper);
    out.push(pct_lower);
    out.push(url::form_urlencoded::byte_serialize(secret.as_bytes()).collect());
    out.push(
        serde_json::to_string(secret)
            .unwrap()
            .trim_matches('"')
            .to_string(),
    );
    out.push(
        secret
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;"),
    );
    for engine in [
        &base64::engine::general_purpose::STANDARD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for prefix in ["", "u:", "us:"] {
            let enc = engine.encode(format!("{prefix}{secret}"));
            // Skip the quantum that mixes prefix bytes in, and the padded tail.
            let start = prefix.len().div_ceil(3) * 4;
            let end = ((prefix.len() + secret.len()) / 3) * 4;
            if end > start + 8 {
                out.push(enc[start..end].to_string());
            }
        }
    }
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() > window {
        for w in chars.windows(window) {
            out.push(w.iter().collect());
        }
    }
    out.retain(|f| f.len() >= 8);
    out.sort();
    out.dedup();
    out
}

/// `text` with JSON's `\uXXXX` escapes (surrogate pairs included) undone.
pub fn unicode_unescape(text: &str) -> String {
    let mut out = String::new();
    let mut units: Vec<u16> = Vec::new();
    let mut rest = text;
    loop {
        let unit = rest
            .strip_prefix("\\u")
            .and_then(|r| r.get(..4))
            .and_then(|h| u16::from_str_radix(h, 16).ok());
        match unit {
            Some(u) => {
                units.push(u);
                rest = &rest[6..];
            }
            None => {
                out.push_str(&String::from_utf16_lossy(&units));
                units.clear();
                let Some(c) = rest.chars().next() else { break };
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// The first form of a secret found in `text`, or in `text` decoded the ways an
/// output may have encoded it (percent-encoding, once or twice, `+` for space;
/// XML entities; backslash escapes, once or twice).
pub fn leaked(text: &str, forms: &[String]) -> Option<String> {
    for (how, view) in views(text) {
        if let Some(f) = forms.iter().find(|f| view.contains(f.as_str())) {
            return Some(format!("`{f}` ({how})"));
        }
    }
    None
}

fn views(text: &str) -> Vec<(&'static str, String)> {
    let pct = |t: &str| {
        percent_encoding::percent_decode_str(t)
            .decode_utf8_lossy()
            .into_owned()
    };
    let xml = |t: &str| {
        t.replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    };
    let backslashes = |t: &str| {
        t.replace("\\\\", "\\")
            .replace("\\\"", "\"")
            .replace("\\/", "/")
    };
    let once = pct(text);
    let unicode = unicode_unescape(&backslashes(&backslashes(&xml(text))));
    vec![
        ("as written", text.to_string()),
        ("\\u-unescaped", unicode.clone()),
        ("\\u-unescaped, then percent-decoded", pct(&unicode)),
        ("percent-decoded", once.clone()),
        ("percent-decoded twice", pct(&once)),
        ("form-decoded", pct(&text.replace('+', " "))),
        ("XML-unescaped", xml(&xml(text))),
        ("backslash-unescaped", backslashes(&backslashes(text))),
        (
            "XML- and backslash-unescaped",
            backslashes(&backslashes(&xml(text))),
        ),
    ]
}
