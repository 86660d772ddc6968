//! The property of secret masking (issue 12): for any secret (1 to 200 characters
//! of any Unicode, spaces and regex metacharacters included), written in any of the
//! encodings a runner or a server commonly applies, in any field of a step's
//! report, no sink shows it, and nothing around it is masked.
//!
//! `cargo test` runs 256 cases from a fixed seed. A longer run (docs/performance.md):
//!
//! ```sh
//! PROPTEST_CASES=20000 cargo test --release --test redact_property
//! PROPTEST_RNG_SEED=7 PROPTEST_CASES=20000 cargo test --release --test redact_property
//! ```
//!
//! Every check decodes what the sinks wrote with its own decoders (not the
//! runner's), so that a form the runner does not know is seen as a leak.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use runner::events::{
    Assertion, DeliveryRecord, Event, Outcome, Phase, RequestRecord, ResponseRecord, RunInfo,
    ScenarioReport, StepReport, excerpt,
};
use runner::report::console::{ConsoleOptions, ConsoleReporter};
use runner::report::html::HtmlReporter;
use runner::report::json::JsonReporter;
use runner::report::junit::{Granularity, JunitReporter};
use runner::report::{Reporter, Summary, pump};
use runner::secrets::{MASK, Redactor};

/// The seed of `cargo test`'s run.
const SEED: u64 = 12;

/// Text a sink must show as it is, whatever the secret (its characters that are in
/// the secret are taken out first).
const INNOCENT: &str = "status ok: 200 / id=42 & name=\"plain value\" (see docs)";

// ---- Encodings, each written and checked by this file alone ----

#[derive(Debug, Clone)]
enum Encoding {
    Raw,
    /// Every byte but ASCII letters and digits as `%XX`, upper or lower case.
    Percent {
        upper: bool,
    },
    /// `application/x-www-form-urlencoded`.
    Form,
    /// `serde_json`'s escaping (quotes, backslashes, control characters).
    Json,
    /// Every character but ASCII letters and digits as `\uXXXX`, surrogate pairs
    /// for what is beyond the BMP (Python's `json.dumps`, minijinja's `tojson`).
    JsonUnicode {
        upper: bool,
    },
    /// Base64 of the secret `offset` bytes into other data.
    Base64 {
        url: bool,
        offset: usize,
        padded: bool,
        wrapped: bool,
    },
    Hex {
        upper: bool,
    },
    /// `Authorization: Basic` of `user:secret`.
    Basic,
    /// The secret cut after `at` of its characters, where a report shortens a text
    /// (`excerpt`), or at the end of a body cut by `--max-body`.
    Cut {
        at: usize,
        max_body: bool,
    },
}

fn encoding() -> impl Strategy<Value = Encoding> {
    prop_oneof![
        Just(Encoding::Raw),
        any::<bool>().prop_map(|upper| Encoding::Percent { upper }),
        Just(Encoding::Form),
        Just(Encoding::Json),
        any::<bool>().prop_map(|upper| Encoding::JsonUnicode { upper }),
        (any::<bool>(), 0..3usize, any::<bool>(), any::<bool>()).prop_map(
            |(url, offset, padded, wrapped)| Encoding::Base64 {
                url,
                offset,
                padded,
                wrapped
            }
        ),
        any::<bool>().prop_map(|upper| Encoding::Hex { upper }),
        Just(Encoding::Basic),
        (0..200usize, any::<bool>()).prop_map(|(at, max_body)| Encoding::Cut { at, max_body }),
    ]
}

/// Secrets of 1 to 200 characters: any Unicode, or the awkward ASCII (spaces, regex
/// metacharacters, escape characters); no space at either end (the runner trims
/// the values it is given).
fn secret() -> impl Strategy<Value = String> {
    let awkward = prop::sample::select(
        " \\^$.|?*+()[]{}%&;#=<>\"'/:@!~`,-_\t\nabcXYZ019"
            .chars()
            .collect::<Vec<_>>(),
    );
    let ch = prop_oneof![any::<char>(), awkward];
    prop::collection::vec(ch, 1..=200)
        .prop_map(|cs| cs.into_iter().collect::<String>().trim().to_string())
        .prop_filter("not blank", |s| !s.is_empty())
}

fn hex_case(b: u8, upper: bool) -> String {
    if upper {
        format!("{b:02X}")
    } else {
        format!("{b:02x}")
    }
}

fn percent(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{}", hex_case(b, upper))
            }
        })
        .collect()
}

fn json_unicode(s: &str, upper: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
            continue;
        }
        let mut buf = [0u16; 2];
        for unit in c.encode_utf16(&mut buf) {
            let hex = format!("{unit:04x}");
            out.push_str("\\u");
            out.push_str(&if upper { hex.to_uppercase() } else { hex });
        }
    }
    out
}

fn b64(data: &[u8], url: bool, padded: bool) -> String {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    match (url, padded) {
        (false, true) => STANDARD.encode(data),
        (false, false) => STANDARD_NO_PAD.encode(data),
        (true, true) => URL_SAFE.encode(data),
        (true, false) => URL_SAFE_NO_PAD.encode(data),
    }
}

/// The characters of `enc` (base64 of `data`) whose 6 bits all come from
/// `data[from..to]`: what would give those bytes away.
fn b64_core(enc: &str, from: usize, to: usize) -> String {
    enc.chars()
        .enumerate()
        .filter(|(i, _)| 6 * i >= 8 * from && 6 * i + 6 <= 8 * to)
        .map(|(_, c)| c)
        .collect()
}

/// What is planted (between markers), and what must not show once masked.
struct Planted {
    text: String,
    /// Strings that must not show in the decoded region.
    forbidden: Vec<String>,
    /// The region must be exactly `***` (the whole form is a secret).
    whole: bool,
}

fn plant(secret: &str, enc: &Encoding) -> Planted {
    let mut forbidden = vec![secret.to_string()];
    let (text, whole) = match enc {
        Encoding::Raw => (secret.to_string(), true),
        Encoding::Percent { upper } => (percent(secret, *upper), true),
        Encoding::Form => (
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            true,
        ),
        Encoding::Json => {
            let j = serde_json::to_string(secret).unwrap();
            (j[1..j.len() - 1].to_string(), true)
        }
        Encoding::JsonUnicode { upper } => (json_unicode(secret, *upper), true),
        Encoding::Hex { upper } => {
            let h: String = secret.bytes().map(|b| hex_case(b, *upper)).collect();
            // Hex is masked from 3 bytes of secret (6 digits) on.
            let whole = h.len() >= 6;
            if whole {
                forbidden.push(h.to_lowercase());
            }
            (h, whole)
        }
        Encoding::Base64 {
            url,
            offset,
            padded,
            wrapped,
        } => {
            let mut data = vec![b'x'; *offset];
            data.extend_from_slice(secret.as_bytes());
            data.extend_from_slice(b"yz");
            let enc = b64(&data, *url, *padded);
            let core = b64_core(&enc, *offset, offset + secret.len());
            // Base64 is masked where at least 4 characters come from the secret alone.
            if core.len() >= 4 {
                forbidden.push(core);
            }
            let text = if *wrapped {
                enc.as_bytes()
                    .chunks(76)
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect::<Vec<_>>()
                    .join("\r\n")
            } else {
                enc
            };
            (text, false)
        }
        Encoding::Basic => {
            let data = format!("user:{secret}");
            let enc = b64(data.as_bytes(), false, true);
            let core = b64_core(&enc, 5, data.len());
            if core.len() >= 4 {
                forbidden.push(core);
            }
            (format!("Basic {enc}"), false)
        }
        Encoding::Cut { at, .. } => {
            let chars: Vec<char> = secret.chars().collect();
            let at = (*at).min(chars.len());
            let shown: String = chars[..at].iter().collect();
            forbidden.clear();
            // A cut form is masked when at least 4 bytes of it show.
            if shown.len() >= 4 {
                forbidden.push(shown.clone());
            }
            (shown, false)
        }
    };
    Planted {
        text,
        forbidden,
        whole,
    }
}

// ---- Sinks: each returns the texts a reader of its output would see ----

/// Where a console sink writes.
type Buf = Arc<Mutex<Vec<u8>>>;

struct Sink {
    name: &'static str,
    /// Make the reporter, writing under `dir`; `read` turns what it wrote into the
    /// texts to check (unescaped as its reader would).
    make: fn(&Path, &Redactor, &Buf) -> Box<dyn Reporter>,
    read: fn(&Path, &Buf) -> Vec<String>,
}

/// Every sink of a run. A new reporter is one more line here.
const SINKS: &[Sink] = &[
    Sink {
        name: "console",
        make: |_, _, buf| console(0, buf),
        read: console_lines,
    },
    Sink {
        name: "console -v",
        make: |_, _, buf| console(1, buf),
        read: console_lines,
    },
    Sink {
        name: "console -vv",
        make: |_, _, buf| console(2, buf),
        read: console_lines,
    },
    Sink {
        name: "JUnit",
        make: |dir, r, _| {
            Box::new(JunitReporter::new(
                dir.join("junit.xml"),
                Granularity::Step,
                r.clone(),
            ))
        },
        read: |dir, _| {
            let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap_or_default();
            vec![xml_unescape(&xml)]
        },
    },
    Sink {
        name: "JSON report",
        make: |dir, r, _| Box::new(JsonReporter::new(dir.join("report.json"), r.clone())),
        read: |dir, _| {
            let text = std::fs::read_to_string(dir.join("report.json")).unwrap_or_default();
            let value: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let mut out = Vec::new();
            json_strings(&value, &mut out);
            out
        },
    },
    Sink {
        name: "HTML report",
        make: |dir, r, _| Box::new(HtmlReporter::new(&dir.join("report.html"), r.clone())),
        read: |dir, _| {
            let html = std::fs::read_to_string(dir.join("report.html"))
                .expect("the HTML report was written");
            assert!(html.contains("id=\"data\""), "the page has its data block");
            // What the page shows: its text, and the strings of its data block
            // (one JSON line per scenario) that its script draws when opened.
            let mut out = vec![xml_unescape(&html)];
            if let Some((_, data)) =
                html.split_once("<script type=\"application/json\" id=\"data\">")
            {
                let data = data.split("</script>").next().unwrap_or("");
                for line in data.lines().filter(|l| !l.trim().is_empty()) {
                    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                    json_strings(&value, &mut out);
                }
            }
            out
        },
    },
];

struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn console(verbosity: u8, buf: &Arc<Mutex<Vec<u8>>>) -> Box<dyn Reporter> {
    let opts = ConsoleOptions {
        verbosity,
        color: false,
        progress: false,
        show_passes: true,
        ordered: false,
    };
    Box::new(ConsoleReporter::with_writer(
        opts,
        Box::new(Shared(buf.clone())),
    ))
}

fn console_lines(_: &Path, buf: &Arc<Mutex<Vec<u8>>>) -> Vec<String> {
    let text = String::from_utf8_lossy(&buf.lock().unwrap()).into_owned();
    text.lines().map(str::to_string).collect()
}

fn xml_unescape(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let Some(semi) = rest.find(';').filter(|s| *s < 12) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..semi];
        let c = match name {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => name
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                out.push(k.clone());
                json_strings(x, out);
            }
        }
        _ => {}
    }
}

// ---- The run: events through the real pump and reporters ----

fn events(carrier: &str, cut_body: Option<String>, innocent: &str) -> Vec<Event> {
    let body = cut_body.clone().unwrap_or_else(|| carrier.to_string());
    let step = StepReport {
        name: format!("step {carrier}"),
        phase: Phase::Main,
        number: 1,
        location: "f.yaml:3".into(),
        outcome: Outcome::Failed,
        message: Some(carrier.to_string()),
        failures: vec![Assertion {
            subject: "body".into(),
            expected: innocent.to_string(),
            actual: carrier.to_string(),
        }],
        passed: Vec::new(),
        request: Some(RequestRecord {
            method: "POST".into(),
            url: format!("http://127.0.0.1:9/p?q={carrier}"),
            headers: vec![
                ("X-Carrier".into(), carrier.to_string()),
                (carrier.to_string(), "as a name".into()),
            ],
            body: Some(carrier.to_string()),
        }),
        response: Some(ResponseRecord {
            status: 200,
            version: "HTTP/1.1".into(),
            headers: vec![
                ("X-Echo".into(), carrier.to_string()),
                ("X-Innocent".into(), innocent.to_string()),
            ],
            body,
            body_bytes: 10,
            truncated: cut_body.is_some(),
            time_ms: 1,
        }),
        // A step has a response or a delivery; both here, so that both are read back.
        delivery: Some(DeliveryRecord {
            headers: vec![("X-Delivered".into(), carrier.to_string())],
            body: cut_body.clone().unwrap_or_else(|| carrier.to_string()),
            body_bytes: 10,
            truncated: cut_body.is_some(),
            after_ms: 1,
        }),
        redirects: Vec::new(),
        failed_attempts: vec![carrier.to_string()],
        attempts: 1,
        duration: Duration::ZERO,
        assertions: 1,
    };
    let scenario = ScenarioReport {
        index: 0,
        name: format!("scenario {carrier}"),
        file: "f.yaml".into(),
        line: 1,
        flaky: false,
        previous_attempts: Vec::new(),
        classname: "f".into(),
        tags: Vec::new(),
        outcome: Outcome::Failed,
        message: Some(carrier.to_string()),
        interrupted: false,
        started_at: String::new(),
        duration: Duration::ZERO,
        steps: vec![step.clone()],
        masked_with: None,
    };
    vec![
        Event::RunStarted(RunInfo {
            total: 1,
            target: "a test".into(),
            jobs: 1,
        }),
        Event::ScenarioStarted {
            index: 0,
            name: scenario.name.clone(),
        },
        Event::StepFinished {
            index: 0,
            step: Box::new(step),
        },
        Event::ScenarioFinished(Arc::new(scenario)),
    ]
}

/// The regions between `open` and the next `close` in `text` (to its end when the
/// text was cut before `close`).
fn regions<'a>(text: &'a str, open: &str, close: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(open) {
        rest = &rest[i + open.len()..];
        let end = rest.find(close).unwrap_or(rest.len());
        out.push(&rest[..end]);
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix(close) {
            rest = r;
        }
    }
    out
}

/// The ways a region is read back: as written, percent-decoded (form too), JSON
/// and XML unescaped, and base64 with line breaks and spaces dropped.
fn readings(region: &str) -> Vec<String> {
    let pct = |t: &str| {
        percent_encoding::percent_decode_str(t)
            .decode_utf8_lossy()
            .into_owned()
    };
    let unicode = unescape_json(region);
    let joined: String = region
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    vec![
        region.to_string(),
        region.to_lowercase(),
        pct(region),
        pct(&region.replace('+', " ")),
        unicode.clone(),
        xml_unescape(region),
        joined.clone(),
        joined.replace('+', "-").replace('/', "_"),
    ]
}

fn unescape_json(text: &str) -> String {
    let mut out = String::new();
    let mut units: Vec<u16> = Vec::new();
    let mut rest = text;
    loop {
        let unit = rest
            .strip_prefix("\\u")
            .and_then(|r| r.get(..4))
            .and_then(|h| u16::from_str_radix(h, 16).ok());
        if let Some(u) = unit {
            units.push(u);
            rest = &rest[6..];
            continue;
        }
        out.push_str(&String::from_utf16_lossy(&units));
        units.clear();
        let mut chars = rest.chars();
        match (chars.next(), chars.next()) {
            (Some('\\'), Some(c @ ('"' | '\\' | '/'))) => {
                out.push(c);
                rest = &rest[2..];
            }
            (Some('\\'), Some('n')) => {
                out.push('\n');
                rest = &rest[2..];
            }
            (Some('\\'), Some('t')) => {
                out.push('\t');
                rest = &rest[2..];
            }
            (Some('\\'), Some('r')) => {
                out.push('\r');
                rest = &rest[2..];
            }
            (Some(c), _) => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
            (None, _) => break,
        }
    }
    out
}

/// What the console and JUnit make of characters they cannot show.
fn shown_as(s: &str) -> Vec<String> {
    let console: String = s
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' {
                ' '
            } else if c.is_control() {
                '?'
            } else {
                c
            }
        })
        .collect();
    let xml: String = s
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
        .collect();
    vec![s.to_string(), console, xml]
}

/// A marker character that is not in the secret (and that no encoding produces).
fn marker(secret: &str) -> Option<char> {
    "§¶¤¦©®°±µ·¿×÷þ".chars().find(|c| !secret.contains(*c))
}

fn check(secret: &str, enc: &Encoding, rt: &tokio::runtime::Runtime) -> Result<(), TestCaseError> {
    let Some(m) = marker(secret) else {
        return Ok(());
    };
    let open: String = std::iter::repeat_n(m, 6).collect();
    let close = open.clone();
    let planted = plant(secret, enc);
    let innocent: String = INNOCENT.chars().filter(|c| !secret.contains(*c)).collect();
    let full = format!("{open}{}{close}", planted.text);
    let (carrier, cut_body) = match enc {
        // The excerpt a report makes of a long text, cut inside the secret.
        Encoding::Cut {
            max_body: false, ..
        } => (
            excerpt(
                &format!("{full}{}", "z".repeat(100)),
                open.len() + planted.text.len(),
            ),
            None,
        ),
        // Elsewhere the whole secret, as written.
        Encoding::Cut { max_body: true, .. } => (
            format!("{open}{secret}{close}"),
            Some(format!("{open}{}", planted.text)),
        ),
        _ => (full, None),
    };
    let redactor = Redactor::new();
    redactor.add_labeled(secret, "the property's secret");
    let dir = tempfile::tempdir().unwrap();
    let bufs: Vec<Arc<Mutex<Vec<u8>>>> = SINKS.iter().map(|_| Arc::default()).collect();
    let reporters: Vec<Box<dyn Reporter>> = SINKS
        .iter()
        .zip(&bufs)
        .map(|(s, b)| (s.make)(dir.path(), &redactor, b))
        .collect();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    for e in events(&carrier, cut_body, &innocent) {
        tx.send(e).unwrap();
    }
    drop(tx);
    let mut reporters = rt.block_on(pump(rx, redactor.clone(), reporters));
    for r in reporters.iter_mut() {
        r.finish(&Summary::default())
            .map_err(|e| TestCaseError::fail(format!("a report was not written: {e}")))?;
    }
    for (sink, buf) in SINKS.iter().zip(&bufs) {
        let texts = (sink.read)(dir.path(), buf);
        let mut found = 0;
        let mut innocent_seen = false;
        for text in &texts {
            innocent_seen |= text.contains(&innocent);
            for region in regions(text, &open, &close) {
                found += 1;
                if planted.whole && !matches!(enc, Encoding::Cut { .. }) {
                    prop_assert_eq!(
                        region,
                        MASK,
                        "{}: {:?} not masked whole in {:?}",
                        sink.name,
                        enc,
                        text
                    );
                }
                // The mask itself is no leak of a secret made of `*`.
                let unmasked = region.replace(MASK, &m.to_string());
                for reading in readings(&unmasked) {
                    for f in &planted.forbidden {
                        for form in shown_as(f) {
                            prop_assert!(
                                form.is_empty() || !reading.contains(&form),
                                "{}: {:?} shows {:?} in {:?}",
                                sink.name,
                                enc,
                                form,
                                text
                            );
                        }
                    }
                }
            }
        }
        // Masked, not dropped: the markers around the secret are all there.
        prop_assert!(
            found > 0,
            "{}: nothing planted shows: {:?}",
            sink.name,
            texts
        );
        // Nothing else masked: what is no secret shows as it was.
        if !innocent.is_empty() {
            prop_assert!(
                innocent_seen,
                "{}: {:?} was masked: {:?}",
                sink.name,
                innocent,
                texts
            );
        }
    }
    Ok(())
}

#[test]
fn no_encoding_of_a_secret_shows_in_any_sink() {
    let config = config(None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut runner = TestRunner::new(config);
    let result = runner.run(&(secret(), encoding()), |(secret, enc)| {
        check(&secret, &enc, &rt)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The failures the property found while it was written, kept as fixed cases.
#[test]
fn cases_the_property_found() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let cases: Vec<(&str, Encoding)> = vec![
        ("pa<ss>wo&rd", Encoding::JsonUnicode { upper: false }),
        ("key\u{1F511}key", Encoding::JsonUnicode { upper: true }),
        ("ann:hunt3r", Encoding::Basic),
        (
            "hunt3r",
            Encoding::Base64 {
                url: false,
                offset: 1,
                padded: true,
                wrapped: false,
            },
        ),
        ("correct horse battery staple", Encoding::Form),
        ("42", Encoding::Raw),
        // A one-character secret that the JUnit report's `<?xml` holds: the scan
        // after writing took the report's own words for a leak.
        ("?", Encoding::Raw),
        // A secret made of the mask's character: `***` is no leak of it.
        ("*", Encoding::Raw),
    ];
    for (secret, enc) in cases {
        if let Err(e) = check(secret, &enc, &rt) {
            panic!("{secret:?} {enc:?}: {e}");
        }
    }
}

// ---- The scan of written reports ----

/// Report text around a planted secret: the escapes, line breaks and URL-safe
/// characters a JSON report is full of, so that every view of the scan has work.
const REPORT_TEXT: &str = "    {\n      \"name\": \"step \\\"a\\\"\",\n      \"body\": \"{\\\"id\\\":\\\"p_01-x+y\\\",\\\"q\\\":\\\"a%20b&amp;c\\u00e9\\\"}\"\n    },\n";

/// Whether the report scan must see this form: it looks for secrets of 8 bytes
/// or more, whole forms only (a cut form is masked, not scanned for).
fn scanned_for(secret: &str, enc: &Encoding, planted: &Planted) -> bool {
    secret.len() >= 8 && !matches!(enc, Encoding::Cut { .. }) && !planted.forbidden.is_empty()
}

/// The scan finds a planted form, and says where it starts, whatever lies around it.
fn check_scan(secret: &str, enc: &Encoding, before: usize) -> Result<(), TestCaseError> {
    let planted = plant(secret, enc);
    if !scanned_for(secret, enc, &planted) {
        return Ok(());
    }
    let redactor = Redactor::new();
    redactor.add_labeled(secret, "the property's secret");
    let filler = |n: usize| REPORT_TEXT.repeat(n / REPORT_TEXT.len() + 1);
    let head = filler(before);
    let tail = filler(300);
    prop_assume!(
        redactor
            .find_leak(format!("{head}{tail}").as_bytes())
            .is_none()
    );
    let text = format!("{head}{}{tail}", planted.text);
    let Some(leak) = redactor.find_leak(text.as_bytes()) else {
        return Err(TestCaseError::fail(format!(
            "the scan missed the secret {secret:?} as {enc:?} after {} bytes",
            head.len()
        )));
    };
    let at: usize = leak
        .rsplit("at byte ")
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    // An escape may start a little before the planted text (its last bytes can join
    // the text before); a slice of a big report counted from the wrong place is
    // off by far more.
    let start = head.len();
    prop_assert!(
        at + 200 >= start && at < start + planted.text.len(),
        "{leak}: the form starts at byte {start}"
    );
    Ok(())
}

/// The properties' settings: the fixed seed unless one is asked for, and
/// `cases` runs (or proptest's own count, `PROPTEST_CASES`).
fn config(cases: Option<u32>) -> Config {
    let mut config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    if let Some(cases) = cases {
        config.cases = cases;
    }
    if matches!(config.rng_seed, RngSeed::Random) {
        config.rng_seed = RngSeed::Fixed(SEED);
    }
    config
}

#[test]
fn the_report_scan_finds_every_encoding_of_a_secret() {
    let mut runner = TestRunner::new(config(Some(256)));
    let result = runner.run(&(secret(), encoding(), 0..4000usize), |(s, e, before)| {
        check_scan(&s, &e, before)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Reports of megabytes are scanned in overlapping slices, on every core: a secret
/// on either side of a slice's edge is found, at its place.
#[test]
fn the_report_scan_finds_a_secret_anywhere_in_a_big_report() {
    const MB: usize = 1 << 20;
    let mut runner = TestRunner::new(config(Some(8)));
    let before = prop_oneof![MB - 70_000..MB + 1000, 2 * MB..3 * MB];
    let result = runner.run(&(secret(), encoding(), before), |(s, e, before)| {
        check_scan(&s, &e, before)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
